//! Filing a parsed inbound message: recognising what we already have, bounces and loops; finding
//! the case it belongs to (headers, the case token, a plus address, then sender and subject);
//! opening a case or a follow-up when there is none; adding the people in the conversation; and
//! acknowledging a new case to its customer, at most a few times an hour per address.

use opora_domain::agent::Language;
use opora_domain::case::{Case, CaseKind, Channel, Priority, SlaPolicy, Status};
use opora_domain::customer::{IdentityKind, parse_identity};
use opora_domain::event::{Actor, EventKind};
use opora_domain::mail::{Mailbox, RawStatus, case_token, is_reply_subject, normalize_subject, plus_case};
use opora_domain::message::{Body, DeliveryStatus, Direction};
use opora_domain::text::ATTACHMENT_PATH;
use opora_domain::{CaseId, CustomerId, MessageId, RawMailId};
use serde_json::json;

use crate::customers::{self, NewCustomer};
use crate::mail::{self, IdKind, KnownId};
use crate::messages::{self, NewAttachment, NewMessage};
use crate::{Result, Tx, cases, mailboxes};

/// A person in a message's headers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Person {
    pub name: String,
    pub address: String,
}

/// A delivery report about a message we sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BounceInfo {
    pub original_message_id: Option<String>,
    pub recipient: Option<String>,
    pub diagnostic: Option<String>,
    pub permanent: bool,
}

/// A parsed message, its attachments already in the blob store. Inline images are referenced
/// from the HTML as `/api/v1/attachments/cid-N` (N indexes `attachments`) until filing knows
/// their ids.
#[derive(Debug, Clone, Default)]
pub struct InboundMail {
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub subject: String,
    pub from: Option<Person>,
    pub reply_to: Option<Person>,
    pub to: Vec<Person>,
    pub cc: Vec<Person>,
    pub delivered_to: Vec<String>,
    pub body: Body,
    pub attachments: Vec<NewAttachment>,
    pub automatic: Option<String>,
    pub bounce: Option<BounceInfo>,
}

/// What an acknowledgement says, in the customer's language.
pub type AcknowledgementText = dyn Fn(Language, &Case) -> Body + Send + Sync;

pub struct FilingRules {
    pub sla: SlaPolicy,
    /// How far back a reply is matched to its case by sender and subject alone.
    pub subject_window_ms: i64,
    /// Acknowledgements per address per hour, at most.
    pub acknowledgements_per_hour: i64,
    pub acknowledgement: Box<AcknowledgementText>,
}

