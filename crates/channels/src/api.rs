//! The generic API channel: an external system (a shop, a CRM, a messenger bridge) posts its
//! customers' messages into Opora and receives the agents' replies, both signed per Standard
//! Webhooks with the channel's secret.
//!
//! In: `POST /api/v1/channels/{id}/inbound` with `{"type": "message.created", "data": {…}}` or
//! `{"type": "message.status", "data": {"message_id", "status", "error"}}`.
//! Out: `POST` to the channel's `url` with `{"type": "message.created", "timestamp", "data": {…}}`.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use opora_domain::channel::{Channel, ChannelKind, ConversationPolicy};
use opora_domain::customer::{IdentityKind, parse_identity};
use opora_domain::error::Errors;
use opora_domain::inbound::{Inbound, InboundFile, InboundMessage, Party, StatusReport, ThreadHints};
use opora_domain::message::{DeliveryStatus, clean_filename};
use opora_domain::outbound::{Outbound, Verdict};
use opora_domain::validate::{line, text};
use opora_domain::{ChannelId, FieldError, MessageId, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::driver::{BoxFuture, CheckStep, Driver, ParseContext, Profile, Pushed, RawPayload, Refusal, Unreadable};
use crate::form::{finish, flag_of, policy_of};
use crate::webhook::{self, LazyClient};

/// What an API channel stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Where replies are posted; without it the channel only receives.
    #[serde(default)]
    pub url: Option<String>,
    /// `whsec_…`: signs both ways. Generated when the channel is made, shown once.
    pub secret: String,
    #[serde(default = "ongoing")]
    pub conversation_policy: ConversationPolicy,
    /// A new case is acknowledged to the customer through the channel.
    #[serde(default)]
    pub acknowledge: bool,
}

fn ongoing() -> ConversationPolicy {
    ConversationPolicy::Ongoing
}

impl Settings {
    fn of(channel: &Channel) -> Result<Settings, String> {
        serde_json::from_value(channel.settings.clone()).map_err(|e| format!("API channel settings: {e}"))
    }
}

pub struct Api {
    client: LazyClient,
    allow_internal: bool,
    max_file_bytes: usize,
}

impl Api {
    pub fn new(timeout: Duration, allow_internal: bool, max_file_bytes: usize) -> Self {
        Self { client: LazyClient::new(timeout, allow_internal), allow_internal, max_file_bytes }
    }
}

/// The identity of a customer of the external system: their id there, per channel.
pub fn external_identity(channel: ChannelId, id: &str) -> String {
    format!("{channel}:{id}")
}

// Each kind of key has its own word after the channel, so no id a system sends can name another
// kind's key (a message id of "out:5" is not our reply 5).
fn message_key(channel: ChannelId, id: &str) -> String {
    format!("api:{channel}:msg:{id}")
}

fn outbound_key(channel: ChannelId, message: MessageId) -> String {
    format!("api:{channel}:out:{message}")
}

fn conversation_key(channel: ChannelId, conversation: &str) -> String {
    format!("api:{channel}:conversation:{conversation}")
}

fn status_key(channel: ChannelId, sha256: &str) -> String {
    format!("api:{channel}:status:{sha256}")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    data: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerIn {
    id: Option<String>,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    filename: Option<String>,
    content_type: Option<String>,
    content_base64: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageIn {
    id: Option<String>,
    conversation: Option<String>,
    customer: Option<CustomerIn>,
    subject: Option<String>,
    text: Option<String>,
    html: Option<String>,
    #[serde(default)]
    attachments: Vec<FileIn>,
    /// The id of our message this one answers (as we sent it).
    in_reply_to: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusIn {
    message_id: Option<String>,
    status: Option<String>,
    error: Option<String>,
}

/// An id from the external system: 1 to 200 printable characters.
fn external_id(field: &str, value: Option<&str>, errors: &mut Errors) -> Option<String> {
    let value = match value.map(str::trim) {
        Some(v) if !v.is_empty() => v,
        _ => {
            errors.push(FieldError::required(field));
            return None;
        }
    };
    if value.chars().count() > 200 || value.chars().any(char::is_control) {
        errors.push(FieldError::new(field, "invalid_value"));
        return None;
    }
    Some(value.to_owned())
}

fn unreadable(errors: Errors) -> Unreadable {
    Unreadable { reason: "the payload does not match the API channel's format".into(), fields: errors.0 }
}

fn typed<T: for<'de> Deserialize<'de>>(field: &str, value: Value) -> Result<T, Unreadable> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." { field.to_owned() } else { format!("{field}.{path}") };
        unreadable(Errors(vec![FieldError::new(at, "invalid_value").with("reason", e.inner().to_string())]))
    })
}

