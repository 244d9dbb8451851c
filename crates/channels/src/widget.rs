//! The website chat widget: one `<script>` tag on the team's site. A visitor is known by an id
//! Opora hands out with a token (an HMAC of the id with the channel's secret), kept in a cookie
//! of the site; nothing about them is stored until they write. Their messages arrive through
//! `/widget/{channel}/messages` and are filed like any channel's; agents' replies stay on the
//! case and reach the visitor live (the widget reads them), so sending one is recording it.
//! Only pages of the allowed origins may talk to a channel.
//!
//! Keys: `widget:{channel}:msg:{visitor}:{client id}` (the widget names each message, so a
//! resent one is recognised); `…:visitor:{visitor}` for the conversation.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use opora_domain::channel::{Channel, ChannelKind, ConversationPolicy};
use opora_domain::customer::{IdentityKind, parse_identity};
use opora_domain::error::{Errors, FieldError};
use opora_domain::inbound::{Inbound, InboundFile, InboundMessage, Party, ThreadHints};
use opora_domain::message::clean_filename;
use opora_domain::outbound::{Outbound, Verdict};
use opora_domain::validate::{line, text};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::driver::{BoxFuture, CheckStep, Driver, ParseContext, Profile, Pushed, RawPayload, Refusal, Unreadable};
use crate::form::{finish, flag_of, policy_of};
use crate::wire::same;

/// The header the widget's messages carry the visitor's credential in (`{id}.{token}`).
pub const VISITOR_HEADER: &str = "x-opora-visitor";
/// The most a visitor may attach to one message, all files together.
pub const MAX_FILES_BYTES: usize = 10 << 20;
const MAX_TEXT_CHARS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Signs visitors' tokens. Generated, never shown.
    pub secret: String,
    /// Origins (`https://shop.example.ru`) whose pages may carry the widget.
    pub allowed_origins: Vec<String>,
    pub conversation_policy: ConversationPolicy,
    pub acknowledge: bool,
}

impl Settings {
    pub fn of(channel: &Channel) -> Result<Settings, String> {
        serde_json::from_value(channel.settings.clone()).map_err(|e| format!("widget channel settings: {e}"))
    }

    /// Whether a page of this origin may use the channel.
    pub fn allows(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o.eq_ignore_ascii_case(origin.trim_end_matches('/')))
    }

    fn token(&self, visitor: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.as_bytes()).expect("HMAC takes any key");
        mac.update(visitor.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..24])
    }

    /// A new visitor: their id and the credential the widget keeps.
    pub fn new_visitor(&self) -> Result<(String, String), String> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
        let id = format!("v{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
        let credential = format!("{id}.{}", self.token(&id));
        Ok((id, credential))
    }

    /// The visitor a credential names, when its token is ours.
    pub fn visitor(&self, credential: &str) -> Option<String> {
        let (id, token) = credential.trim().split_once('.')?;
        let well_formed = parse_identity("visitor", IdentityKind::Web, id).is_ok();
        (well_formed && same(token.as_bytes(), self.token(id).as_bytes())).then(|| id.to_owned())
    }
}

