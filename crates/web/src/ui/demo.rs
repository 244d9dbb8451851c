//! `/demo/site`: a stand-in for the team's own website, carrying the chat of the channel the demo
//! data adds (allowed for this address), so a first look can try the chat from the visitor's side
//! while watching the workspace.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use opora_domain::channel::ChannelKind;
use serde_json::json;

use super::{assets, error_page, html, login};
use crate::AppState;
use crate::error::ApiError;

/// The page's own policy: the chat builds its look from a style element in its shadow root.
const SITE_POLICY: &str =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";

pub async fn site(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = state.config.public_url.trim_end_matches('/').to_owned();
    let channels = match state.app.channels().list().await {
        Ok(channels) => channels,
        Err(error) => return error_page(&state, None, error.into()),
    };
    let origin = url::Url::parse(&base).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
    let allowed = |c: &&opora_app::channels::ChannelView| {
        c.channel.kind == ChannelKind::Widget
            && c.channel.active
            && c.settings["allowed_origins"].as_array().is_some_and(|o| o.iter().any(|o| o.as_str() == Some(origin.as_str())))
    };
    let Some(found) = channels.iter().find(allowed) else {
        return error_page(&state, None, ApiError::new("channel_not_found"));
    };
    let language = login::visitor_language(&state, &headers);
    let context = json!({"lang": language.as_str(), "asset_version": assets::version(), "base": base, "channel": found.channel.id});
    let mut response = html(&state, "demo_site.html", &context);
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(SITE_POLICY));
    response
}
