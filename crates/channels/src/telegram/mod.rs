//! The Telegram bot channel: customers write to the team's bot; updates arrive by long polling
//! (the default: it works behind NAT) or by webhook to `/hooks/telegram/{id}` with the secret
//! token Opora set; agents' replies and files go back through the Bot API.
//!
//! Keys: `telegram:{channel}:msg:{chat}:{message}` for every message of a chat (ours carry the id
//! Telegram gave them, so a customer's reply to one finds its case), `…:chat:{chat}` for the
//! conversation, `…:edit:{chat}:{message}:{edit_date}` for an edit.

mod bot;
mod poll;
pub mod update;

use std::sync::Arc;
use std::time::Duration;

use opora_domain::channel::{Channel, ChannelKind, ConversationPolicy};
use opora_domain::customer::IdentityKind;
use opora_domain::error::{Errors, FieldError};
use opora_domain::inbound::{Inbound, RemoteFile};
use opora_domain::outbound::{Choice, Outbound, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use bot::PUBLIC_API;
use bot::{Bot, BotError, MAX_DOWNLOAD_BYTES};

use crate::driver::{BoxFuture, CheckStep, Driver, ParseContext, Poller, Profile, Pushed, RawPayload, Refusal, Unfetched, Unreadable};
use crate::form::{base_url, finish, flag_of, policy_of, text_of};
use crate::webhook::LazyClient;
use crate::wire::{same, split_text};

/// How updates reach us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// We ask (`getUpdates`): no public address needed.
    Polling,
    /// Telegram posts to `/hooks/telegram/{id}` (needs a public HTTPS address).
    Webhook,
}

/// What a Telegram channel stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub bot_token: String,
    pub api_base_url: String,
    pub mode: Mode,
    /// Set with `setWebhook`; Telegram sends it back in `X-Telegram-Bot-Api-Secret-Token`.
    pub webhook_secret: String,
    pub conversation_policy: ConversationPolicy,
    pub acknowledge: bool,
}

impl Settings {
    fn of(channel: &Channel) -> Result<Settings, String> {
        serde_json::from_value(channel.settings.clone()).map_err(|e| format!("Telegram channel settings: {e}"))
    }
}

/// A message longer than this is sent in parts (Telegram's limit, in characters).
const MAX_TEXT_CHARS: usize = 4096;
/// A call's bound, besides long polling.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

pub struct Telegram {
    client: LazyClient,
    allow_internal: bool,
    max_file_bytes: usize,
    public_url: String,
}

impl Telegram {
    pub fn new(allow_internal: bool, max_file_bytes: usize, public_url: String) -> Self {
        // Long polling holds a request for up to a minute: calls set their own shorter bound.
        Self { client: LazyClient::new(Duration::from_secs(90), allow_internal), allow_internal, max_file_bytes, public_url }
    }

    fn bot<'a>(&'a self, settings: &'a Settings) -> Result<Bot<'a>, String> {
        Ok(Bot { client: self.client.get()?, base: &settings.api_base_url, token: &settings.bot_token })
    }

    /// Where Telegram posts updates for this channel in webhook mode.
    pub fn hook_url(&self, channel: &Channel) -> String {
        format!("{}/hooks/telegram/{}", self.public_url.trim_end_matches('/'), channel.id)
    }
}

/// `123456:ABC-…`: the bot's id, a colon, the secret part.
fn check_token(token: &str) -> Result<String, FieldError> {
    let token = token.trim();
    let (id, secret) = token.split_once(':').unwrap_or(("", ""));
    let id_ok = !id.is_empty() && id.len() <= 20 && id.chars().all(|c| c.is_ascii_digit());
    let secret_ok = (20..=200).contains(&secret.len()) && secret.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if token.is_empty() {
        Err(FieldError::required("bot_token"))
    } else if id_ok && secret_ok {
        Ok(token.to_owned())
    } else {
        Err(FieldError::new("bot_token", "invalid_bot_token"))
    }
}

/// 32 characters of `A-Z a-z 0-9 _ -`, as `setWebhook` takes.
fn new_webhook_secret() -> Result<String, String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    use base64::Engine;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The chat a reply goes to: the conversation's (a group's, or the private chat it came
/// from), else the customer's own Telegram id.
fn chat_for(channel: &Channel, message: &Outbound) -> Option<String> {
    let conversation = message.thread.iter().rev().find_map(|r| update::chat_of(channel.id, &r.key));
    conversation.map(|c| c.to_string()).or_else(|| {
        let ids: Vec<&str> = message.customer.identities_of(IdentityKind::Telegram).collect();
        ids.iter().find(|v| !v.starts_with('@')).or(ids.first()).map(|v| (*v).to_owned())
    })
}

/// Buttons under a message: in one row when they are few and short (a 1–5 score), else one
/// per row.
fn keyboard(choices: &[Choice]) -> Value {
    let button = |c: &Choice| json!({"text": c.label, "callback_data": c.data});
    let short = choices.len() <= 5 && choices.iter().all(|c| c.label.chars().count() <= 6);
    let rows: Vec<Value> =
        if short { vec![Value::Array(choices.iter().map(button).collect())] } else { choices.iter().map(|c| json!([button(c)])).collect() };
    json!({"inline_keyboard": rows})
}

