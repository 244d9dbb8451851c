//! The test harness: a real Opora (HTTP server and workers) on a random port, over a fresh
//! SQLite file or a fresh PostgreSQL database that is dropped when the test ends.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

use opora::config::Config;
use opora::server::{self, Running};
use opora_domain::agent::{Language, Role};
use opora_store::Store;
use opora_store::agents::{self, NewAgent};
use opora_store::db::Conn;
use opora_store::db::pg::PgConn;
use opora_store::db::sqlite::SqliteConn;
use reqwest::Method;
use serde_json::Value;
use tempfile::TempDir;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// Runs each listed test once per engine: `mod name { fn sqlite(), fn postgres() }`. With
/// `start = path;` first, the app comes from that function instead of `TestApp::start`.
#[macro_export]
macro_rules! both_engines {
    (start = $start:path; $(async fn $name:ident($app:ident: TestApp) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn scenario($app: $crate::harness::TestApp) $body
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { scenario($start($crate::harness::Engine::Sqlite).await).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { scenario($start($crate::harness::Engine::Postgres).await).await }
        }
    )*};
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {
        $crate::both_engines!(start = $crate::harness::TestApp::start; $(async fn $name($app: TestApp) $body)*);
    };
}

pub fn postgres_admin_url() -> String {
    std::env::var("OPORA_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database created for one test and dropped after it.
pub struct PgDatabase {
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub fn create() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let name = format!("opora_test_{}_{}_{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        let admin = postgres_admin_url();
        let statement = format!("create database {name}");
        // The synchronous client runs its own runtime, so it must not run on a tokio thread.
        std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&admin, postgres::NoTls)
                .expect("PostgreSQL must be reachable (see README: the test command starts it)");
            client.batch_execute(&statement).expect("create the test database");
        })
        .join()
        .expect("database creation");
        let base = postgres_admin_url();
        let url = match base.rfind('/') {
            Some(slash) => format!("{}/{name}", &base[..slash]),
            None => format!("{base}/{name}"),
        };
        Self { name, url }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin, statement) = (postgres_admin_url(), format!("drop database if exists {} with (force)", self.name));
        let _ = std::thread::spawn(move || {
            if let Ok(mut client) = postgres::Client::connect(&admin, postgres::NoTls) {
                let _ = client.batch_execute(&statement);
            }
        })
        .join();
    }
}

/// An HTTP answer: status, headers and the body as JSON (or as text under `"text"`).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json error with this status and code.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) -> &Self {
        assert_eq!(self.status, status, "expected {status} {code}, got {}: {}", self.status, self.body);
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        assert_eq!(self.header("content-type"), Some("application/problem+json"), "body: {}", self.body);
        assert!(self.body["title"].as_str().is_some_and(|t| !t.is_empty()), "a problem has a title: {}", self.body);
        assert_eq!(self.body["status"], status);
        self
    }

    /// Asserts a 422 naming `field` with `code`.
    #[track_caller]
    pub fn field(&self, field: &str, code: &str) -> &Self {
        self.problem(422, "validation_failed");
        let fields = self.body["fields"].as_array().cloned().unwrap_or_default();
        assert!(fields.iter().any(|f| f["field"] == field && f["code"] == code), "expected field {field} with {code} in {}", self.body);
        self
    }

    #[track_caller]
    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "unexpected answer: {}", self.body);
        &self.body
    }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub admin_token: String,
    pub admin_id: i64,
    /// The running server (its store, its mail service); dropping it stops everything.
    pub running: Running,
    /// What it was started with, for commands run beside it.
    pub config: Config,
    /// Kept alive for the test: dropping them removes the files and the database.
    _dir: TempDir,
    _database: Option<PgDatabase>,
}