impl Api {
    fn message(&self, channel: ChannelId, input: MessageIn) -> Result<InboundMessage, Unreadable> {
        let mut errors = Errors::default();
        let id = external_id("data.id", input.id.as_deref(), &mut errors);
        let conversation = input.conversation.as_deref().and_then(|c| external_id("data.conversation", Some(c), &mut errors));
        let mut identities = Vec::new();
        let mut name = String::new();
        match &input.customer {
            None => errors.push(FieldError::required("data.customer")),
            Some(customer) => {
                if let Some(id) = external_id("data.customer.id", customer.id.as_deref(), &mut errors) {
                    identities.push((IdentityKind::External, external_identity(channel, &id)));
                }
                if let Some(email) = &customer.email {
                    identities.extend(
                        errors.take(parse_identity("data.customer.email", IdentityKind::Email, email)).map(|v| (IdentityKind::Email, v)),
                    );
                }
                if let Some(phone) = &customer.phone {
                    identities.extend(
                        errors.take(parse_identity("data.customer.phone", IdentityKind::Phone, phone)).map(|v| (IdentityKind::Phone, v)),
                    );
                }
                if let Some(given) = &customer.name {
                    name = errors.take(line("data.customer.name", given, 1, 200)).unwrap_or_default();
                }
            }
        }
        let subject = input.subject.as_deref().and_then(|s| errors.take(line("data.subject", s, 0, 300))).unwrap_or_default();
        let text = input.text.as_deref().and_then(|t| errors.take(text("data.text", t, 0, 200_000))).unwrap_or_default();
        let html = input.html.filter(|h| !h.trim().is_empty());
        if text.is_empty() && html.is_none() && input.attachments.is_empty() {
            errors.push(FieldError::required("data.text"));
        }
        if input.attachments.len() > 20 {
            errors.push(FieldError::new("data.attachments", "too_many").with("max", 20));
        }
        let mut attachments = Vec::new();
        for (index, file) in input.attachments.iter().enumerate().take(20) {
            let at = |name: &str| format!("data.attachments.{index}.{name}");
            let Some(filename) = file.filename.as_deref().filter(|f| !f.trim().is_empty()) else {
                errors.push(FieldError::required(at("filename")));
                continue;
            };
            let data: String = file.content_base64.as_deref().unwrap_or("").chars().filter(|c| !c.is_whitespace()).collect();
            match base64::engine::general_purpose::STANDARD.decode(data.as_bytes()) {
                Err(_) => errors.push(FieldError::new(at("content_base64"), "invalid_base64")),
                Ok(content) if content.len() > self.max_file_bytes => {
                    errors.push(FieldError::new(at("content_base64"), "file_too_large").with("max", self.max_file_bytes / (1024 * 1024)))
                }
                Ok(content) => attachments.push(InboundFile {
                    filename: clean_filename(filename),
                    content_type: file.content_type.clone().unwrap_or_else(|| "application/octet-stream".into()),
                    content,
                    content_id: None,
                }),
            }
        }
        let answered = input.in_reply_to.as_deref().and_then(|r| external_id("data.in_reply_to", Some(r), &mut errors));
        if !errors.is_empty() {
            return Err(unreadable(errors));
        }
        let references = answered
            .map(|r| r.parse::<i64>().map_or_else(|_| message_key(channel, &r), |id| outbound_key(channel, MessageId(id))))
            .into_iter()
            .collect();
        Ok(InboundMessage {
            key: message_key(channel, &id.unwrap_or_default()),
            sender: Party { identities, name },
            addressed: Vec::new(),
            subject,
            text,
            html,
            attachments,
            thread: ThreadHints { references, case_number: None, conversation: conversation.map(|c| conversation_key(channel, &c)) },
            automatic: None,
            // The system signed the request: it vouches for its customers.
            sender_doubt: None,
            ..Default::default()
        })
    }

