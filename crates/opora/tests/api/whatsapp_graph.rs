//! A local WhatsApp Cloud API (Meta's Graph API), following its documented contract: bearer
//! tokens (401 with code 190 once revoked), `POST /{version}/{phone_number_id}/messages`
//! answering a `wamid`, multipart `…/media` uploads, `GET /{version}/{media_id}` giving a
//! short-lived address that needs the same token, the business account's message templates,
//! and errors in the Graph format. A test scripts failures (131047 outside the window, 130429
//! throttling) and signs notifications with the app secret as Meta does.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

pub const ACCESS_TOKEN: &str = "EAAG-test-system-user-token";
pub const APP_SECRET: &str = "test_app_secret";
pub const VERIFY_TOKEN: &str = "opora-verify-7f3a";
pub const PHONE_NUMBER_ID: &str = "123456789012345";
pub const BUSINESS_ACCOUNT_ID: &str = "987654321098765";

#[derive(Default)]
struct Inner {
    sent: Vec<Value>,
    uploads: Vec<(String, Vec<u8>)>,
    failures: VecDeque<(u16, Value)>,
    media: HashMap<String, (String, Vec<u8>)>,
    revoked: bool,
    next: u64,
}

#[derive(Clone)]
pub struct GraphApi {
    inner: Arc<Mutex<Inner>>,
    pub base: String,
}

fn graph_error(status: u16, code: i64, message: &str) -> Response {
    let code_status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = json!({"error": {"message": format!("(#{code}) {message}"), "type": "OAuthException", "code": code, "fbtrace_id": "A1"}});
    (code_status, axum::Json(body)).into_response()
}

impl GraphApi {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let api = GraphApi { inner: Arc::new(Mutex::new(Inner::default())), base };
        let app = Router::new()
            .route("/{version}/{id}/messages", post(messages))
            .route("/{version}/{id}/media", post(upload))
            .route("/{version}/{id}/message_templates", get(templates))
            .route("/{version}/{id}", get(object))
            .route("/lookaside/{id}", get(lookaside))
            .with_state(api.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        api
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("lock")
    }

    pub fn keep_media(&self, id: &str, mime: &str, content: &[u8]) {
        self.lock().media.insert(id.into(), (mime.into(), content.to_vec()));
    }

    pub fn fail_next(&self, status: u16, code: i64, message: &str) {
        self.lock().failures.push_back((status, json!({"code": code, "message": message})));
    }

    pub fn revoke(&self) {
        self.lock().revoked = true;
    }

    pub fn sent(&self) -> Vec<Value> {
        self.lock().sent.clone()
    }

    pub fn uploads(&self) -> Vec<(String, Vec<u8>)> {
        self.lock().uploads.clone()
    }

    fn authorised(&self, headers: &HeaderMap) -> bool {
        let bearer = headers.get("authorization").and_then(|v| v.to_str().ok());
        bearer == Some(&format!("Bearer {ACCESS_TOKEN}")) && !self.lock().revoked
    }
}

async fn messages(
    State(api): State<GraphApi>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !api.authorised(&headers) {
        return graph_error(401, 190, "Error validating access token: Session has expired");
    }
    if id != PHONE_NUMBER_ID {
        return graph_error(400, 100, "Unsupported post request");
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut inner = api.lock();
    inner.sent.push(body.clone());
    if let Some((status, error)) = inner.failures.pop_front() {
        drop(inner);
        return graph_error(status, error["code"].as_i64().unwrap_or(1), error["message"].as_str().unwrap_or(""));
    }
    inner.next += 1;
    let to = body["to"].clone();
    axum::Json(json!({"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}], "messages": [{"id": format!("wamid.OUT{}", inner.next)}]}))
        .into_response()
}

async fn upload(State(api): State<GraphApi>, headers: HeaderMap, request: Request) -> Response {
    if !api.authorised(&headers) {
        return graph_error(401, 190, "Error validating access token");
    }
    let Ok(mut form) = Multipart::from_request(request, &()).await else { return graph_error(400, 100, "Invalid parameter") };
    let mut file = None;
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or_default().to_owned();
            file = Some((name, field.bytes().await.unwrap_or_default().to_vec()));
        }
    }
    let Some(file) = file else { return graph_error(400, 100, "Param file must be a file") };
    let mut inner = api.lock();
    inner.uploads.push(file);
    inner.next += 1;
    axum::Json(json!({"id": format!("upload-{}", inner.next)})).into_response()
}

async fn templates(State(api): State<GraphApi>, Path((_, id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    if !api.authorised(&headers) || id != BUSINESS_ACCOUNT_ID {
        return graph_error(401, 190, "Error validating access token");
    }
    axum::Json(json!({"data": [
        {"name": "ticket_update", "language": "ru", "status": "APPROVED", "category": "UTILITY", "id": "1",
         "components": [{"type": "BODY", "text": "Обращение {{1}}: {{2}}"}]},
        {"name": "promo_draft", "language": "ru", "status": "REJECTED", "id": "2", "components": [{"type": "BODY", "text": "Скидка"}]}
    ]}))
    .into_response()
}

async fn object(State(api): State<GraphApi>, Path((_, id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    if !api.authorised(&headers) {
        return graph_error(401, 190, "Error validating access token");
    }
    if id == PHONE_NUMBER_ID {
        return axum::Json(json!({"display_phone_number": "+7 495 000-00-00", "verified_name": "Opora", "id": id})).into_response();
    }
    let found = api.lock().media.get(&id).cloned();
    match found {
        Some((mime, content)) => axum::Json(json!({"url": format!("{}/lookaside/{id}", api.base), "mime_type": mime, "sha256": "x",
            "file_size": content.len(), "id": id, "messaging_product": "whatsapp"}))
        .into_response(),
        None => graph_error(400, 100, "Unsupported get request"),
    }
}

async fn lookaside(State(api): State<GraphApi>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if !api.authorised(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let found = api.lock().media.get(&id).map(|(_, content)| content.clone());
    found.map_or_else(|| StatusCode::NOT_FOUND.into_response(), IntoResponse::into_response)
}

/// `sha256=<hex HMAC-SHA256 of the raw body with the app secret>`, as Meta signs.
pub fn signature(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).expect("key");
    mac.update(body);
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// A notification for our number holding `value`'s messages or statuses.
pub fn notification(value: Value) -> Value {
    let mut value = value;
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] = json!({"display_phone_number": "74950000000", "phone_number_id": PHONE_NUMBER_ID});
    json!({"object": "whatsapp_business_account", "entry": [{"id": BUSINESS_ACCOUNT_ID, "changes": [{"field": "messages", "value": value}]}]})
}

/// A customer's text message.
pub fn text(wamid: &str, from: &str, name: &str, body: &str) -> Value {
    notification(json!({"contacts": [{"profile": {"name": name}, "wa_id": from}],
        "messages": [{"from": from, "id": wamid, "timestamp": "1763823845", "type": "text", "text": {"body": body}}]}))
}

/// A status of a message we sent.
pub fn status(wamid: &str, status: &str, errors: Value) -> Value {
    notification(
        json!({"statuses": [{"id": wamid, "status": status, "timestamp": "1763823900", "recipient_id": "79161234567", "errors": errors}]}),
    )
}
