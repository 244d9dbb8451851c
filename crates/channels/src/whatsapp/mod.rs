//! The WhatsApp Business Cloud API channel: Meta posts notifications to
//! `/hooks/whatsapp/{id}` (signed with the app secret in `X-Hub-Signature-256`, after the
//! `hub.challenge` handshake with our verify token); replies, files and approved templates go
//! out through the Graph API. Free text reaches a customer only within 24 hours of their last
//! message; after that only an approved template does (the use cases hold to it, and Meta's
//! 131047 says so if they did not).
//!
//! Keys: `whatsapp:{channel}:msg:{wamid}` for every message, ours and theirs;
//! `…:chat:{wa_id or business-scoped id}` for the conversation.

mod graph;
pub mod notification;

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use opora_domain::channel::{Channel, ChannelKind, ConversationPolicy};
use opora_domain::customer::IdentityKind;
use opora_domain::error::{Errors, FieldError};
use opora_domain::inbound::{Inbound, RemoteFile};
use opora_domain::outbound::{Choice, Outbound, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;

use graph::{DEFAULT_VERSION, Graph, GraphError, PUBLIC_GRAPH};

use crate::driver::{
    ApprovedTemplate, BoxFuture, CheckStep, Driver, ParseContext, Profile, Pushed, RawPayload, Refusal, Unfetched, Unreadable,
};
use crate::form::{base_url, finish, flag_of, policy_of, required_text, text_of};
use crate::webhook::LazyClient;
use crate::wire::{same, split_text};

/// What a WhatsApp channel stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub access_token: String,
    pub app_secret: String,
    pub verify_token: String,
    pub phone_number_id: String,
    pub api_base_url: String,
    pub api_version: String,
    /// The WhatsApp Business Account: where the approved templates are listed.
    pub business_account_id: Option<String>,
    pub conversation_policy: ConversationPolicy,
    pub acknowledge: bool,
}

impl Settings {
    fn of(channel: &Channel) -> Result<Settings, String> {
        serde_json::from_value(channel.settings.clone()).map_err(|e| format!("WhatsApp channel settings: {e}"))
    }
}

/// How long after a customer's last message free text may reach them.
pub const WINDOW_MS: i64 = 24 * 3600 * 1000;
const MAX_TEXT_CHARS: usize = 4096;
/// The largest media the Cloud API hands over.
const MAX_MEDIA_BYTES: usize = 100 << 20;

pub struct Whatsapp {
    client: LazyClient,
    allow_internal: bool,
    max_file_bytes: usize,
}

impl Whatsapp {
    pub fn new(timeout: Duration, allow_internal: bool, max_file_bytes: usize) -> Self {
        Self { client: LazyClient::new(timeout.max(Duration::from_secs(30)), allow_internal), allow_internal, max_file_bytes }
    }

    fn graph<'a>(&'a self, settings: &'a Settings) -> Result<Graph<'a>, String> {
        Ok(Graph {
            client: self.client.get()?,
            base: &settings.api_base_url,
            version: &settings.api_version,
            token: &settings.access_token,
        })
    }
}

/// A Graph object id: digits.
fn graph_id(input: &Value, name: &str, stored: Option<&str>, required: bool, errors: &mut Errors) -> Option<String> {
    let given = text_of(input, name, errors).map(|v| v.map(str::trim).filter(|v| !v.is_empty()));
    let value = match given {
        Some(value) => value.map(str::to_owned),
        None => stored.map(str::to_owned),
    };
    match value {
        Some(id) if !id.is_empty() && id.len() <= 30 && id.chars().all(|c| c.is_ascii_digit()) => Some(id),
        Some(_) => {
            errors.push(FieldError::new(name, "invalid_value").with("expected", "digits"));
            None
        }
        None if required => {
            errors.push(FieldError::required(name));
            None
        }
        None => None,
    }
}