    fn status(channel: ChannelId, input: StatusIn, key: String) -> Result<StatusReport, Unreadable> {
        let mut errors = Errors::default();
        let about = external_id("data.message_id", input.message_id.as_deref(), &mut errors);
        let status = match input.status.as_deref() {
            Some("delivered") => Some(DeliveryStatus::Delivered),
            Some("read") => Some(DeliveryStatus::Read),
            Some("failed") => Some(DeliveryStatus::Failed),
            Some("sent") => Some(DeliveryStatus::Sent),
            _ => {
                errors.push(FieldError::new("data.status", "invalid_choice").with("allowed", "sent, delivered, read, failed"));
                None
            }
        };
        let reason = input.error.as_deref().and_then(|e| errors.take(line("data.error", e, 0, 1000))).filter(|e| !e.is_empty());
        if !errors.is_empty() {
            return Err(unreadable(errors));
        }
        let about = about.unwrap_or_default();
        let about = about.parse::<i64>().map_or_else(|_| message_key(channel, &about), |id| outbound_key(channel, MessageId(id)));
        Ok(StatusReport { key, about, status, reason, note: None })
    }
}

impl Driver for Api {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Api
    }

    fn settings(&self, input: &Value, current: Option<&Value>) -> Result<Value, Vec<FieldError>> {
        let current: Option<Settings> = current.and_then(|c| serde_json::from_value(c.clone()).ok());
        let mut errors = Errors::default();
        if !input.is_object() {
            return Err(vec![FieldError::new("settings", "invalid_type").with("expected", "object")]);
        }
        let url = match input.get("url") {
            None => current.as_ref().and_then(|c| c.url.clone()),
            Some(Value::Null) => None,
            Some(Value::String(url)) if url.trim().is_empty() => None,
            Some(Value::String(url)) => errors.take(webhook::check_url("url", url, self.allow_internal)),
            Some(_) => {
                errors.push(FieldError::new("url", "invalid_type").with("expected", "string"));
                None
            }
        };
        let conversation_policy = policy_of(input, current.as_ref().map(|c| c.conversation_policy), &mut errors);
        let acknowledge = flag_of(input, "acknowledge", &mut errors).or(current.as_ref().map(|c| c.acknowledge)).unwrap_or(false);
        if input.get("secret").is_some() {
            errors.push(FieldError::new("secret", "read_only"));
        }
        finish(errors)?;
        let secret = match current {
            Some(current) => current.secret,
            None => webhook::new_secret().map_err(|e| vec![FieldError::new("secret", "unavailable").with("reason", e)])?,
        };
        let settings = Settings { url, secret, conversation_policy, acknowledge };
        Ok(serde_json::to_value(settings).unwrap_or_default())
    }

    fn public_settings(&self, settings: &Value) -> Value {
        match serde_json::from_value::<Settings>(settings.clone()) {
            Ok(s) => {
                json!({"url": s.url, "conversation_policy": s.conversation_policy, "acknowledge": s.acknowledge, "secret_set": !s.secret.is_empty()})
            }
            Err(_) => Value::Null,
        }
    }

    fn reveal_once(&self, settings: &Value) -> Option<Value> {
        serde_json::from_value::<Settings>(settings.clone()).ok().map(|s| json!({"secret": s.secret}))
    }

    fn profile(&self, channel: &Channel) -> Profile {
        let settings = Settings::of(channel).ok();
        Profile {
            can_send: settings.as_ref().is_some_and(|s| s.url.is_some()),
            receive_only: settings.as_ref().is_some_and(|s| s.url.is_none()),
            acknowledge: settings.as_ref().is_some_and(|s| s.acknowledge),
            conversation: settings.as_ref().map_or(ConversationPolicy::Ongoing, |s| s.conversation_policy),
            subject_window_ms: 0,
            reply_window_ms: None,
        }
    }

    fn authenticate(&self, channel: &Channel, request: &Pushed<'_>) -> Result<(), Refusal> {
        let settings = Settings::of(channel).map_err(Refusal::BadSignature)?;
        let verified = webhook::verify(
            &settings.secret,
            request.header("webhook-id"),
            request.header("webhook-timestamp"),
            request.header("webhook-signature"),
            request.body,
            request.now_secs,
        );
        verified.map_err(|e| Refusal::BadSignature(format!("{e:?}")))
    }

    fn parse(&self, payload: &RawPayload, context: &ParseContext<'_>) -> Result<Vec<Inbound>, Unreadable> {
        let channel = context.channel.id;
        let value: Value = serde_json::from_slice(&payload.bytes).map_err(|e| Unreadable::new(format!("not JSON: {e}")))?;
        let envelope: Envelope = typed("body", value)?;
        match envelope.kind.as_str() {
            "message.created" => Ok(vec![Inbound::Message(Box::new(self.message(channel, typed("data", envelope.data)?)?))]),
            "message.status" => {
                let key = status_key(channel, &payload.sha256);
                Ok(vec![Inbound::Status(Api::status(channel, typed("data", envelope.data)?, key)?)])
            }
            _ => {
                Err(unreadable(Errors(vec![FieldError::new("type", "invalid_choice").with("allowed", "message.created, message.status")])))
            }
        }
    }

    fn outbound_key(&self, channel: &Channel, _case_number: i64, message: MessageId, _now: Timestamp) -> Option<String> {
        Some(outbound_key(channel.id, message))
    }

    fn send<'a>(&'a self, channel: &'a Channel, message: &'a Outbound) -> BoxFuture<'a, Verdict> {
        Box::pin(async move {
            let settings = match Settings::of(channel) {
                Ok(settings) => settings,
                Err(reason) => return Verdict::Failed { reason },
            };
            let Some(url) = settings.url else { return Verdict::Failed { reason: "channel_without_url".into() } };
            let client = match self.client.get() {
                Ok(client) => client,
                Err(reason) => return Verdict::Retry { reason, after: None },
            };
            let body = payload(channel.id, message).to_string();
            let sent =
                webhook::post(client, &url, &settings.secret, &format!("msg_{}", message.message_id), body.as_bytes(), self.allow_internal)
                    .await;
            if sent.succeeded() {
                Verdict::Sent { key: None }
            } else if sent.temporary() {
                Verdict::Retry { reason: sent.describe(), after: sent.retry_after.map(Duration::from_secs) }
            } else {
                Verdict::Failed { reason: sent.describe() }
            }
        })
    }

    fn check<'a>(&'a self, channel: &'a Channel) -> BoxFuture<'a, Vec<CheckStep>> {
        Box::pin(async move {
            let url = Settings::of(channel).ok().and_then(|s| s.url);
            match url {
                None => Vec::new(),
                Some(url) => {
                    // A check is a signed, empty ping: receivers may answer it with any 2xx.
                    let client = match self.client.get() {
                        Ok(client) => client,
                        Err(error) => return vec![CheckStep { name: "webhook", ok: false, error: Some(error) }],
                    };
                    let secret = Settings::of(channel).map(|s| s.secret).unwrap_or_default();
                    let body = json!({"type": "channel.check", "timestamp": Timestamp::now(), "data": {}}).to_string();
                    let sent = webhook::post(
                        client,
                        &url,
                        &secret,
                        &format!("check_{}", Timestamp::now().millis()),
                        body.as_bytes(),
                        self.allow_internal,
                    )
                    .await;
                    vec![CheckStep { name: "webhook", ok: sent.succeeded(), error: (!sent.succeeded()).then(|| sent.describe()) }]
                }
            }
        })
    }
}