fn verdict(error: BotError) -> Verdict {
    match error {
        BotError::Unauthorized(reason) => Verdict::Broken { reason },
        BotError::RetryAfter(seconds, reason) => Verdict::Retry { reason, after: Some(Duration::from_secs(seconds.clamp(1, 3600))) },
        BotError::Temporary(reason) | BotError::Conflict(reason) => Verdict::Retry { reason, after: None },
        BotError::Refused(reason) => Verdict::Failed { reason },
    }
}

impl Driver for Telegram {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Telegram
    }

    fn settings(&self, input: &Value, current: Option<&Value>) -> Result<Value, Vec<FieldError>> {
        if !input.is_object() {
            return Err(vec![FieldError::new("settings", "invalid_type").with("expected", "object")]);
        }
        let current: Option<Settings> = current.and_then(|c| serde_json::from_value(c.clone()).ok());
        let mut errors = Errors::default();
        // An empty token field keeps the stored one (the form never shows it).
        let bot_token = match text_of(input, "bot_token", &mut errors).flatten().filter(|t| !t.trim().is_empty() || current.is_none()) {
            Some(token) => errors.take(check_token(token)),
            None => current.as_ref().map(|c| c.bot_token.clone()).or_else(|| {
                errors.push(FieldError::required("bot_token"));
                None
            }),
        };
        let api_base_url = base_url(input, current.as_ref().map(|c| c.api_base_url.as_str()), PUBLIC_API, self.allow_internal, &mut errors);
        let mode = match text_of(input, "mode", &mut errors).flatten() {
            Some("polling") => Some(Mode::Polling),
            Some("webhook") => Some(Mode::Webhook),
            Some(_) => {
                errors.push(FieldError::new("mode", "invalid_choice").with("allowed", "polling, webhook"));
                None
            }
            None => Some(current.as_ref().map_or(Mode::Polling, |c| c.mode)),
        };
        let conversation_policy = policy_of(input, current.as_ref().map(|c| c.conversation_policy), &mut errors);
        let acknowledge = flag_of(input, "acknowledge", &mut errors).or(current.as_ref().map(|c| c.acknowledge)).unwrap_or(false);
        if input.get("webhook_secret").is_some() {
            errors.push(FieldError::new("webhook_secret", "read_only"));
        }
        finish(errors)?;
        let webhook_secret = match current {
            Some(current) => current.webhook_secret,
            None => new_webhook_secret().map_err(|e| vec![FieldError::new("webhook_secret", "unavailable").with("reason", e)])?,
        };
        let settings = Settings {
            bot_token: bot_token.unwrap_or_default(),
            api_base_url,
            mode: mode.unwrap_or(Mode::Polling),
            webhook_secret,
            conversation_policy,
            acknowledge,
        };
        Ok(serde_json::to_value(settings).unwrap_or_default())
    }

    fn public_settings(&self, settings: &Value) -> Value {
        match serde_json::from_value::<Settings>(settings.clone()) {
            Ok(s) => json!({
                "bot_id": s.bot_token.split_once(':').map(|(id, _)| id.to_owned()),
                "bot_token_set": !s.bot_token.is_empty(),
                "api_base_url": s.api_base_url,
                "mode": s.mode,
                "conversation_policy": s.conversation_policy,
                "acknowledge": s.acknowledge,
            }),
            Err(_) => Value::Null,
        }
    }

    fn profile(&self, channel: &Channel) -> Profile {
        Profile::messenger(Settings::of(channel).ok().map(|s| (s.conversation_policy, s.acknowledge)), None)
    }

    fn is_own(&self, channel: &Channel, kind: IdentityKind, value: &str) -> bool {
        let bot_id = Settings::of(channel).ok().and_then(|s| s.bot_token.split_once(':').map(|(id, _)| id.to_owned()));
        kind == IdentityKind::Telegram && bot_id.as_deref() == Some(value)
    }

    fn authenticate(&self, channel: &Channel, request: &Pushed<'_>) -> Result<(), Refusal> {
        let settings = Settings::of(channel).map_err(Refusal::BadSignature)?;
        match request.header("x-telegram-bot-api-secret-token") {
            Some(given) if same(given.as_bytes(), settings.webhook_secret.as_bytes()) => Ok(()),
            Some(_) => Err(Refusal::BadSignature("the secret token does not match".into())),
            None => Err(Refusal::BadSignature("no X-Telegram-Bot-Api-Secret-Token header".into())),
        }
    }

    fn parse(&self, payload: &RawPayload, context: &ParseContext<'_>) -> Result<Vec<Inbound>, Unreadable> {
        update::parse(context.channel.id, &payload.bytes)
    }

    fn download<'a>(&'a self, channel: &'a Channel, file: &'a RemoteFile) -> BoxFuture<'a, Result<Vec<u8>, Unfetched>> {
        Box::pin(async move {
            let settings = Settings::of(channel).map_err(Unfetched::Gone)?;
            let limit = MAX_DOWNLOAD_BYTES.min(self.max_file_bytes as u64);
            let too_large = || Unfetched::Gone(format!("larger than {} MB, not downloaded", limit >> 20));
            if file.size.is_some_and(|size| size > limit) {
                return Err(too_large());
            }
            let bot = self.bot(&settings).map_err(Unfetched::Retry)?;
            match bot.download(&file.reference, limit).await {
                Ok(Some(content)) => Ok(content),
                Ok(None) => Err(too_large()),
                Err(BotError::Refused(reason) | BotError::Unauthorized(reason)) => Err(Unfetched::Gone(reason)),
                Err(error) => Err(Unfetched::Retry(error.describe().to_owned())),
            }
        })
    }

    fn answer_choice<'a>(&'a self, channel: &'a Channel, handle: &'a str, note: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let Ok(settings) = Settings::of(channel) else { return };
            let Ok(bot) = self.bot(&settings) else { return };
            let params = json!({"callback_query_id": handle, "text": note});
            if let Err(error) = bot.call("answerCallbackQuery", &params, Some(CALL_TIMEOUT)).await {
                tracing::debug!(channel = channel.id.0, error = error.describe(), "a button press was not answered");
            }
        })
    }

    fn send<'a>(&'a self, channel: &'a Channel, message: &'a Outbound) -> BoxFuture<'a, Verdict> {
        Box::pin(async move {
            let settings = match Settings::of(channel) {
                Ok(settings) => settings,
                Err(reason) => return Verdict::Failed { reason },
            };
            let Some(chat) = chat_for(channel, message) else { return Verdict::Failed { reason: "customer_without_telegram".into() } };
            let bot = match self.bot(&settings) {
                Ok(bot) => bot,
                Err(reason) => return Verdict::Retry { reason, after: None },
            };
            let mut first: Option<i64> = None;
            let parts = split_text(&message.text, MAX_TEXT_CHARS);
            let last = parts.len().saturating_sub(1);
            for (index, part) in parts.into_iter().enumerate() {
                let mut params = json!({"chat_id": chat, "text": part, "link_preview_options": {"is_disabled": true}});
                if index == last && !message.choices.is_empty() {
                    params["reply_markup"] = keyboard(&message.choices);
                }
                match bot.call("sendMessage", &params, Some(CALL_TIMEOUT)).await {
                    Ok(sent) => first = first.or(sent["message_id"].as_i64()),
                    Err(error) => return verdict(error),
                }
            }
            for file in &message.attachments {
                match bot.upload(&chat, file, None).await {
                    Ok(sent) => first = first.or(sent["message_id"].as_i64()),
                    Err(error) => return verdict(error),
                }
            }
            let chat_id = chat.parse::<i64>().ok();
            Verdict::Sent { key: first.zip(chat_id).map(|(id, chat)| update::message_key(channel.id, chat, id)) }
        })
    }

    fn check<'a>(&'a self, channel: &'a Channel) -> BoxFuture<'a, Vec<CheckStep>> {
        Box::pin(async move {
            let step = |name, result: Result<(), String>| CheckStep { name, ok: result.is_ok(), error: result.err() };
            let settings = match Settings::of(channel) {
                Ok(settings) => settings,
                Err(e) => return vec![step("bot", Err(e))],
            };
            let bot = match self.bot(&settings) {
                Ok(bot) => bot,
                Err(e) => return vec![step("bot", Err(e))],
            };
            let me = bot.call("getMe", &json!({}), Some(CALL_TIMEOUT)).await;
            let mut steps = vec![step("bot", me.map(|_| ()).map_err(|e| e.describe().to_owned()))];
            if settings.mode == Mode::Webhook {
                let info = bot.call("getWebhookInfo", &json!({}), Some(CALL_TIMEOUT)).await;
                let result = match info {
                    Ok(info) if info["url"].as_str() != Some(self.hook_url(channel).as_str()) => {
                        Err(format!("the webhook is not set to {}", self.hook_url(channel)))
                    }
                    Ok(info) => info["last_error_message"].as_str().map_or(Ok(()), |e| Err(e.to_owned())),
                    Err(e) => Err(e.describe().to_owned()),
                };
                steps.push(step("webhook", result));
            }
            steps
        })
    }

    fn poller(&self) -> Option<Arc<dyn Poller>> {
        Some(Arc::new(poll::Updates {
            client: LazyClient::new(Duration::from_secs(90), self.allow_internal),
            public_url: self.public_url.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(check_token("123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11").is_ok());
        assert_eq!(check_token("").expect_err("empty").code, "required");
        for bad in ["123456", "abc:ABC-DEF1234ghIkl-zyx57W2v1u123ew11", "1:short", "1:ABC DEF1234ghIkl-zyx57W2v1u123ew11"] {
            assert_eq!(check_token(bad).expect_err(bad).code, "invalid_bot_token");
        }
    }
}
