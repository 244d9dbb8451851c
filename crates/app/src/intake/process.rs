//! The intake processor: takes received payloads oldest first, has their drivers parse them in
//! parallel (off the async threads), and files them in arrival order so a reply never
//! overtakes the message it answers. A payload that cannot be read is quarantined with its
//! bytes; a database hiccup only postpones it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use opora_channels::Driver;
use opora_channels::driver::{ParseContext, RawPayload, Unfetched};
use opora_domain::Timestamp;
use opora_domain::channel::Channel;
use opora_domain::inbound::{Inbound, InboundFile, InboundMessage};
use opora_domain::message::{Body, MAX_BODY_CHARS, clean_filename};
use opora_domain::text::{ATTACHMENT_PATH, guess_language, html_to_text, sanitize_html};
use opora_store::StoreError;
use opora_store::blobs::Blobs;
use opora_store::channels;
use opora_store::db::Dialect;
use opora_store::messages::NewAttachment;
use opora_store::payloads::{self, Payload};
use tokio::sync::watch;

use super::file::{self, Context, Filed, Incoming, Item, ties};
use crate::App;

pub const NAME: &str = "intake";
const BATCH: i64 = 64;
/// A payload the database refused this many times is quarantined rather than retried for ever.
const MAX_ATTEMPTS: i64 = 8;
/// Tries at downloading a message's files before it is filed without them.
const FILE_ATTEMPTS: i64 = 4;

/// Why a payload could not be prepared.
pub(crate) enum Unprepared {
    /// It will never parse: quarantine it.
    Unreadable(String),
    /// Storage trouble: try again later.
    Retry(String),
}

/// A message as filing needs it: files in the blob store, inline images pointed at their
/// attachments, HTML sanitised (whatever the channel), sizes bounded.
fn incoming(blobs: &Blobs, message: InboundMessage) -> std::io::Result<Incoming> {
    let mut attachments = Vec::with_capacity(message.attachments.len());
    for file in &message.attachments {
        let sha256 = blobs.put_blocking(&file.content)?;
        attachments.push(NewAttachment {
            filename: clean_filename(&file.filename),
            content_type: file.content_type.clone(),
            size: file.content.len() as i64,
            sha256,
            content_id: file.content_id.clone(),
        });
    }
    let html = message.html.as_deref().map(|html| {
        // Addresses of our own attachments are only trusted where we put them.
        let mut html = html.replace(ATTACHMENT_PATH, "/api/v1/attachments-not-ours/");
        for (index, file) in message.attachments.iter().enumerate() {
            if let Some(cid) = file.content_id.as_deref().filter(|c| !c.is_empty()) {
                for quote in ['"', '\''] {
                    html = html.replace(&format!("cid:{cid}{quote}"), &format!("{ATTACHMENT_PATH}cid-{index}{quote}"));
                }
            }
        }
        sanitize_html(&html)
    });
    let mut text = message.text.clone();
    if text.trim().is_empty()
        && let Some(html) = &html
    {
        text = html_to_text(html);
    }
    if text.chars().count() > MAX_BODY_CHARS {
        text = text.chars().take(MAX_BODY_CHARS).collect();
    }
    let language = guess_language(&format!("{} {}", message.subject, text));
    let message = InboundMessage { attachments: Vec::new(), html: None, text: String::new(), ..message };
    Ok(Incoming { message, body: Body { text, html }, attachments, language })
}

/// What a driver read, ready to file (runs on a blocking thread: it writes files).
pub(crate) fn prepare(blobs: &Blobs, items: Vec<Inbound>) -> std::io::Result<Vec<Item>> {
    items
        .into_iter()
        .map(|item| match item {
            Inbound::Message(message) => Ok(Item::Message(incoming(blobs, *message)?)),
            Inbound::Status(mut report) => {
                let note = report.note.take().map(|note| incoming(blobs, *note)).transpose()?;
                Ok(Item::Status(report, note))
            }
            Inbound::Call(call) => Ok(Item::Call(call)),
            Inbound::Choice(choice) => Ok(Item::Choice(choice)),
        })
        .collect()
}

