//! The website chat widget's endpoints, for pages of a channel's allowed origins: the script
//! (`/widget.js`), a new visitor's credential, the visitor's conversation, their messages, a
//! live stream of the replies, and the replies' files. No session: a visitor is their
//! credential. Requests are "simple" ones (no custom headers, `text/plain` bodies) so browsers
//! send them across origins without a preflight; the server checks `Origin` itself and answers
//! only allowed origins in `Access-Control-Allow-Origin`.

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::{Stream, StreamExt};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use opora_app::intake::Refused;
use opora_domain::event::EventData;
use opora_domain::message::{Direction, Message};
use opora_domain::{AttachmentId, ChannelId};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ClientAddr, network};

const SCRIPT: &str = include_str!("../static/widget.js");
/// The most a visitor attaches to one message (the driver checks the decoded files too).
const MAX_FILES_BYTES: usize = 10 << 20;

/// What one visitor's network may do: a few new visitors a minute, a message every couple of
/// seconds. Kept in memory per node.
pub struct WidgetLimits {
    visitors: DefaultKeyedRateLimiter<IpAddr>,
    messages: DefaultKeyedRateLimiter<IpAddr>,
}

impl Default for WidgetLimits {
    fn default() -> Self {
        let n = |v: u32| NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN);
        Self {
            visitors: RateLimiter::keyed(Quota::per_minute(n(10)).allow_burst(n(5))),
            messages: RateLimiter::keyed(Quota::per_minute(n(30)).allow_burst(n(10))),
        }
    }
}

impl WidgetLimits {
    pub fn forget_stale(&self) {
        self.visitors.retain_recent();
        self.messages.retain_recent();
    }
}

fn limited(limiter: &DefaultKeyedRateLimiter<IpAddr>, peer: Option<std::net::SocketAddr>) -> ApiResult<()> {
    match peer.map(|p| network(p.ip())) {
        Some(ip) if limiter.check_key(&ip).is_err() => Err(ApiError::new("rate_limited")),
        _ => Ok(()),
    }
}

pub fn routes(state: AppState) -> Router<AppState> {
    let api = Router::new()
        .route("/widget/{channel}/visitors", post(new_visitor))
        .route("/widget/{channel}/conversation", get(conversation))
        .route("/widget/{channel}/messages", post(send))
        .route("/widget/{channel}/stream", get(stream))
        .route("/widget/{channel}/attachments/{id}", get(attachment))
        .route_layer(axum::middleware::from_fn_with_state(state, cross_origin));
    Router::new().route("/widget.js", get(script)).merge(api)
}

/// Answers the page's origin in `Access-Control-Allow-Origin` when the channel allows it, on
/// every answer (errors included, so the widget can read why).
async fn cross_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    let channel = request.uri().path().split('/').nth(2).and_then(|c| c.parse::<i64>().ok());
    let mut response = next.run(request).await;
    let (Some(origin), Some(channel)) = (origin, channel) else { return response };
    let allowed = match origin.to_str() {
        Ok(o) => state.app.widget().allows(ChannelId(channel), Some(o)).await.unwrap_or(false),
        Err(_) => false,
    };
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    if allowed {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    response
}

async fn script() -> Response {
    let mut response = SCRIPT.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

fn channel_id(raw: &str) -> ApiResult<ChannelId> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).map(ChannelId).ok_or_else(|| ApiError::new("channel_not_found"))
}

/// The page's origin: `Origin`, which browsers send on every cross-origin request; a page on
/// our own address sends none with a GET, so its `Referer` says where it is.
fn origin(headers: &axum::http::HeaderMap) -> Option<String> {
    let given = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    given(header::ORIGIN)
        .map(str::to_owned)
        .or_else(|| given(header::REFERER).and_then(|r| url::Url::parse(r).ok()).map(|u| u.origin().ascii_serialization()))
}

async fn new_visitor(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    Path(channel): Path<String>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    limited(&state.widget_limits.visitors, peer)?;
    let credential = state.app.widget().new_visitor(channel_id(&channel)?, origin(&headers).as_deref()).await?;
    Ok((StatusCode::CREATED, axum::Json(json!({"visitor": credential}))).into_response())
}

#[derive(Deserialize)]
struct VisitorQuery {
    visitor: String,
}

/// A message as the visitor's widget shows it.
fn shown(message: &Message, agents: &[(opora_domain::AgentId, String)]) -> Value {
    let author = message.author_agent_id.and_then(|a| agents.iter().find(|(id, _)| *id == a)).map(|(_, name)| name.clone());
    json!({
        "id": message.id,
        "from": if message.direction == Direction::Inbound { "visitor" } else { "agent" },
        "author": author,
        "text": message.body_text,
        "files": message.attachments.iter().map(|a| json!({"id": a.id, "name": a.filename, "size": a.size})).collect::<Vec<_>>(),
        "at": message.created_at.to_rfc3339(),
    })
}

