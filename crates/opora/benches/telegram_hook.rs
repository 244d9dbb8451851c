//! Telegram webhook throughput: the release binary with a Telegram channel in webhook mode, and
//! updates posted to `/hooks/telegram/{id}` with the secret token from 4 connections, as
//! Telegram's servers push them. Each chat writes several messages in order, so filing finds the
//! ongoing case. Prints per-request latency and updates per second stored and filed into cases.
//!
//! `cargo bench -p opora --bench telegram_hook [-- UPDATES]` (OPORA_BENCH_ENGINE=postgres for
//! PostgreSQL).

mod common;

use std::time::{Duration, Instant};

use opora_domain::ChannelId;
use opora_domain::channel::ChannelKind;
use opora_store::{channels, payloads};
use serde_json::json;

const SENDERS: usize = 4;
/// Messages per chat: one new case, the rest join it.
const PER_CHAT: usize = 5;

fn update(id: usize, chat: usize, message: usize) -> String {
    let chat = 100_000 + chat as i64;
    json!({"update_id": id, "message": {"message_id": message, "date": 1_763_823_845,
        "from": {"id": chat, "is_bot": false, "first_name": "Клиент", "last_name": format!("№{chat}"), "language_code": "ru"},
        "chat": {"id": chat, "type": "private"}, "text": format!("Сообщение {message}: курьер опаздывает, заказ {chat}")}})
    .to_string()
}

async fn sender(url: String, secret: String, bodies: Vec<String>) -> Vec<Duration> {
    let client = reqwest::Client::new();
    let mut latencies = Vec::with_capacity(bodies.len());
    for body in bodies {
        let started = Instant::now();
        let response = client
            .post(&url)
            .header("content-type", "application/json")
            .header("x-telegram-bot-api-secret-token", &secret)
            .body(body)
            .send()
            .await
            .expect("posted");
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap_or_default());
        latencies.push(started.elapsed());
    }
    latencies
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let count: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(5000);
    opora::server::install_crypto();
    let db = common::Database::new(None);
    let server = common::Server::start(&db, &[("OPORA_WEBHOOKS_ALLOW_INTERNAL", "true")]).await;
    let store = db.store().await;
    let token = common::admin_token(&store).await;
    let client = reqwest::Client::new();
    // The Bot API address answers nothing: setWebhook fails there, which the figures ignore.
    let settings =
        json!({"bot_token": "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "api_base_url": "http://127.0.0.1:9", "mode": "webhook"});
    let created: serde_json::Value = client
        .post(format!("{}/api/v1/channels", server.base))
        .bearer_auth(&token)
        .json(&json!({"kind": "telegram", "name": "Бот", "settings": settings}))
        .send()
        .await
        .expect("channel")
        .json()
        .await
        .expect("json");
    let id = ChannelId(created["id"].as_i64().expect("id"));
    let channel = store.read(move |conn| channels::get(conn, id)).await.expect("channel");
    let secret = channel.settings["webhook_secret"].as_str().expect("secret").to_owned();
    let url = format!("{}/hooks/telegram/{id}", server.base);

    // Chats are dealt to senders whole, so each chat's messages arrive in order.
    let mut shares = vec![Vec::new(); SENDERS];
    for n in 0..count {
        let (chat, message) = (n / PER_CHAT, n % PER_CHAT + 1);
        shares[chat % SENDERS].push(update(n + 1, chat, message));
    }
    println!("engine: {}  updates: {count}  ({} chats, {SENDERS} connections)", common::engine(), count.div_ceil(PER_CHAT));
    let started = Instant::now();
    let tasks: Vec<_> = shares.into_iter().map(|share| tokio::spawn(sender(url.clone(), secret.clone(), share))).collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("sender"));
    }
    let answered = started.elapsed();
    loop {
        let counts = store.read(|conn| payloads::counts(conn, ChannelKind::Telegram)).await.expect("counts");
        let done: i64 = counts.iter().filter(|(s, _)| s.as_str() != "received").map(|(_, n)| n).sum();
        if done >= count as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let total = started.elapsed();
    common::summary("per update (posted → answered)", latencies);
    let cases = store.read(|conn| Ok(conn.int("select count(*) from cases", &[])?)).await.expect("cases");
    println!(
        "answered {:.0} updates/s ({:.2} s); stored and filed into cases {:.0} updates/s ({:.2} s); {cases} cases; server RSS {:.1} MiB",
        count as f64 / answered.as_secs_f64(),
        answered.as_secs_f64(),
        count as f64 / total.as_secs_f64(),
        total.as_secs_f64(),
        server.rss_mib()
    );
    assert_eq!(cases as usize, count.div_ceil(PER_CHAT), "one case per chat");
}
