//! Outbound messages, for every channel: which channel a reply leaves through, the key it gets
//! before it is sent, the one job kind (`message.send`) that hands it to the channel's driver
//! and retries per the driver's verdict, and the delivery state that only goes forward.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use opora_domain::case::Case;
use opora_domain::channel::{Channel, KeyKind};
use opora_domain::customer::Customer;
use opora_domain::customer::IdentityKind;
use opora_domain::event::{Actor, DeliveryChanged, EventData};
use opora_domain::message::{DeliveryStatus, Message};
use opora_domain::outbound::{Author, Choice, Outbound, OutgoingFile, Recipient, ThreadRef, Verdict};
use opora_domain::{ChannelId, DomainError, FieldError, MessageId};
use opora_store::db::Conn;
use opora_store::jobs::{Job, NewJob};
use opora_store::messages;
use opora_store::{agents, cases, channels, customers, thread_keys};

use crate::channels::Drivers;
use crate::jobs::{JobHandler, JobPayload, Outcome, handler};
use crate::{App, Error, Unit};

type Result<T> = opora_store::Result<T>;

/// The channels a reply to this case's customer can leave through, the default first: the one
/// the customer wrote through last (on any of their cases), then the case's own, then every
/// other active channel that sends and reaches one of their identities.
pub(crate) fn routes(conn: &mut dyn Conn, drivers: &Drivers, case: &Case) -> Result<Vec<Channel>> {
    let customer = customers::get(conn, case.customer_id)?;
    let reachable = |channel: &Channel| {
        let sends = channel.active && drivers.of(channel.kind).is_some_and(|d| d.profile(channel).can_send);
        let identity = channel.kind.reaches();
        // An integration's customer ids are its own: `3:crm-42` is reached only through channel 3.
        let known = customer
            .identities
            .iter()
            .any(|i| Some(i.kind) == identity && (i.kind != IdentityKind::External || i.value.starts_with(&format!("{}:", channel.id))));
        sends && known
    };
    let all = channels::list(conn)?;
    let last = messages::last_inbound_channel(conn, case.customer_id)?;
    let preferred = last.into_iter().chain(case.channel_id).filter_map(|id| all.iter().find(|c| c.id == id));
    let mut order: Vec<Channel> = Vec::new();
    for channel in preferred.chain(all.iter()).filter(|c| reachable(c)) {
        if !order.iter().any(|c| c.id == channel.id) {
            order.push(channel.clone());
        }
    }
    Ok(order)
}

/// The channel a reply on this case leaves through: the agent's choice (one of [`routes`]),
/// else the first of them, else the case's own channel or the default one of its kind (a case
/// opened through the API as `email` answers from the default mailbox). `None`: replies are only
/// recorded (integrations read them from events).
pub(crate) fn pick(conn: &mut dyn Conn, drivers: &Drivers, case: &Case, chosen: Option<ChannelId>) -> Result<Option<Channel>> {
    let candidates = routes(conn, drivers, case)?;
    if let Some(chosen) = chosen {
        return match candidates.into_iter().find(|c| c.id == chosen) {
            Some(channel) => Ok(Some(channel)),
            None => Err(DomainError::Validation(vec![FieldError::new("channel_id", "not_reachable")]).into()),
        };
    }
    if let Some(first) = candidates.into_iter().next() {
        return Ok(Some(first));
    }
    match case.channel_id {
        Some(id) => Ok(Some(channels::get(conn, id)?)),
        None => channels::default_of(conn, case.channel_kind),
    }
}

/// Queues a stored outbound message: the key the driver gives it now (remembered at once, so a
/// reply that beats the send still threads) and the send job.
pub(crate) fn queue(
    u: &mut Unit<'_, '_>,
    case: &Case,
    channel: &Channel,
    message: MessageId,
    choices: Vec<Choice>,
) -> Result<Option<String>> {
    let key = u.drivers().of(channel.kind).and_then(|d| d.outbound_key(channel, case.number, message, u.now()));
    if let Some(key) = &key {
        thread_keys::remember(u.tx(), key, case.id, Some(message), KeyKind::Outbound)?;
        messages::set_external_id(u.tx(), message, key)?;
    }
    u.enqueue(MessageSend::of(message, choices))?;
    Ok(key)
}

/// Records what happened to an outbound message on its way to the customer; a report that would
/// move it backwards (a late "sent" after "read") changes nothing. The owner and the author hear
/// of a failure through the event.
pub(crate) fn record_delivery(u: &mut Unit<'_, '_>, id: MessageId, status: DeliveryStatus, error: Option<&str>) -> Result<bool> {
    let message = messages::get(u.conn(), id)?;
    if !message.delivery_status.may_become(status) {
        return Ok(false);
    }
    messages::set_delivery(u.tx(), id, status, error, None)?;
    let case = cases::get(u.conn(), message.case_id)?;
    let data = DeliveryChanged { number: case.number, message_id: id, status, error: error.map(str::to_owned) };
    u.emit(Some(case.id), Some(case.customer_id), Actor::SYSTEM, EventData::MessageDeliveryChanged(data))?;
    Ok(true)
}

fn recipient(customer: &Customer) -> Recipient {
    Recipient { name: customer.name.clone(), identities: customer.identities.iter().map(|i| (i.kind, i.value.clone())).collect() }
}