async fn load_and_prepare(app: App, payload: Payload, channels: Arc<Vec<Channel>>) -> Result<Vec<Item>, Unprepared> {
    let blobs = app.core.store.blobs().clone();
    let bytes = match blobs.get(&payload.sha256).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Unprepared::Unreadable(format!("the raw payload is missing from storage: {e}")));
        }
        Err(e) => return Err(Unprepared::Retry(format!("reading the raw payload: {e}"))),
    };
    let Some(channel) = channels.iter().find(|c| c.id == payload.channel_id).cloned() else {
        return Err(Unprepared::Retry(format!("channel {} is not known yet", payload.channel_id)));
    };
    let Some(driver) = app.core.drivers.of(channel.kind).cloned() else {
        return Err(Unprepared::Unreadable(format!("no driver for {} channels", channel.kind)));
    };
    let siblings: Vec<Channel> = channels.iter().filter(|c| c.kind == channel.kind && c.id != channel.id).cloned().collect();
    let raw = RawPayload { bytes, source: payload.source, recipients: payload.recipients.clone(), sha256: payload.sha256.clone() };
    let (parser, parsed_for) = (driver.clone(), channel.clone());
    let parsed = tokio::task::spawn_blocking(move || parser.parse(&raw, &ParseContext { channel: &parsed_for, siblings: &siblings }))
        .await
        .unwrap_or_else(|e| Err(opora_channels::driver::Unreadable::new(format!("the parser failed: {e}"))));
    let mut items = parsed.map_err(|e| Unprepared::Unreadable(e.reason))?;
    // A provider that keeps failing to hand a file over does not hold the message back for ever.
    let last_try = payload.attempts + 1 >= FILE_ATTEMPTS;
    download(driver.as_ref(), &channel, &mut items, last_try).await.map_err(Unprepared::Retry)?;
    tokio::task::spawn_blocking(move || prepare(&blobs, items).map_err(|e| Unprepared::Retry(format!("storing attachments: {e}"))))
        .await
        .unwrap_or_else(|e| Err(Unprepared::Retry(format!("storing attachments failed: {e}"))))
}

/// Whether any message of a payload names files still at the provider.
pub(crate) fn names_remote_files(items: &[Inbound]) -> bool {
    items.iter().any(|item| matches!(item, Inbound::Message(m) if !m.remote_files.is_empty()))
}

/// Downloads the files messages name but do not carry. One that will never come is named in
/// the message's text instead; a passing failure postpones the payload (unless this is its last
/// try, when the message is filed without the file, saying so).
pub(crate) async fn download(driver: &dyn Driver, channel: &Channel, items: &mut [Inbound], last_try: bool) -> Result<(), String> {
    for item in items.iter_mut() {
        let Inbound::Message(message) = item else { continue };
        for remote in std::mem::take(&mut message.remote_files) {
            let failure = match driver.download(channel, &remote).await {
                Ok(content) => {
                    let file = InboundFile { filename: remote.filename, content_type: remote.content_type, content, content_id: None };
                    message.attachments.push(file);
                    continue;
                }
                Err(Unfetched::Retry(reason)) if !last_try => return Err(format!("downloading {}: {reason}", remote.filename)),
                Err(Unfetched::Retry(reason) | Unfetched::Gone(reason)) => reason,
            };
            let line = format!("[{}: {failure}]", remote.filename);
            message.text = if message.text.is_empty() { line } else { format!("{}\n{line}", message.text) };
        }
    }
    Ok(())
}

