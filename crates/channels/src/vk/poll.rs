//! Bots Long Poll, for a VK channel without a public address: `groups.getLongPollServer`, then
//! `{server}?act=a_check&key&ts&wait=25` in a loop; each event is stored with the next `ts` in
//! one transaction, so none is lost or filed twice across a restart. `failed` 1 moves `ts` on,
//! 2 asks for a new key, 3 for a new key and `ts`.

use std::sync::Arc;
use std::time::Duration;

use opora_domain::channel::{Channel, PayloadSource};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::{Mode, Settings, VkError, call};
use crate::driver::{BoxFuture, Poller, RawPayload, Sink, rest};
use crate::webhook::{Client, LazyClient};

const WAIT_SECS: u64 = 25;

pub struct Events {
    pub client: LazyClient,
}

/// Where to ask: the server, its key and the `ts` to ask from.
struct Server {
    url: String,
    key: String,
    ts: String,
}

async fn server(client: &Client, settings: &Settings) -> Result<Server, VkError> {
    let answer = call(client, settings, "groups.getLongPollServer", &[("group_id", settings.group_id.to_string())]).await?;
    let text = |v: &Value| v.as_str().map(str::to_owned).or_else(|| v.as_i64().map(|n| n.to_string()));
    match (text(&answer["server"]), text(&answer["key"]), text(&answer["ts"])) {
        (Some(url), Some(key), Some(ts)) => Ok(Server { url, key, ts }),
        _ => Err(VkError::Temporary("groups.getLongPollServer gave no server".into())),
    }
}

impl Poller for Events {
    fn wants(&self, channel: &Channel) -> bool {
        Settings::of(channel).is_ok_and(|s| s.mode == Mode::Longpoll)
    }

    fn run(&self, channel: Channel, sink: Arc<dyn Sink>, stop: watch::Receiver<bool>) -> BoxFuture<'static, ()> {
        let client = self.client.get().cloned();
        Box::pin(async move {
            let (settings, client) = match (Settings::of(&channel), client) {
                (Ok(settings), Ok(client)) => (settings, client),
                (Err(e), _) | (_, Err(e)) => return sink.report(channel.id, Some(e)).await,
            };
            poll(&client, &settings, &channel, sink, stop).await;
        })
    }
}

async fn poll(client: &Client, settings: &Settings, channel: &Channel, sink: Arc<dyn Sink>, mut stop: watch::Receiver<bool>) {
    let mut backoff = 1u64;
    let mut current: Option<Server> = None;
    while !*stop.borrow() {
        let mut at = match current.take() {
            Some(at) => at,
            None => match server(client, settings).await {
                Ok(mut fresh) => {
                    // Resume where the last run stopped, when it stopped anywhere.
                    if let Ok(Some(cursor)) = sink.cursor(channel.id).await
                        && let Some(ts) = cursor["ts"].as_str()
                    {
                        fresh.ts = ts.to_owned();
                    }
                    fresh
                }
                Err(VkError::Unauthorized(reason)) => return sink.broken(channel.id, reason).await,
                Err(error) => {
                    sink.report(channel.id, Some(error.describe().to_owned())).await;
                    backoff = (backoff * 2).clamp(1, 120);
                    if rest(&mut stop, Duration::from_secs(backoff)).await {
                        return;
                    }
                    continue;
                }
            },
        };
        let Ok(mut url) = url::Url::parse(&at.url) else {
            sink.report(channel.id, Some(format!("an unusable Long Poll server: {}", at.url))).await;
            return;
        };
        url.query_pairs_mut()
            .append_pair("act", "a_check")
            .append_pair("key", &at.key)
            .append_pair("ts", &at.ts)
            .append_pair("wait", &WAIT_SECS.to_string());
        let asked = client.get(url).timeout(Duration::from_secs(WAIT_SECS + 15)).send();
        let answer = tokio::select! {
            _ = stop.changed() => return,
            answer = asked => answer,
        };
        let answer: Value = match answer {
            Ok(response) => response.json().await.unwrap_or(Value::Null),
            Err(e) => {
                sink.report(channel.id, Some(e.without_url().to_string())).await;
                if rest(&mut stop, Duration::from_secs(5)).await {
                    return;
                }
                current = Some(at);
                continue;
            }
        };
        let next_ts = answer["ts"].as_str().map(str::to_owned).or_else(|| answer["ts"].as_i64().map(|n| n.to_string()));
        match answer["failed"].as_i64() {
            // History partly lost: go on from the new ts.
            Some(1) => {
                at.ts = next_ts.unwrap_or(at.ts);
                current = Some(at);
                continue;
            }
            // The key expired (2), or the key and the history (3): ask again.
            Some(_) => continue,
            None => {}
        }
        let Some(next) = next_ts else {
            sink.report(channel.id, Some("an answer without ts".into())).await;
            if rest(&mut stop, Duration::from_secs(5)).await {
                return;
            }
            continue;
        };
        let events = answer["updates"].as_array().cloned().unwrap_or_default();
        let mut stored = true;
        for (index, event) in events.iter().enumerate() {
            // Every event but the last keeps the old ts: a restart re-reads from it, and the
            // keys of what was filed already make those repeats no-ops.
            let cursor = (index + 1 == events.len()).then(|| json!({"ts": next}));
            let payload = RawPayload {
                bytes: event.to_string().into_bytes(),
                source: PayloadSource::Poll,
                recipients: Vec::new(),
                sha256: String::new(),
            };
            if let Err(e) = sink.receive(channel.id, payload, cursor).await {
                tracing::warn!(channel = channel.id.0, error = %e, "a VK event could not be stored");
                stored = false;
                break;
            }
        }
        if !stored {
            if rest(&mut stop, Duration::from_secs(5)).await {
                return;
            }
            current = Some(at);
            continue;
        }
        if events.is_empty() {
            let _ = sink.set_cursor(channel.id, json!({"ts": next})).await;
        }
        backoff = 1;
        sink.report(channel.id, None).await;
        at.ts = next;
        current = Some(at);
    }
}
