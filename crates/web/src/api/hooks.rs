//! `/hooks/{kind}/{channel_id}`: where messengers' servers push (Telegram's webhook, WhatsApp's
//! and VK's callbacks). No session: the channel's driver checks the provider's signature over
//! the raw bytes before anything is stored, and the body must be in the provider's format.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use opora_app::intake::{Accepted, Refused};
use opora_domain::ChannelId;
use opora_domain::channel::ChannelKind;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::ClientAddr;

/// Checks, stores and files what a provider pushed to a channel (of `kind`, when the address
/// names one).
pub(crate) async fn push(
    state: &AppState,
    peer: Option<SocketAddr>,
    channel: ChannelId,
    kind: Option<ChannelKind>,
    headers: &HeaderMap,
    body: Bytes,
) -> ApiResult<Accepted> {
    if !state.inbound_limits.allows(peer.map(|p| p.ip())) {
        return Err(ApiError::new("rate_limited"));
    }
    let headers: Vec<(String, String)> =
        headers.iter().filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))).collect();
    match state.app.intake().accept(channel, kind, headers, body.to_vec()).await {
        Ok(accepted) => Ok(accepted),
        Err(Refused::UnknownChannel) => Err(ApiError::new("channel_not_found")),
        Err(Refused::BadSignature) => Err(ApiError::new("invalid_signature")),
        Err(Refused::Malformed(reason, fields)) if fields.is_empty() => {
            tracing::info!(channel = channel.0, %reason, "refused a malformed pushed payload");
            Err(ApiError::new("malformed_json"))
        }
        Err(Refused::Malformed(_, fields)) => Err(ApiError::fields(fields)),
        Err(Refused::Failed(error)) => Err(error.into()),
    }
}

/// A messenger pushes an update to one of its channels.
///
/// Telegram: one `Update` as its webhook sends it, with `X-Telegram-Bot-Api-Secret-Token` (set
/// by Opora when the channel is in webhook mode). Answers `ok` once the update is stored (filed
/// at once, or shortly when it names files to download); a redelivered update is recognised and
/// not filed twice.
#[utoipa::path(post, path = "/hooks/{kind}/{channel_id}", tag = "channels",
    params(("kind" = crate::docs::HookKindChoice, Path), ("channel_id" = i64, Path, minimum = 1)),
    request_body(content = Object, description = "The provider's payload, as it signed it"),
    responses((status = 200, body = String, content_type = "text/plain", description = "Stored"), (status = 400, body = crate::docs::Problem),
              (status = 401, body = crate::docs::Problem), (status = 404, body = crate::docs::Problem), (status = 413, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem),
              (status = 429, body = crate::docs::Problem)),
    security(()))]
pub async fn receive(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    Path((kind, channel_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let kind = ChannelKind::parse(&kind).filter(|k| HOOK_KINDS.contains(k)).ok_or_else(|| ApiError::new("channel_not_found"))?;
    if body.len() > MAX_HOOK_BYTES {
        return Err(ApiError::new("payload_too_large"));
    }
    // Any address that names no channel is one answer, whatever is wrong with it.
    let channel_id = channel_id.parse::<i64>().ok().filter(|id| *id >= 1).ok_or_else(|| ApiError::new("channel_not_found"))?;
    push(&state, peer, ChannelId(channel_id), Some(kind), &headers, body).await?;
    Ok((StatusCode::OK, [("content-type", "text/plain; charset=utf-8")], "ok").into_response())
}

/// The largest push taken: providers send events, files are downloaded apart.
const MAX_HOOK_BYTES: usize = 1 << 20;

/// The kinds whose providers push to `/hooks/{kind}/…`.
pub const HOOK_KINDS: &[ChannelKind] = &[ChannelKind::Telegram];