/// Files one prepared payload, or records why it could not be.
pub(crate) async fn settle(
    app: &App,
    payload: &Payload,
    prepared: Result<Vec<Item>, Unprepared>,
    channels: Vec<Channel>,
) -> Result<Option<Filed>, StoreError> {
    let id = payload.id;
    let store = &app.core.store;
    match prepared {
        Ok(items) => {
            let context = Context {
                channels,
                drivers: app.core.drivers.clone(),
                acknowledgements_per_hour: app.config().acknowledgements_per_hour,
                max_participants: app.config().max_participants,
            };
            let answering = context.channels.iter().find(|c| c.id == payload.channel_id).cloned();
            match app.write(move |u| file::file(u, id, items, &context)).await {
                Ok(filed) => {
                    if let (Filed::Choice { answer: Some((handle, note)), .. }, Some(channel)) = (&filed, answering) {
                        answer_press(app, channel, handle.clone(), note.clone());
                    }
                    Ok(Some(filed))
                }
                // Another change took the same identity or key at the same moment: filing again
                // finds it.
                Err(crate::Error::Domain(opora_domain::DomainError::Conflict(clash))) => {
                    postpone(app, payload, &format!("clashed with a simultaneous change: {clash}")).await
                }
                Err(crate::Error::Domain(e)) => {
                    let reason = format!("cannot be filed: {e}");
                    store.write(move |tx| payloads::quarantine(tx, id, &reason)).await.map(|_| None)
                }
                Err(e) => postpone(app, payload, &e.to_string()).await,
            }
        }
        Err(Unprepared::Unreadable(reason)) => store.write(move |tx| payloads::quarantine(tx, id, &reason)).await.map(|_| None),
        Err(Unprepared::Retry(reason)) => postpone(app, payload, &reason).await,
    }
}

/// Tells the customer's app the press was taken (best effort, off the filing path: a press not
/// answered only keeps its spinner a few seconds longer).
fn answer_press(app: &App, channel: Channel, handle: String, note: String) {
    let Some(driver) = app.core.drivers.of(channel.kind).cloned() else { return };
    tokio::spawn(async move { driver.answer_choice(&channel, &handle, &note).await });
}

async fn postpone(app: &App, payload: &Payload, reason: &str) -> Result<Option<Filed>, StoreError> {
    let (id, reason) = (payload.id, reason.to_owned());
    let delay = 1000 * 4_i64.pow(payload.attempts.clamp(0, 6) as u32);
    tracing::warn!(payload = id.0, attempt = payload.attempts + 1, %reason, "intake postponed");
    app.core
        .store
        .write(move |tx| {
            let attempts = payloads::postpone(tx, id, &reason, Timestamp::now().plus_millis(delay))?;
            if attempts >= MAX_ATTEMPTS {
                payloads::quarantine(tx, id, &format!("gave up after {attempts} attempts: {reason}"))?;
            }
            Ok(None)
        })
        .await
}

