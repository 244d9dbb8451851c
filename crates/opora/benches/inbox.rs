//! A large desk: loads 1,000,000 cases (2 messages and 2 events each, 333k customers) and times
//! the inbox lists, one case's pages, cold start and idle memory of the release binary.
//!
//! `cargo bench -p opora --bench inbox [-- CASES]` (OPORA_BENCH_ENGINE=postgres for PostgreSQL).
//! The loaded database is kept in the temp folder (or database `opora_bench_inbox…`) for reruns.

mod common;

use std::fmt::Write;
use std::time::{Duration, Instant};

use opora_store::Store;
use opora_store::db::Dialect;

const BATCH: i64 = 20_000;
const ROWS_PER_INSERT: i64 = 500;
const AGENTS: i64 = 20;
const STATUSES: &[(&str, i64)] =
    &[("new", 10), ("open", 15), ("pending_customer", 5), ("pending_internal", 3), ("on_hold", 2), ("solved", 15), ("closed", 50)];
const TEXTS: &[&str] = &[
    "Здравствуйте! Курьер не приехал, заказ ждём с утра, помогите разобраться.",
    "Hello, the invoice for last month shows the wrong amount, please check.",
    "Клинер опоздал на час и не убрал балкон, хотя он был в заказе.",
    "I cannot log in after resetting my password; the code never arrives.",
    "Верните, пожалуйста, деньги за отменённую уборку, прошло уже три дня.",
];

fn status_of(id: i64) -> &'static str {
    let mut slot = id * 7919 % 100;
    for (status, share) in STATUSES {
        if slot < *share {
            return status;
        }
        slot -= share;
    }
    "closed"
}

/// Multi-row INSERTs of generated rows; values are literals made here, never user input.
fn insert(tx: &mut opora_store::Tx<'_>, table: &str, columns: &str, rows: &[String]) -> opora_store::Result<()> {
    for chunk in rows.chunks(ROWS_PER_INSERT as usize) {
        tx.batch(&format!("insert into {table} ({columns}) values {}", chunk.join(",")))?;
    }
    Ok(())
}

async fn load(store: &Store, cases: i64) {
    let started = Instant::now();
    store
        .write(|tx| {
            for n in 0..AGENTS {
                let new = opora_store::agents::NewAgent {
                    email: format!("agent{n}@bench.opora.dev"),
                    name: format!("Агент {n}"),
                    role: opora_domain::agent::Role::Agent,
                    language: opora_domain::agent::Language::Ru,
                    password_hash: None,
                    case_access: Default::default(),
                };
                opora_store::agents::insert(tx, &new)?;
            }
            for name in ["Первая линия", "Претензии", "Биллинг", "Разработка"] {
                opora_store::agents::insert_team(tx, name, &[])?;
            }
            Ok(())
        })
        .await
        .expect("agents");
    let base = opora_domain::Timestamp::now().millis() - cases * 30_000;
    let mut first = 1;
    while first <= cases {
        let last = (first + BATCH - 1).min(cases);
        store
            .write(move |tx| {
                let (mut customers, mut identities, mut rows, mut messages, mut events, mut tags) = (vec![], vec![], vec![], vec![], vec![], vec![]);
                for id in first..=last {
                    let customer = (id + 2) / 3;
                    let at = base + id * 30_000;
                    if id % 3 == 1 {
                        customers.push(format!("({customer}, 'Клиент {customer}', 'клиент {customer} ', {}, {at}, {at})", if customer % 50 == 0 { "true" } else { "false" }));
                        identities.push(format!("({customer}, {customer}, 'email', 'client{customer}@example.ru', {at})"));
                    }
                    let status = status_of(id);
                    let owner = if status == "new" { "null".to_owned() } else { (1 + id % AGENTS).to_string() };
                    let text = TEXTS[(id % TEXTS.len() as i64) as usize];
                    let subject: String = text.chars().take(40).collect();
                    rows.push(format!(
                        "({id}, {}, '{subject}', {customer}, 'question', '{status}', 'normal', 'email', {}, {owner}, '{{}}', {}, 0, {at}, {}, {})",
                        1000 + id, 1 + id % 4, at + 86_400_000, at + 60_000, if status == "solved" || status == "closed" { (at + 60_000).to_string() } else { "null".into() }
                    ));
                    messages.push(format!("({}, {id}, 'inbound', 'email', null, {customer}, '{text}', 'not_applicable', {at})", 2 * id - 1));
                    messages.push(format!("({}, {id}, 'outbound', 'email', {}, null, 'Спасибо, разбираемся и вернёмся с ответом.', 'sent', {})", 2 * id, 1 + id % AGENTS, at + 60_000));
                    events.push(format!("({}, 'case.created', {id}, {customer}, 'customer', {customer}, '{{\"number\": {}}}', {at})", 2 * id - 1 + 10_000, 1000 + id));
                    events.push(format!("({}, 'message.added', {id}, {customer}, 'agent', {}, '{{\"direction\": \"outbound\"}}', {})", 2 * id + 10_000, 1 + id % AGENTS, at + 60_000));
                    if id % 10 == 0 {
                        tags.push(format!("({id}, 'vip')"));
                    }
                }
                insert(tx, "customers", "id, name, search_key, our_client, created_at, updated_at", &customers)?;
                insert(tx, "identities", "id, customer_id, kind, value, created_at", &identities)?;
                insert(tx, "cases", "id, number, subject, customer_id, kind, status, priority, channel_kind, team_id, owner_id, custom_fields, deadline_at, spent_minor, created_at, updated_at, solved_at", &rows)?;
                insert(tx, "messages", "id, case_id, direction, channel_kind, author_agent_id, author_customer_id, body_text, delivery_status, created_at", &messages)?;
                insert(tx, "events", "id, kind, case_id, customer_id, actor_kind, actor_id, data, created_at", &events)?;
                insert(tx, "case_tags", "case_id, tag", &tags)?;
                Ok(())
            })
            .await
            .expect("batch");
        first = last + 1;
        if first % 200_000 == 1 {
            eprintln!("  loaded {} cases in {:.0} s", first - 1, started.elapsed().as_secs_f64());
        }
    }
    store
        .write(|tx| {
            if tx.dialect() == Dialect::Postgres {
                for table in ["cases", "customers", "identities", "messages", "events"] {
                    tx.batch(&format!("select setval(pg_get_serial_sequence('{table}', 'id'), (select max(id) from {table}))"))?;
                }
                tx.batch("select setval('case_number_seq', (select max(number) from cases))")?;
            }
            Ok(())
        })
        .await
        .expect("sequences");
    store.write(|tx| Ok(tx.batch("analyze")?)).await.expect("analyze");
    println!("loaded {cases} cases in {:.1} s", started.elapsed().as_secs_f64());
}

