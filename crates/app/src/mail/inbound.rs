//! The mail processor: takes received messages oldest first, parses them in parallel (off the
//! async threads), and files them in arrival order so a reply never overtakes the message it
//! answers. A message that cannot be read is quarantined with its bytes; a database hiccup only
//! postpones it.

use std::collections::HashMap;
use std::time::Duration;

use opora_channels::email::{self, ParsedEmail};
use opora_domain::Timestamp;
use opora_domain::message::{Body, MAX_BODY_CHARS, clean_filename};
use opora_domain::text::{ATTACHMENT_PATH, html_to_text, sanitize_html};
use opora_store::StoreError;
use opora_store::blobs::Blobs;
use opora_store::db::Dialect;
use opora_store::mail::{self, RawMail};
use opora_store::messages::NewAttachment;
use tokio::sync::watch;

use super::filing::{self, BounceInfo, Filed, FilingRules, InboundMail, Person};
use crate::App;

pub const NAME: &str = "mail.process";
const BATCH: i64 = 64;
/// A message the database refused this many times is quarantined rather than retried for ever.
const MAX_ATTEMPTS: i64 = 8;
/// HTML bodies beyond this are dropped (the text part stays): nobody reads them, they only slow
/// every page that shows the case.
const MAX_HTML_BYTES: usize = 2 << 20;

/// Why a message could not be prepared.
enum Unprepared {
    /// It will never parse: quarantine it.
    Unreadable(String),
    /// Storage trouble: try again later.
    Retry(String),
}

fn person(mailbox: &email::Mailbox) -> Person {
    Person { name: mailbox.name.clone(), address: mailbox.address.clone() }
}

/// A parsed message as filing needs it: attachments in the blob store, inline images pointed at
/// their attachments, HTML sanitised, sizes bounded.
fn convert(blobs: &Blobs, parsed: ParsedEmail) -> std::io::Result<InboundMail> {
    let mut attachments = Vec::with_capacity(parsed.attachments.len());
    for part in &parsed.attachments {
        let sha256 = blobs.put_blocking(&part.content)?;
        attachments.push(NewAttachment {
            filename: clean_filename(&part.filename),
            content_type: part.content_type.clone(),
            size: part.content.len() as i64,
            sha256,
            content_id: part.content_id.clone(),
        });
    }
    let html = parsed.html.as_deref().filter(|h| h.len() <= MAX_HTML_BYTES).map(|html| {
        // Addresses of our own attachments are only trusted where we put them.
        let mut html = html.replace(ATTACHMENT_PATH, "/api/v1/attachments-not-ours/");
        for (index, part) in parsed.attachments.iter().enumerate() {
            if let Some(cid) = part.content_id.as_deref().filter(|c| !c.is_empty()) {
                for quote in ['"', '\''] {
                    html = html.replace(&format!("cid:{cid}{quote}"), &format!("{ATTACHMENT_PATH}cid-{index}{quote}"));
                }
            }
        }
        sanitize_html(&html)
    });
    let mut text = parsed.text.clone();
    if text.trim().is_empty()
        && let Some(html) = &html
    {
        text = html_to_text(html);
    }
    if text.chars().count() > MAX_BODY_CHARS {
        text = text.chars().take(MAX_BODY_CHARS).collect();
    }
    let bounce = parsed.bounce.as_ref().map(|b| BounceInfo {
        original_message_id: b.original_message_id.clone(),
        recipient: b.recipient.clone(),
        diagnostic: b.diagnostic.clone().or_else(|| b.status.clone()),
        permanent: b.permanent,
    });
    Ok(InboundMail {
        message_id: parsed.message_id.clone(),
        in_reply_to: parsed.in_reply_to.clone(),
        references: parsed.references.clone(),
        subject: parsed.subject.chars().filter(|c| !c.is_control()).take(998).collect(),
        from: parsed.from.as_ref().map(person),
        reply_to: parsed.reply_to.as_ref().map(person),
        to: parsed.to.iter().map(person).collect(),
        cc: parsed.cc.iter().map(person).collect(),
        delivered_to: parsed.delivered_to.clone(),
        body: Body { text, html },
        attachments,
        automatic: parsed.automatic.clone(),
        bounce,
    })
}

async fn load_and_prepare(blobs: Blobs, raw: RawMail) -> Result<InboundMail, Unprepared> {
    let bytes = match blobs.get(&raw.sha256).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Unprepared::Unreadable(format!("the raw message is missing from storage: {e}")));
        }
        Err(e) => return Err(Unprepared::Retry(format!("reading the raw message: {e}"))),
    };
    tokio::task::spawn_blocking(move || match email::parse(&bytes) {
        Ok(parsed) => convert(&blobs, parsed).map_err(|e| Unprepared::Retry(format!("storing attachments: {e}"))),
        Err(e) => Err(Unprepared::Unreadable(e.to_string())),
    })
    .await
    .unwrap_or_else(|e| Err(Unprepared::Unreadable(format!("the parser failed: {e}"))))
}

/// Files one prepared message, or records why it could not be.
async fn settle(app: &App, raw: &RawMail, prepared: Result<InboundMail, Unprepared>) -> Result<Option<Filed>, StoreError> {
    let id = raw.id;
    match prepared {
        Ok(mail) => {
            let settings = &app.config().mail;
            let rules = FilingRules {
                subject_window_ms: settings.subject_window_ms,
                acknowledgements_per_hour: settings.acknowledgements_per_hour,
            };
            match app.write(move |u| filing::file(u, id, mail, &rules)).await {
                Ok(filed) => Ok(Some(filed)),
                Err(crate::Error::Domain(e)) => {
                    let reason = format!("cannot be filed: {e}");
                    app.core.store.write(move |tx| mail::quarantine(tx, id, &reason)).await.map(|_| None)
                }
                Err(e) => postpone(app, raw, &e.to_string()).await,
            }
        }
        Err(Unprepared::Unreadable(reason)) => app.core.store.write(move |tx| mail::quarantine(tx, id, &reason)).await.map(|_| None),
        Err(Unprepared::Retry(reason)) => postpone(app, raw, &reason).await,
    }
}