/// A reply as the external system receives it.
fn payload(channel: ChannelId, message: &Outbound) -> Value {
    // The customer's id in this system: a customer known to several systems has one per channel.
    let prefix = external_identity(channel, "");
    let customer_id = message.customer.identities_of(IdentityKind::External).find_map(|v| v.strip_prefix(&prefix)).map(str::to_owned);
    let conversation_prefix = conversation_key(channel, "");
    let conversation = message.thread.iter().rev().find_map(|r| r.key.strip_prefix(&conversation_prefix).map(str::to_owned));
    let attachments: Vec<Value> = message
        .attachments
        .iter()
        .map(|f| {
            json!({"filename": f.filename, "content_type": f.content_type, "size": f.content.len(),
                   "content_base64": base64::engine::general_purpose::STANDARD.encode(&f.content)})
        })
        .collect();
    json!({
        "type": "message.created",
        "timestamp": Timestamp::now(),
        "data": {
            "id": message.message_id.to_string(),
            "case": {"id": message.case_id, "number": message.case_number, "subject": message.case_subject},
            "conversation": conversation,
            "customer": {"id": customer_id, "name": message.customer.name},
            "author": message.author.as_ref().map(|a| json!({"name": a.name})),
            "text": message.text,
            "html": message.html,
            "attachments": attachments,
        }
    })
}

/// The API driver, shared.
pub fn driver(timeout: Duration, allow_internal: bool, max_file_bytes: usize) -> Arc<dyn Driver> {
    Arc::new(Api::new(timeout, allow_internal, max_file_bytes))
}
