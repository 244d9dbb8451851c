//! The loop each Telegram channel runs. Polling: `getUpdates` from the stored offset, each update
//! stored with the next offset in one transaction (so none is lost or filed twice across a
//! restart). Webhook: `setWebhook` to our hook with the secret token, then a look at
//! `getWebhookInfo` now and then so a failing webhook shows on the channel.

use std::sync::Arc;
use std::time::Duration;

use opora_domain::channel::{Channel, PayloadSource};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::bot::{Bot, BotError};
use super::{CALL_TIMEOUT, Mode, Settings};
use crate::driver::{BoxFuture, Poller, RawPayload, Sink, rest};
use crate::webhook::LazyClient;

/// How long one `getUpdates` waits for something to arrive.
const LONG_POLL_SECS: u64 = 25;
/// What the bot asks for: messages, their edits, and presses of our buttons (member changes are
/// not conversations).
const ALLOWED: [&str; 5] = ["message", "edited_message", "business_message", "edited_business_message", "callback_query"];

pub struct Updates {
    pub client: LazyClient,
    pub public_url: String,
}

impl Poller for Updates {
    fn wants(&self, channel: &Channel) -> bool {
        Settings::of(channel).is_ok()
    }

    fn run(&self, channel: Channel, sink: Arc<dyn Sink>, stop: watch::Receiver<bool>) -> BoxFuture<'static, ()> {
        let client = self.client.get().cloned();
        let hook = format!("{}/hooks/telegram/{}", self.public_url.trim_end_matches('/'), channel.id);
        Box::pin(async move {
            let (settings, client) = match (Settings::of(&channel), client) {
                (Ok(settings), Ok(client)) => (settings, client),
                (Err(e), _) | (_, Err(e)) => return sink.report(channel.id, Some(e)).await,
            };
            let bot = Bot { client: &client, base: &settings.api_base_url, token: &settings.bot_token };
            match settings.mode {
                Mode::Polling => poll(&bot, &channel, sink, stop).await,
                Mode::Webhook => watch_webhook(&bot, &channel, &settings, &hook, sink, stop).await,
            }
        })
    }
}

/// What a failed call means for the loop: how long to wait, or `None` to stop (the token is
/// refused: nothing works until an admin replaces it, which restarts the loop).
async fn failed(sink: &dyn Sink, channel: &Channel, error: BotError, backoff: &mut u64) -> Option<Duration> {
    match error {
        BotError::Unauthorized(reason) => {
            sink.broken(channel.id, reason).await;
            None
        }
        BotError::RetryAfter(seconds, _) => Some(Duration::from_secs(seconds.clamp(1, 600))),
        other => {
            sink.report(channel.id, Some(other.describe().to_owned())).await;
            *backoff = (*backoff * 2).clamp(1, 120);
            Some(Duration::from_secs(*backoff))
        }
    }
}

async fn poll(bot: &Bot<'_>, channel: &Channel, sink: Arc<dyn Sink>, mut stop: watch::Receiver<bool>) {
    let mut backoff = 1;
    let mut webhook_cleared = false;
    while !*stop.borrow() {
        if !webhook_cleared {
            // A webhook left from webhook mode keeps getUpdates refused (409).
            match bot.call("deleteWebhook", &json!({"drop_pending_updates": false}), Some(CALL_TIMEOUT)).await {
                Ok(_) => webhook_cleared = true,
                Err(error) => match failed(sink.as_ref(), channel, error, &mut backoff).await {
                    Some(pause) if !rest(&mut stop, pause).await => continue,
                    _ => return,
                },
            }
        }
        let offset = match sink.cursor(channel.id).await {
            Ok(cursor) => cursor.and_then(|c| c["offset"].as_i64()).unwrap_or(0),
            Err(e) => {
                tracing::warn!(channel = channel.id.0, error = %e, "the Telegram offset could not be read");
                if rest(&mut stop, Duration::from_secs(5)).await {
                    return;
                }
                continue;
            }
        };
        let params = json!({"offset": offset, "timeout": LONG_POLL_SECS, "allowed_updates": ALLOWED});
        let asked = bot.call("getUpdates", &params, Some(Duration::from_secs(LONG_POLL_SECS + 15)));
        let answer = tokio::select! {
            _ = stop.changed() => return,
            answer = asked => answer,
        };
        match answer {
            Ok(updates) => {
                backoff = 1;
                if store(sink.as_ref(), channel, updates.as_array().map_or(&[][..], Vec::as_slice)).await.is_err() {
                    if rest(&mut stop, Duration::from_secs(5)).await {
                        return;
                    }
                    continue;
                }
                sink.report(channel.id, None).await;
            }
            Err(BotError::Conflict(reason)) => {
                webhook_cleared = false;
                sink.report(channel.id, Some(reason)).await;
                if rest(&mut stop, Duration::from_secs(5)).await {
                    return;
                }
            }
            Err(error) => match failed(sink.as_ref(), channel, error, &mut backoff).await {
                Some(pause) if !rest(&mut stop, pause).await => {}
                _ => return,
            },
        }
    }
}

/// Stores each update with the offset after it, in order.
async fn store(sink: &dyn Sink, channel: &Channel, updates: &[Value]) -> Result<(), String> {
    for update in updates {
        let Some(id) = update["update_id"].as_i64() else { continue };
        let bytes = update.to_string().into_bytes();
        // The store hashes what it keeps.
        let payload = RawPayload { bytes, source: PayloadSource::Poll, recipients: Vec::new(), sha256: String::new() };
        if let Err(e) = sink.receive(channel.id, payload, Some(json!({"offset": id + 1}))).await {
            tracing::warn!(channel = channel.id.0, update = id, error = %e, "a Telegram update could not be stored");
            return Err(e);
        }
    }
    Ok(())
}

async fn watch_webhook(
    bot: &Bot<'_>,
    channel: &Channel,
    settings: &Settings,
    hook: &str,
    sink: Arc<dyn Sink>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = 1;
    let mut set = false;
    while !*stop.borrow() {
        let result = if set {
            bot.call("getWebhookInfo", &json!({}), Some(CALL_TIMEOUT)).await.map(|info| {
                // Telegram keeps the last error for a while after it is over: only a recent one counts.
                let recent =
                    info["last_error_date"].as_i64().is_some_and(|at| at * 1000 > opora_domain::Timestamp::now().millis() - 600_000);
                if info["url"].as_str() != Some(hook) {
                    set = false;
                }
                info["last_error_message"].as_str().filter(|_| recent).map(str::to_owned)
            })
        } else {
            let params = json!({"url": hook, "secret_token": settings.webhook_secret, "allowed_updates": ALLOWED, "max_connections": 40});
            bot.call("setWebhook", &params, Some(CALL_TIMEOUT)).await.map(|_| {
                set = true;
                None
            })
        };
        let pause = match result {
            Ok(problem) => {
                backoff = 1;
                sink.report(channel.id, problem).await;
                Duration::from_secs(if set { 300 } else { 5 })
            }
            Err(error) => match failed(sink.as_ref(), channel, error, &mut backoff).await {
                Some(pause) => pause,
                None => return,
            },
        };
        if rest(&mut stop, pause).await {
            return;
        }
    }
}