async fn postpone(app: &App, raw: &RawMail, reason: &str) -> Result<Option<Filed>, StoreError> {
    let (id, reason) = (raw.id, reason.to_owned());
    let delay = 1000 * 4_i64.pow(raw.attempts.clamp(0, 6) as u32);
    tracing::warn!(raw = id.0, attempt = raw.attempts + 1, %reason, "mail processing postponed");
    app.core
        .store
        .write(move |tx| {
            let attempts = mail::postpone(tx, id, &reason, Timestamp::now().plus_millis(delay))?;
            if attempts >= MAX_ATTEMPTS {
                mail::quarantine(tx, id, &format!("gave up after {attempts} attempts: {reason}"))?;
            }
            Ok(None)
        })
        .await
}

/// Splits a batch into conversations that must be filed in order: messages that share a sender
/// (subject threading and the customer record depend on it) or any Message-ID (their own, the
/// one they answer, the ones they reference) fall into one group. Unreadable messages stand
/// alone. Groups keep arrival order, inside and between them.
fn conversations(prepared: &[Result<InboundMail, Unprepared>]) -> Vec<Vec<usize>> {
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut parent: Vec<usize> = (0..prepared.len()).collect();
    let mut first_with: HashMap<String, usize> = HashMap::new();
    for (i, mail) in prepared.iter().enumerate() {
        let Ok(mail) = mail else { continue };
        let senders = mail.from.iter().chain(&mail.reply_to).map(|p| format!("from:{}", p.address.to_lowercase()));
        let ids = mail.message_id.iter().chain(&mail.in_reply_to).chain(&mail.references).map(|id| format!("id:{id}"));
        for key in senders.chain(ids) {
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

/// Processes one batch; returns how many messages it took.
pub async fn process_batch(app: &App) -> Result<usize, StoreError> {
    let now = Timestamp::now();
    let batch = app.core.store.read(move |conn| mail::waiting(conn, now, BATCH)).await?;
    if batch.is_empty() {
        return Ok(0);
    }
    let blobs = app.core.store.blobs().clone();
    let parsing: Vec<_> = batch.iter().map(|raw| tokio::spawn(load_and_prepare(blobs.clone(), raw.clone()))).collect();
    let mut prepared = Vec::with_capacity(parsing.len());
    for task in parsing {
        prepared.push(task.await.unwrap_or_else(|e| Err(Unprepared::Unreadable(format!("the parser failed: {e}")))));
    }
    let count = batch.len();
    match app.core.store.dialect() {
        // SQLite's single writer runs transactions in the order they are submitted, so the
        // whole batch can be in flight at once and still be filed in arrival order.
        Dialect::Sqlite => {
            let filing = batch.iter().zip(prepared).map(|(raw, prepared)| settle(app, raw, prepared));
            for result in futures_util::future::join_all(filing).await {
                result?;
            }
        }
        // PostgreSQL files separate conversations side by side on pooled connections; within
        // one conversation messages still go one after another, in arrival order.
        Dialect::Postgres => {
            let groups = conversations(&prepared);
            let mut slots: Vec<Option<Result<InboundMail, Unprepared>>> = prepared.into_iter().map(Some).collect();
            let runs = groups.into_iter().map(|group| {
                let items: Vec<_> = group.iter().filter_map(|&i| Some((&batch[i], slots[i].take()?))).collect();
                async move {
                    for (raw, prepared) in items {
                        settle(app, raw, prepared).await?;
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

/// Runs until shutdown: woken when mail arrives in this process, polling for mail recorded by
/// others (the pipe command, other nodes).
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
                    _ = app.core.mail.received.notified() => {}
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
                tracing::error!(error = %e, "mail processing failed; backing off");
                let delay = Duration::from_millis(200 * 2u64.pow(failures.min(6)));
                tokio::select! { _ = tokio::time::sleep(delay) => {}, _ = shutdown.changed() => break }
            }
        }
    }
    health.stopped(NAME);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(from: &str, id: &str, answers: &[&str]) -> Result<InboundMail, Unprepared> {
        Ok(InboundMail {
            message_id: Some(id.into()),
            in_reply_to: answers.iter().take(1).map(|a| (*a).to_owned()).collect(),
            references: answers.iter().map(|a| (*a).to_owned()).collect(),
            subject: String::new(),
            from: Some(Person { name: String::new(), address: from.into() }),
            reply_to: None,
            to: Vec::new(),
            cc: Vec::new(),
            delivered_to: Vec::new(),
            body: Body::default(),
            attachments: Vec::new(),
            automatic: None,
            bounce: None,
        })
    }

    #[test]
    fn conversations_join_by_sender_and_by_thread() {
        let batch = vec![
            mail("ivan@example.ru", "a1", &[]),
            mail("olga@example.ru", "b1", &[]),
            mail("maria@example.ru", "a2", &["a1"]),
            Err(Unprepared::Unreadable("garbage".into())),
            mail("IVAN@example.ru", "c1", &[]),
            mail("petr@example.ru", "d1", &["zz"]),
            mail("anna@example.ru", "d2", &["zz"]),
        ];
        assert_eq!(conversations(&batch), vec![vec![0, 2, 4], vec![1], vec![3], vec![5, 6]]);
    }
}
