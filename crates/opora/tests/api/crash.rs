//! A killed server loses nothing it acknowledged: the real `opora` binary is SIGKILLed while 16
//! clients create cases; after a restart every acknowledged case is there with its message, and
//! every webhook job queued for it is delivered exactly once.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opora_domain::agent::{Language, Role};
use opora_store::agents::{self, NewAgent};
use serde_json::{Value, json};

use crate::harness::{Engine, PgDatabase, answer, eventually, test_config};
use crate::servers::free_port;

/// The real `opora serve` as a child process, to be killed.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    /// Starts the binary; `settings` are extra `OPORA_*` variables.
    pub async fn start(database_url: &str, data_dir: &std::path::Path, settings: &[(&str, String)]) -> Server {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_opora"))
            .arg("serve")
            .envs(settings.iter().map(|(k, v)| (*k, v.as_str())))
            .env("OPORA_LISTEN", format!("127.0.0.1:{port}"))
            .env("OPORA_DATABASE_URL", database_url)
            .env("OPORA_DATA_DIR", data_dir)
            .env("OPORA_LOG", "warn")
            .env("OPORA_WEBHOOKS_ALLOW_INTERNAL", "true")
            .env("OPORA_WORKERS_POLL_INTERVAL_MS", "50")
            .env("OPORA_WORKERS_RETRY_BASE_MS", "300")
            .env("OPORA_WORKERS_RETRY_CAP_MS", "600")
            .env("OPORA_WORKERS_LEASE_MS", "1000")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start opora");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        eventually("the server to answer", || {
            let (client, url) = (client.clone(), format!("{base}/healthz"));
            async move { client.get(url).send().await.ok().filter(|r| r.status() == 200) }
        })
        .await;
        Server { child, base }
    }

    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Seen = Arc<Mutex<HashMap<i64, usize>>>;

async fn record(State(seen): State<Seen>, body: Bytes) -> &'static str {
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    if let Some(event) = body["data"]["id"].as_i64() {
        *seen.lock().expect("lock").entry(event).or_default() += 1;
    }
    "ok"
}

/// An admin token in a fresh database, made before the server starts.
pub async fn seed_token(config: &opora::config::Config) -> String {
    let store = opora::server::open_store(config).await.expect("store");
    store
        .write(|tx| {
            let agent = agents::insert(
                tx,
                &NewAgent {
                    email: "crash@test.opora.dev".into(),
                    name: "Crash".into(),
                    role: Role::Admin,
                    language: Language::En,
                    password_hash: None,
                    case_access: Default::default(),
                },
            )?;
            Ok(opora_store::auth::create_token(tx, agent.id, "crash", None, None)?.1)
        })
        .await
        .expect("seed")
}

async fn killed_mid_load_loses_nothing(engine: Engine) {
    opora::server::install_crypto();
    let dir = tempfile::tempdir().expect("temp dir");
    let database = (engine == Engine::Postgres).then(PgDatabase::create);
    let config = test_config(engine, &dir, database.as_ref());
    let token = seed_token(&config).await;
    let url = config.database_url.clone();
    let hook_port = free_port();
    let server = Server::start(&url, &config.data_dir, &[]).await;
    let client = reqwest::Client::new();
    let hook = client
        .post(format!("{}/api/v1/webhooks", server.base))
        .bearer_auth(&token)
        .json(&json!({"url": format!("http://127.0.0.1:{hook_port}/hook"), "events": ["case.created"]}))
        .send()
        .await
        .expect("sent");
    answer(hook).await.ok(201);

    let acknowledged = Arc::new(Mutex::new(Vec::<i64>::new()));
    let mut clients = Vec::new();
    for worker in 0..16 {
        let (client, base, token, acknowledged) = (client.clone(), server.base.clone(), token.clone(), acknowledged.clone());
        clients.push(tokio::spawn(async move {
            for n in 0.. {
                let body = json!({"subject": format!("Нагрузка {worker}-{n}"), "customer": {"email": format!("load{worker}@example.ru")}, "message": {"body_text": "Текст"}});
                let Ok(response) = client.post(format!("{base}/api/v1/cases")).bearer_auth(&token).json(&body).send().await else { return };
                if response.status() != 201 {
                    return;
                }
                let Ok(case) = response.json::<Value>().await else { return };
                acknowledged.lock().expect("lock").push(case["id"].as_i64().expect("id"));
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill();
    for client in clients {
        let _ = client.await;
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(acknowledged.len() > 20, "the load created cases before the kill: {}", acknowledged.len());

    let seen: Seen = Arc::default();
    let receiver = axum::Router::new().route("/hook", post(record)).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", hook_port)).await.expect("bind the receiver");
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    let server = Server::start(&url, &config.data_dir, &[]).await;
    for id in &acknowledged {
        let case = answer(client.get(format!("{}/api/v1/cases/{id}", server.base)).bearer_auth(&token).send().await.expect("sent")).await;
        assert_eq!(case.status, 200, "acknowledged case {id} survived the kill");
        let messages =
            answer(client.get(format!("{}/api/v1/cases/{id}/messages", server.base)).bearer_auth(&token).send().await.expect("sent")).await;
        assert_eq!(messages.ok(200).as_array().map(Vec::len), Some(1), "case {id} kept its message");
    }
    let mut stored: Vec<i64> = Vec::new();
    let mut cursor = String::new();
    loop {
        let page =
            answer(client.get(format!("{}/api/v1/cases?limit=200{cursor}", server.base)).bearer_auth(&token).send().await.expect("sent"))
                .await;
        stored.extend(page.ok(200)["items"].as_array().expect("items").iter().filter_map(|c| c["id"].as_i64()));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert!(stored.len() >= acknowledged.len(), "at least every acknowledged case is stored");
    let delivered = eventually("every queued webhook to be delivered", || {
        let seen = seen.clone();
        let expected = stored.len();
        async move { Some(seen.lock().expect("lock").clone()).filter(|s| s.len() >= expected) }
    })
    .await;
    assert!(delivered.values().all(|count| *count == 1), "each event delivered exactly once: {delivered:?}");
    assert_eq!(delivered.len(), stored.len(), "one delivery per stored case");
    server.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_server_loses_nothing_sqlite() {
    killed_mid_load_loses_nothing(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_server_loses_nothing_postgres() {
    killed_mid_load_loses_nothing(Engine::Postgres).await;
}
