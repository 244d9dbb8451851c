//! Case creation through the API: 16 concurrent clients (throughput, p50/p99) and one client
//! (p50), against the release binary on SQLite or, with OPORA_BENCH_ENGINE=postgres, PostgreSQL.
//!
//! `cargo bench -p opora --bench create_cases [-- REQUESTS]`

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

const SUBJECTS: &[&str] =
    &["Не приехал курьер", "Invoice is wrong", "Клинер опоздал", "Cannot log in", "Вернуть деньги за заказ", "Change my plan"];

async fn create(client: &reqwest::Client, base: &str, token: &str, i: usize) -> Duration {
    let body = json!({"subject": format!("{} #{i}", SUBJECTS[i % SUBJECTS.len()]), "customer": {"email": format!("client{}@example.ru", i % 5000), "name": "Клиент"},
                      "message": {"body_text": "Здравствуйте! Заказ не привезли, жду с утра. Помогите, пожалуйста."}, "priority": "normal"});
    let started = Instant::now();
    let response = client.post(format!("{base}/api/v1/cases")).bearer_auth(token).json(&body).send().await.expect("request");
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap_or_default());
    let _ = response.bytes().await;
    started.elapsed()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let requests: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(20_000);
    opora::server::install_crypto();
    let db = common::Database::new(None);
    let token = common::admin_token(&db.store().await).await;
    let server = common::Server::start(&db, &[]).await;
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().expect("client");
    println!("engine: {}  requests: {requests}", common::engine());

    for i in 0..500 {
        create(&client, &server.base, &token, i).await;
    }
    let mut single = Vec::new();
    for i in 0..2000 {
        single.push(create(&client, &server.base, &token, 1_000_000 + i).await);
    }
    common::summary("1 client", single);

    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (client, base, token, next) = (client.clone(), server.base.clone(), token.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    return samples;
                }
                samples.push(create(&client, &base, &token, 2_000_000 + i).await);
            }
        }));
    }
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await.expect("client"));
    }
    let elapsed = started.elapsed();
    common::summary("16 clients", samples);
    println!("16 clients: {:.0} cases/s over {:.1} s", requests as f64 / elapsed.as_secs_f64(), elapsed.as_secs_f64());
    println!("server RSS after the run: {:.1} MiB", server.rss_mib());
}
