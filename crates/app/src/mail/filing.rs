//! Filing a parsed inbound message: recognising what we already have, bounces and loops; finding
//! the case it belongs to (headers, the case token, a plus address, then sender and subject);
//! opening a case or a follow-up when there is none; adding the people in the conversation; and
//! acknowledging a new case to its customer, at most a few times an hour per address.

use opora_domain::agent::Language;
use opora_domain::case::{Case, CaseKind, Priority, Status};
use opora_domain::channel::ChannelKind;
use opora_domain::customer::{IdentityKind, parse_identity};
use opora_domain::event::{Actor, EventData, FollowUp, ParticipantAdded, ParticipantRole};
use opora_domain::mail::{Mailbox, RawStatus, case_token, is_reply_subject, normalize_subject, plus_case};
use opora_domain::message::{Body, DeliveryStatus, Direction};
use opora_domain::text::ATTACHMENT_PATH;
use opora_domain::{CaseId, CustomerId, MessageId, PayloadId};
use opora_store::mail::{self, IdKind, KnownId};
use opora_store::messages::{self, NewAttachment, NewMessage};
use opora_store::{cases, customers, mailboxes};

use crate::Unit;
use crate::cases::NewCaseSpec;
use crate::customers::CustomerRef;

type Result<T> = opora_store::Result<T>;

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

