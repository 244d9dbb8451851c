//! Opora's web layer: the REST API with its OpenAPI document, authentication, errors in the
//! caller's language, metrics and health. The only crate that knows HTTP.

pub mod api;
pub mod auth;
mod contract;
pub mod docs;
pub mod error;
pub mod extract;
pub mod i18n;
pub mod input;
pub mod metrics;
pub mod templates;
pub mod ui;
pub mod views;
pub mod widget;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request};
use axum::routing::get;
use opora_app::App;
use opora_domain::agent::Language;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::auth::LoginLimits;
use crate::auth::AuthCache;
use crate::i18n::I18n;
use crate::metrics::Metrics;
use crate::templates::Templates;

/// What the web layer needs from the configuration.
#[derive(Debug, Clone)]
pub struct WebConfig {
    pub default_language: Language,
    /// Default currency of compensation budgets.
    pub currency: String,
    pub session_ttl_ms: i64,
    /// Mark the session cookie `Secure` (the instance is served over HTTPS).
    pub secure_cookies: bool,
    pub max_attachment_bytes: usize,
    pub metrics_public: bool,
    pub login_attempts_per_minute: u32,
    pub templates_dir: Option<PathBuf>,
    /// Where this instance is reached from outside (`https://help.example.ru`): the addresses it
    /// hands out to providers are built from it.
    pub public_url: String,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            default_language: Language::Ru,
            currency: "RUB".into(),
            session_ttl_ms: 12 * 3600 * 1000,
            secure_cookies: false,
            max_attachment_bytes: 25 * 1024 * 1024,
            metrics_public: false,
            login_attempts_per_minute: 10,
            templates_dir: None,
            public_url: "http://127.0.0.1:8080".into(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    /// Every use case of the product; handlers parse, authorise, call it and render.
    pub app: App,
    pub config: Arc<WebConfig>,
    pub i18n: Arc<I18n>,
    pub templates: Arc<Templates>,
    pub metrics: Arc<Metrics>,
    pub auth_cache: Arc<AuthCache>,
    pub login_limits: Arc<LoginLimits>,
    /// Requests providers push to channels, per client address.
    pub inbound_limits: Arc<api::hooks::InboundLimits>,
    /// New visitors and their messages on the website widget, per client address.
    pub widget_limits: Arc<widget::WidgetLimits>,
    /// Forms of the customers' pages (ratings, extras, letters to the director), per network.
    pub public_limits: Arc<ui::public::PublicLimits>,
    pub openapi: Arc<serde_json::Value>,
    /// Becomes true when the server shuts down; long-lived responses (event streams) end then.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

impl AppState {
    pub fn new(app: App, config: WebConfig, shutdown: tokio::sync::watch::Receiver<bool>) -> Result<Self, String> {
        let login_limits = Arc::new(LoginLimits::new(config.login_attempts_per_minute));
        let i18n = Arc::new(I18n::load()?);
        Ok(Self {
            app,
            templates: Arc::new(Templates::new(config.templates_dir.clone(), i18n.clone())),
            i18n,
            config: Arc::new(config),
            metrics: Arc::new(Metrics::default()),
            auth_cache: Arc::new(AuthCache::default()),
            login_limits,
            inbound_limits: Arc::new(api::hooks::InboundLimits::default()),
            widget_limits: Arc::new(widget::WidgetLimits::default()),
            public_limits: Arc::new(ui::public::PublicLimits::default()),
            openapi: Arc::new(serde_json::Value::Null),
            shutdown,
        })
    }
}

/// Request ids: a per-process random prefix and a counter, cheap and unique enough for logs.
#[derive(Clone)]
struct RequestIds {
    prefix: String,
    next: Arc<AtomicU64>,
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.prefix)).ok().map(RequestId::new)
    }
}