async fn time(client: &reqwest::Client, base: &str, token: &str, name: &str, paths: &[String]) {
    for path in paths.iter().take(20) {
        client.get(format!("{base}{path}")).bearer_auth(token).send().await.expect("warm-up");
    }
    let mut samples = Vec::new();
    for path in paths.iter().cycle().take(300) {
        let started = Instant::now();
        let response = client.get(format!("{base}{path}")).bearer_auth(token).send().await.expect("request");
        assert_eq!(response.status(), 200, "{path}");
        let _ = response.bytes().await;
        samples.push(started.elapsed());
    }
    common::summary(name, samples);
}

/// UI pages, signed in with a session cookie; the server's own time is reported by
/// measured from the client over loopback, so it includes the HTML transfer.
async fn time_pages(client: &reqwest::Client, base: &str, cookie: &str, name: &str, paths: &[String]) {
    let path_of = |p: &String| if p.starts_with("/api/v1/cases/") { p.replacen("/api/v1", "", 1) } else { p.clone() };
    for path in paths.iter().take(10) {
        client.get(format!("{base}{}", path_of(path))).header("cookie", cookie).send().await.expect("warm-up");
    }
    let mut samples = Vec::new();
    for path in paths.iter().cycle().take(200) {
        let started = Instant::now();
        let response = client.get(format!("{base}{}", path_of(path))).header("cookie", cookie).send().await.expect("request");
        assert_eq!(response.status(), 200, "{path}");
        let body = response.text().await.expect("body");
        assert!(body.contains("</html>") || body.contains("<tr"), "{path} rendered");
        samples.push(started.elapsed());
    }
    common::summary(name, samples);
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let cases: i64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    opora::server::install_crypto();
    let db = common::Database::new(Some(&format!("inbox{cases}")));
    let store = db.store().await;
    let existing = store.read(|conn| Ok(conn.int("select count(*) from cases", &[])?)).await.expect("count");
    if existing < cases {
        assert_eq!(existing, 0, "a partly loaded bench database: delete it and run again");
        load(&store, cases).await;
    }
    // agent1 sees only the cases of team 2 (a quarter of them) and their own: access by team.
    store
        .write(|tx| {
            tx.batch("update agents set case_access = 'teams' where email = 'agent1@bench.opora.dev'")?;
            tx.batch("delete from team_members where team_id = 2")?;
            tx.batch("insert into team_members (team_id, agent_id) select 2, id from agents where email = 'agent1@bench.opora.dev'")?;
            Ok(())
        })
        .await
        .expect("a team-limited agent");
    let token = common::admin_token(&store).await;
    let agent_cookie = common::session_cookie(&store, "agent0@bench.opora.dev").await;
    let limited_cookie = common::session_cookie(&store, "agent1@bench.opora.dev").await;
    drop(store);

    let started = Instant::now();
    let server = common::Server::start(&db, &[]).await;
    println!("engine: {}  cases: {cases}", common::engine());
    println!("cold start to serving: {:.0} ms (process start to first 200 from /healthz)", started.elapsed().as_secs_f64() * 1000.0);
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!("idle RSS after start: {:.1} MiB", server.rss_mib());

    let client = reqwest::Client::new();
    let page = |query: &str| vec![format!("/api/v1/cases?limit=50{query}")];
    let base = server.base.as_str();
    time(&client, base, &token, "inbox: all, newest activity", &page("")).await;
    time(&client, base, &token, "inbox: all open", &page("&status=new,open,pending_customer,pending_internal,on_hold")).await;
    let mine: Vec<String> =
        (1..=AGENTS).map(|a| format!("/api/v1/cases?limit=50&owner={a}&status=open,pending_customer,pending_internal,on_hold")).collect();
    time(&client, base, &token, "inbox: an agent's open cases", &mine).await;
    time(&client, base, &token, "inbox: unassigned new", &page("&owner=none&status=new")).await;
    time(&client, base, &token, "inbox: a team's open cases", &page("&team=2&status=open")).await;
    time(&client, base, &token, "inbox: tagged vip", &page("&tag=vip")).await;
    let mut deep = String::new();
    for _ in 0..20 {
        let answer: serde_json::Value = client
            .get(format!("{base}/api/v1/cases?limit=50{deep}"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("page")
            .json()
            .await
            .expect("json");
        deep = format!("&cursor={}", answer["next_cursor"].as_str().expect("cursor"));
    }
    time(&client, base, &token, "inbox: page 21 by cursor", &page(&deep)).await;
    let ids: Vec<i64> = (0..300).map(|n| 1 + (n * 104_729) % cases).collect();
    let paths = |suffix: &str| ids.iter().map(|id| format!("/api/v1/cases/{id}{suffix}")).collect::<Vec<_>>();
    time(&client, base, &token, "case: properties", &paths("")).await;
    time(&client, base, &token, "case: messages", &paths("/messages")).await;
    time(&client, base, &token, "case: timeline", &paths("/events")).await;
    let pages = |path: &str| vec![path.to_owned()];
    time_pages(&client, base, &agent_cookie, "page: inbox, my open cases", &pages("/inbox/mine")).await;
    time_pages(&client, base, &agent_cookie, "page: inbox, all open", &pages("/inbox/open")).await;
    time_pages(&client, base, &agent_cookie, "page: inbox, unassigned", &pages("/inbox/unassigned")).await;
    time_pages(&client, base, &agent_cookie, "page: inbox, overdue", &pages("/inbox/overdue")).await;
    time_pages(&client, base, &agent_cookie, "page: inbox, oldest first", &pages("/inbox/open?sort=oldest")).await;
    time_pages(&client, base, &agent_cookie, "page: inbox, deadline order", &pages("/inbox/open?sort=deadline")).await;
    time_pages(&client, base, &agent_cookie, "page: inbox rows (live refresh)", &pages("/inbox/open?partial=rows")).await;
    time_pages(&client, base, &agent_cookie, "page: case", &paths("")).await;
    time_pages(&client, base, &limited_cookie, "page: inbox, all open (team-limited agent)", &pages("/inbox/open")).await;
    time_pages(&client, base, &limited_cookie, "page: inbox, unassigned (team-limited agent)", &pages("/inbox/unassigned")).await;
    time_pages(&client, base, &limited_cookie, "page: inbox, deadline order (team-limited agent)", &pages("/inbox/open?sort=deadline"))
        .await;
    let team_cases: Vec<String> = ids.iter().map(|id| format!("/api/v1/cases/{}", id - (id - 1).rem_euclid(4))).collect();
    time_pages(&client, base, &limited_cookie, "page: case (team-limited agent)", &team_cases).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    println!("idle RSS after the run: {:.1} MiB", server.rss_mib());
    let mut report = String::new();
    let _ = write!(report, "data folder: {}", db.data_dir.display());
    println!("{report}");
}
