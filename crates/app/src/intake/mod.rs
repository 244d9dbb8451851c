//! The intake, for every channel: a payload is stored raw before anything reads it (whether an
//! MTA handed it over, a poller pulled it, or a provider pushed it), then parsed by its
//! channel's driver and filed (`file`) — or quarantined with its bytes when it cannot be read.

mod calls;
mod file;
pub(crate) mod pollers;
pub(crate) mod process;

use opora_channels::driver::{ParseContext, Pushed, RawPayload, Refusal};
use opora_domain::channel::{Channel, ChannelKind, PayloadSource, PayloadStatus};
use opora_domain::{CaseId, ChannelId, DomainError, MessageId, PayloadId, Timestamp};
use opora_store::Store;
use opora_store::blobs::Blobs;
use opora_store::channels;
use opora_store::payloads::{self, NewPayload};
use serde_json::Value;
use tokio::sync::Notify;

pub use file::{Filed, Via};
pub use opora_store::payloads::Payload;

use crate::{App, Error, Result};

/// What the intake shares in a process: the bell rung when a payload arrives.
#[derive(Default)]
pub(crate) struct Runtime {
    pub received: Notify,
}

/// Stores the raw bytes (content-addressed, synced to disk) and records them as received, with
/// the channel's new cursor in the same transaction.
pub(crate) async fn record(
    store: &Store,
    channel: ChannelId,
    source: PayloadSource,
    recipients: Vec<String>,
    bytes: Vec<u8>,
    cursor: Option<Value>,
) -> opora_store::Result<PayloadId> {
    let size = bytes.len() as i64;
    let sha256 = store.blobs().put(bytes).await?;
    let new = NewPayload { channel_id: channel, source, recipients, size, sha256 };
    store
        .write(move |tx| {
            let id = payloads::record(tx, &new)?;
            if let Some(cursor) = &cursor {
                channels::set_cursor(tx, channel, cursor)?;
            }
            Ok(id)
        })
        .await
}

/// What became of a pushed payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// What the provider expects back instead of a plain acknowledgement (VK's confirmation
    /// code); nothing was stored then.
    pub answer: Option<String>,
    pub payload: PayloadId,
    pub status: PayloadStatus,
    pub case: Option<CaseId>,
    pub case_number: Option<i64>,
    pub message: Option<MessageId>,
}

/// Why a pushed request was refused, before anything was stored.
#[derive(Debug)]
pub enum Refused {
    /// No such channel, or one that takes no pushed requests, or is switched off.
    UnknownChannel,
    /// Not signed by the provider.
    BadSignature,
    /// Not in the channel's format: the reason and the fields at fault.
    Malformed(String, Vec<opora_domain::FieldError>),
    Failed(Error),
}

impl From<Error> for Refused {
    fn from(error: Error) -> Self {
        Refused::Failed(error)
    }
}

pub struct Intake<'a>(&'a App);

impl App {
    pub fn intake(&self) -> Intake<'_> {
        Intake(self)
    }
}