fn api_routes() -> OpenApiRouter<AppState> {
    use api::*;
    OpenApiRouter::with_openapi(docs::ApiDoc::openapi())
        .routes(routes!(cases::create, cases::list))
        .routes(routes!(cases::get, cases::update))
        .routes(routes!(case_work::take))
        .routes(routes!(case_work::transfer))
        .routes(routes!(case_work::add_collaborator))
        .routes(routes!(case_work::remove_collaborator))
        .routes(routes!(case_work::participants))
        .routes(routes!(case_work::remove_participant))
        .routes(routes!(case_work::grant, case_work::compensations))
        .routes(routes!(case_work::requested))
        .routes(routes!(case_work::approve))
        .routes(routes!(case_work::refuse))
        .routes(routes!(messages::post, messages::list))
        .routes(routes!(messages::reply_window))
        .routes(routes!(attachments::download))
        .routes(routes!(events::timeline))
        .routes(routes!(events::feed))
        .routes(routes!(events::stream))
        .routes(routes!(customers::create, customers::list))
        .routes(routes!(customers::get, customers::update, customers::delete))
        .routes(routes!(customers::add_identity))
        .routes(routes!(customers::remove_identity))
        .routes(routes!(customers::merge))
        .routes(routes!(customers::split))
        .routes(routes!(customers::similar))
        .routes(routes!(agents::list, agents::create))
        .routes(routes!(agents::get, agents::update))
        .routes(routes!(agents::smooth_work))
        .routes(routes!(agents::list_teams, agents::create_team))
        .routes(routes!(agents::get_team, agents::update_team, agents::delete_team))
        .routes(routes!(fields::list, fields::create))
        .routes(routes!(fields::update, fields::delete))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me, auth::update_me))
        .routes(routes!(auth::change_password))
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(webhooks::get, webhooks::update, webhooks::delete))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(workspace::list_notifications))
        .routes(routes!(workspace::mark_read))
        .routes(routes!(workspace::report_presence, workspace::leave))
        .routes(routes!(workspace::list_templates, workspace::create_template))
        .routes(routes!(workspace::update_template, workspace::delete_template))
        .routes(routes!(workspace::templates_for_case))
        .routes(routes!(channels::list, channels::create))
        .routes(routes!(channels::get, channels::update, channels::delete))
        .routes(routes!(channels::check))
        .routes(routes!(channels::inbound))
        .routes(routes!(api::hooks::verify, api::hooks::receive))
        .routes(routes!(mail::list_mailboxes, mail::create_mailbox))
        .routes(routes!(mail::get_mailbox, mail::update_mailbox, mail::delete_mailbox))
        .routes(routes!(mail::list_messages))
        .routes(routes!(mail::get_message))
        .routes(routes!(mail::raw_message))
        .routes(routes!(mail::reprocess))
        .routes(routes!(mail::check_mailbox))
        .routes(routes!(jobs::list))
        .routes(routes!(jobs::retry))
        .routes(routes!(system::healthz))
        .routes(routes!(orders::put, orders::get))
        .routes(routes!(orders::performer))
        .routes(routes!(orders::propose_extra, orders::extras))
        .routes(routes!(orders::report_problem))
        .routes(routes!(ratings::kudos))
        .routes(routes!(ratings::response))
        .routes(routes!(orders::of_customer))
        .routes(routes!(playbooks::list, playbooks::create))
        .routes(routes!(surveys::list, surveys::create))
        .routes(routes!(surveys::get))
        .routes(routes!(playbooks::of_case, playbooks::attach))
        .routes(routes!(playbooks::step))
        .routes(routes!(playbooks::finish))
        .routes(routes!(system::metrics))
}

/// The OpenAPI document of every API route.
pub fn openapi() -> serde_json::Value {
    finished(api_routes().split_for_parts().1)
}

/// The generated document completed with what the derive cannot say.
fn finished(doc: utoipa::openapi::OpenApi) -> serde_json::Value {
    let mut spec = serde_json::to_value(doc).unwrap_or_default();
    api::attachments::document_download_types(&mut spec);
    docs::apply_conventions(&mut spec);
    spec
}

/// A body declared larger than the limit is refused before a byte of it is read, so the client
/// learns at once instead of uploading megabytes into a 413.
async fn refuse_declared_oversize(limit: usize, request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let declared = request.headers().get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return axum::http::StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    next.run(request).await
}

/// The whole HTTP application.
pub fn router(mut state: AppState) -> Router {
    let (api, doc) = api_routes().split_for_parts();
    state.openapi = Arc::new(finished(doc));
    let mut prefix = [0u8; 4];
    let _ = getrandom::fill(&mut prefix);
    let ids = RequestIds { prefix: prefix.iter().map(|b| format!("{b:02x}")).collect(), next: Arc::new(AtomicU64::new(1)) };
    // Attachments arrive as base64 inside JSON (4/3 of their size) or as multipart.
    let body_limit = state.config.max_attachment_bytes * 2 + 1024 * 1024;
    api.merge(ui::routes())
        .merge(widget::routes(state.clone()))
        .route("/api/v1/openapi.json", get(docs::openapi_json))
        .route("/hooks/{kind}/{channel_id}/{*rest}", axum::routing::post(api::hooks::receive_nested))
        .route("/api/docs", get(docs::page))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(move |request: axum::extract::Request, next: axum::middleware::Next| {
            refuse_declared_oversize(body_limit, request, next)
        }))
        .layer(axum::middleware::from_fn_with_state(state.clone(), error::render_problems))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::measure))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(ids))
        .with_state(state)
}

/// Every ten minutes, forgets stale entries of the web layer's in-memory limits (sign-in
/// attempts, pushed requests). Stops on shutdown.
pub async fn housekeeping(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(600)) => {
                state.login_limits.forget_stale();
                state.inbound_limits.forget_stale();
                state.widget_limits.forget_stale();
                state.public_limits.forget_stale();
            }
            _ = shutdown.changed() => break,
        }
    }
}
