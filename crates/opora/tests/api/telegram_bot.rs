//! A local Telegram Bot API, following its documented contract (core.telegram.org/bots/api):
//! `/bot{token}/{method}` with the `{"ok", "result"}` envelope, long-polled `getUpdates` with
//! offsets (409 while a webhook is set), `setWebhook` with a secret token, `sendMessage`,
//! multipart `sendPhoto`/`sendDocument`, `getFile` and `/file/bot{token}/{path}`. A test queues
//! updates, scripts failures (429 with `retry_after`, 5xx), revokes the token, and reads what
//! the bot sent.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::Notify;

pub const TOKEN: &str = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";

/// One call the bot made: the method and its parameters (text fields of an upload, and the
/// uploaded file's name and bytes).
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub params: Value,
    pub file: Option<(String, Vec<u8>)>,
}

#[derive(Default)]
struct Inner {
    updates: VecDeque<Value>,
    next_update: i64,
    next_message: i64,
    calls: Vec<Call>,
    failures: VecDeque<(u16, Value)>,
    webhook: Option<(String, String)>,
    revoked: bool,
    files: HashMap<String, (String, Vec<u8>)>,
}

#[derive(Clone)]
pub struct BotApi {
    inner: Arc<Mutex<Inner>>,
    arrived: Arc<Notify>,
    pub base: String,
}

impl BotApi {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner { next_update: 1000, next_message: 500, ..Default::default() }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let api = BotApi { inner, arrived: Arc::new(Notify::new()), base };
        let app = Router::new().route("/{bot}/{method}", post(method)).route("/file/{bot}/{*path}", get(file)).with_state(api.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        api
    }

    /// A bot started and connected to `app` as a polling Telegram channel named «Бот».
    pub async fn connected(app: &crate::harness::TestApp) -> Self {
        let api = Self::start().await;
        let settings = json!({"bot_token": TOKEN, "api_base_url": api.base, "mode": "polling"});
        app.post("/api/v1/channels", json!({"kind": "telegram", "name": "Бот", "settings": settings})).await.ok(201);
        api
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("lock")
    }

    /// Queues an update (its `update_id` given here) for `getUpdates`; returns it.
    pub fn queue(&self, mut update: Value) -> Value {
        let mut inner = self.lock();
        inner.next_update += 1;
        update["update_id"] = json!(inner.next_update);
        inner.updates.push_back(update.clone());
        drop(inner);
        self.arrived.notify_waiters();
        update
    }

    /// A file customers may send, by its `file_id`.
    pub fn keep_file(&self, file_id: &str, path: &str, content: &[u8]) {
        self.lock().files.insert(file_id.into(), (path.into(), content.to_vec()));
    }

    /// The next sends fail like this, in order.
    pub fn fail_next(&self, status: u16, answer: Value) {
        self.lock().failures.push_back((status, answer));
    }

    pub fn revoke(&self) {
        self.lock().revoked = true;
    }

    pub fn calls(&self, method: &str) -> Vec<Call> {
        self.lock().calls.iter().filter(|c| c.method == method).cloned().collect()
    }

    pub fn webhook(&self) -> Option<(String, String)> {
        self.lock().webhook.clone()
    }

    /// Updates still waiting for `getUpdates` to confirm them.
    pub fn unconfirmed(&self) -> usize {
        self.lock().updates.len()
    }
}

fn ok(result: Value) -> Response {
    axum::Json(json!({"ok": true, "result": result})).into_response()
}

fn error(status: u16, description: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (code, axum::Json(json!({"ok": false, "error_code": status, "description": description}))).into_response()
}

async fn read_params(headers: &HeaderMap, body: Bytes) -> Value {
    let json_body = headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("application/json"));
    if json_body { serde_json::from_slice(&body).unwrap_or(Value::Null) } else { json!({}) }
}

