//! Pollers: one loop per active channel whose driver pulls (IMAP, long polling), restarted when
//! the channel's settings change, handed a [`Sink`] that stores what they pull.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use opora_channels::driver::{BoxFuture, RawPayload, Sink};
use opora_domain::channel::{Channel, ChannelState};
use opora_domain::event::EventKind;
use opora_domain::{ChannelId, PayloadId, Timestamp};
use opora_store::{channels, payloads};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::App;

pub const NAME: &str = "channel.poll";

/// The use cases as a poller sees them.
struct Store(App);

impl Sink for Store {
    fn cursor(&self, channel: ChannelId) -> BoxFuture<'_, Result<Option<Value>, String>> {
        Box::pin(async move { self.0.read(move |conn| channels::cursor(conn, channel)).await.map_err(|e| e.to_string()) })
    }

    fn set_cursor(&self, channel: ChannelId, cursor: Value) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.0.write(move |u| channels::set_cursor(u.tx(), channel, &cursor)).await.map_err(|e| e.to_string()) })
    }

    fn receive(&self, channel: ChannelId, payload: RawPayload, cursor: Option<Value>) -> BoxFuture<'_, Result<PayloadId, String>> {
        Box::pin(async move {
            self.0.intake().receive(channel, payload.source, payload.recipients, payload.bytes, cursor).await.map_err(|e| e.to_string())
        })
    }

    fn quarantine(&self, payload: PayloadId, reason: String) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.0.write(move |u| payloads::quarantine(u.tx(), payload, &reason)).await.map_err(|e| e.to_string()) })
    }

    fn report(&self, channel: ChannelId, error: Option<String>) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let state = if error.is_some() { ChannelState::Failing } else { ChannelState::Ok };
            let _ = self.0.write(move |u| channels::record_state(u.tx(), channel, state, error.as_deref())).await;
        })
    }

    fn broken(&self, channel: ChannelId, reason: String) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let _ = self.0.write(move |u| crate::channels::mark_broken(u, channel, &reason)).await;
        })
    }
}

struct Running {
    version: Timestamp,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Keeps one poller running per active channel that has something to pull, restarting it when
/// its channel's settings change.
pub async fn supervise(app: App, mut shutdown: watch::Receiver<bool>) {
    let health = app.health().clone();
    let sink: Arc<dyn Sink> = Arc::new(Store(app.clone()));
    let mut running: HashMap<ChannelId, Running> = HashMap::new();
    let mut events = app.events().subscribe();
    loop {
        match app.read(channels::list).await {
            Ok(all) => {
                let wanted: Vec<(Channel, Arc<dyn opora_channels::driver::Poller>)> = all
                    .into_iter()
                    .filter(|c| c.active)
                    .filter_map(|c| {
                        let poller = app.core.drivers.of(c.kind)?.poller()?;
                        poller.wants(&c).then_some((c, poller))
                    })
                    .collect();
                running.retain(|id, poller| {
                    let keep = wanted.iter().any(|(c, _)| c.id == *id && c.updated_at == poller.version);
                    if !keep {
                        let _ = poller.stop.send(true);
                    }
                    keep
                });
                for (channel, poller) in wanted {
                    if running.contains_key(&channel.id) {
                        continue;
                    }
                    let (stop, stopped) = watch::channel(false);
                    let (id, version) = (channel.id, channel.updated_at);
                    let task = tokio::spawn(poller.run(channel, sink.clone(), stopped));
                    running.insert(id, Running { version, stop, task });
                }
                health.tick(NAME, running.len() as u64);
            }
            Err(e) => health.backing_off(NAME, &e.to_string()),
        }
        tokio::select! {
            event = events.recv() => {
                if event.is_ok_and(|e| e.kind() != EventKind::ChannelChanged) {
                    continue;
                }
            }
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = shutdown.changed() => break,
        }
    }
    for poller in running.into_values() {
        let _ = poller.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(2), poller.task).await;
    }
    health.stopped(NAME);
}
