//! A local VK API, following its documented contract (dev.vk.com): `POST /method/{name}`,
//! form-encoded, a bearer token, `{"response": …}` or `{"error": {"error_code", "error_msg"}}`
//! with HTTP 200; `messages.send` that delivers a `random_id` once; the document upload trio;
//! files customers sent, by address. A test scripts errors and revokes the token.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

pub const TOKEN: &str = "vk1.a.community-token-e2e";
pub const SECRET: &str = "s3cret-key";
pub const CONFIRMATION: &str = "a1b2c3d4";
pub const GROUP_ID: i64 = 219_000_777;

#[derive(Default)]
struct Inner {
    /// Delivered messages: their parameters, once per `random_id`.
    delivered: Vec<HashMap<String, String>>,
    by_random_id: HashMap<String, i64>,
    /// The `random_id` of every `messages.send` call, delivered or not.
    random_ids: Vec<String>,
    failures: VecDeque<i64>,
    uploads: Vec<(String, Vec<u8>)>,
    files: HashMap<String, Vec<u8>>,
    revoked: bool,
    next: i64,
    /// Bots Long Poll: the events so far (an event's ts is its position + 1) and the key.
    events: Vec<Value>,
    key: u32,
    /// How many times a poller asked for a server.
    servers: usize,
}

#[derive(Clone)]
pub struct VkApi {
    inner: Arc<Mutex<Inner>>,
    pub base: String,
}

impl VkApi {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let api = VkApi { inner: Arc::new(Mutex::new(Inner { next: 3000, ..Default::default() })), base };
        let app = Router::new()
            .route("/method/{name}", post(method))
            .route("/upload", post(upload))
            .route("/files/{name}", get(file))
            .route("/lp", get(long_poll))
            .with_state(api.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        api
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("lock")
    }

    /// An event for Bots Long Poll (no secret: the poller asked for it).
    pub fn poll_event(&self, mut event: Value) {
        if let Some(fields) = event.as_object_mut() {
            fields.remove("secret");
        }
        self.lock().events.push(event);
    }

    /// How many times a poller asked where to poll.
    pub fn servers_given(&self) -> usize {
        self.lock().servers
    }

    /// The Long Poll key expires: the next check answers `failed: 2`.
    pub fn expire_key(&self) {
        self.lock().key += 1;
    }

    pub fn keep_file(&self, name: &str, content: &[u8]) -> String {
        self.lock().files.insert(name.into(), content.to_vec());
        format!("{}/files/{name}", self.base)
    }

    pub fn fail_next(&self, code: i64) {
        self.lock().failures.push_back(code);
    }

    pub fn revoke(&self) {
        self.lock().revoked = true;
    }

    pub fn delivered(&self) -> Vec<HashMap<String, String>> {
        self.lock().delivered.clone()
    }

    /// The `random_id` of every `messages.send` call, delivered or not.
    pub fn random_ids(&self) -> Vec<String> {
        self.lock().random_ids.clone()
    }

    pub fn uploads(&self) -> Vec<(String, Vec<u8>)> {
        self.lock().uploads.clone()
    }
}

fn error(code: i64, message: &str) -> Response {
    axum::Json(json!({"error": {"error_code": code, "error_msg": message, "request_params": []}})).into_response()
}

async fn method(State(api): State<VkApi>, Path(name): Path<String>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let params: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let authorised = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"));
    if !authorised || api.lock().revoked {
        return error(5, "User authorization failed: invalid access_token (4).");
    }
    if params.get("v").map(String::as_str) != Some("5.199") {
        return error(100, "One of the parameters specified was missing or invalid: v");
    }
    let mut inner = api.lock();
    match name.as_str() {
        "messages.send" => {
            let asked = params.get("random_id").cloned().unwrap_or_default();
            inner.random_ids.push(asked);
            if let Some(code) = inner.failures.pop_front() {
                return error(code, "scripted");
            }
            let Some(random_id) = params.get("random_id").cloned() else { return error(100, "random_id is required") };
            if let Some(id) = inner.by_random_id.get(&random_id) {
                return axum::Json(json!({"response": id})).into_response();
            }
            inner.next += 1;
            let id = inner.next;
            inner.by_random_id.insert(random_id, id);
            inner.delivered.push(params);
            axum::Json(json!({"response": id})).into_response()
        }
        "docs.getMessagesUploadServer" => axum::Json(json!({"response": {"upload_url": format!("{}/upload", api.base)}})).into_response(),
        "docs.save" => {
            inner.next += 1;
            let title = params.get("title").cloned().unwrap_or_default();
            axum::Json(json!({"response": {"type": "doc", "doc": {"id": inner.next, "owner_id": -GROUP_ID, "title": title}}}))
                .into_response()
        }
        "groups.getLongPollServer" => {
            inner.servers += 1;
            let ts = (inner.events.len() + 1).to_string();
            axum::Json(json!({"response": {"key": format!("key{}", inner.key), "server": format!("{}/lp", api.base), "ts": ts}}))
                .into_response()
        }
        "groups.getById" => axum::Json(json!({"response": {"groups": [{"id": GROUP_ID, "name": "Opora"}]}})).into_response(),
        _ => error(3, "Unknown method passed"),
    }
}

async fn upload(State(api): State<VkApi>, request: Request) -> Response {
    let Ok(mut form) = Multipart::from_request(request, &()).await else { return axum::Json(json!({"error": "bad form"})).into_response() };
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or_default().to_owned();
            let content = field.bytes().await.unwrap_or_default().to_vec();
            let mut inner = api.lock();
            inner.uploads.push((name, content));
            return axum::Json(json!({"file": format!("handle-{}", inner.uploads.len())})).into_response();
        }
    }
    axum::Json(json!({"error": "no file", "error_descr": "file is missing"})).into_response()
}

async fn long_poll(State(api): State<VkApi>, axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>) -> Response {
    for _ in 0..10 {
        {
            let inner = api.lock();
            if query.get("key") != Some(&format!("key{}", inner.key)) {
                return axum::Json(json!({"failed": 2})).into_response();
            }
            let from: usize = query.get("ts").and_then(|t| t.parse().ok()).unwrap_or(1);
            if inner.events.len() >= from {
                let updates: Vec<Value> = inner.events[from - 1..].to_vec();
                return axum::Json(json!({"ts": (inner.events.len() + 1).to_string(), "updates": updates})).into_response();
            }
        }
        // A short wait stands in for VK's 25 seconds.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let ts = (api.lock().events.len() + 1).to_string();
    axum::Json(json!({"ts": ts, "updates": []})).into_response()
}

async fn file(State(api): State<VkApi>, Path(name): Path<String>) -> Response {
    let found = api.lock().files.get(&name).cloned();
    found.map_or_else(|| axum::http::StatusCode::NOT_FOUND.into_response(), IntoResponse::into_response)
}

/// A Callback API event for our community, with our secret.
pub fn event(kind: &str, event_id: &str, object: Value) -> Value {
    json!({"type": kind, "event_id": event_id, "v": "5.199", "group_id": GROUP_ID, "secret": SECRET, "object": object})
}

/// A customer's new message.
pub fn message_new(event_id: &str, id: i64, from: i64, text: &str, attachments: Value) -> Value {
    event(
        "message_new",
        event_id,
        json!({"message": {"id": id, "date": 1_763_823_845, "peer_id": from, "from_id": from, "out": 0,
        "conversation_message_id": id, "text": text, "attachments": attachments, "fwd_messages": []},
        "client_info": {"button_actions": ["text"], "keyboard": true, "inline_keyboard": true, "lang_id": 0}}),
    )
}
