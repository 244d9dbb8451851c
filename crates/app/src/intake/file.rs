//! Filing what a channel received, the same way for every channel, as an ordered pipeline in
//! one transaction: recognise what we already have (the key), loops (our own address as the
//! sender) and reports on messages we sent; find who wrote (one customer across channels);
//! find the case the message continues (the keys it refers to, the case number it names, its
//! conversation, then sender and subject); keep strangers out of other people's cases; open a
//! case or a follow-up when there is none; add the people addressed; acknowledge a new case.

use opora_channels::driver::Profile;
use opora_domain::agent::Language;
use opora_domain::case::{Case, CaseKind, Priority};
use opora_domain::channel::{Channel, ChannelKind, KeyKind, PayloadStatus};
use opora_domain::customer::IdentityKind;
use opora_domain::event::{Actor, CaseLinked, EventData, FollowUp, LinkReason, ParticipantAdded, ParticipantRole};
use opora_domain::inbound::{CallEvent, ChoiceMade, InboundMessage, StatusReport};
use opora_domain::message::{Body, DeliveryStatus, Direction};
use opora_domain::status::Status;
use opora_domain::text::ATTACHMENT_PATH;
use opora_domain::thread::{is_reply_subject, normalize_subject};
use opora_domain::{CaseId, CustomerId, MessageId, PayloadId};
use opora_store::messages::{self, NewAttachment, NewMessage};
use opora_store::thread_keys::{self, Known};
use opora_store::{cases, customers, payloads};

use crate::Unit;
use crate::cases::NewCaseSpec;
use crate::channels::Drivers;
use crate::customers::CustomerRef;

type Result<T> = opora_store::Result<T>;

/// A message ready to file: its files in the blob store, its HTML sanitised with inline images
/// pointing at `cid-N` placeholders (N indexes `attachments`), its language guessed.
#[derive(Debug, Clone)]
pub(crate) struct Incoming {
    pub message: InboundMessage,
    pub body: Body,
    pub attachments: Vec<NewAttachment>,
    pub language: Language,
}

/// What a payload holds, ready to file.
#[derive(Debug, Clone)]
pub(crate) enum Item {
    Message(Incoming),
    Status(StatusReport, Option<Incoming>),
    Call(CallEvent),
    Choice(ChoiceMade),
}

impl Item {
    fn key(&self) -> &str {
        match self {
            Item::Message(incoming) => &incoming.message.key,
            Item::Status(report, _) => &report.key,
            Item::Call(call) => &call.key,
            Item::Choice(choice) => &choice.key,
        }
    }
}

/// Everything filing consults besides the transaction: the channels (read once per batch) and
/// their drivers.
pub(crate) struct Context {
    pub channels: Vec<Channel>,
    pub drivers: Drivers,
    pub acknowledgements_per_hour: i64,
    pub max_participants: usize,
}

impl Context {
    fn profile(&self, channel: &Channel) -> Option<Profile> {
        self.drivers.of(channel.kind).map(|d| d.profile(channel))
    }

    /// Whether an identity is one of our own channels' (a message from it is a loop).
    fn is_ours(&self, kind: ChannelKind, identity: &(IdentityKind, String)) -> bool {
        let Some(driver) = self.drivers.of(kind) else { return false };
        self.channels.iter().filter(|c| c.kind == kind).any(|c| driver.is_own(c, identity.0, &identity.1))
    }
}

