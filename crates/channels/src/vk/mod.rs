//! VK community messages: VK's Callback API posts events to `/hooks/vk/{id}` (after the
//! `confirmation` request, answered with the community's code; every event carries the secret
//! key we set, compared in constant time, and our group id); replies go out with
//! `messages.send`, each part with a `random_id` derived from our message id so a retried send
//! is never delivered twice; files go as documents (the upload trio).
//!
//! Keys: `vk:{channel}:msg:{peer}:{id}` for every message of a dialog, ours and theirs;
//! `…:chat:{peer}` for the conversation.

mod event;
mod poll;

use std::time::Duration;

use opora_domain::channel::{Channel, ChannelKind, ConversationPolicy};
use opora_domain::customer::IdentityKind;
use opora_domain::error::{Errors, FieldError};
use opora_domain::inbound::{Inbound, RemoteFile};
use opora_domain::outbound::{Outbound, OutgoingFile, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::driver::{BoxFuture, CheckStep, Driver, ParseContext, Profile, Pushed, RawPayload, Refusal, Unfetched, Unreadable};
use crate::form::{base_url, finish, flag_of, policy_of, required_text, text_of};
use crate::webhook::{self, Client, LazyClient};
use crate::wire::{same, split_text};

pub const PUBLIC_API: &str = "https://api.vk.com";
const VERSION: &str = "5.199";
const MAX_TEXT_CHARS: usize = 4096;
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// What a VK channel stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// The community's token, with the `messages` and `docs` rights.
    pub access_token: String,
    /// The secret key set for our Callback API server: every event carries it.
    pub secret: String,
    /// The string VK expects back when it confirms the address.
    pub confirmation: String,
    pub group_id: i64,
    pub api_base_url: String,
    /// How events reach us.
    #[serde(default)]
    pub mode: Mode,
    pub conversation_policy: ConversationPolicy,
    pub acknowledge: bool,
}

/// How a VK channel hears of new messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// VK posts to `/hooks/vk/{id}` (needs a public address).
    #[default]
    Callback,
    /// Opora asks (Bots Long Poll): no public address needed.
    Longpoll,
}

impl Settings {
    fn of(channel: &Channel) -> Result<Settings, String> {
        serde_json::from_value(channel.settings.clone()).map_err(|e| format!("VK channel settings: {e}"))
    }
}

/// What a call came to, when it did not work (read by `error_code`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum VkError {
    /// 5: the token was revoked.
    Unauthorized(String),
    /// 6, 10, 29, or no answer: later.
    Temporary(String),
    /// 9: flood control — not at once.
    Flood(String),
    /// 900–902 and the rest: not for this message.
    Refused(String),
}

impl VkError {
    fn describe(&self) -> &str {
        match self {
            VkError::Unauthorized(s) | VkError::Temporary(s) | VkError::Flood(s) | VkError::Refused(s) => s,
        }
    }
}

fn classify(answer: &Value) -> VkError {
    let error = &answer["error"];
    let code = error["error_code"].as_i64().unwrap_or(0);
    let text = format!("{code}: {}", error["error_msg"].as_str().unwrap_or("unknown error"));
    match code {
        5 => VkError::Unauthorized(text),
        6 | 10 | 29 => VkError::Temporary(text),
        9 => VkError::Flood(text),
        _ => VkError::Refused(text),
    }
}

pub struct Vk {
    client: LazyClient,
    allow_internal: bool,
    max_file_bytes: usize,
}

impl Vk {
    pub fn new(timeout: Duration, allow_internal: bool, max_file_bytes: usize) -> Self {
        Self { client: LazyClient::new(timeout.max(Duration::from_secs(30)), allow_internal), allow_internal, max_file_bytes }
    }
}

async fn read(response: reqwest::Response) -> Result<Value, VkError> {
    let mut response = response;
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| VkError::Temporary(e.without_url().to_string()))? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(VkError::Temporary("the answer is too long".into()));
        }
        body.extend_from_slice(&chunk);
    }
    let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if answer.get("error").is_some_and(Value::is_object) { Err(classify(&answer)) } else { Ok(answer) }
}

fn encode(params: &[(&str, String)]) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        form.append_pair(name, value);
    }
    form.append_pair("v", VERSION);
    form.finish()
}

