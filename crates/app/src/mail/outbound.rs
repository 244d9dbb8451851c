//! Sending an outbound message of an e-mail case (the `message.send` job): to the customer, with
//! the conversation's participants in copy, from the case's mailbox under the agent's name, with
//! the headers and the case token that bring the answer back to the same case. The delivery
//! status on the message follows: pending → sent, or failed with the server's reason.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use opora_channels::email::smtp::{self, Outgoing, OutgoingFile, Person, SendError, SmtpAccount, Transport};
use opora_domain::case::Case;
use opora_domain::channel::ChannelKind;
use opora_domain::customer::{Customer, IdentityKind};
use opora_domain::event::{Actor, DeliveryChanged, EventData};
use opora_domain::mail::{Mailbox, case_token};
use opora_domain::message::{DeliveryStatus, Message};
use opora_domain::{ChannelId, MessageId, Timestamp};
use opora_store::jobs::Job;
use opora_store::mail::{self, IdKind};
use opora_store::{agents, cases, customers, messages};

use crate::jobs::{MessageSend, Outcome};
use crate::{App, Unit};

/// Whether a reply on this case goes out (and is tracked) rather than being only recorded:
/// e-mail cases are answered by mail; integrations on other kinds read replies from events.
pub(crate) fn sends(case: &Case) -> bool {
    case.channel_kind == ChannelKind::Email
}

/// Queues an outbound message for sending: gives it its Message-ID (remembered at once, so a
/// reply that beats the send still threads) and enqueues the send job.
pub(crate) fn queue(u: &mut Unit<'_, '_>, case: &Case, message: MessageId) -> opora_store::Result<String> {
    let mailbox = mail::case_mailbox(u.conn(), case.id)?;
    let message_id = format!("opora.{}.{}.{}@{}", case.number, message.0, u.now().millis(), mailbox.domain());
    mail::remember_id(u.tx(), &message_id, case.id, Some(message), IdKind::Outbound)?;
    messages::set_external_id(u.tx(), message, &message_id)?;
    u.enqueue(MessageSend::of(message))?;
    Ok(message_id)
}

/// Records what happened to an outbound message on its way to the customer; the owner and the
/// author hear of a failure through the event.
pub(crate) fn record_delivery(u: &mut Unit<'_, '_>, id: MessageId, status: DeliveryStatus, error: Option<&str>) -> opora_store::Result<()> {
    let message = messages::get(u.conn(), id)?;
    messages::set_delivery(u.tx(), id, status, error, None)?;
    let case = cases::get(u.conn(), message.case_id)?;
    let data = DeliveryChanged { number: case.number, message_id: id, status, error: error.map(str::to_owned) };
    u.emit(Some(case.id), Some(case.customer_id), Actor::SYSTEM, EventData::MessageDeliveryChanged(data))?;
    Ok(())
}

/// One attempt of the `message.send` job.
pub(crate) async fn send(app: &App, send: MessageSend, job: &Job) -> Outcome {
    let timeout = Duration::from_secs(app.config().mail.timeout_seconds);
    app.core.mail.sender.send(app, send.message_id, job.attempts, job.max_attempts, timeout).await
}

/// Everything a message needs to be sent, read in one go.
struct Draft {
    message: Message,
    case: Case,
    mailbox: Mailbox,
    customer: Customer,
    copied: Vec<Customer>,
    agent: Option<(String, Option<String>)>,
    thread: Vec<(String, IdKind)>,
}

/// Keeps one SMTP transport (and its connection pool) per mailbox version.
#[derive(Default)]
pub struct Sender {
    transports: Mutex<HashMap<ChannelId, (Timestamp, Transport)>>,
}

fn email_of(customer: &Customer) -> Option<Person> {
    customer
        .identities
        .iter()
        .find(|i| i.kind == IdentityKind::Email)
        .map(|i| Person { name: customer.name.clone(), address: i.value.clone() })
}

/// Plain text as HTML paragraphs, for a reply written without formatting.
fn text_to_html(text: &str) -> String {
    let escaped = text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    escaped.split("\n\n").map(|p| format!("<p>{}</p>", p.replace('\n', "<br>"))).collect()
}

fn subject(case: &Case) -> String {
    let base =
        if case_token(&case.subject) == Some(case.number) { case.subject.clone() } else { format!("{} [#{}]", case.subject, case.number) };
    if opora_domain::mail::is_reply_subject(&base) { base } else { format!("Re: {base}") }
}

impl Sender {
    fn transport(&self, mailbox: &Mailbox, timeout: Duration) -> Result<Transport, SendError> {
        let mut cache = self.transports.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((version, transport)) = cache.get(&mailbox.id)
            && *version == mailbox.updated_at
        {
            return Ok(transport.clone());
        }
        let account = smtp_account(mailbox, timeout)?;
        let transport = smtp::transport(&account)?;
        cache.insert(mailbox.id, (mailbox.updated_at, transport.clone()));
        Ok(transport)
    }