impl Intake<'_> {
    /// Records a payload and wakes the processor.
    pub async fn receive(
        &self,
        channel: ChannelId,
        source: PayloadSource,
        recipients: Vec<String>,
        bytes: Vec<u8>,
        cursor: Option<Value>,
    ) -> Result<PayloadId> {
        let id = record(&self.0.core.store, channel, source, recipients, bytes, cursor).await?;
        self.0.core.intake.received.notify_one();
        Ok(id)
    }

    /// A request a provider pushed to a channel: checked (signature over the raw bytes, then the
    /// format) before anything is stored, then stored and filed at once. A payload that could
    /// not be filed right now stays `received` for the processor.
    /// `kind`: the kind the address names (`/hooks/telegram/…`), when it names one.
    pub async fn accept(
        &self,
        channel: ChannelId,
        kind: Option<ChannelKind>,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<Accepted, Refused> {
        let all = self.0.read(channels::list).await?;
        let wanted = |c: &&Channel| c.id == channel && c.active && kind.is_none_or(|k| k == c.kind);
        let Some(found) = all.iter().find(wanted).cloned() else { return Err(Refused::UnknownChannel) };
        let Some(driver) = self.0.core.drivers.of(found.kind).cloned() else { return Err(Refused::UnknownChannel) };
        match driver.handshake(&found, &[], &body) {
            Some(Ok(answer)) => {
                let answer = Some(answer);
                return Ok(Accepted {
                    answer,
                    payload: PayloadId(0),
                    status: PayloadStatus::Ignored,
                    case: None,
                    case_number: None,
                    message: None,
                });
            }
            Some(Err(refusal)) => {
                tracing::warn!(channel = channel.0, ?refusal, "refused a hook confirmation");
                return Err(Refused::BadSignature);
            }
            None => {}
        }
        let pushed = Pushed { headers: &headers, body: &body, now_secs: Timestamp::now().millis() / 1000 };
        match driver.authenticate(&found, &pushed) {
            Ok(()) => {}
            Err(Refusal::NotPushed) => return Err(Refused::UnknownChannel),
            Err(Refusal::BadSignature(reason)) => {
                tracing::warn!(channel = channel.0, %reason, "refused a pushed request");
                return Err(Refused::BadSignature);
            }
        }
        let payload = RawPayload { sha256: Blobs::hash(&body), bytes: body, source: PayloadSource::Webhook, recipients: Vec::new() };
        let siblings: Vec<_> = all.iter().filter(|c| c.kind == found.kind && c.id != found.id).cloned().collect();
        let items = driver
            .parse(&payload, &ParseContext { channel: &found, siblings: &siblings })
            .map_err(|e| Refused::Malformed(e.reason, e.fields))?;
        if process::names_remote_files(&items) {
            // Files to download first: the provider is answered now, the processor files it.
            let id = self.receive(channel, payload.source, Vec::new(), payload.bytes, None).await?;
            return Ok(Accepted {
                answer: None,
                payload: id,
                status: PayloadStatus::Received,
                case: None,
                case_number: None,
                message: None,
            });
        }
        // Stored without waking the processor: this request files it right away.
        let id = record(&self.0.core.store, channel, payload.source, Vec::new(), payload.bytes.clone(), None).await.map_err(Error::from)?;
        let blobs = self.0.core.store.blobs().clone();
        let prepared = tokio::task::spawn_blocking(move || process::prepare(&blobs, items))
            .await
            .map_err(|e| Error::internal(e.to_string()))?
            .map_err(|e| Error::internal(format!("storing attachments: {e}")))?;
        let stored = self.payload(id).await?;
        process::settle(self.0, &stored, Ok(prepared), all).await.map_err(Error::from)?;
        let stored = self.payload(id).await?;
        let case_number = match stored.case_id {
            Some(case) => self.0.cases().numbers(vec![case]).await?.get(&case).copied(),
            None => None,
        };
        Ok(Accepted { answer: None, payload: id, status: stored.status, case: stored.case_id, case_number, message: stored.message_row })
    }

    /// A provider checks the hook address of a channel (WhatsApp's verification request, VK's
    /// confirmation): the answer it expects, or why not. `Ok(None)`: the request is no check.
    pub async fn handshake(
        &self,
        channel: ChannelId,
        kind: ChannelKind,
        query: Vec<(String, String)>,
        body: &[u8],
    ) -> Result<Option<String>, Refused> {
        let found = self.0.read(move |conn| channels::get(conn, channel)).await.ok().filter(|c| c.active && c.kind == kind);
        let Some(found) = found else { return Err(Refused::UnknownChannel) };
        let Some(driver) = self.0.core.drivers.of(kind).cloned() else { return Err(Refused::UnknownChannel) };
        match driver.handshake(&found, &query, body) {
            None => Ok(None),
            Some(Ok(answer)) => Ok(Some(answer)),
            Some(Err(refusal)) => {
                tracing::warn!(channel = channel.0, ?refusal, "refused a hook verification");
                Err(Refused::BadSignature)
            }
        }
    }

    pub async fn payload(&self, id: PayloadId) -> Result<Payload> {
        self.0.read(move |conn| payloads::get(conn, id)).await
    }

    /// Received payloads of one kind of channel, newest first, optionally in one state.
    pub async fn received(
        &self,
        kind: ChannelKind,
        status: Option<PayloadStatus>,
        before: Option<PayloadId>,
        limit: i64,
    ) -> Result<Vec<Payload>> {
        self.0.read(move |conn| payloads::list(conn, kind, status, before, limit)).await
    }

    pub async fn counts(&self, kind: ChannelKind) -> Result<Vec<(PayloadStatus, i64)>> {
        self.0.read(move |conn| payloads::counts(conn, kind)).await
    }

    /// A payload exactly as it arrived.
    pub async fn raw(&self, id: PayloadId) -> Result<Vec<u8>> {
        let payload = self.payload(id).await?;
        self.0.core.store.blobs().get(&payload.sha256).await.map_err(|e| Error::internal(format!("payload {id}: {e}")))
    }

    /// Sends a quarantined or ignored payload through processing again.
    pub async fn reprocess(&self, id: PayloadId) -> Result<Payload> {
        let payload = self.0.write(move |u| payloads::reprocess(u.tx(), id)).await?;
        self.0.core.intake.received.notify_one();
        Ok(payload)
    }

    /// Payloads still waiting for the processor (tests, benchmarks).
    pub async fn waiting(&self) -> Result<i64> {
        self.0.read(payloads::waiting_count).await
    }

    /// Processes what is waiting once, here and now; returns how many.
    pub async fn process_waiting(&self) -> Result<usize> {
        Ok(process::process_batch(self.0).await?)
    }
}

impl From<Refused> for Error {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Failed(error) => error,
            Refused::UnknownChannel => Error::Domain(DomainError::NotFound("channel")),
            Refused::BadSignature => Error::Domain(DomainError::Conflict("invalid_signature")),
            Refused::Malformed(_, fields) => Error::Domain(DomainError::Validation(fields)),
        }
    }
}
