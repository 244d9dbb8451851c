//! Messages of a case: agent replies, internal notes, customers' messages, with attachments.
//! Each kind has its own effect on the case (first response, reopening, taking ownership).

use std::collections::HashMap;

use opora_domain::case::{ActingAgent, Case, Channel, Status};
use opora_domain::event::{Actor, EventKind};
use opora_domain::message::{Attachment, Body, DeliveryStatus, Direction, Message};
use opora_domain::{AgentId, AttachmentId, CaseId, CustomerId, DomainError, MessageId};
use serde_json::json;

use crate::case_work;
use crate::cases;
use crate::db::{Conn, DbError, Row, Value, placeholders};
use crate::{Result, Tx};

const COLUMNS: &str = "id, case_id, direction, channel, author_agent_id, author_customer_id, subject, body_text, body_html, \
     external_id, delivery_status, delivery_error, created_at";

fn from_row(r: &Row<'_>) -> Result<Message, DbError> {
    Ok(Message {
        id: r.get(0)?,
        case_id: r.get(1)?,
        direction: r.parse(2, Direction::parse)?,
        channel: r.parse(3, Channel::parse)?,
        author_agent_id: r.get(4)?,
        author_customer_id: r.get(5)?,
        subject: r.get(6)?,
        body_text: r.get(7)?,
        body_html: r.get(8)?,
        attachments: Vec::new(),
        external_id: r.get(9)?,
        delivery_status: r.parse(10, DeliveryStatus::parse)?,
        delivery_error: r.get(11)?,
        created_at: r.get(12)?,
    })
}

const ATTACHMENT_COLUMNS: &str = "id, filename, content_type, size, sha256, content_id";

fn attachment_from_row(r: &Row<'_>) -> Result<Attachment, DbError> {
    Ok(Attachment {
        id: r.get(0)?,
        filename: r.get(1)?,
        content_type: r.get(2)?,
        size: r.get(3)?,
        sha256: r.get(4)?,
        content_id: r.get(5)?,
    })
}

/// An attachment whose content is already in the blob store.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub content_id: Option<String>,
}

/// A message to store, with its author.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub direction: Direction,
    pub channel: Channel,
    pub author_agent_id: Option<AgentId>,
    pub author_customer_id: Option<CustomerId>,
    pub subject: Option<String>,
    pub body: Body,
    pub attachments: Vec<NewAttachment>,
    pub external_id: Option<String>,
    pub delivery_status: DeliveryStatus,
}

/// Stores a message and records `message.added`.
pub fn insert(tx: &mut Tx<'_>, case: &Case, new: NewMessage, actor: Actor) -> Result<Message> {
    let now = tx.now;
    let id = MessageId(tx.int(
        "insert into messages (case_id, direction, channel, author_agent_id, author_customer_id, subject, body_text, body_html,
                               external_id, delivery_status, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning id",
        &[
            case.id.into(),
            new.direction.as_str().into(),
            new.channel.as_str().into(),
            new.author_agent_id.into(),
            new.author_customer_id.into(),
            new.subject.as_deref().into(),
            new.body.text.as_str().into(),
            new.body.html.as_deref().into(),
            new.external_id.as_deref().into(),
            new.delivery_status.as_str().into(),
            now.into(),
        ],
    )?);
    for attachment in &new.attachments {
        tx.execute(
            "insert into attachments (message_id, filename, content_type, size, sha256, content_id, created_at) values ($1, $2, $3, $4, $5, $6, $7)",
            &[
                id.into(),
                attachment.filename.as_str().into(),
                attachment.content_type.as_str().into(),
                attachment.size.into(),
                attachment.sha256.as_str().into(),
                attachment.content_id.as_deref().into(),
                now.into(),
            ],
        )?;
    }
    let message = get(&mut **tx, id)?;
    let preview: String = message.body_text.chars().take(200).collect();
    tx.emit(
        EventKind::MessageAdded,
        Some(case.id),
        Some(case.customer_id),
        actor,
        json!({"number": case.number, "message_id": id, "direction": message.direction, "channel": message.channel,
               "preview": preview, "attachments": message.attachments.len()}),
    )?;
    Ok(message)
}

/// An agent's reply to the customer. An unowned case becomes the replying agent's; the first
/// reply marks the first response; `status_after` is "send and set status".
pub fn reply(
    tx: &mut Tx<'_>,
    id: CaseId,
    agent: ActingAgent,
    body: Body,
    attachments: Vec<NewAttachment>,
    status_after: Option<Status>,
) -> Result<(Message, Case)> {
    let mut case = cases::get(&mut **tx, id)?;
    case.check_writable(agent)?;
    let actor = Actor::agent(agent.id);
    if case.owner_id.is_none() {
        case = case_work::assign(tx, &case, agent.id, actor)?;
    }
    if let Some(status) = status_after {
        case.status_change(status)?;
    }
    // E-mail replies are sent by a job and tracked; integrations on the API channel read replies
    // from events and webhooks, so there is nothing to track for them.
    let email = case.channel == Channel::Email;
    let delivery = if email { DeliveryStatus::Pending } else { DeliveryStatus::NotApplicable };
    let new = NewMessage {
        direction: Direction::Outbound,
        channel: case.channel,
        author_agent_id: Some(agent.id),
        author_customer_id: None,
        subject: None,
        body,
        attachments,
        external_id: None,
        delivery_status: delivery,
    };
    let mut message = insert(tx, &case, new, actor)?;
    if email {
        message.external_id = Some(crate::mail::queue_outbound(tx, &case, message.id)?);
    }
    let mut after = case.clone();
    after.first_response_at = after.first_response_at.or(Some(tx.now));
    after.status = match status_after {
        Some(status) => status,
        None if case.status == Status::New => Status::Open,
        None => case.status,
    };
    let after = touch_and_save(tx, &case, after, actor)?;
    Ok((message, after))
}