fn verdict(error: GraphError) -> Verdict {
    match error {
        GraphError::Unauthorized(reason) => Verdict::Broken { reason },
        GraphError::Throttled(reason) => Verdict::Retry { reason, after: Some(Duration::from_secs(60)) },
        GraphError::Temporary(reason) => Verdict::Retry { reason, after: None },
        GraphError::WindowClosed(reason) => Verdict::Failed { reason: format!("window_closed: {reason}") },
        GraphError::Refused(reason) => Verdict::Failed { reason },
    }
}

/// A message with reply buttons (up to three) or a list (up to ten), when it has choices and
/// its text fits an interactive message; else `None` and it goes as text, whose link answers.
fn interactive(text: &str, choices: &[Choice]) -> Option<Value> {
    if choices.is_empty() || choices.len() > 10 || text.chars().count() > 1024 {
        return None;
    }
    let cut = |label: &str, max: usize| -> String {
        if label.chars().count() <= max { label.to_owned() } else { format!("{}…", label.chars().take(max - 1).collect::<String>()) }
    };
    let max = if choices.len() <= 3 { 20 } else { 24 };
    let labels: Vec<String> = choices.iter().map(|c| cut(&c.label, max)).collect();
    // WhatsApp refuses two buttons of one title: such choices go as text.
    if labels.iter().enumerate().any(|(i, label)| labels[..i].contains(label)) {
        return None;
    }
    let action = if choices.len() <= 3 {
        let buttons: Vec<Value> =
            choices.iter().zip(&labels).map(|(c, title)| json!({"type": "reply", "reply": {"id": c.data, "title": title}})).collect();
        json!({"type": "button", "body": {"text": text}, "action": {"buttons": buttons}})
    } else {
        let rows: Vec<Value> = choices.iter().zip(&labels).map(|(c, title)| json!({"id": c.data, "title": title})).collect();
        json!({"type": "list", "body": {"text": text}, "action": {"button": "☰", "sections": [{"rows": rows}]}})
    };
    Some(json!({"type": "interactive", "interactive": action}))
}

/// Who a reply goes to: `to` (a number) or `recipient` (a business-scoped id).
fn addressee(channel: &Channel, message: &Outbound) -> Option<(&'static str, String)> {
    let conversation = message.thread.iter().rev().find_map(|r| notification::user_of(channel.id, &r.key));
    let user = conversation.or_else(|| message.customer.identity(IdentityKind::Whatsapp).map(str::to_owned))?;
    Some(if opora_domain::customer::is_bsuid(&user) { ("recipient", user) } else { ("to", user) })
}

/// The Graph API's media type for a file.
fn media_type(content_type: &str) -> &'static str {
    match content_type {
        "image/jpeg" | "image/png" => "image",
        t if t.starts_with("video/") => "video",
        t if t.starts_with("audio/") => "audio",
        _ => "document",
    }
}

