//! `/hooks/{kind}/{channel_id}`: where messengers' servers push (Telegram's webhook, WhatsApp's
//! and VK's callbacks). No session: the channel's driver checks the provider's signature over
//! the raw bytes before anything is stored, and the body must be in the provider's format.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use opora_app::intake::{Accepted, Refused};
use opora_domain::ChannelId;
use opora_domain::channel::ChannelKind;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ClientAddr, network};

/// Pushed requests per client network, in memory on each node. A provider pushing its
/// customers' messages is never slowed by a small budget (one Telegram address may push
/// hundreds a second); a client whose pushes keep being refused (guessing signatures or
/// channel ids) is shut out for a minute.
pub struct InboundLimits {
    all: DefaultKeyedRateLimiter<IpAddr>,
    refused: DefaultKeyedRateLimiter<IpAddr>,
    blocked: Mutex<HashMap<IpAddr, Instant>>,
}

const PUSHES_PER_SECOND: u32 = 1000;
const REFUSALS_PER_SECOND: u32 = 5;
const REFUSAL_BURST: u32 = 20;
const SHUT_OUT: Duration = Duration::from_secs(60);

impl Default for InboundLimits {
    fn default() -> Self {
        let rate = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        Self {
            all: RateLimiter::keyed(Quota::per_second(rate(PUSHES_PER_SECOND))),
            refused: RateLimiter::keyed(Quota::per_second(rate(REFUSALS_PER_SECOND)).allow_burst(rate(REFUSAL_BURST))),
            blocked: Mutex::new(HashMap::new()),
        }
    }
}

impl InboundLimits {
    pub(crate) fn allows(&self, ip: Option<IpAddr>) -> bool {
        let Some(ip) = ip.map(network) else { return true };
        let shut_out = self.blocked.lock().map(|b| b.get(&ip).is_some_and(|until| *until > Instant::now())).unwrap_or(false);
        !shut_out && self.all.check_key(&ip).is_ok()
    }

    /// Counts a refused push against its client's network.
    pub(crate) fn refused(&self, ip: Option<IpAddr>) {
        let Some(ip) = ip.map(network) else { return };
        if self.refused.check_key(&ip).is_err()
            && let Ok(mut blocked) = self.blocked.lock()
        {
            blocked.insert(ip, Instant::now() + SHUT_OUT);
        }
    }

    pub fn forget_stale(&self) {
        self.all.retain_recent();
        self.refused.retain_recent();
        if let Ok(mut blocked) = self.blocked.lock() {
            let now = Instant::now();
            blocked.retain(|_, until| *until > now);
        }
    }
}

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
    let accepted = state.app.intake().accept(channel, kind, headers, body.to_vec()).await;
    if matches!(accepted, Err(Refused::UnknownChannel | Refused::BadSignature | Refused::Malformed(..))) {
        state.inbound_limits.refused(peer.map(|p| p.ip()));
    }
    match accepted {
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
    params(("kind" = inline(crate::docs::HookKindChoice), Path), ("channel_id" = i64, Path, minimum = 1)),
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
    if body.len() > MAX_HOOK_BYTES {
        return Err(ApiError::new("payload_too_large"));
    }
    let (kind, channel) = addressed(&kind, &channel_id)?;
    let accepted = push(&state, peer, channel, Some(kind), &headers, body).await?;
    // A check of the address (VK's confirmation) is answered with what the provider expects.
    let answer = accepted.answer.unwrap_or_else(|| "ok".to_owned());
    Ok((StatusCode::OK, [("content-type", "text/plain; charset=utf-8")], answer).into_response())
}

/// A provider checks the hook address before it pushes to it.
///
/// WhatsApp: `hub.mode=subscribe`, `hub.verify_token` (the channel's verify token) and
/// `hub.challenge`, answered with the challenge as plain text; 403 when the token is not ours.
#[utoipa::path(get, path = "/hooks/{kind}/{channel_id}", tag = "channels",
    params(("kind" = inline(crate::docs::HookKindChoice), Path), ("channel_id" = i64, Path, minimum = 1),
           ("hub.mode" = Option<String>, Query), ("hub.verify_token" = Option<String>, Query), ("hub.challenge" = Option<String>, Query)),
    responses((status = 200, body = String, content_type = "text/plain", description = "The challenge, echoed"),
              (status = 403, body = crate::docs::Problem), (status = 404, body = crate::docs::Problem), (status = 429, body = crate::docs::Problem)),
    security(()))]
pub async fn verify(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    Path((kind, channel_id)): Path<(String, String)>,
    Query(query): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    let ip = peer.map(|p| p.ip());
    if !state.inbound_limits.allows(ip) {
        return Err(ApiError::new("rate_limited"));
    }
    let (kind, channel) = addressed(&kind, &channel_id)?;
    match state.app.intake().handshake(channel, kind, query, b"").await {
        Ok(Some(challenge)) => Ok((StatusCode::OK, [("content-type", "text/plain; charset=utf-8")], challenge).into_response()),
        Ok(None) => Err(ApiError::new("channel_not_found")),
        Err(refused) => {
            state.inbound_limits.refused(ip);
            Err(ApiError::new(if matches!(refused, Refused::BadSignature) { "verification_failed" } else { "channel_not_found" }))
        }
    }
}

/// The kind and channel a hook address names; anything that names no channel is one answer.
fn addressed(kind: &str, channel_id: &str) -> ApiResult<(ChannelKind, ChannelId)> {
    let kind = ChannelKind::parse(kind).filter(|k| HOOK_KINDS.contains(k)).ok_or_else(|| ApiError::new("channel_not_found"))?;
    let id = channel_id.parse::<i64>().ok().filter(|id| *id >= 1).ok_or_else(|| ApiError::new("channel_not_found"))?;
    Ok((kind, ChannelId(id)))
}

/// Mango Office posts to paths under the address it was given (`…/events/call`,
/// `…/events/summary`): the same hook.
pub async fn receive_nested(
    state: State<AppState>,
    peer: ClientAddr,
    Path((kind, channel_id, _)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    receive(state, peer, Path((kind, channel_id)), headers, body).await
}

/// The largest push taken: providers send events, files are downloaded apart.
const MAX_HOOK_BYTES: usize = 1 << 20;

/// The kinds whose providers push to `/hooks/{kind}/…`.
pub const HOOK_KINDS: &[ChannelKind] = &[ChannelKind::Telegram, ChannelKind::Whatsapp, ChannelKind::Vk, ChannelKind::Phone];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_flow_and_refusals_shut_a_network_out() {
        let limits = InboundLimits::default();
        let one: IpAddr = "2001:db8:1:2::1".parse().expect("an address");
        assert!((0..500).all(|_| limits.allows(Some(one))), "a provider pushing fast is not slowed");
        for host in 0..40u16 {
            let ip: IpAddr = format!("2001:db8:1:2::{host:x}").parse().expect("an address");
            limits.refused(Some(ip));
        }
        assert!(!limits.allows(Some(one)), "refusals from one /64 shut it out");
        assert!(limits.allows(Some("2001:db8:1:3::1".parse().expect("an address"))), "the next /64 is someone else");
        assert_eq!(network("::ffff:192.0.2.7".parse().expect("an address")), "192.0.2.7".parse::<IpAddr>().expect("an address"));
    }
}
