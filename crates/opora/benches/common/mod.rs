//! Shared parts of the benchmarks: a database of the engine asked for, the real `opora` binary
//! started on it, an admin token, percentiles and the server's memory.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use opora_domain::agent::{Language, Role};
use opora_store::agents::{self, NewAgent};
use opora_store::{Store, StoreConfig};

pub struct Database {
    pub url: String,
    pub data_dir: PathBuf,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

pub fn engine() -> String {
    std::env::var("OPORA_BENCH_ENGINE").unwrap_or_else(|_| "sqlite".into())
}

fn admin_url() -> String {
    std::env::var("OPORA_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl Database {
    /// A fresh database; `keep` names a folder (SQLite) or database (PostgreSQL) that is reused
    /// between runs when it already holds data.
    pub fn new(keep: Option<&str>) -> Database {
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = match keep {
            Some(name) => std::env::temp_dir().join(format!("opora-bench-{name}")),
            None => dir.path().to_owned(),
        };
        if engine() == "postgres" {
            let name = format!("opora_bench_{}", keep.unwrap_or("tmp"));
            let (admin, statement) = (admin_url(), format!("create database {name}"));
            let fresh = keep.is_none();
            let target = name.clone();
            std::thread::spawn(move || {
                let name = target;
                let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("PostgreSQL");
                if fresh {
                    let _ = client.batch_execute(&format!("drop database if exists {name} with (force)"));
                }
                let _ = client.batch_execute(&statement);
            })
            .join()
            .expect("create database");
            let base = admin_url();
            let url = format!("{}/{name}", &base[..base.rfind('/').expect("slash")]);
            Database { url, data_dir, pg_name: keep.is_none().then_some(name), _dir: Some(dir) }
        } else {
            Database { url: "sqlite://opora.db".into(), data_dir, pg_name: None, _dir: Some(dir) }
        }
    }

    pub async fn store(&self) -> Store {
        Store::open(&StoreConfig { url: self.url.clone(), data_dir: self.data_dir.clone(), pool_size: 4, secret_key: None })
            .await
            .expect("open")
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            let admin = admin_url();
            let _ = std::thread::spawn(move || {
                if let Ok(mut client) = postgres::Client::connect(&admin, postgres::NoTls) {
                    let _ = client.batch_execute(&format!("drop database if exists {name} with (force)"));
                }
            })
            .join();
        }
    }
}

/// An admin and a token (reusing the admin when the database already has one).
pub async fn admin_token(store: &Store) -> String {
    store
        .write(|tx| {
            let agent = match agents::by_email(&mut **tx, "bench@opora.dev")? {
                Some((agent, _)) => agent,
                None => agents::insert(
                    tx,
                    &NewAgent {
                        email: "bench@opora.dev".into(),
                        name: "Bench".into(),
                        role: Role::Admin,
                        language: Language::Ru,
                        password_hash: None,
                        case_access: Default::default(),
                    },
                )?,
            };
            Ok(opora_store::auth::create_token(tx, agent.id, "bench", None, None)?.1)
        })
        .await
        .expect("token")
}

/// A signed-in UI session for the agent with this e-mail: the cookie header to send.
pub async fn session_cookie(store: &Store, email: &str) -> String {
    let email = email.to_owned();
    let secret = store
        .write(move |tx| {
            let (agent, _) = agents::by_email(&mut **tx, &email)?.ok_or(opora_domain::DomainError::NotFound("agent"))?;
            Ok(opora_store::auth::create_session(tx, agent.id, 3_600_000)?.0)
        })
        .await
        .expect("session");
    format!("opora_session={secret}")
}

pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    pub async fn start(db: &Database, extra: &[(&str, &str)]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_opora"));
        command
            .arg("serve")
            .env("OPORA_LISTEN", format!("127.0.0.1:{port}"))
            .env("OPORA_DATABASE_URL", &db.url)
            .env("OPORA_DATA_DIR", &db.data_dir)
            .env("OPORA_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (key, value) in extra {
            command.env(key, value);
        }
        // Held by the guard at once, so the process is reaped on every path, panics included.
        let server = Server { child: command.spawn().expect("start opora"), base: format!("http://127.0.0.1:{port}") };
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if client.get(format!("{}/healthz", server.base)).send().await.is_ok_and(|r| r.status() == 200) {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not start");
    }

    /// Resident memory of the server process, in MiB.
    pub fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        kib / 1024.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// p-th percentile (0–100) of sorted durations, in milliseconds.
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

pub fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name:<44} n={:<6} p50={:>7.2} ms  p95={:>7.2} ms  p99={:>7.2} ms  max={:>7.2} ms",
        samples.len(),
        percentile(&samples, 50.0),
        percentile(&samples, 95.0),
        percentile(&samples, 99.0),
        percentile(&samples, 100.0)
    );
}