    /// Runs one attempt of the `email.send` job.
    async fn send(&self, app: &App, id: MessageId, attempt: i64, max_attempts: i64, timeout: Duration) -> Outcome {
        let draft = match app.read(move |conn| read_draft(conn, id)).await {
            Ok(Some(draft)) => draft,
            Ok(None) => return Outcome::Done,
            Err(e) => return Outcome::Retry(e.to_string()),
        };
        let result = match self.compose(app, &draft).await {
            Ok(message) => match self.transport(&draft.mailbox, timeout) {
                Ok(transport) => smtp::send(&transport, message).await,
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        let outcome = match &result {
            Ok(_) => (DeliveryStatus::Sent, None),
            Err(e) if e.permanent || attempt >= max_attempts => (DeliveryStatus::Failed, Some(e.text.clone())),
            Err(e) => return Outcome::Retry(e.text.clone()),
        };
        let (status, error) = outcome;
        match app.write(move |u| record_delivery(u, id, status, error.as_deref())).await {
            Ok(_) => Outcome::Done,
            // Sent but not recorded: the retry finds the message still pending and would send it
            // again, so report the failure loudly rather than guess.
            Err(e) => Outcome::Retry(format!("sent, but the delivery status could not be saved: {e}")),
        }
    }

    async fn compose(&self, app: &App, draft: &Draft) -> Result<smtp::Message, SendError> {
        let permanent = |text: String| SendError { text, permanent: true };
        let to =
            email_of(&draft.customer).ok_or_else(|| permanent(format!("the customer {:?} has no e-mail address", draft.customer.name)))?;
        let own_id = draft.message.external_id.clone().ok_or_else(|| permanent("the message has no Message-ID".into()))?;
        let mut attachments = Vec::new();
        for file in &draft.message.attachments {
            let content = app
                .core
                .store
                .blobs()
                .get(&file.sha256)
                .await
                .map_err(|e| SendError { text: format!("attachment {}: {e}", file.filename), permanent: false })?;
            attachments.push(OutgoingFile { filename: file.filename.clone(), content_type: file.content_type.clone(), content });
        }
        let mailbox = &draft.mailbox;
        let from_name = match (&draft.agent, mailbox.sender_name.trim()) {
            (Some((agent, _)), "") => agent.clone(),
            (Some((agent, _)), team) => format!("{agent} — {team}"),
            (None, "") => mailbox.name.clone(),
            (None, team) => team.to_owned(),
        };
        let signature = draft.agent.as_ref().and_then(|(_, s)| s.clone()).filter(|s| !s.trim().is_empty());
        let mut text = draft.message.body_text.clone();
        let mut html = draft.message.body_html.clone().unwrap_or_else(|| text_to_html(&text));
        if let Some(signature) = &signature {
            text = format!("{text}\n\n-- \n{signature}");
            html = format!("{html}<p>-- <br>{}</p>", text_to_html(signature).trim_start_matches("<p>").trim_end_matches("</p>"));
        }
        let others: Vec<&(String, IdKind)> = draft.thread.iter().filter(|(id, _)| *id != own_id).collect();
        let in_reply_to = others.iter().rev().find(|(_, kind)| *kind == IdKind::Inbound).or(others.last()).map(|(id, _)| id.clone());
        // The root and the latest ones: enough to thread, short enough for every server.
        let mut references: Vec<String> = others.iter().map(|(id, _)| id.clone()).collect();
        if references.len() > 10 {
            let tail = references.split_off(references.len() - 9);
            references.truncate(1);
            references.extend(tail);
        }
        let outgoing = Outgoing {
            message_id: own_id,
            from: Person { name: from_name, address: mailbox.address.clone() },
            reply_to: mailbox.plus_addressing.then(|| mailbox.reply_address(draft.case.number)),
            to: vec![to],
            cc: draft.copied.iter().filter_map(email_of).collect(),
            subject: subject(&draft.case),
            in_reply_to,
            references,
            text,
            html: Some(html),
            attachments,
            automatic: draft.agent.is_none(),
        };
        smtp::compose(&outgoing)
    }
}

fn read_draft(conn: &mut dyn opora_store::db::Conn, id: MessageId) -> opora_store::Result<Option<Draft>> {
    let message = messages::get(conn, id)?;
    if message.delivery_status != DeliveryStatus::Pending {
        return Ok(None);
    }
    let case = cases::get(conn, message.case_id)?;
    let mailbox = mail::case_mailbox(conn, case.id)?;
    let customer = customers::get(conn, case.customer_id)?;
    let ids: Vec<_> = cases::participants(conn, case.id)?.into_iter().map(|(id, _)| id).collect();
    let copied = customers::get_many(conn, &ids)?;
    let agent = match message.author_agent_id {
        Some(agent) => {
            let agent = agents::get(conn, agent)?;
            Some((agent.name, agent.signature))
        }
        None => None,
    };
    let thread = mail::thread_ids(conn, case.id)?;
    Ok(Some(Draft { message, case, mailbox, customer, copied, agent, thread }))
}

/// How to reach a mailbox's SMTP server.
pub(crate) fn smtp_account(mailbox: &Mailbox, timeout: Duration) -> Result<SmtpAccount, SendError> {
    let server = mailbox.smtp.as_ref().ok_or_else(|| SendError { text: opora_domain::mail::NO_SMTP_SERVER.into(), permanent: true })?;
    Ok(SmtpAccount {
        host: server.host.clone(),
        port: server.port,
        security: server.security,
        user: server.user.clone(),
        password: server.password.clone(),
        accept_invalid_certs: mailbox.accept_invalid_certs,
        hello_name: mailbox.domain().to_owned(),
        timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_becomes_safe_paragraphs() {
        assert_eq!(text_to_html("Здравствуйте!\nЗаказ <5512>\n\nСпасибо"), "<p>Здравствуйте!<br>Заказ &lt;5512&gt;</p><p>Спасибо</p>");
    }
}
