//! Orders through the API: the release binary with a Telegram channel, and the business system's
//! `PUT /api/v1/orders/{external_id}` from 4 connections taking each order through created → on
//! the way → completed. Every stage queues a notification to the customer's chat (sent to a Bot
//! API address that refuses, so the sends are queued and retried, never delivered), the
//! completion a rating request. Then the public rating page: its server time and weight; and a
//! one-question survey to every customer with an order, through the `survey.send` job.
//!
//! `cargo bench -p opora --bench orders [-- ORDERS]` (OPORA_BENCH_ENGINE=postgres for PostgreSQL).

mod common;

use std::time::{Duration, Instant};

use serde_json::json;

const CONNECTIONS: usize = 4;
const STAGES: [&str; 3] = ["created", "on_the_way", "completed"];

async fn pusher(base: String, token: String, orders: Vec<usize>) -> Vec<Duration> {
    let client = reqwest::Client::new();
    let mut latencies = Vec::with_capacity(orders.len() * STAGES.len());
    for stage in STAGES {
        for n in &orders {
            let body = match stage {
                "created" => {
                    json!({"stage": stage, "customer": {"identities": [{"kind": "telegram", "value": format!("{}", 500_000 + n)}], "name": "Клиент"},
                    "performer": {"external_id": format!("p-{}", n % 50), "name": "Исполнитель"}, "amount": {"amount": "4500"},
                    "description": "Генеральная уборка, 2 комнаты"})
                }
                _ => json!({"stage": stage, "eta": "2030-01-01T12:00:00Z"}),
            };
            let started = Instant::now();
            let response = client.put(format!("{base}/api/v1/orders/CL-{n}")).bearer_auth(&token).json(&body).send().await.expect("sent");
            assert!(response.status().is_success(), "{}", response.text().await.unwrap_or_default());
            latencies.push(started.elapsed());
        }
    }
    latencies
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let count: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(2000);
    opora::server::install_crypto();
    let db = common::Database::new(None);
    // The refused sends would fill the log with their retries.
    let server = common::Server::start(&db, &[("OPORA_WEBHOOKS_ALLOW_INTERNAL", "true"), ("OPORA_LOG", "error")]).await;
    let store = db.store().await;
    let token = common::admin_token(&store).await;
    let client = reqwest::Client::new();
    let settings =
        json!({"bot_token": "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "api_base_url": "http://127.0.0.1:9", "mode": "webhook"});
    let created = client
        .post(format!("{}/api/v1/channels", server.base))
        .bearer_auth(&token)
        .json(&json!({"kind": "telegram", "name": "Бот", "settings": settings}))
        .send()
        .await
        .expect("channel");
    assert_eq!(created.status(), 201);

    let mut shares = vec![Vec::new(); CONNECTIONS];
    for n in 0..count {
        shares[n % CONNECTIONS].push(n);
    }
    println!("engine: {}  orders: {count}  ({} stages each, {CONNECTIONS} connections)", common::engine(), STAGES.len());
    let started = Instant::now();
    let tasks: Vec<_> = shares.into_iter().map(|share| tokio::spawn(pusher(server.base.clone(), token.clone(), share))).collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("pusher"));
    }
    let elapsed = started.elapsed();
    common::summary("per PUT (stage told, notification queued)", latencies);
    let (messages, ratings) = store
        .read(|conn| {
            Ok((
                conn.int("select count(*) from messages where direction = 'outbound'", &[])?,
                conn.int("select count(*) from ratings", &[])?,
            ))
        })
        .await
        .expect("counts");
    println!(
        "{:.0} orders/s through three stages ({:.0} PUTs/s, {:.2} s); {messages} notifications queued, {ratings} rating requests; server RSS {:.1} MiB",
        count as f64 / elapsed.as_secs_f64(),
        (count * STAGES.len()) as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        server.rss_mib()
    );
    assert_eq!(messages as usize, count * STAGES.len(), "one notification per stage");

    // The rating page a customer opens from the completion message.
    let tokens: Vec<String> = store
        .read(|conn| Ok(conn.all("select token from ratings order by id limit 200", &[], |r| r.get::<String>(0))?))
        .await
        .expect("tokens");
    let mut page_times = Vec::new();
    let mut weight = 0;
    for token in &tokens {
        let started = Instant::now();
        let body = client.get(format!("{}/rate/{token}", server.base)).send().await.expect("page").text().await.expect("body");
        page_times.push(started.elapsed());
        weight = body.len();
    }
    common::summary("GET /rate/{token} (server and loopback)", page_times);
    let css = client.get(format!("{}/static/public.css", server.base)).send().await.expect("css").bytes().await.expect("css").len();
    println!("rating page weight: {weight} B of HTML and {css} B of CSS (cached for a year); no script, no images, no fonts");

    // A survey to every customer with an order: each invitation is a record case and a message
    // with two buttons, 100 to a transaction.
    let survey = json!({"title": "Удобство", "audience": {"kind": "ordered", "days": 30},
        "questions": [{"text": "Удобно ли заказывать в Telegram?", "options": ["Да", "Нет"]}]});
    let started = Instant::now();
    let created = client.post(format!("{}/api/v1/surveys", server.base)).bearer_auth(&token).json(&survey).send().await.expect("survey");
    assert_eq!(created.status(), 201);
    let path = format!("{}/api/v1/surveys/{}", server.base, created.json::<serde_json::Value>().await.expect("survey")["id"]);
    let invited = loop {
        let shown: serde_json::Value = client.get(&path).bearer_auth(&token).send().await.expect("shown").json().await.expect("json");
        if shown["status"] == "sent" {
            break shown["invited"].as_i64().unwrap_or(0);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let elapsed = started.elapsed();
    println!(
        "survey to {invited} customers sent in {:.2} s: {:.0} invitations/s (a record case and a queued message each)",
        elapsed.as_secs_f64(),
        invited as f64 / elapsed.as_secs_f64()
    );
}