/// Splits a batch into conversations that must be filed in order: payloads that share a sender
/// (subject threading and the customer record depend on it) or any key fall into one group.
/// Unreadable payloads stand alone. Groups keep arrival order, inside and between them.
fn conversations(prepared: &[Result<Vec<Item>, Unprepared>]) -> Vec<Vec<usize>> {
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut parent: Vec<usize> = (0..prepared.len()).collect();
    let mut first_with: HashMap<String, usize> = HashMap::new();
    for (i, items) in prepared.iter().enumerate() {
        let Ok(items) = items else { continue };
        for key in ties(items) {
            match first_with.get(&key) {
                Some(&j) => {
                    let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                    parent[a.max(b)] = a.min(b);
                }
                None => {
                    first_with.insert(key, i);
                }
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of: HashMap<usize, usize> = HashMap::new();
    for i in 0..prepared.len() {
        let top = root(&mut parent, i);
        let index = *group_of.entry(top).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[index].push(i);
    }
    groups
}

/// Processes one batch; returns how many payloads it took.
pub async fn process_batch(app: &App) -> Result<usize, StoreError> {
    let now = Timestamp::now();
    let batch = app.core.store.read(move |conn| payloads::waiting(conn, now, BATCH)).await?;
    if batch.is_empty() {
        return Ok(0);
    }
    let all = Arc::new(app.core.store.read(channels::list).await?);
    let parsing: Vec<_> = batch.iter().map(|payload| tokio::spawn(load_and_prepare(app.clone(), payload.clone(), all.clone()))).collect();
    let mut prepared = Vec::with_capacity(parsing.len());
    for task in parsing {
        prepared.push(task.await.unwrap_or_else(|e| Err(Unprepared::Unreadable(format!("the parser failed: {e}")))));
    }
    let count = batch.len();
    match app.core.store.dialect() {
        // SQLite's single writer runs transactions in the order they are submitted, so the
        // whole batch can be in flight at once and still be filed in arrival order.
        Dialect::Sqlite => {
            let filing = batch.iter().zip(prepared).map(|(payload, prepared)| settle(app, payload, prepared, all.to_vec()));
            for result in futures_util::future::join_all(filing).await {
                result?;
            }
        }
        // PostgreSQL files separate conversations side by side on pooled connections; within
        // one conversation payloads still go one after another, in arrival order.
        Dialect::Postgres => {
            let groups = conversations(&prepared);
            let mut slots: Vec<Option<Result<Vec<Item>, Unprepared>>> = prepared.into_iter().map(Some).collect();
            let runs = groups.into_iter().map(|group| {
                let items: Vec<_> = group.iter().filter_map(|&i| Some((&batch[i], slots[i].take()?))).collect();
                let all = all.clone();
                async move {
                    for (payload, prepared) in items {
                        settle(app, payload, prepared, all.to_vec()).await?;
                    }
                    Ok::<_, StoreError>(())
                }
            });
            for result in futures_util::future::join_all(runs).await {
                result?;
            }
        }
    }
    Ok(count)
}

/// Runs until shutdown: woken when a payload arrives in this process, polling for payloads
/// recorded by others (the pipe command, other nodes).
pub async fn run(app: App, mut shutdown: watch::Receiver<bool>) {
    let health = app.health().clone();
    let mut failures = 0u32;
    loop {
        if *shutdown.borrow() {
            break;
        }
        match process_batch(&app).await {
            Ok(0) => {
                failures = 0;
                health.tick(NAME, 0);
                tokio::select! {
                    _ = app.core.intake.received.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    _ = shutdown.changed() => break,
                }
            }
            Ok(count) => {
                failures = 0;
                health.tick(NAME, count as u64);
            }
            Err(e) => {
                failures += 1;
                health.backing_off(NAME, &e.to_string());
                tracing::error!(error = %e, "intake processing failed; backing off");
                let delay = Duration::from_millis(200 * 2u64.pow(failures.min(6)));
                tokio::select! { _ = tokio::time::sleep(delay) => {}, _ = shutdown.changed() => break }
            }
        }
    }
    health.stopped(NAME);
}

#[cfg(test)]
mod tests {
    use opora_domain::customer::IdentityKind;
    use opora_domain::inbound::{Party, ThreadHints};

    use super::*;

    fn item(from: &str, key: &str, answers: &[&str]) -> Result<Vec<Item>, Unprepared> {
        let message = InboundMessage {
            key: key.into(),
            sender: Party { identities: vec![(IdentityKind::Email, from.into())], name: String::new() },
            thread: ThreadHints { references: answers.iter().map(|a| (*a).to_owned()).collect(), ..Default::default() },
            ..Default::default()
        };
        Ok(vec![Item::Message(Incoming { message, body: Body::default(), attachments: Vec::new(), language: Default::default() })])
    }

    #[test]
    fn conversations_join_by_sender_and_by_thread() {
        let batch = vec![
            item("ivan@example.ru", "a1", &[]),
            item("olga@example.ru", "b1", &[]),
            item("maria@example.ru", "a2", &["a1"]),
            Err(Unprepared::Unreadable("garbage".into())),
            item("IVAN@example.ru", "c1", &[]),
            item("petr@example.ru", "d1", &["zz"]),
            item("anna@example.ru", "d2", &["zz"]),
        ];
        assert_eq!(conversations(&batch), vec![vec![0, 2, 4], vec![1], vec![3], vec![5, 6]]);
    }
}
