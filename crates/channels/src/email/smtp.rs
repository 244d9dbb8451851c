//! Outbound mail: composing a reply (text and HTML alternatives, attachments, the threading
//! headers that bring the customer's answer back to the case) and handing it to an SMTP server
//! over implicit TLS, STARTTLS or a plain connection to a local relay.

use std::time::Duration;

pub use lettre::Message;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox as Address, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use opora_domain::outbound::OutgoingFile;

use super::mailbox::Security;
pub use super::parse::Person;

/// A message ready to compose.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Without angle brackets.
    pub message_id: String,
    pub from: Person,
    pub reply_to: Option<String>,
    pub to: Vec<Person>,
    pub cc: Vec<Person>,
    pub subject: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<OutgoingFile>,
    /// Sent by the system (an acknowledgement), not by a person: marked so other systems'
    /// auto-responders stay silent (RFC 3834).
    pub automatic: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text}")]
pub struct SendError {
    pub text: String,
    /// The server refused for good (5xx) or the message cannot be built: retrying will not help.
    pub permanent: bool,
}

impl SendError {
    fn permanent(text: impl Into<String>) -> Self {
        Self { text: text.into(), permanent: true }
    }
}

#[derive(Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-replied".to_owned())
    }
}

/// Microsoft Exchange's own way of saying "do not auto-reply to this".
#[derive(Clone)]
struct SuppressAutoResponse;

impl Header for SuppressAutoResponse {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("X-Auto-Response-Suppress")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "All".to_owned())
    }
}

fn address(person: &Person) -> Result<Address, SendError> {
    let email = person.address.parse().map_err(|e| SendError::permanent(format!("invalid address {:?}: {e}", person.address)))?;
    let name = Some(person.name.trim().to_owned()).filter(|n| !n.is_empty());
    Ok(Address::new(name, email))
}

pub fn compose(out: &Outgoing) -> Result<Message, SendError> {
    if out.to.is_empty() {
        return Err(SendError::permanent("the message has no recipient"));
    }
    let mut builder = Message::builder()
        .from(address(&out.from)?)
        .subject(out.subject.clone())
        .message_id(Some(format!("<{}>", out.message_id)))
        .date_now()
        .user_agent("Opora".to_owned());
    if let Some(reply_to) = &out.reply_to {
        builder = builder.reply_to(address(&Person { name: out.from.name.clone(), address: reply_to.clone() })?);
    }
    for person in &out.to {
        builder = builder.to(address(person)?);
    }
    for person in &out.cc {
        builder = builder.cc(address(person)?);
    }
    if let Some(parent) = &out.in_reply_to {
        builder = builder.in_reply_to(format!("<{parent}>"));
    }
    if !out.references.is_empty() {
        let chain: Vec<String> = out.references.iter().map(|id| format!("<{id}>")).collect();
        builder = builder.references(chain.join(" "));
    }
    if out.automatic {
        builder = builder.header(AutoSubmitted).header(SuppressAutoResponse);
    }
    let text = SinglePart::plain(out.text.clone());
    let body = match &out.html {
        Some(html) => MultiPart::alternative().singlepart(text).singlepart(SinglePart::html(html.clone())),
        None => MultiPart::mixed().singlepart(text),
    };
    let message = if out.attachments.is_empty() {
        match &out.html {
            Some(_) => builder.multipart(body),
            None => builder.singlepart(SinglePart::plain(out.text.clone())),
        }
    } else {
        let mut mixed = MultiPart::mixed().multipart(body);
        for file in &out.attachments {
            let content_type =
                ContentType::parse(&file.content_type).unwrap_or(ContentType::parse("application/octet-stream").expect("valid type"));
            mixed = mixed.singlepart(Attachment::new(file.filename.clone()).body(file.content.clone(), content_type));
        }
        builder.multipart(mixed)
    };
    message.map_err(|e| SendError::permanent(format!("cannot build the message: {e}")))
}

/// An SMTP server and the account on it.
#[derive(Clone)]
pub struct SmtpAccount {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: Option<String>,
    pub password: Option<String>,
    pub accept_invalid_certs: bool,
    /// Our name in EHLO: the mailbox's domain.
    pub hello_name: String,
    pub timeout: Duration,
}

pub type Transport = AsyncSmtpTransport<Tokio1Executor>;