/// Everything a message needs to be sent, read in one go; `None` when it is no longer waiting.
fn draft(conn: &mut dyn opora_store::db::Conn, id: MessageId) -> Result<Option<(Channel, Message, Outbound)>> {
    let message = messages::get(conn, id)?;
    if message.delivery_status != DeliveryStatus::Pending {
        return Ok(None);
    }
    let case = cases::get(conn, message.case_id)?;
    let channel = match message.channel_id.or(case.channel_id) {
        Some(id) => channels::get(conn, id)?,
        None => match channels::default_of(conn, case.channel_kind)? {
            Some(channel) => channel,
            None => return Ok(None),
        },
    };
    let customer = customers::get(conn, case.customer_id)?;
    // The copies the agent chose for this reply, else everyone in the conversation now.
    let ids = match &message.copies {
        Some(chosen) => chosen.clone(),
        None => cases::participants(conn, case.id)?.into_iter().map(|(id, _)| id).collect(),
    };
    let copies = customers::get_many(conn, &ids)?.iter().map(recipient).collect();
    let author = match message.author_agent_id {
        Some(agent) => {
            let agent = agents::get(conn, agent)?;
            Some(Author { name: agent.name, signature: agent.signature })
        }
        None => None,
    };
    let thread = thread_keys::of_case(conn, case.id)?.into_iter().map(|(key, kind)| ThreadRef { key, kind }).collect();
    let outbound = Outbound {
        message_id: message.id,
        key: message.external_id.clone(),
        case_id: case.id,
        case_number: case.number,
        case_subject: case.subject.clone(),
        customer: recipient(&customer),
        copies,
        author,
        text: message.body_text.clone(),
        html: message.body_html.clone(),
        attachments: Vec::new(),
        thread,
        template: message.template.clone(),
        choices: Vec::new(),
    };
    Ok(Some((channel, message, outbound)))
}

/// An outbound message to send through its case's channel (`message.send`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MessageSend {
    pub message_id: MessageId,
    /// Buttons under it (a rating's scores): they matter only while it is being sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Choice>,
}

impl JobPayload for MessageSend {
    const KIND: &'static str = "message.send";
}

impl MessageSend {
    pub fn of(message_id: MessageId, choices: Vec<Choice>) -> NewJob {
        MessageSend { message_id, choices }.job().unique(format!("message:{message_id}")).attempts(8)
    }
}

pub(crate) fn job() -> Arc<dyn JobHandler> {
    fn run_send<'a>(app: &'a App, message: MessageSend, job: &'a Job) -> BoxFuture<'a, Outcome> {
        Box::pin(send(app, message, job.attempts, job.max_attempts))
    }
    handler(run_send)
}

/// One attempt of the `message.send` job.
async fn send(app: &App, send: MessageSend, attempt: i64, max_attempts: i64) -> Outcome {
    let id = send.message_id;
    let (channel, message, mut outbound) = match app.read(move |conn| draft(conn, id)).await {
        Ok(Some(found)) => found,
        Ok(None) => return Outcome::Done,
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    outbound.choices = send.choices;
    for file in &message.attachments {
        match app.core.store.blobs().get(&file.sha256).await {
            Ok(content) => outbound.attachments.push(OutgoingFile {
                filename: file.filename.clone(),
                content_type: file.content_type.clone(),
                content,
            }),
            Err(e) => return Outcome::Retry(format!("attachment {}: {e}", file.filename)),
        }
    }
    if !channel.active {
        // Nothing leaves through a channel an admin switched off; the agent sees why.
        return finish(app, id, channel.id, Verdict::Failed { reason: "channel_switched_off".into() }, attempt, max_attempts).await;
    }
    let Some(driver) = app.core.drivers.of(channel.kind).cloned() else {
        return finish(
            app,
            id,
            channel.id,
            Verdict::Failed { reason: format!("no driver for {} channels", channel.kind) },
            attempt,
            max_attempts,
        )
        .await;
    };
    let verdict = driver.send(&channel, &outbound).await;
    finish(app, id, channel.id, verdict, attempt, max_attempts).await
}

async fn finish(app: &App, id: MessageId, channel: ChannelId, verdict: Verdict, attempt: i64, max_attempts: i64) -> Outcome {
    let broken = match &verdict {
        Verdict::Broken { reason } => Some((channel, reason.clone())),
        _ => None,
    };
    let (status, error, key) = match verdict {
        Verdict::Sent { key } => (DeliveryStatus::Sent, None, key),
        Verdict::Broken { reason } => (DeliveryStatus::Failed, Some(reason), None),
        Verdict::Failed { reason } => (DeliveryStatus::Failed, Some(reason), None),
        Verdict::Retry { reason, .. } if attempt >= max_attempts => (DeliveryStatus::Failed, Some(reason), None),
        Verdict::Retry { reason, after: Some(after) } => return Outcome::RetryAfter(reason, after),
        Verdict::Retry { reason, after: None } => return Outcome::Retry(reason),
    };
    let recorded = app
        .write(move |u| {
            if let Some(key) = &key {
                let message = messages::get(u.conn(), id)?;
                thread_keys::remember(u.tx(), key, message.case_id, Some(id), KeyKind::Outbound)?;
                messages::set_delivery(u.tx(), id, message.delivery_status, message.delivery_error.as_deref(), Some(key))?;
            }
            if let Some((channel, reason)) = &broken {
                crate::channels::mark_broken(u, *channel, reason)?;
            }
            record_delivery(u, id, status, error.as_deref())
        })
        .await;
    match recorded {
        Ok(_) => Outcome::Done,
        // Sent but not recorded: the retry finds the message still pending and would send it
        // again, so report the failure loudly rather than guess.
        Err(Error::Domain(e)) => Outcome::Retry(format!("the delivery status could not be saved: {e}")),
        Err(e) => Outcome::Retry(format!("sent, but the delivery status could not be saved: {e}")),
    }
}