impl Driver for Whatsapp {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Whatsapp
    }

    fn settings(&self, input: &Value, current: Option<&Value>) -> Result<Value, Vec<FieldError>> {
        if !input.is_object() {
            return Err(vec![FieldError::new("settings", "invalid_type").with("expected", "object")]);
        }
        let current: Option<Settings> = current.and_then(|c| serde_json::from_value(c.clone()).ok());
        let stored = |f: fn(&Settings) -> &str| current.as_ref().map(f);
        let mut errors = Errors::default();
        let access_token = required_text(input, "access_token", stored(|s| &s.access_token), 1000, &mut errors);
        let app_secret = required_text(input, "app_secret", stored(|s| &s.app_secret), 1000, &mut errors);
        let verify_token = required_text(input, "verify_token", stored(|s| &s.verify_token), 1000, &mut errors);
        let phone_number_id = graph_id(input, "phone_number_id", stored(|s| &s.phone_number_id), true, &mut errors);
        let business_account_id =
            graph_id(input, "business_account_id", current.as_ref().and_then(|c| c.business_account_id.as_deref()), false, &mut errors);
        let api_base_url =
            base_url(input, current.as_ref().map(|c| c.api_base_url.as_str()), PUBLIC_GRAPH, self.allow_internal, &mut errors);
        let api_version = match text_of(input, "api_version", &mut errors).flatten() {
            Some(v) => {
                let ok = v.strip_prefix('v').and_then(|n| n.split_once('.')).is_some_and(|(a, b)| {
                    !a.is_empty() && !b.is_empty() && a.len() <= 3 && b.len() <= 3 && (a.to_owned() + b).chars().all(|c| c.is_ascii_digit())
                });
                if !ok {
                    errors.push(FieldError::new("api_version", "invalid_value").with("expected", "v23.0"));
                }
                v.to_owned()
            }
            None => current.as_ref().map_or_else(|| DEFAULT_VERSION.to_owned(), |c| c.api_version.clone()),
        };
        let conversation_policy = policy_of(input, current.as_ref().map(|c| c.conversation_policy), &mut errors);
        let acknowledge = flag_of(input, "acknowledge", &mut errors).or(current.as_ref().map(|c| c.acknowledge)).unwrap_or(false);
        finish(errors)?;
        let settings = Settings {
            access_token,
            app_secret,
            verify_token,
            phone_number_id: phone_number_id.unwrap_or_default(),
            api_base_url,
            api_version,
            business_account_id,
            conversation_policy,
            acknowledge,
        };
        Ok(serde_json::to_value(settings).unwrap_or_default())
    }

    fn public_settings(&self, settings: &Value) -> Value {
        match serde_json::from_value::<Settings>(settings.clone()) {
            Ok(s) => json!({
                "phone_number_id": s.phone_number_id,
                "business_account_id": s.business_account_id,
                "api_base_url": s.api_base_url,
                "api_version": s.api_version,
                "access_token_set": !s.access_token.is_empty(),
                "app_secret_set": !s.app_secret.is_empty(),
                "verify_token_set": !s.verify_token.is_empty(),
                "conversation_policy": s.conversation_policy,
                "acknowledge": s.acknowledge,
            }),
            Err(_) => Value::Null,
        }
    }

    fn profile(&self, channel: &Channel) -> Profile {
        Profile::messenger(Settings::of(channel).ok().map(|s| (s.conversation_policy, s.acknowledge)), Some(WINDOW_MS))
    }

    fn handshake(&self, channel: &Channel, query: &[(String, String)], _body: &[u8]) -> Option<Result<String, Refusal>> {
        let get = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        get("hub.mode")?;
        let settings = match Settings::of(channel) {
            Ok(settings) => settings,
            Err(e) => return Some(Err(Refusal::BadSignature(e))),
        };
        let token_ok = get("hub.verify_token").is_some_and(|t| same(t.as_bytes(), settings.verify_token.as_bytes()));
        Some(match (get("hub.mode"), get("hub.challenge")) {
            (Some("subscribe"), Some(challenge)) if token_ok && challenge.len() <= 200 => Ok(challenge.to_owned()),
            _ => Err(Refusal::BadSignature("the verification request does not carry our verify token".into())),
        })
    }

    fn authenticate(&self, channel: &Channel, request: &Pushed<'_>) -> Result<(), Refusal> {
        let settings = Settings::of(channel).map_err(Refusal::BadSignature)?;
        let given = request.header("x-hub-signature-256").ok_or_else(|| Refusal::BadSignature("no X-Hub-Signature-256 header".into()))?;
        let mut mac = Hmac::<Sha256>::new_from_slice(settings.app_secret.as_bytes()).map_err(|e| Refusal::BadSignature(e.to_string()))?;
        mac.update(request.body);
        let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let given = given.trim().strip_prefix("sha256=").unwrap_or("").to_ascii_lowercase();
        if same(given.as_bytes(), expected.as_bytes()) { Ok(()) } else { Err(Refusal::BadSignature("the signature does not match".into())) }
    }

    fn parse(&self, payload: &RawPayload, context: &ParseContext<'_>) -> Result<Vec<Inbound>, Unreadable> {
        let settings = Settings::of(context.channel).map_err(Unreadable::new)?;
        notification::parse(context.channel.id, &settings.phone_number_id, &payload.bytes)
    }

    fn download<'a>(&'a self, channel: &'a Channel, file: &'a RemoteFile) -> BoxFuture<'a, Result<Vec<u8>, Unfetched>> {
        Box::pin(async move {
            let settings = Settings::of(channel).map_err(Unfetched::Gone)?;
            let limit = MAX_MEDIA_BYTES.min(self.max_file_bytes);
            let graph = self.graph(&settings).map_err(Unfetched::Retry)?;
            match graph.download(&file.reference, limit).await {
                Ok(Some(content)) => Ok(content),
                Ok(None) => Err(Unfetched::Gone(format!("larger than {} MB, not downloaded", limit >> 20))),
                Err(GraphError::Temporary(reason) | GraphError::Throttled(reason)) => Err(Unfetched::Retry(reason)),
                Err(other) => Err(Unfetched::Gone(other.describe().to_owned())),
            }
        })
    }

    fn send<'a>(&'a self, channel: &'a Channel, message: &'a Outbound) -> BoxFuture<'a, Verdict> {
        Box::pin(async move {
            let settings = match Settings::of(channel) {
                Ok(settings) => settings,
                Err(reason) => return Verdict::Failed { reason },
            };
            let Some((field, user)) = addressee(channel, message) else {
                return Verdict::Failed { reason: "customer_without_whatsapp".into() };
            };
            let graph = match self.graph(&settings) {
                Ok(graph) => graph,
                Err(reason) => return Verdict::Retry { reason, after: None },
            };
            let path = format!("{}/messages", settings.phone_number_id);
            let mut bodies: Vec<Value> = Vec::new();
            if let Some(template) = &message.template {
                let parameters: Vec<Value> = template.variables.iter().map(|v| json!({"type": "text", "text": v})).collect();
                let components = if parameters.is_empty() { json!([]) } else { json!([{"type": "body", "parameters": parameters}]) };
                bodies.push(json!({"type": "template", "template": {"name": template.name, "language": {"code": template.language}, "components": components}}));
            } else if let Some(buttons) = interactive(&message.text, &message.choices) {
                bodies.push(buttons);
            } else {
                for part in split_text(&message.text, MAX_TEXT_CHARS) {
                    bodies.push(json!({"type": "text", "text": {"preview_url": false, "body": part}}));
                }
            }
            for file in &message.attachments {
                let kind = media_type(&file.content_type);
                let id = match graph.upload(&settings.phone_number_id, &file.filename, &file.content_type, &file.content).await {
                    Ok(id) => id,
                    Err(error) => return verdict(error),
                };
                let media = if kind == "document" { json!({"id": id, "filename": file.filename}) } else { json!({"id": id}) };
                bodies.push(json!({"type": kind, kind: media}));
            }
            let mut first = None;
            for mut body in bodies {
                body["messaging_product"] = json!("whatsapp");
                body["recipient_type"] = json!("individual");
                body[field] = json!(user);
                match graph.post(&path, &body).await {
                    Ok(answer) => first = first.or(answer["messages"][0]["id"].as_str().map(str::to_owned)),
                    Err(error) => return verdict(error),
                }
            }
            Verdict::Sent { key: first.map(|id| notification::message_key(channel.id, &id)) }
        })
    }

    fn templates<'a>(&'a self, channel: &'a Channel) -> BoxFuture<'a, Result<Vec<ApprovedTemplate>, String>> {
        Box::pin(async move {
            let settings = Settings::of(channel)?;
            let Some(account) = settings.business_account_id.as_deref() else { return Ok(Vec::new()) };
            let graph = self.graph(&settings)?;
            let path = format!("{account}/message_templates?fields=name,language,status,components&limit=200");
            let listed = graph.get(&path).await.map_err(|e| e.describe().to_owned())?;
            Ok(listed["data"].as_array().into_iter().flatten().filter(|t| t["status"] == "APPROVED").filter_map(approved).collect())
        })
    }

    fn check<'a>(&'a self, channel: &'a Channel) -> BoxFuture<'a, Vec<CheckStep>> {
        Box::pin(async move {
            let result = match Settings::of(channel) {
                Ok(settings) => match self.graph(&settings) {
                    Ok(graph) => graph.get(&settings.phone_number_id).await.map(|_| ()).map_err(|e| e.describe().to_owned()),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            vec![CheckStep { name: "graph", ok: result.is_ok(), error: result.err() }]
        })
    }
}

/// A template as Meta lists it: its body text and how many `{{n}}` variables it takes.
fn approved(listed: &Value) -> Option<ApprovedTemplate> {
    let body = listed["components"].as_array()?.iter().find(|c| c["type"] == "BODY")?["text"].as_str()?.to_owned();
    let variables = (1..=20).take_while(|n| body.contains(&format!("{{{{{n}}}}}"))).count();
    Some(ApprovedTemplate { name: listed["name"].as_str()?.to_owned(), language: listed["language"].as_str()?.to_owned(), body, variables })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_become_reply_buttons_or_a_list_or_stay_text() {
        let choice = |label: &str, data: &str| Choice { label: label.into(), data: data.into(), link: None };
        let two = interactive("Делать?", &[choice("Да, сделайте", "e:t:1"), choice("Не нужно", "e:t:0")]).expect("buttons");
        assert_eq!(two["interactive"]["type"], "button");
        assert_eq!(two["interactive"]["action"]["buttons"][1]["reply"], json!({"id": "e:t:0", "title": "Не нужно"}));
        let scores: Vec<Choice> = (1..=5).map(|n| choice(&format!("{n} ⭐"), &format!("r:t:{n}"))).collect();
        let list = interactive("Оценка?", &scores).expect("list");
        assert_eq!(list["interactive"]["action"]["sections"][0]["rows"][4], json!({"id": "r:t:5", "title": "5 ⭐"}));
        let long = "Очень длинный вариант ответа номер";
        let cut = interactive("?", &[choice(&format!("{long} один"), "s:t:0"), choice(&format!("{long} два"), "s:t:1")]);
        assert_eq!(cut, None, "two answers cut to one title go as text");
        assert_eq!(interactive(&"x".repeat(1025), &scores), None, "too long for an interactive message");
        assert_eq!(interactive("?", &[]), None);
    }

    #[test]
    fn the_signature_is_over_the_raw_bytes() {
        let settings = json!({"access_token": "t", "app_secret": "test_app_secret", "verify_token": "v", "phone_number_id": "1",
            "api_base_url": PUBLIC_GRAPH, "api_version": "v23.0", "business_account_id": null, "conversation_policy": "ongoing", "acknowledge": false});
        let channel = Channel {
            id: opora_domain::ChannelId(1),
            kind: ChannelKind::Whatsapp,
            name: "wa".into(),
            settings,
            active: true,
            is_default: false,
            state: opora_domain::channel::ChannelState::Ok,
            error: None,
            checked_at: None,
            created_at: opora_domain::Timestamp::now(),
            updated_at: opora_domain::Timestamp::now(),
        };
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let headers =
            vec![("x-hub-signature-256".to_owned(), "sha256=dec6a680679a968e7e0319355b23599cbfc54502c0784668e9618baa0c633756".to_owned())];
        let driver = Whatsapp::new(Duration::from_secs(5), false, 1 << 20);
        assert_eq!(driver.authenticate(&channel, &Pushed { headers: &headers, body, now_secs: 0 }), Ok(()));
        let spaced = br#"{"object": "whatsapp_business_account","entry":[]}"#;
        assert!(
            driver.authenticate(&channel, &Pushed { headers: &headers, body: spaced, now_secs: 0 }).is_err(),
            "re-serialised JSON fails"
        );
        let query = |token: &str| {
            vec![
                ("hub.mode".to_owned(), "subscribe".to_owned()),
                ("hub.verify_token".to_owned(), token.to_owned()),
                ("hub.challenge".to_owned(), "1158201444".to_owned()),
            ]
        };
        assert_eq!(driver.handshake(&channel, &query("v"), b""), Some(Ok("1158201444".into())));
        assert!(matches!(driver.handshake(&channel, &query("w"), b""), Some(Err(_))));
        let listed = json!({"name": "ticket_update", "language": "ru", "status": "APPROVED",
            "components": [{"type": "BODY", "text": "Обращение {{1}}: {{2}}"}]});
        assert_eq!(approved(&listed).map(|t| t.variables), Some(2));
    }
}