async fn method(
    State(api): State<BotApi>,
    Path((bot, method)): Path<(String, String)>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Response {
    if bot != format!("bot{TOKEN}") || api.lock().revoked {
        return error(401, "Unauthorized");
    }
    let multipart = headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("multipart/form-data"));
    let (params, file) = if multipart {
        let mut form = match Multipart::from_request(request, &()).await {
            Ok(form) => form,
            Err(_) => return error(400, "Bad Request: bad multipart"),
        };
        let (mut params, mut file) = (json!({}), None);
        while let Ok(Some(field)) = form.next_field().await {
            let name = field.name().unwrap_or_default().to_owned();
            match field.file_name().map(str::to_owned) {
                Some(filename) => file = Some((filename, field.bytes().await.unwrap_or_default().to_vec())),
                None => params[name] = json!(field.text().await.unwrap_or_default()),
            }
        }
        (params, file)
    } else {
        let body = axum::body::to_bytes(request.into_body(), 1 << 20).await.unwrap_or_default();
        (read_params(&headers, body).await, None)
    };
    match method.as_str() {
        "getMe" => ok(json!({"id": 110201543, "is_bot": true, "first_name": "Opora", "username": "opora_test_bot"})),
        "deleteWebhook" => {
            api.lock().webhook = None;
            ok(json!(true))
        }
        "setWebhook" => {
            let url = params["url"].as_str().unwrap_or_default().to_owned();
            api.lock().webhook = Some((url, params["secret_token"].as_str().unwrap_or_default().to_owned()));
            ok(json!(true))
        }
        "getWebhookInfo" => {
            let url = api.lock().webhook.as_ref().map(|(url, _)| url.clone()).unwrap_or_default();
            ok(json!({"url": url, "has_custom_certificate": false, "pending_update_count": 0}))
        }
        "getUpdates" => updates(&api, &params).await,
        "getFile" => {
            let id = params["file_id"].as_str().unwrap_or_default();
            match api.lock().files.get(id) {
                Some((path, content)) => ok(json!({"file_id": id, "file_unique_id": id, "file_size": content.len(), "file_path": path})),
                None => error(400, "Bad Request: invalid file_id"),
            }
        }
        "answerCallbackQuery" => {
            api.lock().calls.push(Call { method: method.clone(), params: params.clone(), file });
            ok(json!(true))
        }
        "sendMessage" | "sendPhoto" | "sendDocument" => {
            let mut inner = api.lock();
            inner.calls.push(Call { method: method.clone(), params: params.clone(), file });
            if let Some((status, answer)) = inner.failures.pop_front() {
                let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
                return (code, axum::Json(answer)).into_response();
            }
            inner.next_message += 1;
            let chat: i64 = params["chat_id"].as_i64().or_else(|| params["chat_id"].as_str()?.parse().ok()).unwrap_or_default();
            ok(
                json!({"message_id": inner.next_message, "date": 1_763_823_900, "chat": {"id": chat, "type": "private"}, "text": params["text"]}),
            )
        }
        _ => error(404, "Not Found"),
    }
}

use axum::extract::FromRequest;

/// Long polling: what is queued at or after `offset` (confirming everything before it), else
/// waits up to `timeout` seconds for something to arrive.
async fn updates(api: &BotApi, params: &Value) -> Response {
    if api.lock().webhook.is_some() {
        return error(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
    }
    let offset = params["offset"].as_i64().unwrap_or(0);
    // Telegram holds back what the bot did not ask for.
    let allowed: Vec<String> =
        params["allowed_updates"].as_array().into_iter().flatten().filter_map(|k| k.as_str().map(str::to_owned)).collect();
    let wanted = |update: &Value| allowed.is_empty() || allowed.iter().any(|kind| update.get(kind.as_str()).is_some());
    let wait = Duration::from_secs(params["timeout"].as_u64().unwrap_or(0));
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let arrived = api.arrived.notified();
        {
            let mut inner = api.lock();
            inner.updates.retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
            if !inner.updates.is_empty() {
                return ok(Value::Array(inner.updates.iter().filter(|u| wanted(u)).cloned().collect()));
            }
        }
        if tokio::time::timeout_at(deadline, arrived).await.is_err() {
            return ok(json!([]));
        }
    }
}

async fn file(State(api): State<BotApi>, Path((bot, path)): Path<(String, String)>) -> Response {
    if bot != format!("bot{TOKEN}") {
        return error(401, "Unauthorized");
    }
    let found = api.lock().files.values().find(|(p, _)| *p == path).map(|(_, content)| content.clone());
    match found {
        Some(content) => content.into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A private-chat text message from a customer, as Telegram sends it.
pub fn text_update(chat: i64, message_id: i64, name: &str, text: &str) -> Value {
    json!({"message": {"message_id": message_id, "date": 1_763_823_845,
        "from": {"id": chat, "is_bot": false, "first_name": name, "language_code": "ru"},
        "chat": {"id": chat, "type": "private", "first_name": name}, "text": text}})
}