pub fn test_config(engine: Engine, dir: &TempDir, database: Option<&PgDatabase>) -> Config {
    let mut config = Config { listen: "127.0.0.1:0".into(), data_dir: dir.path().join("data"), log: "warn".into(), ..Config::default() };
    config.database_url = match (engine, database) {
        (Engine::Postgres, Some(db)) => db.url.clone(),
        _ => "sqlite://opora.db".into(),
    };
    config.database.pool_size = 4;
    config.workers.poll_interval_ms = 50;
    config.workers.retry_base_ms = 50;
    config.workers.retry_cap_ms = 200;
    config.webhooks.allow_internal = true;
    config.webhooks.timeout_ms = 2000;
    config.security.login_attempts_per_minute = 1000;
    config
}

impl TestApp {
    pub async fn start(engine: Engine) -> Self {
        Self::start_with(engine, |_| {}).await
    }

    pub async fn start_with(engine: Engine, adjust: impl FnOnce(&mut Config)) -> Self {
        Self::start_over(engine, adjust, |_| {}).await
    }

    /// Starts over a database that `prepare` wrote first, through a bare connection, as an
    /// older binary would have left it.
    pub async fn start_over(
        engine: Engine,
        adjust: impl FnOnce(&mut Config),
        prepare: impl FnOnce(&mut dyn Conn) + Send + 'static,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = (engine == Engine::Postgres).then(PgDatabase::create);
        let mut config = test_config(engine, &dir, database.as_ref());
        adjust(&mut config);
        match &database {
            Some(db) => {
                let url = db.url.clone();
                // The synchronous client runs its own runtime, so it must not run on a tokio thread.
                std::thread::spawn(move || prepare(&mut PgConn::connect(&url).expect("connect"))).join().expect("prepare the database");
            }
            None => {
                std::fs::create_dir_all(&config.data_dir).expect("data dir");
                prepare(&mut SqliteConn::open(&config.data_dir.join("opora.db"), false).expect("open"));
            }
        }
        let store = server::open_store(&config).await.expect("open the store");
        let (admin_id, admin_token) = seed_admin(&store).await;
        let running = server::start(&config, store.clone()).await.expect("start the app");
        let base = format!("http://{}", running.addr);
        Self { base, client: reqwest::Client::new(), admin_token, admin_id, running, config, _dir: dir, _database: database }
    }

    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<&Value>) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        answer(request.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.request(Method::GET, path, Some(&self.admin_token), None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.request(Method::POST, path, Some(&self.admin_token), Some(&body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.request(Method::PATCH, path, Some(&self.admin_token), Some(&body)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.request(Method::DELETE, path, Some(&self.admin_token), None).await
    }

    pub async fn get_as(&self, token: &str, path: &str) -> Answer {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post_as(&self, token: &str, path: &str, body: Value) -> Answer {
        self.request(Method::POST, path, Some(token), Some(&body)).await
    }

    pub async fn patch_as(&self, token: &str, path: &str, body: Value) -> Answer {
        self.request(Method::PATCH, path, Some(token), Some(&body)).await
    }

    /// Sends raw bytes with a content type, for malformed-input tests.
    pub async fn send_raw(&self, method: Method, path: &str, content_type: &str, body: &'static [u8]) -> Answer {
        let request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.admin_token)
            .header("content-type", content_type)
            .body(body);
        answer(request.send().await.expect("request sent")).await
    }

    /// Adds an agent with `role` through the API and returns their id and a token.
    pub async fn agent(&self, name: &str, role: &str) -> (i64, String) {
        let email = format!("{}@test.opora.dev", name.to_lowercase().replace(' ', "."));
        let created = self
            .post("/api/v1/agents", serde_json::json!({"email": email, "name": name, "role": role, "password": "correct horse battery"}))
            .await;
        let id = created.ok(201)["agent"]["id"].as_i64().expect("agent id");
        let token = self.post("/api/v1/tokens", serde_json::json!({"name": "tests", "agent_id": id})).await;
        (id, token.ok(201)["token"].as_str().expect("token").to_owned())
    }

    /// Creates a case for a new customer and returns it.
    pub async fn case(&self, subject: &str) -> Value {
        let body = serde_json::json!({"subject": subject, "customer": {"email": format!("{}@example.ru", subject.len()), "name": "Клиент"},
                                      "message": {"body_text": "Текст обращения"}});
        self.post("/api/v1/cases", body).await.ok(201).clone()
    }
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| serde_json::json!({ "text": text }));
    Answer { status, headers, body }
}

async fn seed_admin(store: &Store) -> (i64, String) {
    store
        .write(|tx| {
            let agent = match agents::by_email(&mut **tx, "admin@test.opora.dev")? {
                Some((agent, _)) => agent,
                None => {
                    let new = NewAgent {
                        email: "admin@test.opora.dev".into(),
                        name: "Админ".into(),
                        role: Role::Admin,
                        language: Language::Ru,
                        password_hash: None,
                        case_access: Default::default(),
                    };
                    agents::insert(tx, &new)?
                }
            };
            let (_, token) = opora_store::auth::create_token(tx, agent.id, "tests", None, None)?;
            Ok((agent.id.0, token))
        })
        .await
        .expect("seed the admin")
}

/// Polls `check` until it returns Some, for effects of background workers.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A live SSE connection, parsed into `(id, kind, data)` as events arrive.
pub struct EventStream {
    events: tokio::sync::mpsc::UnboundedReceiver<(i64, String, Value)>,
    pub seen: Vec<(i64, String, Value)>,
}

impl EventStream {
    pub async fn open(app: &TestApp, token: &str, query: &str) -> Self {
        let response =
            app.client.get(format!("{}/api/v1/events/stream{query}", app.base)).bearer_auth(token).send().await.expect("stream opened");
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/event-stream")));
        let (sender, events) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut response = response;
            let mut buffer = String::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    let (mut id, mut kind, mut data) = (0, String::new(), String::new());
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("id:") {
                            id = v.trim().parse().unwrap_or(0);
                        } else if let Some(v) = line.strip_prefix("event:") {
                            kind = v.trim().to_owned();
                        } else if let Some(v) = line.strip_prefix("data:") {
                            data.push_str(v.trim_start());
                        }
                    }
                    if !kind.is_empty() && sender.send((id, kind, serde_json::from_str(&data).unwrap_or(Value::Null))).is_err() {
                        return;
                    }
                }
            }
        });
        Self { events, seen: Vec::new() }
    }

    /// Waits for the next event of `kind`, keeping everything received on the way.
    pub async fn expect(&mut self, kind: &str) -> (i64, Value) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let next = tokio::time::timeout_at(deadline, self.events.recv()).await;
            match next {
                Ok(Some(event)) => {
                    self.seen.push(event.clone());
                    if event.1 == kind {
                        return (event.0, event.2);
                    }
                }
                _ => panic!("no {kind} event arrived; saw {:?}", self.seen.iter().map(|e| &e.1).collect::<Vec<_>>()),
            }
        }
    }
}

/// A local webhook receiver: answers with the queued statuses (then 200) and records each call.
#[derive(Clone, Default)]
pub struct Receiver {
    answers: Arc<Mutex<VecDeque<u16>>>,
    calls: Arc<Mutex<Vec<(HeaderMap, Value, Bytes)>>>,
}

impl Receiver {
    pub async fn start(answers: &[u16]) -> (Self, String) {
        let receiver = Receiver { answers: Arc::new(Mutex::new(answers.iter().copied().collect())), ..Default::default() };
        let app = axum::Router::new().route("/hook", post(receive)).with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    /// From now on, answer 200 to everything.
    pub fn accept_all(&self) {
        self.answers.lock().expect("lock").clear();
    }

    pub fn calls(&self) -> Vec<(HeaderMap, Value, Bytes)> {
        self.calls.lock().expect("lock").clone()
    }
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let parsed = serde_json::from_slice(&body).unwrap_or(Value::Null);
    receiver.calls.lock().expect("lock").push((headers, parsed, body));
    let status = receiver.answers.lock().expect("lock").pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}