/// How a message found its case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A key it refers to (e-mail headers, an answered message).
    Headers,
    /// The case number it names (subject token, reply address).
    Token,
    /// Its conversation.
    Conversation,
    /// Sender and subject.
    Subject,
    NewCase,
    /// The matching case was closed: a new one continues it.
    FollowUp,
    /// It named a case its sender is not in: a new case, linked to that one.
    Linked,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filed {
    Message {
        case: CaseId,
        message: MessageId,
        via: Via,
        acknowledged: bool,
    },
    /// The same key was filed before: nothing new.
    Duplicate {
        case: CaseId,
    },
    /// A report on a message we sent.
    Status {
        case: CaseId,
        message: MessageId,
    },
    /// A phone call logged on a case.
    Call {
        case: CaseId,
        message: MessageId,
    },
    /// A button pressed under one of our messages; `answer` is what the customer's app shows
    /// them at once (for drivers that answer a press), with the press's handle.
    Choice {
        case: Option<CaseId>,
        answer: Option<(String, String)>,
    },
    Ignored(&'static str),
    /// Another worker filed it first.
    AlreadyDone,
}

const MAX_PARTICIPANTS_PER_MESSAGE: usize = 20;

/// What ties a payload to others that must be filed after it: the people in it (their customer
/// records are found or made by identity) and every key (its own, the ones it refers to, its
/// conversation).
pub(crate) fn ties(items: &[Item]) -> Vec<String> {
    let mut ties = Vec::new();
    for item in items {
        match item {
            Item::Message(incoming) => {
                let message = &incoming.message;
                // Only those filing may add (a message copied to thousands must not take
                // thousands of locks).
                let people = std::iter::once(&message.sender).chain(message.addressed.iter().take(MAX_PARTICIPANTS_PER_MESSAGE));
                ties.extend(people.flat_map(|p| &p.identities).map(|(kind, value)| format!("from:{kind}:{}", value.to_lowercase())));
                ties.push(format!("key:{}", message.key));
                ties.extend(message.thread.references.iter().map(|r| format!("key:{r}")));
                ties.extend(message.thread.conversation.iter().map(|c| format!("key:{c}")));
            }
            Item::Status(report, _) => {
                ties.push(format!("key:{}", report.key));
                ties.push(format!("key:{}", report.about));
            }
            Item::Call(call) => {
                ties.push(format!("from:phone:{}", call.customer_number));
                ties.push(format!("key:{}", call.key));
            }
            Item::Choice(choice) => {
                ties.extend(choice.sender.identities.iter().map(|(kind, value)| format!("from:{kind}:{}", value.to_lowercase())));
                ties.push(format!("key:{}", choice.key));
            }
        }
    }
    ties
}

/// Files a received payload. Its state changes in the same transaction, so a payload is filed
/// exactly once; payloads of one sender or conversation are filed one at a time. A payload
/// usually holds one item; when it holds several (a batched webhook), the payload records the
/// last.
pub(crate) fn file(u: &mut Unit<'_, '_>, payload_id: PayloadId, items: Vec<Item>, context: &Context) -> Result<Filed> {
    // A pushed payload is filed as it arrives, beside the processor and other requests: two
    // first messages of one new chat user must not both make the customer or the case.
    u.tx().serialize(&ties(&items))?;
    let payload = payloads::get_for_update(u.tx(), payload_id)?;
    if payload.status != PayloadStatus::Received {
        return Ok(Filed::AlreadyDone);
    }
    let channel =
        context.channels.iter().find(|c| c.id == payload.channel_id).cloned().ok_or(opora_domain::DomainError::NotFound("channel"))?;
    let mut filed = Filed::Ignored("empty");
    for item in items {
        filed = file_item(u, payload_id, &channel, item, context)?;
    }
    Ok(filed)
}

fn file_item(u: &mut Unit<'_, '_>, payload: PayloadId, channel: &Channel, item: Item, context: &Context) -> Result<Filed> {
    let key = item.key().to_owned();
    let known = thread_keys::known(u.conn(), &[key.as_str()])?.pop();
    if let Some(known) = known.as_ref().filter(|k| k.kind != KeyKind::Reference) {
        payloads::finish(u.tx(), payload, PayloadStatus::Duplicate, None, Some(&key), Some(known.case_id), known.message_row)?;
        return Ok(Filed::Duplicate { case: known.case_id });
    }
    match item {
        Item::Status(report, note) => file_status(u, payload, channel, report, note),
        Item::Call(call) => super::calls::file_call(u, payload, channel, call),
        Item::Choice(choice) => crate::care::choices::file(u, payload, choice),
        Item::Message(incoming) => {
            if incoming.message.sender.identity().is_some_and(|identity| context.is_ours(channel.kind, identity)) {
                let reason = "sent from one of our own channels (a loop)";
                payloads::finish(u.tx(), payload, PayloadStatus::Ignored, Some(reason), Some(&key), None, None)?;
                return Ok(Filed::Ignored("loop"));
            }
            file_message(u, payload, channel, incoming, known, context)
        }
    }
}

/// A report names the message it is about: that message's delivery moves forward (a failure
/// reaches its owner through the event), and a report written for people is kept on the case.
fn file_status(u: &mut Unit<'_, '_>, payload: PayloadId, channel: &Channel, report: StatusReport, note: Option<Incoming>) -> Result<Filed> {
    let about = thread_keys::known(u.conn(), &[report.about.as_str()])?.pop();
    // Only the channel a message left through reports on it: another channel's report (a
    // bounce sent to another mailbox, another system's status) is not about our message.
    let ours = match &about {
        Some(Known { message_row: Some(message), kind: KeyKind::Outbound, .. }) => {
            messages::get(u.conn(), *message)?.channel_id == Some(channel.id)
        }
        _ => false,
    };
    let Some(Known { case_id, message_row: Some(message), kind: KeyKind::Outbound, .. }) = about.filter(|_| ours) else {
        let reason = "a delivery report about a message we did not send through this channel";
        payloads::finish(u.tx(), payload, PayloadStatus::Ignored, Some(reason), Some(&report.key), None, None)?;
        return Ok(Filed::Ignored("unknown_report"));
    };
    if let Some(status) = report.status {
        crate::outbound::record_delivery(u, message, status, report.reason.as_deref())?;
    }
    let mut row = Some(message);
    if let Some(note) = note {
        let case = cases::get(u.conn(), case_id)?;
        let new = NewMessage {
            direction: Direction::System,
            channel_kind: channel.kind,
            channel_id: Some(channel.id),
            author_agent_id: None,
            author_customer_id: None,
            subject: Some(note.message.subject.clone()),
            body: note.body,
            attachments: note.attachments,
            external_id: Some(report.key.clone()),
            delivery_status: DeliveryStatus::NotApplicable,
        };
        let stored = crate::messages::add(u, &case, new, Actor::SYSTEM)?;
        thread_keys::remember(u.tx(), &report.key, case_id, Some(stored.id), KeyKind::Inbound)?;
        row = Some(stored.id);
    }
    payloads::finish(u.tx(), payload, PayloadStatus::Processed, report.reason.as_deref(), Some(&report.key), Some(case_id), row)?;
    Ok(Filed::Status { case: case_id, message })
}

fn file_message(
    u: &mut Unit<'_, '_>,
    payload: PayloadId,
    channel: &Channel,
    incoming: Incoming,
    own_reference: Option<Known>,
    context: &Context,
) -> Result<Filed> {
    let profile = context.profile(channel).ok_or(opora_domain::DomainError::NotFound("channel"))?;
    let message = &incoming.message;
    let reference = CustomerRef::Identities {
        identities: message.sender.identities.clone(),
        name: Some(message.sender.name.clone()).filter(|n| !n.is_empty()),
    };
    let (customer, _) = crate::customers::identify(u, reference, Some(incoming.language), Actor::SYSTEM)?;

    let found = find_case(u, message, own_reference.as_ref(), customer, &profile)?;
    let subject = subject_or_first_line(message, &incoming.body);
    let (case, via) = match found {
        Some((case, via)) if via != Via::Subject && !in_conversation(u, &case, customer)? => {
            (open_linked(u, &subject, customer, channel, &case)?, Via::Linked)
        }
        Some((case, via)) if via == Via::Conversation && !profile.conversation.continues(case.status) => {
            (open_case(u, &subject, customer, channel, Some(&case))?, Via::FollowUp)
        }
        Some((case, _)) if case.status == Status::Closed => (open_case(u, &subject, customer, channel, Some(&case))?, Via::FollowUp),
        Some(found) => found,
        None => (open_case(u, &subject, customer, channel, None)?, Via::NewCase),
    };
    let new = NewMessage {
        direction: Direction::Inbound,
        channel_kind: channel.kind,
        channel_id: Some(channel.id),
        author_agent_id: None,
        author_customer_id: Some(customer),
        subject: Some(message.subject.clone()).filter(|s| !s.is_empty() || channel.kind == ChannelKind::Email),
        body: incoming.body.clone(),
        attachments: incoming.attachments.clone(),
        external_id: Some(message.key.clone()),
        delivery_status: DeliveryStatus::NotApplicable,
    };
    let (stored, case) = crate::messages::inbound(u, case.id, new, Actor::customer(customer))?;
    link_inline_images(u, &stored)?;
    if let Some(doubt) = &message.sender_doubt {
        messages::set_sender_doubt(u.tx(), stored.id, doubt)?;
    }
    if let Some(edited) = &message.edit_of {
        // Only a message of the same case: an edit never points into another conversation.
        let known = thread_keys::known(u.conn(), &[edited.as_str()])?.pop();
        if let Some(original) = known.filter(|k| k.case_id == case.id).and_then(|k| k.message_row) {
            messages::set_edit_of(u.tx(), stored.id, original)?;
        }
    }

    thread_keys::remember(u.tx(), &message.key, case.id, Some(stored.id), KeyKind::Inbound)?;
    for reference in &message.thread.references {
        thread_keys::remember(u.tx(), reference, case.id, None, KeyKind::Reference)?;
    }
    // The conversation moves on to its newest case, but never to a stranger's: the named case
    // stays the conversation's.
    if let Some(conversation) = message.thread.conversation.as_ref().filter(|_| via != Via::Linked) {
        thread_keys::remember(u.tx(), conversation, case.id, None, KeyKind::Conversation)?;
    }
    add_participants(u, &case, customer, message, context.max_participants)?;
    let wanted =
        matches!(via, Via::NewCase | Via::FollowUp | Via::Linked) && message.automatic.is_none() && profile.acknowledge && profile.can_send;
    let acknowledged = match message.sender.identity().filter(|_| wanted) {
        Some((kind, value)) => may_acknowledge(u, &format!("{kind}:{value}"), context.acknowledgements_per_hour)?,
        None => false,
    };
    if acknowledged {
        let language = customers::get(u.conn(), customer)?.language.unwrap_or(incoming.language);
        let text = u.texts().acknowledgement(language, &case);
        acknowledge(u, &case, text)?;
    }
    payloads::finish(
        u.tx(),
        payload,
        PayloadStatus::Processed,
        message.automatic.as_deref(),
        Some(&message.key),
        Some(case.id),
        Some(stored.id),
    )?;
    Ok(Filed::Message { case: case.id, message: stored.id, via, acknowledged })
}

/// The case a message continues, in order of certainty: a key it answers or refers to (or its
/// own key, named by a reply that arrived first); the case number it names; its conversation;
/// and, for a message that says it is a reply, the same customer's recent case with the same
/// subject.
fn find_case(
    u: &mut Unit<'_, '_>,
    message: &InboundMessage,
    own_reference: Option<&Known>,
    customer: CustomerId,
    profile: &Profile,
) -> Result<Option<(Case, Via)>> {
    if let Some(known) = own_reference {
        return Ok(Some((cases::get(u.conn(), known.case_id)?, Via::Headers)));
    }
    let wanted: Vec<&str> = message.thread.references.iter().map(String::as_str).collect();
    let known = thread_keys::known(u.conn(), &wanted)?;
    // The nearest ancestor wins; a real message beats one only referred to.
    let best = wanted
        .iter()
        .find_map(|key| known.iter().find(|k| k.key == *key && k.kind != KeyKind::Reference))
        .or_else(|| wanted.iter().find_map(|key| known.iter().find(|k| k.key == *key)));
    if let Some(found) = best {
        return Ok(Some((cases::get(u.conn(), found.case_id)?, Via::Headers)));
    }
    if let Some(number) = message.thread.case_number
        && let Some(case) = cases::by_number(u.conn(), number)?
    {
        return Ok(Some((case, Via::Token)));
    }
    if let Some(conversation) = &message.thread.conversation
        && let Some(known) = thread_keys::known(u.conn(), &[conversation.as_str()])?.pop()
    {
        return Ok(Some((cases::get(u.conn(), known.case_id)?, Via::Conversation)));
    }
    let replying = is_reply_subject(&message.subject) || !message.thread.references.is_empty();
    let wanted_subject = normalize_subject(&message.subject);
    if profile.subject_window_ms > 0 && replying && !wanted_subject.is_empty() {
        let since = u.now().plus_millis(-profile.subject_window_ms);
        let recent = cases::recent_of_customer(u.conn(), customer, since, 50)?;
        if let Some(case) = recent.into_iter().find(|c| normalize_subject(&c.subject) == wanted_subject) {
            return Ok(Some((cases::get(u.conn(), case.id)?, Via::Subject)));
        }
    }
    Ok(None)
}

/// Whether the customer is in the case's conversation: its customer, or someone who wrote in
/// or was copied. Only they may continue it: anyone else who names the case (its number is in
/// every subject, its reply address in every answer) would otherwise join it and receive the
/// conversation.
fn in_conversation(u: &mut Unit<'_, '_>, case: &Case, customer: CustomerId) -> Result<bool> {
    if case.customer_id == customer {
        return Ok(true);
    }
    Ok(cases::participants(u.conn(), case.id)?.iter().any(|(id, _)| *id == customer))
}

/// A subject for a case from a message without one: its first line of text.
fn subject_or_first_line(message: &InboundMessage, body: &Body) -> String {
    let subject = message.subject.trim();
    let source = if subject.is_empty() { body.text.lines().find(|l| !l.trim().is_empty()).unwrap_or("—") } else { subject };
    let line: String = source.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = line.chars().take(200).collect();
    if cut.is_empty() {
        cut.push('—');
    }
    cut
}

fn open_case(u: &mut Unit<'_, '_>, subject: &str, customer: CustomerId, channel: &Channel, previous: Option<&Case>) -> Result<Case> {
    let spec = NewCaseSpec {
        subject: subject.to_owned(),
        customer_id: customer,
        kind: previous.map_or(CaseKind::Question, |p| p.kind),
        priority: previous.map_or(Priority::Normal, |p| p.priority),
        channel_kind: channel.kind,
        channel_id: Some(channel.id),
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

/// A new case for a message that named `named` from outside its conversation, linked to it
/// both ways so an agent decides whether they belong together.
fn open_linked(u: &mut Unit<'_, '_>, subject: &str, customer: CustomerId, channel: &Channel, named: &Case) -> Result<Case> {
    let case = open_case(u, subject, customer, channel, None)?;
    let reason = LinkReason::NamedByStranger;
    cases::link(u.tx(), case.id, named.id, reason.as_str())?;
    let here = CaseLinked { number: case.number, linked_id: named.id, linked_number: named.number, reason };
    u.emit(Some(case.id), Some(customer), Actor::SYSTEM, EventData::CaseLinked(here))?;
    let there = CaseLinked { number: named.number, linked_id: case.id, linked_number: case.number, reason };
    u.emit(Some(named.id), Some(named.customer_id), Actor::SYSTEM, EventData::CaseLinked(there))?;
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
    messages::set_html(u.tx(), message.id, &linked)
}

/// Whoever wrote in besides the customer, and whoever they addressed, joins the conversation.
fn add_participants(u: &mut Unit<'_, '_>, case: &Case, author: CustomerId, message: &InboundMessage, max: usize) -> Result<()> {
    let mut people: Vec<(CustomerId, ParticipantRole)> = Vec::new();
    if author != case.customer_id {
        people.push((author, ParticipantRole::Sender));
    }
    for person in message.addressed.iter().take(MAX_PARTICIPANTS_PER_MESSAGE) {
        if person.identities.is_empty() {
            continue;
        }
        let name = Some(person.name.clone()).filter(|n| !n.is_empty());
        let reference = CustomerRef::Identities { identities: person.identities.clone(), name };
        let (id, _) = crate::customers::identify(u, reference, None, Actor::SYSTEM)?;
        if id != case.customer_id && id != author {
            people.push((id, ParticipantRole::Cc));
        }
    }
    if people.is_empty() {
        return Ok(());
    }
    // Replies go to everyone in the conversation: past the limit, the copied are not added (a
    // sender who writes in always is: they must hear back).
    let mut room = max.saturating_sub(cases::participants(u.conn(), case.id)?.len());
    for (customer, role) in people {
        if role == ParticipantRole::Cc && room == 0 {
            continue;
        }
        if cases::add_participant(u.tx(), case.id, customer, role.as_str())? {
            room = room.saturating_sub(1);
            let data = ParticipantAdded { customer_id: customer, role };
            u.emit(Some(case.id), Some(customer), Actor::SYSTEM, EventData::CaseParticipantAdded(data))?;
        }
    }
    Ok(())
}

/// Counts acknowledgements per sender in hourly windows; two auto-responders answering each
/// other stop after a few rounds.
fn may_acknowledge(u: &mut Unit<'_, '_>, identity: &str, per_hour: i64) -> Result<bool> {
    let now = u.now();
    let (start, sent) = match payloads::acknowledgement_window(u.conn(), identity)? {
        Some((start, sent)) if start >= now.plus_millis(-3_600_000).millis() => (start, sent),
        _ => (now.millis(), 0),
    };
    if sent >= per_hour {
        return Ok(false);
    }
    payloads::record_acknowledgement(u.tx(), identity, start, sent + 1)?;
    Ok(true)
}

/// The acknowledgement is an outbound message of the case like any other, sent by the system,
/// so the conversation shows what the customer was told. It goes to the sender alone: nobody
/// copied on a first message hears from a robot.
fn acknowledge(u: &mut Unit<'_, '_>, case: &Case, body: Body) -> Result<()> {
    let drivers = u.drivers();
    let route = crate::outbound::pick(u.conn(), drivers, case, None)?;
    let message = crate::messages::send(u, case, None, body, Vec::new(), route, Vec::new())?;
    messages::set_copies(u.tx(), message.id, &[])
}
