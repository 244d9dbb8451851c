//! Messages of a case as rows: agent replies, internal notes, customers' messages, with their
//! attachments, and their delivery state.

use std::collections::HashMap;

use opora_domain::channel::ChannelKind;
use opora_domain::message::{Attachment, Body, DeliveryStatus, Direction, Message};
use opora_domain::{AgentId, AttachmentId, CaseId, ChannelId, CustomerId, DomainError, MessageId};

use crate::cases;
use crate::db::{Conn, DbError, Row, Value, placeholders};
use crate::{Result, Tx};

const COLUMNS: &str = "id, case_id, direction, channel_kind, author_agent_id, author_customer_id, subject, body_text, body_html, \
     external_id, delivery_status, delivery_error, created_at, channel_id, sender_doubt, copies, edit_of, template";

fn from_row(r: &Row<'_>) -> Result<Message, DbError> {
    Ok(Message {
        id: r.get(0)?,
        case_id: r.get(1)?,
        direction: r.parse(2, Direction::parse)?,
        channel_kind: r.parse(3, ChannelKind::parse)?,
        channel_id: r.get(13)?,
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
        sender_doubt: r.get(14)?,
        copies: r
            .get::<Option<String>>(15)?
            .map(|c| serde_json::from_str(&c))
            .transpose()
            .map_err(|e| DbError::new(format!("copies: {e}")))?,
        edit_of: r.get(16)?,
        template: r
            .get::<Option<String>>(17)?
            .map(|t| serde_json::from_str(&t))
            .transpose()
            .map_err(|e| DbError::new(format!("template: {e}")))?,
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
    pub channel_kind: ChannelKind,
    pub channel_id: Option<ChannelId>,
    pub author_agent_id: Option<AgentId>,
    pub author_customer_id: Option<CustomerId>,
    pub subject: Option<String>,
    pub body: Body,
    pub attachments: Vec<NewAttachment>,
    pub external_id: Option<String>,
    pub delivery_status: DeliveryStatus,
}

/// Records who a reply was copied to.
pub fn set_copies(tx: &mut Tx<'_>, id: MessageId, copies: &[CustomerId]) -> Result<()> {
    let copies = serde_json::to_string(copies).map_err(|e| DbError::new(e.to_string()))?;
    tx.execute("update messages set copies = $2 where id = $1", &[id.into(), copies.as_str().into()])?;
    Ok(())
}

/// Records why a received message's sender is in doubt (the mail server's failed checks).
/// Records the template a reply is sent as.
pub fn set_template(tx: &mut Tx<'_>, id: MessageId, template: &opora_domain::outbound::TemplateUse) -> Result<()> {
    let template = serde_json::to_string(template).map_err(|e| DbError::new(e.to_string()))?;
    tx.execute("update messages set template = $2 where id = $1", &[id.into(), template.as_str().into()])?;
    Ok(())
}

/// Marks a message as the edit of an earlier one.
pub fn set_edit_of(tx: &mut Tx<'_>, id: MessageId, original: MessageId) -> Result<()> {
    tx.execute("update messages set edit_of = $2 where id = $1", &[id.into(), original.into()])?;
    Ok(())
}

pub fn set_sender_doubt(tx: &mut Tx<'_>, id: MessageId, doubt: &str) -> Result<()> {
    tx.execute("update messages set sender_doubt = $2 where id = $1", &[id.into(), doubt.into()])?;
    Ok(())
}

/// Stores a message with its attachments (their content is already in the blob store).
pub fn insert(tx: &mut Tx<'_>, case: CaseId, new: &NewMessage) -> Result<Message> {
    let now = tx.now;
    let id = MessageId(tx.int(
        "insert into messages (case_id, direction, channel_kind, channel_id, author_agent_id, author_customer_id, subject, body_text,
                               body_html, external_id, delivery_status, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) returning id",
        &[
            case.into(),
            new.direction.as_str().into(),
            new.channel_kind.as_str().into(),
            new.channel_id.into(),
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
    get(&mut **tx, id)
}

pub fn get(conn: &mut dyn Conn, id: MessageId) -> Result<Message> {
    let message = conn.opt(&format!("select {COLUMNS} from messages where id = $1"), &[id.into()], from_row)?;
    let message = message.ok_or(DomainError::NotFound("message"))?;
    Ok(with_attachments(conn, vec![message])?.remove(0))
}

/// The conversation of a case, oldest first.
/// What a customer sees of their conversations through a channel (their messages and the
/// replies, never notes), newest last, at most `limit`.
pub fn seen_by_customer(conn: &mut dyn Conn, customer: CustomerId, channel: ChannelId, limit: i64) -> Result<Vec<Message>> {
    let columns: String = COLUMNS.split(", ").map(|c| format!("m.{}", c.trim())).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "select {columns} from messages m join cases c on c.id = m.case_id
         where c.customer_id = $1 and m.channel_id = $2 and m.direction in ('inbound', 'outbound')
         order by m.id desc limit $3"
    );
    let mut found = conn.all(&sql, &[customer.into(), channel.into(), limit.into()], from_row)?;
    found.reverse();
    with_attachments(conn, found)
}

/// The channel a customer wrote through last, on any of their cases.
pub fn last_inbound_channel(conn: &mut dyn Conn, customer: CustomerId) -> Result<Option<ChannelId>> {
    let sql = "select m.channel_id from messages m join cases c on c.id = m.case_id
               where c.customer_id = $1 and m.direction = 'inbound' and m.channel_id is not null order by m.id desc limit 1";
    Ok(conn.all(sql, &[customer.into()], |r| r.get(0))?.pop())
}

/// When the customer last wrote on a case through a channel.
pub fn last_inbound_at(conn: &mut dyn Conn, case: CaseId, channel: ChannelId) -> Result<Option<opora_domain::Timestamp>> {
    let sql = "select max(created_at) from messages where case_id = $1 and channel_id = $2 and direction = 'inbound'";
    Ok(conn.all(sql, &[case.into(), channel.into()], |r| r.get(0))?.pop().flatten())
}

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

/// Records what happened to an outbound message on its way to the customer; the provider's id
/// for it, when given, is kept.
pub fn set_delivery(tx: &mut Tx<'_>, id: MessageId, status: DeliveryStatus, error: Option<&str>, external_id: Option<&str>) -> Result<()> {
    tx.execute(
        "update messages set delivery_status = $2, delivery_error = $3, external_id = coalesce($4, external_id) where id = $1",
        &[id.into(), status.as_str().into(), error.into(), external_id.into()],
    )?;
    Ok(())
}

/// Replaces a message's HTML (inline images pointed at their stored attachments).
pub fn set_html(tx: &mut Tx<'_>, id: MessageId, html: &str) -> Result<()> {
    tx.execute("update messages set body_html = $2 where id = $1", &[id.into(), html.into()])?;
    Ok(())
}

pub fn set_external_id(tx: &mut Tx<'_>, id: MessageId, external_id: &str) -> Result<()> {
    tx.execute("update messages set external_id = $2 where id = $1", &[id.into(), external_id.into()])?;
    Ok(())
}

/// The agent who wrote a message, if an agent did.
pub fn author_agent(conn: &mut dyn Conn, id: MessageId) -> Result<Option<AgentId>> {
    Ok(conn.opt("select author_agent_id from messages where id = $1", &[id.into()], |r| r.get::<Option<AgentId>>(0))?.flatten())
}