pub struct FilingRules {
    /// How far back a reply is matched to its case by sender and subject alone.
    pub subject_window_ms: i64,
    /// Acknowledgements per address per hour, at most.
    pub acknowledgements_per_hour: i64,
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
pub fn file(u: &mut Unit<'_, '_>, raw_id: PayloadId, mail: InboundMail, rules: &FilingRules) -> Result<Filed> {
    let raw = mail::get(u.conn(), raw_id)?;
    if raw.status != RawStatus::Received {
        return Ok(Filed::AlreadyDone);
    }
    let key = mail.message_id.clone().unwrap_or_else(|| format!("{}@no-message-id.opora", raw.sha256));
    let known = mail::known_ids(u.conn(), &[key.as_str()])?.pop();
    if let Some(known) = known.as_ref().filter(|k| k.kind != IdKind::Reference) {
        mail::finish(u.tx(), raw_id, RawStatus::Duplicate, None, Some(&key), Some(known.case_id), known.message_row)?;
        return Ok(Filed::Duplicate { case: known.case_id });
    }
    let ours = mailboxes::list(u.conn())?;
    let sender = mail.from.iter().chain(mail.reply_to.iter()).find_map(|p| parse_identity("from", IdentityKind::Email, &p.address).ok());
    if sender.as_deref().is_some_and(|s| ours.iter().any(|m| m.owns(s))) {
        mail::finish(u.tx(), raw_id, RawStatus::Ignored, Some("sent from one of our own mailboxes (a mail loop)"), Some(&key), None, None)?;
        return Ok(Filed::Ignored("loop"));
    }
    if let Some(bounce) = &mail.bounce {
        return file_bounce(u, raw_id, &key, &mail, bounce);
    }
    let mailbox = ours.iter().find(|m| m.id == raw.mailbox_id).cloned().ok_or(opora_domain::DomainError::NotFound("mailbox"))?;
    let name = mail.from.as_ref().map(|p| p.name.trim()).filter(|n| !n.is_empty());
    let language = opora_domain::text::guess_language(&format!("{} {}", mail.subject, mail.body.text));
    let customer = sender_customer(u, sender.as_deref(), name, language)?;

    let mut recipients: Vec<&str> = raw.recipients.iter().map(String::as_str).collect();
    recipients.extend(mail.delivered_to.iter().map(String::as_str));
    recipients.extend(mail.to.iter().chain(&mail.cc).map(|p| p.address.as_str()));
    let found = find_case(u, &mail, known.as_ref(), &recipients, &ours, customer, rules.subject_window_ms)?;

    let subject = subject_or_first_line(&mail);
    let (case, via) = match found {
        Some((case, _)) if case.status == Status::Closed => (open_case(u, &subject, customer, &mailbox, Some(&case))?, Via::FollowUp),
        Some((case, via)) => (case, via),
        None => (open_case(u, &subject, customer, &mailbox, None)?, Via::NewCase),
    };
    let new = NewMessage {
        direction: Direction::Inbound,
        channel_kind: ChannelKind::Email,
        channel_id: Some(mailbox.id),
        author_agent_id: None,
        author_customer_id: Some(customer),
        subject: Some(mail.subject.clone()),
        body: mail.body.clone(),
        attachments: mail.attachments.clone(),
        external_id: Some(key.clone()),
        delivery_status: DeliveryStatus::NotApplicable,
    };
    let (message, case) = crate::messages::inbound(u, case.id, new, Actor::customer(customer))?;
    link_inline_images(u, &message)?;

    mail::remember_id(u.tx(), &key, case.id, Some(message.id), IdKind::Inbound)?;
    for reference in mail.in_reply_to.iter().chain(&mail.references).take(MAX_REFERENCES) {
        mail::remember_id(u.tx(), reference, case.id, None, IdKind::Reference)?;
    }
    add_participants(u, &case, customer, &mail, &ours)?;
    let acknowledged = matches!(via, Via::NewCase | Via::FollowUp)
        && mail.automatic.is_none()
        && mailbox.acknowledge
        && mailbox.smtp.is_some()
        && sender.as_deref().is_some_and(|s| may_acknowledge(u, s, rules.acknowledgements_per_hour).unwrap_or(false));
    if acknowledged {
        let language = customers::get(u.conn(), customer)?.language.unwrap_or(language);
        let text = u.texts().acknowledgement(language, &case);
        acknowledge(u, &case, text)?;
    }
    mail::finish(u.tx(), raw_id, RawStatus::Processed, mail.automatic.as_deref(), Some(&key), Some(case.id), Some(message.id))?;
    Ok(Filed::Message { case: case.id, message: message.id, via, acknowledged })
}

/// A bounce names the message it reports on: that message is marked failed (its owner is told
/// through the delivery event) and the report is kept on the case for the agent to read.
fn file_bounce(u: &mut Unit<'_, '_>, raw_id: PayloadId, key: &str, mail: &InboundMail, bounce: &BounceInfo) -> Result<Filed> {
    let original = match &bounce.original_message_id {
        Some(id) => mail::known_ids(u.conn(), &[id.as_str()])?.pop(),
        None => None,
    };
    let Some(KnownId { case_id, message_row: Some(message), kind: IdKind::Outbound, .. }) = original else {
        mail::finish(u.tx(), raw_id, RawStatus::Ignored, Some("a delivery report about a message we did not send"), Some(key), None, None)?;
        return Ok(Filed::Ignored("unknown_bounce"));
    };
    let diagnostic = bounce.diagnostic.clone().unwrap_or_else(|| "the recipient's server refused the message".to_owned());
    if bounce.permanent {
        crate::mail::outbound::record_delivery(u, message, DeliveryStatus::Failed, Some(&diagnostic))?;
    }
    let case = cases::get(u.conn(), case_id)?;
    let report = NewMessage {
        direction: Direction::System,
        channel_kind: ChannelKind::Email,
        channel_id: case.channel_id,
        author_agent_id: None,
        author_customer_id: None,
        subject: Some(mail.subject.clone()),
        body: mail.body.clone(),
        attachments: mail.attachments.clone(),
        external_id: Some(key.to_owned()),
        delivery_status: DeliveryStatus::NotApplicable,
    };
    let stored = crate::messages::add(u, &case, report, Actor::SYSTEM)?;
    mail::remember_id(u.tx(), key, case_id, Some(stored.id), IdKind::Inbound)?;
    mail::finish(u.tx(), raw_id, RawStatus::Processed, Some(&diagnostic), Some(key), Some(case_id), Some(stored.id))?;
    Ok(Filed::Bounce { case: case_id, message })
}

/// The customer a sender's address belongs to, created on first contact. A message without a
/// usable address still gets a customer (without one), so it is never lost.
fn sender_customer(u: &mut Unit<'_, '_>, address: Option<&str>, name: Option<&str>, language: Language) -> Result<CustomerId> {
    let reference = CustomerRef::Identities {
        identities: address.map(|a| (IdentityKind::Email, a.to_owned())).into_iter().collect(),
        name: name.map(str::to_owned),
    };
    Ok(crate::customers::identify(u, reference, Some(language), Actor::SYSTEM)?.0)
}

/// The case a message continues, in order of certainty: a Message-ID it answers or references;
/// our case token in the subject; a plus address it was sent to; and, for a message that says it
/// is a reply, the same sender's recent case with the same subject.
fn find_case(
    u: &mut Unit<'_, '_>,
    mail: &InboundMail,
    own_reference: Option<&KnownId>,
    recipients: &[&str],
    ours: &[Mailbox],
    customer: CustomerId,
    window_ms: i64,
) -> Result<Option<(Case, Via)>> {
    // Its own ID named by a reply that arrived first.
    if let Some(known) = own_reference {
        return Ok(Some((cases::get(u.conn(), known.case_id)?, Via::Headers)));
    }
    let mut wanted: Vec<&str> = mail.in_reply_to.iter().map(String::as_str).collect();
    wanted.extend(mail.references.iter().rev().map(String::as_str));
    wanted.truncate(MAX_REFERENCES);
    let known = mail::known_ids(u.conn(), &wanted)?;
    // The nearest ancestor wins; a real message beats one only referenced.
    let best = wanted
        .iter()
        .find_map(|id| known.iter().find(|k| k.message_id == *id && k.kind != IdKind::Reference))
        .or_else(|| wanted.iter().find_map(|id| known.iter().find(|k| k.message_id == *id)));
    if let Some(found) = best {
        return Ok(Some((cases::get(u.conn(), found.case_id)?, Via::Headers)));
    }
    if let Some(number) = case_token(&mail.subject)
        && let Some(case) = cases::by_number(u.conn(), number)?
    {
        return Ok(Some((case, Via::Token)));
    }
    for address in recipients {
        if ours.iter().any(|m| m.owns(address))
            && let Some(number) = plus_case(address)
            && let Some(case) = cases::by_number(u.conn(), number)?
        {
            return Ok(Some((case, Via::PlusAddress)));
        }
    }
    let replying = is_reply_subject(&mail.subject) || !mail.in_reply_to.is_empty() || !mail.references.is_empty();
    let wanted_subject = normalize_subject(&mail.subject);
    if replying && !wanted_subject.is_empty() {
        let since = u.now().plus_millis(-window_ms);
        let recent = cases::recent_of_customer(u.conn(), customer, since, 50)?;
        if let Some(case) = recent.into_iter().find(|c| normalize_subject(&c.subject) == wanted_subject) {
            return Ok(Some((cases::get(u.conn(), case.id)?, Via::Subject)));
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

fn open_case(u: &mut Unit<'_, '_>, subject: &str, customer: CustomerId, mailbox: &Mailbox, previous: Option<&Case>) -> Result<Case> {
    let spec = NewCaseSpec {
        subject: subject.to_owned(),
        customer_id: customer,
        kind: previous.map_or(CaseKind::Question, |p| p.kind),
        priority: previous.map_or(Priority::Normal, |p| p.priority),
        channel_kind: ChannelKind::Email,
        channel_id: Some(mailbox.id),
        team_id: previous.and_then(|p| p.team_id),
        // The owner of the closed case carries its continuation too.
        owner_id: previous.and_then(|p| p.owner_id),
        category: previous.and_then(|p| p.category.clone()),
        tags: Vec::new(),
        custom_fields: Default::default(),
        deadline_at: None,
        budget: None,
    };
    let case = crate::cases::open_case(u, spec, Actor::customer(customer))?;
    if let Some(previous) = previous {
        let data = FollowUp { previous_number: previous.number, previous_id: previous.id };
        u.emit(Some(case.id), Some(customer), Actor::SYSTEM, EventData::CaseFollowUp(data))?;
    }
    Ok(case)
}

/// Replaces the `cid-N` placeholders in the HTML with the stored attachments' addresses.
fn link_inline_images(u: &mut Unit<'_, '_>, message: &opora_domain::message::Message) -> Result<()> {
    let Some(html) = &message.body_html else { return Ok(()) };
    if !html.contains(&format!("{ATTACHMENT_PATH}cid-")) {
        return Ok(());
    }
    let mut linked = html.clone();
    // Highest index first, so `cid-1` does not match inside `cid-12`.
    for (index, attachment) in message.attachments.iter().enumerate().rev() {
        linked = linked.replace(&format!("{ATTACHMENT_PATH}cid-{index}\""), &format!("{ATTACHMENT_PATH}{}\"", attachment.id));
    }
    messages::set_html(u.tx(), message.id, &linked)?;
    Ok(())
}

/// Whoever wrote in besides the customer, and whoever they copied, joins the conversation.
fn add_participants(u: &mut Unit<'_, '_>, case: &Case, author: CustomerId, mail: &InboundMail, ours: &[Mailbox]) -> Result<()> {
    let mut people: Vec<(CustomerId, ParticipantRole)> = Vec::new();
    if author != case.customer_id {
        people.push((author, ParticipantRole::Sender));
    }
    let copied = mail.to.iter().chain(&mail.cc).filter(|p| !ours.iter().any(|m| m.owns(&p.address)));
    for person in copied.take(MAX_PARTICIPANTS_PER_MESSAGE) {
        let Ok(address) = parse_identity("cc", IdentityKind::Email, &person.address) else { continue };
        let name = Some(person.name.trim()).filter(|n| !n.is_empty()).map(str::to_owned);
        let reference = CustomerRef::Identities { identities: vec![(IdentityKind::Email, address)], name };
        let (id, _) = crate::customers::identify(u, reference, None, Actor::SYSTEM)?;
        if id != case.customer_id && id != author {
            people.push((id, ParticipantRole::Cc));
        }
    }
    for (customer, role) in people {
        if cases::add_participant(u.tx(), case.id, customer, role.as_str())? {
            let data = ParticipantAdded { customer_id: customer, role };
            u.emit(Some(case.id), Some(customer), Actor::SYSTEM, EventData::CaseParticipantAdded(data))?;
        }
    }
    Ok(())
}

/// Counts acknowledgements per address in hourly windows; two auto-responders answering each
/// other stop after a few rounds.
fn may_acknowledge(u: &mut Unit<'_, '_>, address: &str, per_hour: i64) -> Result<bool> {
    let now = u.now();
    let (start, sent) = match mail::acknowledgement_window(u.conn(), address)? {
        Some((start, sent)) if start >= now.plus_millis(-3_600_000).millis() => (start, sent),
        _ => (now.millis(), 0),
    };
    if sent >= per_hour {
        return Ok(false);
    }
    mail::record_acknowledgement(u.tx(), address, start, sent + 1)?;
    Ok(true)
}

/// The acknowledgement is an outbound message of the case like any other, sent by the system,
/// so the conversation shows what the customer was told.
fn acknowledge(u: &mut Unit<'_, '_>, case: &Case, body: Body) -> Result<()> {
    let new = NewMessage {
        direction: Direction::Outbound,
        channel_kind: case.channel_kind,
        channel_id: case.channel_id,
        author_agent_id: None,
        author_customer_id: None,
        subject: None,
        body,
        attachments: Vec::new(),
        external_id: None,
        delivery_status: DeliveryStatus::Pending,
    };
    let message = crate::messages::add(u, case, new, Actor::SYSTEM)?;
    crate::mail::outbound::queue(u, case, message.id)?;
    Ok(())
}