pub fn transport(account: &SmtpAccount) -> Result<Transport, SendError> {
    let parameters = || {
        TlsParameters::builder(account.host.clone())
            .dangerous_accept_invalid_certs(account.accept_invalid_certs)
            .dangerous_accept_invalid_hostnames(account.accept_invalid_certs)
            .build_rustls()
            .map_err(|e| SendError::permanent(format!("TLS settings: {e}")))
    };
    let tls = match account.security {
        Security::Tls => Tls::Wrapper(parameters()?),
        Security::Starttls => Tls::Required(parameters()?),
        Security::Plain => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(account.host.clone())
        .port(account.port)
        .tls(tls)
        .timeout(Some(account.timeout))
        .hello_name(ClientId::Domain(account.hello_name.clone()));
    if let Some(user) = &account.user {
        builder = builder.credentials(Credentials::new(user.clone(), account.password.clone().unwrap_or_default()));
    }
    Ok(builder.build())
}

/// Connects, says EHLO, upgrades to TLS and signs in, as sending would, without sending.
pub async fn check(transport: &Transport, limit: Duration) -> Result<(), SendError> {
    match within(limit, "the connection check", transport.test_connection()).await? {
        Ok(true) => Ok(()),
        Ok(false) => Err(SendError::permanent("SMTP: the server did not answer")),
        Err(e) => Err(SendError { text: format!("SMTP: {e}"), permanent: e.is_permanent() }),
    }
}

/// Sends a composed message; returns the server's reply (its queue id, usually). The whole
/// conversation is bounded too: a server that accepts the connection and never greets (or
/// stalls mid-way) must not hold the sender for ever.
pub async fn send(transport: &Transport, message: Message, limit: Duration) -> Result<String, SendError> {
    match within(limit, "sending", transport.send(message)).await? {
        Ok(response) => Ok(response.message().collect::<Vec<_>>().join(" ")),
        Err(e) => Err(SendError { text: format!("SMTP: {e}"), permanent: e.is_permanent() }),
    }
}

/// Runs an SMTP step under an overall limit (lettre's own timeout covers single reads and writes).
async fn within<T>(limit: Duration, what: &str, step: impl Future<Output = T>) -> Result<T, SendError> {
    tokio::time::timeout(limit, step)
        .await
        .map_err(|_| SendError { text: format!("SMTP: {what} took longer than {}s", limit.as_secs()), permanent: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply() -> Outgoing {
        Outgoing {
            message_id: "opora.1042.7.1@opora.test".into(),
            from: Person { name: "Анна — Клининг Плюс".into(), address: "support@opora.test".into() },
            reply_to: Some("support+c1042@opora.test".into()),
            to: vec![Person { name: "Иван Петров".into(), address: "ivan@example.ru".into() }],
            cc: vec![Person { name: String::new(), address: "olga@example.ru".into() }],
            subject: "Re: Курьер опоздал [#1042]".into(),
            in_reply_to: Some("m2@example.ru".into()),
            references: vec!["m1@example.ru".into(), "m2@example.ru".into()],
            text: "Здравствуйте! Курьер будет в 15:00.".into(),
            html: Some("<p>Здравствуйте! Курьер будет в <b>15:00</b>.</p>".into()),
            attachments: vec![OutgoingFile {
                filename: "счёт.pdf".into(),
                content_type: "application/pdf".into(),
                content: b"%PDF-1.4".to_vec(),
            }],
            automatic: false,
        }
    }

    #[test]
    fn a_reply_carries_what_threads_it_and_reads_back() {
        let raw = compose(&reply()).expect("composes").formatted();
        let parsed = crate::email::parse(&raw).expect("parses");
        assert_eq!(parsed.message_id.as_deref(), Some("opora.1042.7.1@opora.test"));
        assert_eq!(parsed.in_reply_to, ["m2@example.ru"]);
        assert_eq!(parsed.references, ["m1@example.ru", "m2@example.ru"]);
        assert_eq!(parsed.subject, "Re: Курьер опоздал [#1042]");
        assert_eq!(parsed.from.map(|f| f.name), Some("Анна — Клининг Плюс".to_owned()));
        assert_eq!(parsed.reply_to.map(|r| r.address), Some("support+c1042@opora.test".to_owned()));
        assert_eq!(parsed.cc.len(), 1);
        assert_eq!(parsed.text, "Здравствуйте! Курьер будет в 15:00.");
        assert!(parsed.html.is_some_and(|h| h.contains("<b>15:00</b>")));
        assert_eq!(parsed.attachments.len(), 1);
        assert_eq!(parsed.attachments[0].filename, "счёт.pdf");
        assert_eq!(parsed.automatic, None);
    }

    #[test]
    fn acknowledgements_are_marked_automatic() {
        let ack = Outgoing { automatic: true, html: None, attachments: vec![], ..reply() };
        let raw = compose(&ack).expect("composes").formatted();
        let text = String::from_utf8_lossy(&raw);
        assert!(text.contains("Auto-Submitted: auto-replied"), "{text}");
        assert!(crate::email::parse(&raw).expect("parses").automatic.is_some());
    }

    #[test]
    fn a_message_without_recipient_or_with_a_bad_address_is_refused_for_good() {
        assert!(compose(&Outgoing { to: vec![], ..reply() }).is_err_and(|e| e.permanent));
        let bad = Outgoing { to: vec![Person { name: String::new(), address: "not an address".into() }], ..reply() };
        assert!(compose(&bad).is_err_and(|e| e.permanent));
    }
}