/// `POST {base}/method/{method}`, form-encoded (VK takes no JSON), with the token as a bearer.
async fn call(client: &Client, settings: &Settings, method: &str, params: &[(&str, String)]) -> Result<Value, VkError> {
    let body = encode(params);
    let sent = client
        .post(format!("{}/method/{method}", settings.api_base_url.trim_end_matches('/')))
        .bearer_auth(&settings.access_token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| VkError::Temporary(e.without_url().to_string()))?;
    if sent.status().is_server_error() {
        return Err(VkError::Temporary(format!("HTTP {}", sent.status().as_u16())));
    }
    Ok(read(sent).await?["response"].clone())
}

/// Uploads a file as a document of the dialog; returns the attachment (`doc{owner}_{id}`).
async fn upload(client: &Client, settings: &Settings, peer: i64, file: &OutgoingFile) -> Result<String, VkError> {
    let server = call(client, settings, "docs.getMessagesUploadServer", &[("type", "doc".into()), ("peer_id", peer.to_string())]).await?;
    let Some(url) = server["upload_url"].as_str() else { return Err(VkError::Temporary("no upload address".into())) };
    // The address comes from VK's answer: it goes through the same guarded client.
    let part = reqwest::multipart::Part::bytes(file.content.clone()).file_name(file.filename.clone());
    let uploaded = client
        .post(url)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .map_err(|e| VkError::Temporary(e.without_url().to_string()))?;
    let uploaded = read(uploaded).await?;
    let Some(handle) = uploaded["file"].as_str() else {
        return Err(VkError::Refused(format!("upload refused: {}", uploaded["error_descr"].as_str().unwrap_or("no file"))));
    };
    let saved = call(client, settings, "docs.save", &[("file", handle.to_owned()), ("title", file.filename.clone())]).await?;
    let doc = &saved["doc"];
    match (doc["owner_id"].as_i64(), doc["id"].as_i64()) {
        (Some(owner), Some(id)) => Ok(format!("doc{owner}_{id}")),
        _ => Err(VkError::Temporary("docs.save gave no document".into())),
    }
}

fn verdict(error: VkError) -> Verdict {
    match error {
        VkError::Unauthorized(reason) => Verdict::Broken { reason },
        VkError::Temporary(reason) => Verdict::Retry { reason, after: None },
        VkError::Flood(reason) => Verdict::Retry { reason, after: Some(Duration::from_secs(60)) },
        VkError::Refused(reason) => Verdict::Failed { reason },
    }
}

/// The event a request carries, once its secret and group are ours.
fn event_of(settings: &Settings, body: &[u8]) -> Result<Value, Refusal> {
    let event: Value = serde_json::from_slice(body).map_err(|_| Refusal::BadSignature("not JSON".into()))?;
    // A channel that polls takes no pushes (and has no secret to check them by).
    let callback = settings.mode == Mode::Callback && !settings.secret.is_empty();
    let secret_ok = callback && event["secret"].as_str().is_some_and(|s| same(s.as_bytes(), settings.secret.as_bytes()));
    if !secret_ok || event["group_id"].as_i64() != Some(settings.group_id) {
        return Err(Refusal::BadSignature("the secret key or the community does not match".into()));
    }
    Ok(event)
}

