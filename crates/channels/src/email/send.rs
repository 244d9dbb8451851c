//! Sending a reply by e-mail: to the customer, with the conversation's people in copy, from the
//! mailbox under the agent's name, with the headers and the case token that bring the answer
//! back to the same case.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use opora_domain::channel::KeyKind;
use opora_domain::customer::IdentityKind;
use opora_domain::outbound::{Outbound, Recipient, Verdict};
use opora_domain::thread::{case_token, is_reply_subject};
use opora_domain::{ChannelId, Timestamp};

use super::mailbox::{Mailbox, NO_SMTP_SERVER};
use super::smtp::{self, Outgoing, Person, SendError, SmtpAccount, Transport};

/// Keeps one SMTP transport (and its connection pool) per mailbox version.
#[derive(Default)]
pub struct Transports {
    cache: Mutex<HashMap<ChannelId, (Timestamp, Transport)>>,
}

impl Transports {
    fn get(&self, mailbox: &Mailbox, timeout: Duration) -> Result<Transport, SendError> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((version, transport)) = cache.get(&mailbox.id)
            && *version == mailbox.updated_at
        {
            return Ok(transport.clone());
        }
        let transport = smtp::transport(&smtp_account(mailbox, timeout)?)?;
        cache.insert(mailbox.id, (mailbox.updated_at, transport.clone()));
        Ok(transport)
    }

    /// One attempt: composed, handed to the mailbox's SMTP server, judged.
    pub async fn send(&self, mailbox: &Mailbox, message: &Outbound, timeout: Duration) -> Verdict {
        let sent = match compose(mailbox, message) {
            Ok(composed) => match self.get(mailbox, timeout) {
                // Each read and write has `timeout`; the whole message, however large, ten times it.
                Ok(transport) => smtp::send(&transport, composed, timeout * 10).await,
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        match sent {
            Ok(_) => Verdict::Sent { key: None },
            Err(e) if e.permanent => Verdict::Failed { reason: e.text },
            Err(e) => Verdict::Retry { reason: e.text, after: None },
        }
    }
}

/// How to reach a mailbox's SMTP server.
pub(crate) fn smtp_account(mailbox: &Mailbox, timeout: Duration) -> Result<SmtpAccount, SendError> {
    let server = mailbox.settings.smtp.as_ref().ok_or_else(|| SendError { text: NO_SMTP_SERVER.into(), permanent: true })?;
    Ok(SmtpAccount {
        host: server.host.clone(),
        port: server.port,
        security: server.security,
        user: server.user.clone(),
        password: server.password.clone(),
        accept_invalid_certs: mailbox.settings.accept_invalid_certs,
        hello_name: mailbox.settings.domain().to_owned(),
        timeout,
    })
}

fn email_of(recipient: &Recipient) -> Option<Person> {
    recipient.identity(IdentityKind::Email).map(|address| Person { name: recipient.name.clone(), address: address.to_owned() })
}

/// Plain text as HTML paragraphs, for a reply written without formatting.
fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn text_to_html(text: &str) -> String {
    let escaped = escape_html(text);
    escaped.split("\n\n").map(|p| format!("<p>{}</p>", p.replace('\n', "<br>"))).collect()
}

/// `Re: subject [#1042]`: the token brings an answer back even when the headers are lost.
fn subject(message: &Outbound) -> String {
    let base = if case_token(&message.case_subject) == Some(message.case_number) {
        message.case_subject.clone()
    } else {
        format!("{} [#{}]", message.case_subject, message.case_number)
    };
    if is_reply_subject(&base) { base } else { format!("Re: {base}") }
}

fn compose(mailbox: &Mailbox, message: &Outbound) -> Result<smtp::Message, SendError> {
    let permanent = |text: String| SendError { text, permanent: true };
    let to =
        email_of(&message.customer).ok_or_else(|| permanent(format!("the customer {:?} has no e-mail address", message.customer.name)))?;
    let own_id = message.key.clone().ok_or_else(|| permanent("the message has no Message-ID".into()))?;
    let from_name = match (&message.author, mailbox.settings.sender_name.trim()) {
        (Some(author), "") => author.name.clone(),
        (Some(author), team) => format!("{} — {team}", author.name),
        (None, "") => mailbox.name.clone(),
        (None, team) => team.to_owned(),
    };
    let signature = message.author.as_ref().and_then(|a| a.signature.clone()).filter(|s| !s.trim().is_empty());
    let mut text = message.text.clone();
    let mut html = message.html.clone().unwrap_or_else(|| text_to_html(&text));
    // Choices (a reply's "did this help?") are links in mail, above the signature.
    let links: Vec<(&str, &str)> = message.choices.iter().filter_map(|c| Some((c.label.as_str(), c.link.as_deref()?))).collect();
    if !links.is_empty() {
        text = format!("{text}\n\n{}", links.iter().map(|(label, link)| format!("{label}: {link}")).collect::<Vec<_>>().join("\n"));
        let anchors: Vec<String> =
            links.iter().map(|(label, link)| format!("<a href=\"{}\">{}</a>", escape_html(link), escape_html(label))).collect();
        html = format!("{html}<p>{}</p>", anchors.join(" &nbsp; "));
    }
    if let Some(signature) = &signature {
        text = format!("{text}\n\n-- \n{signature}");
        html = format!("{html}<p>-- <br>{}</p>", text_to_html(signature).trim_start_matches("<p>").trim_end_matches("</p>"));
    }
    let others: Vec<_> =
        message.thread.iter().filter(|r| matches!(r.kind, KeyKind::Inbound | KeyKind::Outbound) && r.key != own_id).collect();
    let in_reply_to = others.iter().rev().find(|r| r.kind == KeyKind::Inbound).or(others.last()).map(|r| r.key.clone());
    // The root and the latest ones: enough to thread, short enough for every server.
    let mut references: Vec<String> = others.iter().map(|r| r.key.clone()).collect();
    if references.len() > 10 {
        let tail = references.split_off(references.len() - 9);
        references.truncate(1);
        references.extend(tail);
    }
    let outgoing = Outgoing {
        message_id: own_id,
        from: Person { name: from_name, address: mailbox.settings.address.clone() },
        reply_to: mailbox.settings.plus_addressing.then(|| mailbox.settings.reply_address(message.case_number)),
        to: vec![to],
        cc: message.copies.iter().filter_map(email_of).collect(),
        subject: subject(message),
        in_reply_to,
        references,
        text,
        html: Some(html),
        attachments: message.attachments.clone(),
        automatic: message.author.is_none(),
    };
    smtp::compose(&outgoing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_becomes_safe_paragraphs() {
        assert_eq!(text_to_html("Здравствуйте!\nЗаказ <5512>\n\nСпасибо"), "<p>Здравствуйте!<br>Заказ &lt;5512&gt;</p><p>Спасибо</p>");
    }
}