async fn conversation(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    headers: axum::http::HeaderMap,
    Query(query): Query<VisitorQuery>,
) -> ApiResult<Response> {
    let channel = channel_id(&channel)?;
    let visitor = state.app.widget().visitor(channel, origin(&headers).as_deref(), &query.visitor).await?;
    let found = state.app.widget().conversation(channel, &visitor).await?;
    let messages: Vec<Value> = found.messages.iter().map(|m| shown(m, &found.agents)).collect();
    Ok(axum::Json(json!({"online": found.online, "messages": messages})).into_response())
}

async fn send(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    Path(channel): Path<String>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    limited(&state.widget_limits.messages, peer)?;
    let channel = channel_id(&channel)?;
    // Files travel as base64 inside the message: 4/3 of their size, and a little text.
    if body.len() > MAX_FILES_BYTES / 3 * 4 + (1 << 20) {
        return Err(ApiError::new("payload_too_large"));
    }
    let parsed: Value = serde_json::from_slice(&body).map_err(|_| ApiError::new("malformed_json"))?;
    let credential = parsed["visitor"].as_str().unwrap_or_default().to_owned();
    match state.app.widget().post(channel, origin(&headers).as_deref(), &credential, body.to_vec()).await {
        Ok(accepted) => {
            Ok((StatusCode::CREATED, axum::Json(json!({"status": accepted.status.as_str(), "message_id": accepted.message})))
                .into_response())
        }
        Err(Refused::UnknownChannel) => Err(ApiError::new("channel_not_found")),
        Err(Refused::BadSignature) => Err(ApiError::new("visitor_not_found")),
        Err(Refused::Malformed(_, fields)) if fields.is_empty() => Err(ApiError::new("malformed_json")),
        Err(Refused::Malformed(_, fields)) => Err(ApiError::fields(fields)),
        Err(Refused::Failed(error)) => Err(error.into()),
    }
}

/// The replies to this visitor as they are written (and their own messages from another tab).
async fn stream(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    headers: axum::http::HeaderMap,
    Query(query): Query<VisitorQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let channel = channel_id(&channel)?;
    let visitor = state.app.widget().visitor(channel, origin(&headers).as_deref(), &query.visitor).await?;
    let live = state.app.events().subscribe();
    let app = state.app.clone();
    let shutdown = state.shutdown.clone();
    let seen: HashSet<i64> = HashSet::new();
    // The visitor's customer, once they wrote: read once, not on every event of the instance.
    let customer: Option<opora_domain::CustomerId> = None;
    let stream = futures_util::stream::unfold((live, shutdown, seen, customer), move |(mut live, mut shutdown, mut seen, mut customer)| {
        let (app, visitor) = (app.clone(), visitor.clone());
        async move {
            loop {
                let event = tokio::select! {
                    event = live.recv() => event,
                    _ = shutdown.wait_for(|stopping| *stopping) => return None,
                };
                let event = match event {
                    Ok(event) => event,
                    // Fell behind: the widget reloads the conversation on this.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        return Some((Ok(SseEvent::default().event("reload").data("{}")), (live, shutdown, seen, customer)));
                    }
                    Err(_) => return None,
                };
                let EventData::MessageAdded(added) = &event.data else { continue };
                if !matches!(added.direction, Direction::Inbound | Direction::Outbound)
                    || added.channel != opora_domain::channel::ChannelKind::Widget
                {
                    continue;
                }
                if customer.is_none() {
                    customer = app.widget().customer(&visitor).await.ok().flatten();
                }
                if customer.is_none() || event.customer_id != customer || !seen.insert(added.message_id.0) {
                    continue;
                }
                let Ok(found) = app.widget().conversation(channel, &visitor).await else { continue };
                let Some(message) = found.messages.iter().find(|m| m.id == added.message_id) else { continue };
                let data = shown(message, &found.agents).to_string();
                return Some((Ok(SseEvent::default().event("message").data(data)), (live, shutdown, seen, customer)));
            }
        }
    });
    let hello = SseEvent::default().retry(Duration::from_secs(3)).comment("connected");
    let stream = futures_util::stream::once(async move { Ok(hello) }).chain(stream);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(20))))
}

async fn attachment(
    State(state): State<AppState>,
    Path((channel, id)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    Query(query): Query<VisitorQuery>,
) -> ApiResult<Response> {
    let channel = channel_id(&channel)?;
    let id = id.parse::<i64>().ok().filter(|i| *i > 0).map(AttachmentId).ok_or_else(|| ApiError::new("attachment_not_found"))?;
    let visitor = state.app.widget().visitor(channel, origin(&headers).as_deref(), &query.visitor).await?;
    let (file, content) = state.app.widget().attachment(channel, &visitor, id).await?;
    let mut response = content.into_response();
    let headers = response.headers_mut();
    // Always a download, never shown inline on our origin.
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    let name: String = file.filename.chars().filter(|c| c.is_ascii_alphanumeric() || ".-_".contains(*c)).collect();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", if name.is_empty() { "file" } else { &name })) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(response)
}