/// An internal note: only agents see it. Anyone working cases may leave one, owner or not.
pub fn note(tx: &mut Tx<'_>, id: CaseId, agent: ActingAgent, body: Body, attachments: Vec<NewAttachment>) -> Result<(Message, Case)> {
    let case = cases::get(&mut **tx, id)?;
    case.check_writable(agent)?;
    let new = NewMessage {
        direction: Direction::Internal,
        channel: Channel::Internal,
        author_agent_id: Some(agent.id),
        author_customer_id: None,
        subject: None,
        body,
        attachments,
        external_id: None,
        delivery_status: DeliveryStatus::NotApplicable,
    };
    let actor = Actor::agent(agent.id);
    let message = insert(tx, &case, new, actor)?;
    let after = touch_and_save(tx, &case, case.clone(), actor)?;
    Ok((message, after))
}

/// A customer's message arriving on a case: whatever was waiting or solved reopens.
/// A closed case cannot take messages; channels open a follow-up case instead.
pub fn inbound(tx: &mut Tx<'_>, id: CaseId, new: NewMessage, actor: Actor) -> Result<(Message, Case)> {
    let case = cases::get(&mut **tx, id)?;
    if case.status == Status::Closed {
        return Err(DomainError::CaseClosed.into());
    }
    let message = insert(tx, &case, new, actor)?;
    let mut after = case.clone();
    after.status = case.status.after_customer_message();
    let after = touch_and_save(tx, &case, after, actor)?;
    Ok((message, after))
}

fn touch_and_save(tx: &mut Tx<'_>, before: &Case, after: Case, actor: Actor) -> Result<Case> {
    cases::save(tx, before, after, actor)?;
    case_work::touch(tx, before.id)?;
    cases::get(&mut **tx, before.id)
}

pub fn get(conn: &mut dyn Conn, id: MessageId) -> Result<Message> {
    let message = conn.opt(&format!("select {COLUMNS} from messages where id = $1"), &[id.into()], from_row)?;
    let message = message.ok_or(DomainError::NotFound("message"))?;
    Ok(with_attachments(conn, vec![message])?.remove(0))
}

/// The conversation of a case, oldest first.
pub fn for_case(conn: &mut dyn Conn, case: CaseId) -> Result<Vec<Message>> {
    cases::get(conn, case)?;
    let messages = conn.all(&format!("select {COLUMNS} from messages where case_id = $1 order by id"), &[case.into()], from_row)?;
    with_attachments(conn, messages)
}

fn with_attachments(conn: &mut dyn Conn, mut messages: Vec<Message>) -> Result<Vec<Message>> {
    if messages.is_empty() {
        return Ok(messages);
    }
    let ids: Vec<Value<'_>> = messages.iter().map(|m| m.id.into()).collect();
    let sql = format!(
        "select message_id, {ATTACHMENT_COLUMNS} from attachments where message_id in ({}) order by id",
        placeholders(1, ids.len())
    );
    let mut by_message: HashMap<MessageId, Vec<Attachment>> = HashMap::new();
    let rows = conn.all(&sql, &ids, |r| {
        let attachment = Attachment {
            id: r.get(1)?,
            filename: r.get(2)?,
            content_type: r.get(3)?,
            size: r.get(4)?,
            sha256: r.get(5)?,
            content_id: r.get(6)?,
        };
        Ok((r.get::<MessageId>(0)?, attachment))
    })?;
    for (message, attachment) in rows {
        by_message.entry(message).or_default().push(attachment);
    }
    for message in &mut messages {
        message.attachments = by_message.remove(&message.id).unwrap_or_default();
    }
    Ok(messages)
}

/// An attachment with the case it belongs to, so the caller can check access before serving it.
pub fn attachment(conn: &mut dyn Conn, id: AttachmentId) -> Result<(Attachment, CaseId, Direction)> {
    let found = conn.opt(
        "select a.id, a.filename, a.content_type, a.size, a.sha256, a.content_id, m.case_id, m.direction
         from attachments a join messages m on m.id = a.message_id where a.id = $1",
        &[id.into()],
        |r| Ok((attachment_from_row(r)?, r.get::<CaseId>(6)?, r.parse(7, Direction::parse)?)),
    )?;
    found.ok_or_else(|| DomainError::NotFound("attachment").into())
}

/// Records what happened to an outbound message on its way to the customer.
pub fn set_delivery(
    tx: &mut Tx<'_>,
    id: MessageId,
    status: DeliveryStatus,
    error: Option<&str>,
    external_id: Option<&str>,
) -> Result<Message> {
    let message = get(&mut **tx, id)?;
    tx.execute(
        "update messages set delivery_status = $2, delivery_error = $3, external_id = coalesce($4, external_id) where id = $1",
        &[id.into(), status.as_str().into(), error.into(), external_id.into()],
    )?;
    let case = cases::get(&mut **tx, message.case_id)?;
    tx.emit(
        EventKind::MessageDeliveryChanged,
        Some(case.id),
        Some(case.customer_id),
        Actor::SYSTEM,
        json!({"number": case.number, "message_id": id, "status": status, "error": error}),
    )?;
    get(&mut **tx, id)
}