/// `scheme://host[:port]`, as browsers send `Origin`.
fn origin(field: &str, value: &str) -> Result<String, FieldError> {
    let url = url::Url::parse(value.trim()).map_err(|_| FieldError::new(field, "invalid_url"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || url.path() != "/" || url.query().is_some() {
        return Err(FieldError::new(field, "invalid_origin"));
    }
    Ok(url.origin().ascii_serialization())
}

pub fn message_key(channel: opora_domain::ChannelId, visitor: &str, id: &str) -> String {
    format!("widget:{channel}:msg:{visitor}:{id}")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    filename: Option<String>,
    content_type: Option<String>,
    content_base64: Option<String>,
}

/// A visitor's message as the widget sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageIn {
    visitor: String,
    /// The widget's own id for the message: a resent message is recognised by it.
    id: String,
    #[serde(default)]
    text: String,
    name: Option<String>,
    email: Option<String>,
    #[serde(default)]
    attachments: Vec<FileIn>,
}

fn read(channel: opora_domain::ChannelId, body: &[u8]) -> Result<InboundMessage, Unreadable> {
    let input: MessageIn = serde_json::from_slice(body).map_err(|e| Unreadable {
        reason: format!("not a widget message: {e}"),
        fields: vec![FieldError::new("body", "invalid_value").with("reason", e.to_string())],
    })?;
    let mut errors = Errors::default();
    let visitor = errors.take(parse_identity("visitor", IdentityKind::Web, input.visitor.split('.').next().unwrap_or("")));
    let id_ok = !input.id.is_empty() && input.id.len() <= 64 && input.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !id_ok {
        errors.push(FieldError::new("id", "invalid_value"));
    }
    let body = errors.take(text("text", &input.text, 0, MAX_TEXT_CHARS)).unwrap_or_default();
    let name =
        input.name.as_deref().filter(|n| !n.trim().is_empty()).and_then(|n| errors.take(line("name", n, 1, 100))).unwrap_or_default();
    let email =
        input.email.as_deref().filter(|e| !e.trim().is_empty()).and_then(|e| errors.take(parse_identity("email", IdentityKind::Email, e)));
    if input.attachments.len() > 5 {
        errors.push(FieldError::new("attachments", "too_many").with("max", 5));
    }
    let mut attachments = Vec::new();
    let mut total = 0;
    for (index, file) in input.attachments.iter().take(5).enumerate() {
        let decoded = base64::engine::general_purpose::STANDARD.decode(file.content_base64.as_deref().unwrap_or("").trim());
        match decoded {
            Err(_) => errors.push(FieldError::new(format!("attachments.{index}.content_base64"), "invalid_base64")),
            Ok(content) => {
                total += content.len();
                attachments.push(InboundFile {
                    filename: clean_filename(file.filename.as_deref().unwrap_or("file")),
                    content_type: file.content_type.clone().filter(|t| t.len() <= 100).unwrap_or_else(|| "application/octet-stream".into()),
                    content,
                    content_id: None,
                });
            }
        }
    }
    if total > MAX_FILES_BYTES {
        errors.push(FieldError::new("attachments", "file_too_large").with("max", MAX_FILES_BYTES >> 20));
    }
    if body.trim().is_empty() && attachments.is_empty() {
        errors.push(FieldError::required("text"));
    }
    if !errors.is_empty() {
        return Err(Unreadable { reason: "the widget's message does not read".into(), fields: errors.0 });
    }
    let visitor = visitor.unwrap_or_default();
    let mut identities = vec![(IdentityKind::Web, visitor.clone())];
    identities.extend(email.map(|e| (IdentityKind::Email, e)));
    Ok(InboundMessage {
        key: message_key(channel, &visitor, &input.id),
        sender: Party { identities, name },
        text: body,
        attachments,
        thread: ThreadHints { conversation: Some(format!("widget:{channel}:visitor:{visitor}")), ..Default::default() },
        ..Default::default()
    })
}

pub struct Widget;

impl Driver for Widget {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Widget
    }

    fn settings(&self, input: &Value, current: Option<&Value>) -> Result<Value, Vec<FieldError>> {
        if !input.is_object() {
            return Err(vec![FieldError::new("settings", "invalid_type").with("expected", "object")]);
        }
        let current: Option<Settings> = current.and_then(|c| serde_json::from_value(c.clone()).ok());
        let mut errors = Errors::default();
        let allowed_origins = match input.get("allowed_origins") {
            None | Some(Value::Null) => current.as_ref().map(|c| c.allowed_origins.clone()).unwrap_or_default(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| match item.as_str() {
                    Some(value) => errors.take(origin(&format!("allowed_origins.{i}"), value)),
                    None => {
                        errors.push(FieldError::new(format!("allowed_origins.{i}"), "invalid_type").with("expected", "string"));
                        None
                    }
                })
                .collect(),
            // The settings form sends one origin per line.
            Some(Value::String(lines)) => {
                lines.lines().filter(|l| !l.trim().is_empty()).filter_map(|l| errors.take(origin("allowed_origins", l))).collect()
            }
            Some(_) => {
                errors.push(FieldError::new("allowed_origins", "invalid_type").with("expected", "array"));
                Vec::new()
            }
        };
        if allowed_origins.len() > 50 {
            errors.push(FieldError::new("allowed_origins", "too_many").with("max", 50));
        }
        let conversation_policy = policy_of(input, current.as_ref().map(|c| c.conversation_policy), &mut errors);
        let acknowledge = flag_of(input, "acknowledge", &mut errors).or(current.as_ref().map(|c| c.acknowledge)).unwrap_or(false);
        if input.get("secret").is_some() {
            errors.push(FieldError::new("secret", "read_only"));
        }
        finish(errors)?;
        let secret = match current {
            Some(current) => current.secret,
            None => crate::webhook::new_secret().map_err(|e| vec![FieldError::new("secret", "unavailable").with("reason", e)])?,
        };
        Ok(serde_json::to_value(Settings { secret, allowed_origins, conversation_policy, acknowledge }).unwrap_or_default())
    }

    fn public_settings(&self, settings: &Value) -> Value {
        match serde_json::from_value::<Settings>(settings.clone()) {
            Ok(s) => {
                json!({"allowed_origins": s.allowed_origins, "conversation_policy": s.conversation_policy, "acknowledge": s.acknowledge})
            }
            Err(_) => Value::Null,
        }
    }

    fn profile(&self, channel: &Channel) -> Profile {
        Profile::messenger(Settings::of(channel).ok().map(|s| (s.conversation_policy, s.acknowledge)), None)
    }

    fn authenticate(&self, channel: &Channel, request: &Pushed<'_>) -> Result<(), Refusal> {
        let settings = Settings::of(channel).map_err(Refusal::BadSignature)?;
        let visitor = request.header(VISITOR_HEADER).and_then(|c| settings.visitor(c));
        let named: Option<String> =
            serde_json::from_slice::<Value>(request.body).ok().and_then(|b| b["visitor"].as_str().map(str::to_owned));
        match (visitor, named) {
            (Some(visitor), Some(named)) if named.split('.').next() == Some(visitor.as_str()) => Ok(()),
            _ => Err(Refusal::BadSignature("not this channel's visitor".into())),
        }
    }

    fn parse(&self, payload: &RawPayload, context: &ParseContext<'_>) -> Result<Vec<Inbound>, Unreadable> {
        Ok(vec![Inbound::Message(Box::new(read(context.channel.id, &payload.bytes)?))])
    }

    fn send<'a>(&'a self, _channel: &'a Channel, _message: &'a Outbound) -> BoxFuture<'a, Verdict> {
        // The reply is on the case; the visitor's widget reads it from there, live.
        Box::pin(async { Verdict::Sent { key: None } })
    }

    fn check<'a>(&'a self, _channel: &'a Channel) -> BoxFuture<'a, Vec<CheckStep>> {
        Box::pin(async { Vec::new() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            secret: "whsec_test".into(),
            allowed_origins: vec!["https://shop.example.ru".into()],
            conversation_policy: ConversationPolicy::Ongoing,
            acknowledge: false,
        }
    }

    #[test]
    fn visitors_and_origins() {
        let s = settings();
        let (id, credential) = s.new_visitor().expect("random");
        assert_eq!(s.visitor(&credential), Some(id.clone()));
        assert_eq!(s.visitor(&format!("{id}.forged")), None);
        let other = Settings { secret: "another".into(), ..settings() };
        assert_eq!(other.visitor(&credential), None, "another channel's visitor");
        assert!(s.allows("https://shop.example.ru") && !s.allows("https://evil.example") && !s.allows("http://shop.example.ru"));
        assert_eq!(origin("o", "https://Shop.Example.ru/"), Ok("https://shop.example.ru".into()));
        assert!(origin("o", "https://shop.example.ru/page").is_err());
        assert!(origin("o", "javascript:alert(1)").is_err());
    }

    #[test]
    fn messages_read_with_their_limits() {
        let m = read(
            opora_domain::ChannelId(9),
            r#"{"visitor": "vAbc.t", "id": "m-1", "text": "Добрый день", "email": "Olga@Mail.ru", "name": "Ольга"}"#.as_bytes(),
        )
        .expect("reads");
        assert_eq!(m.key, "widget:9:msg:vAbc:m-1");
        assert_eq!(m.sender.identities, vec![(IdentityKind::Web, "vAbc".into()), (IdentityKind::Email, "olga@mail.ru".into())]);
        let refused = read(opora_domain::ChannelId(9), br#"{"visitor": "vAbc.t", "id": "m 1", "text": ""}"#).expect_err("bad");
        let fields: Vec<&str> = refused.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["id", "text"]);
        assert!(read(opora_domain::ChannelId(9), br#"{"visitor": "vAbc", "id": "1", "text": "x", "extra": 1}"#).is_err());
    }
}