/// How a message found its case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Headers,
    Token,
    PlusAddress,
    Subject,
    NewCase,
    /// The matching case was closed: a new one continues it.
    FollowUp,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filed {
    Message {
        case: CaseId,
        message: MessageId,
        via: Via,
        acknowledged: bool,
    },
    /// The same Message-ID was filed before: nothing new.
    Duplicate {
        case: CaseId,
    },
    /// A delivery report: the outbound message it names is marked failed.
    Bounce {
        case: CaseId,
        message: MessageId,
    },
    Ignored(&'static str),
    /// Another worker filed it first.
    AlreadyDone,
}

const MAX_PARTICIPANTS_PER_MESSAGE: usize = 20;
const MAX_REFERENCES: usize = 50;

/// Files a received message (see the module documentation). The raw record's state changes in
/// the same transaction, so a message is filed exactly once.
pub fn file(tx: &mut Tx<'_>, raw_id: RawMailId, mail: InboundMail, rules: &FilingRules) -> Result<Filed> {
    let raw = mail::get(&mut **tx, raw_id)?;
    if raw.status != RawStatus::Received {
        return Ok(Filed::AlreadyDone);
    }
    let key = mail.message_id.clone().unwrap_or_else(|| format!("{}@no-message-id.opora", raw.sha256));
    let known = mail::known_ids(&mut **tx, &[key.as_str()])?.pop();
    if let Some(known) = known.as_ref().filter(|k| k.kind != IdKind::Reference) {
        mail::finish(tx, raw_id, RawStatus::Duplicate, None, Some(&key), Some(known.case_id), known.message_row)?;
        return Ok(Filed::Duplicate { case: known.case_id });
    }
    let ours = mailboxes::list(&mut **tx)?;
    let sender = mail.from.iter().chain(mail.reply_to.iter()).find_map(|p| parse_identity("from", IdentityKind::Email, &p.address).ok());
    if sender.as_deref().is_some_and(|s| ours.iter().any(|m| m.owns(s))) {
        mail::finish(tx, raw_id, RawStatus::Ignored, Some("sent from one of our own mailboxes (a mail loop)"), Some(&key), None, None)?;
        return Ok(Filed::Ignored("loop"));
    }
    if let Some(bounce) = &mail.bounce {
        return file_bounce(tx, raw_id, &key, &mail, bounce);
    }
    let mailbox = ours.iter().find(|m| m.id == raw.mailbox_id).cloned().ok_or(opora_domain::DomainError::NotFound("mailbox"))?;
    let name = mail.from.as_ref().map(|p| p.name.trim()).filter(|n| !n.is_empty());
    let language = opora_domain::text::guess_language(&format!("{} {}", mail.subject, mail.body.text));
    let customer = sender_customer(tx, sender.as_deref(), name, language)?;

    let mut recipients: Vec<&str> = raw.recipients.iter().map(String::as_str).collect();
    recipients.extend(mail.delivered_to.iter().map(String::as_str));
    recipients.extend(mail.to.iter().chain(&mail.cc).map(|p| p.address.as_str()));
    let found = find_case(tx, &mail, known.as_ref(), &recipients, &ours, customer, rules.subject_window_ms)?;

    let subject = subject_or_first_line(&mail);
    let (case, via) = match found {
        Some((case, _)) if case.status == Status::Closed => {
            (open_case(tx, &subject, customer, &mailbox, rules, Some(&case))?, Via::FollowUp)
        }
        Some((case, via)) => (case, via),
        None => (open_case(tx, &subject, customer, &mailbox, rules, None)?, Via::NewCase),
    };
    let new = NewMessage {
        direction: Direction::Inbound,
        channel: Channel::Email,
        author_agent_id: None,
        author_customer_id: Some(customer),
        subject: Some(mail.subject.clone()),
        body: mail.body.clone(),
        attachments: mail.attachments.clone(),
        external_id: Some(key.clone()),
        delivery_status: DeliveryStatus::NotApplicable,
    };
    let (message, case) = messages::inbound(tx, case.id, new, Actor::customer(customer))?;
    link_inline_images(tx, &message)?;

    mail::remember_id(tx, &key, case.id, Some(message.id), IdKind::Inbound)?;
    for reference in mail.in_reply_to.iter().chain(&mail.references).take(MAX_REFERENCES) {
        mail::remember_id(tx, reference, case.id, None, IdKind::Reference)?;
    }
    add_participants(tx, &case, customer, &mail, &ours)?;
    let acknowledged = matches!(via, Via::NewCase | Via::FollowUp)
        && mail.automatic.is_none()
        && mailbox.acknowledge
        && mailbox.smtp.is_some()
        && sender.as_deref().is_some_and(|s| may_acknowledge(tx, s, rules.acknowledgements_per_hour).unwrap_or(false));
    if acknowledged {
        let language = customers::get(&mut **tx, customer)?.language.unwrap_or(language);
        acknowledge(tx, &case, (rules.acknowledgement)(language, &case))?;
    }
    mail::finish(tx, raw_id, RawStatus::Processed, mail.automatic.as_deref(), Some(&key), Some(case.id), Some(message.id))?;
    Ok(Filed::Message { case: case.id, message: message.id, via, acknowledged })
}

/// A bounce names the message it reports on: that message is marked failed (its owner is told
/// through the delivery event) and the report is kept on the case for the agent to read.
fn file_bounce(tx: &mut Tx<'_>, raw_id: RawMailId, key: &str, mail: &InboundMail, bounce: &BounceInfo) -> Result<Filed> {
    let original = match &bounce.original_message_id {
        Some(id) => mail::known_ids(&mut **tx, &[id.as_str()])?.pop(),
        None => None,
    };
    let Some(KnownId { case_id, message_row: Some(message), kind: IdKind::Outbound, .. }) = original else {
        mail::finish(tx, raw_id, RawStatus::Ignored, Some("a delivery report about a message we did not send"), Some(key), None, None)?;
        return Ok(Filed::Ignored("unknown_bounce"));
    };
    let diagnostic = bounce.diagnostic.clone().unwrap_or_else(|| "the recipient's server refused the message".to_owned());
    if bounce.permanent {
        messages::set_delivery(tx, message, DeliveryStatus::Failed, Some(&diagnostic), None)?;
    }
    let case = cases::get(&mut **tx, case_id)?;
    let report = NewMessage {
        direction: Direction::System,
        channel: Channel::Email,
        author_agent_id: None,
        author_customer_id: None,
        subject: Some(mail.subject.clone()),
        body: mail.body.clone(),
        attachments: mail.attachments.clone(),
        external_id: Some(key.to_owned()),
        delivery_status: DeliveryStatus::NotApplicable,
    };
    let stored = messages::insert(tx, &case, report, Actor::SYSTEM)?;
    mail::remember_id(tx, key, case_id, Some(stored.id), IdKind::Inbound)?;
    mail::finish(tx, raw_id, RawStatus::Processed, Some(&diagnostic), Some(key), Some(case_id), Some(stored.id))?;
    Ok(Filed::Bounce { case: case_id, message })
}

/// The customer a sender's address belongs to, created on first contact. A message without a
/// usable address still gets a customer (without one), so it is never lost.
fn sender_customer(tx: &mut Tx<'_>, address: Option<&str>, name: Option<&str>, language: Language) -> Result<CustomerId> {
    if let Some(address) = address
        && let Some(id) = customers::find_by_identity(&mut **tx, IdentityKind::Email, address)?
    {
        return Ok(id);
    }
    let fallback = address.map(|a| opora_domain::customer::fallback_name(IdentityKind::Email, a)).unwrap_or_else(|| "?".to_owned());
    let name: String = name.map(str::to_owned).unwrap_or(fallback).chars().take(200).collect();
    let new = NewCustomer {
        name,
        language: Some(language),
        identities: address.map(|a| (IdentityKind::Email, a.to_owned())).into_iter().collect(),
        ..Default::default()
    };
    Ok(customers::create(tx, new, opora_domain::event::Actor::SYSTEM)?.id)
}

/// The case a message continues, in order of certainty: a Message-ID it answers or references;
/// our case token in the subject; a plus address it was sent to; and, for a message that says it
/// is a reply, the same sender's recent case with the same subject.
fn find_case(
    tx: &mut Tx<'_>,
    mail: &InboundMail,
    own_reference: Option<&KnownId>,
    recipients: &[&str],
    ours: &[Mailbox],
    customer: CustomerId,
    window_ms: i64,
) -> Result<Option<(Case, Via)>> {
    // Its own ID named by a reply that arrived first.
    if let Some(known) = own_reference {
        return Ok(Some((cases::get(&mut **tx, known.case_id)?, Via::Headers)));
    }
    let mut wanted: Vec<&str> = mail.in_reply_to.iter().map(String::as_str).collect();
    wanted.extend(mail.references.iter().rev().map(String::as_str));
    wanted.truncate(MAX_REFERENCES);
    let known = mail::known_ids(&mut **tx, &wanted)?;
    // The nearest ancestor wins; a real message beats one only referenced.
    let best = wanted
        .iter()
        .find_map(|id| known.iter().find(|k| k.message_id == *id && k.kind != IdKind::Reference))
        .or_else(|| wanted.iter().find_map(|id| known.iter().find(|k| k.message_id == *id)));
    if let Some(found) = best {
        return Ok(Some((cases::get(&mut **tx, found.case_id)?, Via::Headers)));
    }
    if let Some(number) = case_token(&mail.subject)
        && let Some(case) = cases::by_number(&mut **tx, number)?
    {
        return Ok(Some((case, Via::Token)));
    }
    for address in recipients {
        if ours.iter().any(|m| m.owns(address))
            && let Some(number) = plus_case(address)
            && let Some(case) = cases::by_number(&mut **tx, number)?
        {
            return Ok(Some((case, Via::PlusAddress)));
        }
    }
    let replying = is_reply_subject(&mail.subject) || !mail.in_reply_to.is_empty() || !mail.references.is_empty();
    let wanted_subject = normalize_subject(&mail.subject);
    if replying && !wanted_subject.is_empty() {
        let since = tx.now.plus_millis(-window_ms);
        let recent = tx.all(
            &format!("select {} from cases where customer_id = $1 and updated_at >= $2 order by updated_at desc limit 50", cases::COLUMNS),
            &[customer.into(), since.into()],
            cases::from_row,
        )?;
        if let Some(case) = recent.into_iter().find(|c| normalize_subject(&c.subject) == wanted_subject) {
            return Ok(Some((cases::get(&mut **tx, case.id)?, Via::Subject)));
        }
    }
    Ok(None)
}

/// A subject for a case from a message without one: its first line of text.
fn subject_or_first_line(mail: &InboundMail) -> String {
    let subject = mail.subject.trim();
    let source = if subject.is_empty() { mail.body.text.lines().find(|l| !l.trim().is_empty()).unwrap_or("—") } else { subject };
    let line: String = source.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = line.chars().take(200).collect();
    if cut.is_empty() {
        cut.push('—');
    }
    cut
}

fn open_case(
    tx: &mut Tx<'_>,
    subject: &str,
    customer: CustomerId,
    mailbox: &Mailbox,
    rules: &FilingRules,
    previous: Option<&Case>,
) -> Result<Case> {
    let new = cases::NewCase {
        subject: subject.to_owned(),
        customer_id: customer,
        kind: previous.map_or(CaseKind::Question, |p| p.kind),
        priority: previous.map_or(Priority::Normal, |p| p.priority),
        channel: Channel::Email,
        team_id: previous.and_then(|p| p.team_id),
        // The owner of the closed case carries its continuation too.
        owner_id: previous.and_then(|p| p.owner_id),
        category: previous.and_then(|p| p.category.clone()),
        tags: Vec::new(),
        custom_fields: Default::default(),
        deadline_at: None,
        budget: None,
    };
    let case = cases::create(tx, new, &rules.sla, Actor::customer(customer))?;
    tx.execute("update cases set mailbox_id = $2 where id = $1", &[case.id.into(), mailbox.id.into()])?;
    if let Some(previous) = previous {
        tx.emit(
            EventKind::CaseFollowUp,
            Some(case.id),
            Some(customer),
            Actor::SYSTEM,
            json!({"previous_number": previous.number, "previous_id": previous.id}),
        )?;
    }
    Ok(case)
}

/// Replaces the `cid-N` placeholders in the HTML with the stored attachments' addresses.
fn link_inline_images(tx: &mut Tx<'_>, message: &opora_domain::message::Message) -> Result<()> {
    let Some(html) = &message.body_html else { return Ok(()) };
    if !html.contains(&format!("{ATTACHMENT_PATH}cid-")) {
        return Ok(());
    }
    let mut linked = html.clone();
    // Highest index first, so `cid-1` does not match inside `cid-12`.
    for (index, attachment) in message.attachments.iter().enumerate().rev() {
        linked = linked.replace(&format!("{ATTACHMENT_PATH}cid-{index}\""), &format!("{ATTACHMENT_PATH}{}\"", attachment.id));
    }
    tx.execute("update messages set body_html = $2 where id = $1", &[message.id.into(), linked.as_str().into()])?;
    Ok(())
}

/// Whoever wrote in besides the customer, and whoever they copied, joins the conversation.
fn add_participants(tx: &mut Tx<'_>, case: &Case, author: CustomerId, mail: &InboundMail, ours: &[Mailbox]) -> Result<()> {
    let mut people: Vec<(CustomerId, &'static str)> = Vec::new();
    if author != case.customer_id {
        people.push((author, "sender"));
    }
    let copied = mail.to.iter().chain(&mail.cc).filter(|p| !ours.iter().any(|m| m.owns(&p.address)));
    for person in copied.take(MAX_PARTICIPANTS_PER_MESSAGE) {
        let Ok(address) = parse_identity("cc", IdentityKind::Email, &person.address) else { continue };
        let name = Some(person.name.trim()).filter(|n| !n.is_empty());
        let (id, _) = customers::find_or_create(tx, IdentityKind::Email, &address, name, Actor::SYSTEM)?;
        if id != case.customer_id && id != author {
            people.push((id, "cc"));
        }
    }
    let now = tx.now;
    for (customer, role) in people {
        let added = tx.execute(
            "insert into case_participants (case_id, customer_id, role, created_at) values ($1, $2, $3, $4) on conflict do nothing",
            &[case.id.into(), customer.into(), role.into(), now.into()],
        )?;
        if added > 0 {
            tx.emit(
                EventKind::CaseParticipantAdded,
                Some(case.id),
                Some(customer),
                Actor::SYSTEM,
                json!({"customer_id": customer, "role": role}),
            )?;
        }
    }
    Ok(())
}

/// The people in a case's conversation besides its customer.
pub fn participants(conn: &mut dyn crate::db::Conn, case: CaseId) -> Result<Vec<(CustomerId, String)>> {
    Ok(conn.all(
        "select customer_id, role from case_participants where case_id = $1 order by created_at, customer_id",
        &[case.into()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// Counts acknowledgements per address in hourly windows; two auto-responders answering each
/// other stop after a few rounds.
fn may_acknowledge(tx: &mut Tx<'_>, address: &str, per_hour: i64) -> Result<bool> {
    let now = tx.now;
    let hour_ago = now.plus_millis(-3_600_000);
    let current: Option<(i64, i64)> =
        tx.opt("select window_start, sent from mail_acknowledgements where address = $1", &[address.into()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let (start, sent) = match current {
        Some((start, sent)) if start >= hour_ago.millis() => (start, sent),
        _ => (now.millis(), 0),
    };
    if sent >= per_hour {
        return Ok(false);
    }
    tx.execute(
        "insert into mail_acknowledgements (address, window_start, sent) values ($1, $2, $3)
         on conflict (address) do update set window_start = excluded.window_start, sent = excluded.sent",
        &[address.into(), start.into(), (sent + 1).into()],
    )?;
    Ok(true)
}

/// The acknowledgement is an outbound message of the case like any other, sent by the system,
/// so the conversation shows what the customer was told.
fn acknowledge(tx: &mut Tx<'_>, case: &Case, body: Body) -> Result<()> {
    let new = NewMessage {
        direction: Direction::Outbound,
        channel: Channel::Email,
        author_agent_id: None,
        author_customer_id: None,
        subject: None,
        body,
        attachments: Vec::new(),
        external_id: None,
        delivery_status: DeliveryStatus::Pending,
    };
    let message = messages::insert(tx, case, new, Actor::SYSTEM)?;
    mail::queue_outbound(tx, case, message.id)?;
    Ok(())
}