impl Driver for Vk {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Vk
    }

    fn settings(&self, input: &Value, current: Option<&Value>) -> Result<Value, Vec<FieldError>> {
        if !input.is_object() {
            return Err(vec![FieldError::new("settings", "invalid_type").with("expected", "object")]);
        }
        let current: Option<Settings> = current.and_then(|c| serde_json::from_value(c.clone()).ok());
        let mut errors = Errors::default();
        let access_token = required_text(input, "access_token", current.as_ref().map(|c| c.access_token.as_str()), 500, &mut errors);
        let mode = match text_of(input, "mode", &mut errors).flatten() {
            Some("callback") => Mode::Callback,
            Some("longpoll") => Mode::Longpoll,
            Some(_) => {
                errors.push(FieldError::new("mode", "invalid_choice").with("allowed", "callback, longpoll"));
                Mode::Callback
            }
            None => current.as_ref().map_or(Mode::Callback, |c| c.mode),
        };
        // Only the Callback API needs the secret key and the confirmation string.
        let (stored_secret, stored_confirmation) = match (&current, mode) {
            (_, Mode::Longpoll) => (Some(""), Some("")),
            (Some(c), Mode::Callback) => {
                (Some(c.secret.as_str()).filter(|s| !s.is_empty()), Some(c.confirmation.as_str()).filter(|s| !s.is_empty()))
            }
            (None, Mode::Callback) => (None, None),
        };
        let secret = match (mode, text_of(input, "secret", &mut errors).flatten()) {
            (Mode::Longpoll, None) => String::new(),
            _ => required_text(input, "secret", stored_secret, 50, &mut errors),
        };
        let confirmation = match (mode, text_of(input, "confirmation", &mut errors).flatten()) {
            (Mode::Longpoll, None) => String::new(),
            _ => required_text(input, "confirmation", stored_confirmation, 100, &mut errors),
        };
        let group_id = match input.get("group_id") {
            None | Some(Value::Null) => current.as_ref().map(|c| c.group_id),
            Some(value) => {
                let id = value.as_i64().or_else(|| value.as_str()?.trim().trim_start_matches("club").parse().ok()).filter(|id| *id > 0);
                if id.is_none() {
                    errors.push(FieldError::new("group_id", "invalid_value").with("expected", "a positive number"));
                }
                id
            }
        };
        if group_id.is_none() && input.get("group_id").is_none() {
            errors.push(FieldError::required("group_id"));
        }
        let api_base_url = base_url(input, current.as_ref().map(|c| c.api_base_url.as_str()), PUBLIC_API, self.allow_internal, &mut errors);
        let conversation_policy = policy_of(input, current.as_ref().map(|c| c.conversation_policy), &mut errors);
        let acknowledge = flag_of(input, "acknowledge", &mut errors).or(current.as_ref().map(|c| c.acknowledge)).unwrap_or(false);
        finish(errors)?;
        let settings = Settings {
            access_token,
            secret,
            confirmation,
            group_id: group_id.unwrap_or_default(),
            api_base_url,
            mode,
            conversation_policy,
            acknowledge,
        };
        Ok(serde_json::to_value(settings).unwrap_or_default())
    }

    fn public_settings(&self, settings: &Value) -> Value {
        match serde_json::from_value::<Settings>(settings.clone()) {
            Ok(s) => json!({
                "group_id": s.group_id,
                "mode": s.mode,
                "api_base_url": s.api_base_url,
                "confirmation": s.confirmation,
                "access_token_set": !s.access_token.is_empty(),
                "secret_set": !s.secret.is_empty(),
                "conversation_policy": s.conversation_policy,
                "acknowledge": s.acknowledge,
            }),
            Err(_) => Value::Null,
        }
    }

    fn profile(&self, channel: &Channel) -> Profile {
        Profile::messenger(Settings::of(channel).ok().map(|s| (s.conversation_policy, s.acknowledge)), None)
    }

    fn handshake(&self, channel: &Channel, _query: &[(String, String)], body: &[u8]) -> Option<Result<String, Refusal>> {
        let peek: Value = serde_json::from_slice(body).ok()?;
        if peek["type"] != "confirmation" {
            return None;
        }
        let settings = match Settings::of(channel) {
            Ok(settings) => settings,
            Err(e) => return Some(Err(Refusal::BadSignature(e))),
        };
        // VK sends the secret with the confirmation when one is set; the group must be ours.
        let callback = settings.mode == Mode::Callback && !settings.secret.is_empty();
        let secret_ok = callback && peek["secret"].as_str().is_none_or(|s| same(s.as_bytes(), settings.secret.as_bytes()));
        Some(if secret_ok && peek["group_id"].as_i64() == Some(settings.group_id) {
            Ok(settings.confirmation)
        } else {
            Err(Refusal::BadSignature("a confirmation for another community".into()))
        })
    }

    fn authenticate(&self, channel: &Channel, request: &Pushed<'_>) -> Result<(), Refusal> {
        let settings = Settings::of(channel).map_err(Refusal::BadSignature)?;
        event_of(&settings, request.body).map(|_| ())
    }

    fn parse(&self, payload: &RawPayload, context: &ParseContext<'_>) -> Result<Vec<Inbound>, Unreadable> {
        let event: Value = serde_json::from_slice(&payload.bytes).map_err(|e| Unreadable::new(format!("not JSON: {e}")))?;
        event::parse(context.channel.id, &event)
    }

    fn download<'a>(&'a self, _channel: &'a Channel, file: &'a RemoteFile) -> BoxFuture<'a, Result<Vec<u8>, Unfetched>> {
        Box::pin(async move {
            let client = self.client.get().map_err(Unfetched::Retry)?;
            if webhook::check_url("url", &file.reference, self.allow_internal).is_err() {
                return Err(Unfetched::Gone("an address Opora does not fetch".into()));
            }
            let mut response = client.get(&file.reference).send().await.map_err(|e| Unfetched::Retry(e.without_url().to_string()))?;
            if !response.status().is_success() {
                let status = response.status().as_u16();
                return Err(if status >= 500 {
                    Unfetched::Retry(format!("HTTP {status}"))
                } else {
                    Unfetched::Gone(format!("HTTP {status}"))
                });
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| Unfetched::Retry(e.without_url().to_string()))? {
                if body.len() + chunk.len() > self.max_file_bytes {
                    return Err(Unfetched::Gone(format!("larger than {} MB, not downloaded", self.max_file_bytes >> 20)));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        })
    }

    fn send<'a>(&'a self, channel: &'a Channel, message: &'a Outbound) -> BoxFuture<'a, Verdict> {
        Box::pin(async move {
            let settings = match Settings::of(channel) {
                Ok(settings) => settings,
                Err(reason) => return Verdict::Failed { reason },
            };
            let conversation = message.thread.iter().rev().find_map(|r| event::peer_of(channel.id, &r.key));
            let peer = conversation.or_else(|| message.customer.identity(IdentityKind::Vk).and_then(|v| v.parse().ok()));
            let Some(peer) = peer else { return Verdict::Failed { reason: "customer_without_vk".into() } };
            let client = match self.client.get() {
                Ok(client) => client,
                Err(reason) => return Verdict::Retry { reason, after: None },
            };
            let mut attachments = Vec::new();
            for file in &message.attachments {
                match upload(client, &settings, peer, file).await {
                    Ok(attachment) => attachments.push(attachment),
                    Err(error) => return verdict(error),
                }
            }
            let mut parts = split_text(&message.text, MAX_TEXT_CHARS);
            if parts.is_empty() && !attachments.is_empty() {
                parts.push(String::new());
            }
            let last = parts.len().saturating_sub(1);
            let mut first = None;
            for (index, part) in parts.into_iter().enumerate() {
                // The same message part always has the same random_id: VK refuses to deliver it twice.
                let random_id = message.message_id.0 * 64 + index as i64;
                let mut params = vec![
                    ("peer_id", peer.to_string()),
                    ("random_id", random_id.to_string()),
                    ("message", part),
                    ("dont_parse_links", "1".into()),
                ];
                if index == last && !attachments.is_empty() {
                    params.push(("attachment", attachments.join(",")));
                }
                match call(client, &settings, "messages.send", &params).await {
                    Ok(sent) => first = first.or(sent.as_i64()),
                    Err(error) => return verdict(error),
                }
            }
            Verdict::Sent { key: first.map(|id| event::message_key(channel.id, peer, id)) }
        })
    }

    fn poller(&self) -> Option<std::sync::Arc<dyn crate::driver::Poller>> {
        Some(std::sync::Arc::new(poll::Events { client: LazyClient::new(Duration::from_secs(60), self.allow_internal) }))
    }

    fn check<'a>(&'a self, channel: &'a Channel) -> BoxFuture<'a, Vec<CheckStep>> {
        Box::pin(async move {
            let result = match (Settings::of(channel), self.client.get()) {
                (Ok(settings), Ok(client)) => {
                    let group = settings.group_id.to_string();
                    call(client, &settings, "groups.getById", &[("group_id", group)]).await.map(|_| ()).map_err(|e| e.describe().to_owned())
                }
                (Err(e), _) | (_, Err(e)) => Err(e),
            };
            vec![CheckStep { name: "vk", ok: result.is_ok(), error: result.err() }]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_by_code_and_events_by_secret() {
        assert!(matches!(
            classify(&json!({"error": {"error_code": 5, "error_msg": "User authorization failed"}})),
            VkError::Unauthorized(_)
        ));
        assert!(matches!(classify(&json!({"error": {"error_code": 901, "error_msg": "Can't send messages"}})), VkError::Refused(_)));
        assert!(matches!(classify(&json!({"error": {"error_code": 6}})), VkError::Temporary(_)));
        assert!(matches!(classify(&json!({"error": {"error_code": 9}})), VkError::Flood(_)));
        let settings = Settings {
            access_token: "t".into(),
            secret: "s3cret".into(),
            confirmation: "a1b2c3d4".into(),
            group_id: 7,
            api_base_url: PUBLIC_API.into(),
            mode: Mode::Callback,
            conversation_policy: ConversationPolicy::Ongoing,
            acknowledge: false,
        };
        assert!(event_of(&settings, br#"{"type": "message_new", "group_id": 7, "secret": "s3cret"}"#).is_ok());
        assert!(event_of(&settings, br#"{"type": "message_new", "group_id": 8, "secret": "s3cret"}"#).is_err());
        assert!(event_of(&settings, br#"{"type": "message_new", "group_id": 7, "secret": "guess"}"#).is_err());
        assert!(event_of(&settings, br#"{"type": "message_new", "group_id": 7}"#).is_err());
    }
}
