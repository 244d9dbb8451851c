//! The `opora` command line, run as the real binary: agents, tokens, backups, configuration
//! checks and the demo data.

use std::process::Command;

use serde_json::Value;

use crate::harness::{Engine, TestApp, answer};

fn opora(data_dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_opora"))
        .args(args)
        .env("OPORA_DATA_DIR", data_dir)
        .env("OPORA_LOG", "warn")
        .env_remove("OPORA_DATABASE_URL")
        .output()
        .expect("run opora");
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_tokens_and_backups_from_the_command_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path();
    let (ok, password, _) = opora(data, &["agent", "add", "--email", "Lead@Example.ru", "--name", "Руководитель", "--role", "supervisor"]);
    assert!(ok);
    let password = password.trim().to_owned();
    assert!(password.len() >= 16, "a generated password is printed: {password:?}");
    let (ok, _, error) = opora(data, &["agent", "add", "--email", "lead@example.ru", "--name", "Again"]);
    assert!(!ok && error.contains("already exists"), "{error}");
    let (ok, _, error) = opora(data, &["agent", "add", "--email", "x@example.ru", "--name", "X", "--role", "boss"]);
    assert!(!ok && error.contains("--role"), "{error}");
    let (ok, token, _) = opora(data, &["token", "create", "--agent", "lead@example.ru", "--name", "CRM"]);
    assert!(ok);
    let token = token.trim().to_owned();
    assert!(token.starts_with("opora_"));
    let (ok, _, error) = opora(data, &["token", "create", "--agent", "nobody@example.ru", "--name", "CRM"]);
    assert!(!ok && error.contains("no agent"), "{error}");

    let app = TestApp::start_with(Engine::Sqlite, |config| config.data_dir = data.to_owned()).await;
    let me = app.get_as(&token, "/api/v1/me").await;
    assert_eq!(me.ok(200)["role"], "supervisor", "the printed token works");
    let login = app
        .client
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&serde_json::json!({"email": "lead@example.ru", "password": password}))
        .send()
        .await
        .expect("sent");
    answer(login).await.ok(200);
    app.case("Для резервной копии").await;

    let (ok, path, error) = opora(data, &["backup"]);
    assert!(ok, "{error}");
    let backup = std::path::PathBuf::from(path.trim());
    assert!(backup.starts_with(data.join("backups")) && backup.exists(), "{path}");
    let restored = tempfile::tempdir().expect("temp dir");
    std::fs::copy(&backup, restored.path().join("opora.db")).expect("copy");
    // Without its key the copy's stored secrets cannot be opened: it says so, and starts.
    let (ok, _, error) = opora(restored.path(), &["migrate"]);
    assert!(ok && error.contains("not configured"), "{error}");
    std::fs::remove_file(restored.path().join("secret.key")).expect("the key made by that attempt");
    std::fs::copy(data.join("secret.key"), restored.path().join("secret.key")).expect("the key goes with the backup");
    let copy = TestApp::start_with(Engine::Sqlite, |config| config.data_dir = restored.path().to_owned()).await;
    let cases = copy.get_as(&token, "/api/v1/cases").await;
    assert_eq!(cases.ok(200)["items"][0]["subject"], "Для резервной копии", "the backup holds the data taken while the server ran");
    let (ok, _, error) = opora(data, &["backup", "--to", backup.to_str().expect("path")]);
    assert!(!ok && error.contains("already exists"), "{error}");

    // A new key: every stored secret is sealed anew, the old key is kept for older backups.
    let before = std::fs::read_to_string(data.join("secret.key")).expect("key");
    drop(copy);
    drop(app);
    let (ok, out, error) = opora(data, &["secrets", "rotate"]);
    assert!(ok, "{error}");
    assert!(out.contains("secret.key.retired"), "{out}");
    let after = std::fs::read_to_string(data.join("secret.key")).expect("key");
    assert_ne!(before.trim(), after.trim());
    assert_eq!(std::fs::read_to_string(data.join("secret.key.retired")).expect("retired").trim(), before.trim());
    let app = TestApp::start_with(Engine::Sqlite, |config| config.data_dir = data.to_owned()).await;
    assert_eq!(app.get("/api/v1/mailboxes").await.ok(200).as_array().map(Vec::len), Some(1), "secrets open with the new key");
}

#[test]
fn configuration_is_checked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ok, out, _) = opora(dir.path(), &["check-config"]);
    assert!(ok && out.contains("listen = \"127.0.0.1:8080\"") && out.contains("configuration is valid"), "{out}");
    let output = Command::new(env!("CARGO_BIN_EXE_opora"))
        .args(["check-config"])
        .env("OPORA_DATABASE_URL", "mysql://root@db/opora")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("mysql"));
    let output =
        Command::new(env!("CARGO_BIN_EXE_opora")).args(["check-config"]).env("OPORA_SLA_URGENT_HOURS", "soon").output().expect("run");
    assert!(String::from_utf8_lossy(&output.stderr).contains("OPORA_SLA_URGENT_HOURS"));
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../opora.example.toml");
    let (ok, out, error) = opora(dir.path(), &["--config", example.to_str().expect("path"), "check-config"]);
    assert!(ok, "the annotated example config is valid: {error}");
    assert!(out.contains("configuration is valid"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_has_cases_in_every_state() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ok, out, error) = opora(dir.path(), &["demo"]);
    assert!(ok, "{error}");
    assert!(out.contains("admin@demo.opora.dev"));
    let (ok, _, error) = opora(dir.path(), &["demo"]);
    assert!(!ok && error.contains("--force"), "{error}");
    let app = TestApp::start_with(Engine::Sqlite, |config| config.data_dir = dir.path().to_owned()).await;
    let login = app
        .client
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&serde_json::json!({"email": "admin@demo.opora.dev", "password": opora_app::demo::PASSWORD}))
        .send()
        .await
        .expect("sent");
    answer(login).await.ok(200);
    let token =
        app.post("/api/v1/tokens", serde_json::json!({"name": "demo check"})).await.ok(201)["token"].as_str().expect("token").to_owned();
    let cases = app.get_as(&token, "/api/v1/cases?limit=200").await.ok(200).clone();
    let items = cases["items"].as_array().expect("items");
    for status in ["new", "open", "pending_customer", "pending_internal", "on_hold", "solved", "closed"] {
        assert!(items.iter().any(|c| c["status"] == status), "the demo has a {status} case");
    }
    let subjects: Vec<&str> = items.iter().filter_map(|c| c["subject"].as_str()).collect();
    assert!(
        subjects.iter().any(|s| s.chars().any(|c| ('а'..='я').contains(&c))) && subjects.iter().any(|s| s.starts_with("Invoice")),
        "Russian and English cases"
    );
    let timeline = app
        .get_as(&token, &format!("/api/v1/cases/{}/events", items.iter().find(|c| c["status"] == "on_hold").expect("on hold")["id"]))
        .await
        .ok(200)
        .clone();
    assert!(timeline.as_array().expect("events").iter().any(|e: &Value| e["kind"] == "case.owner_transferred"), "a hand-over in the demo");
    // The chat on a stand-in of the team's site, allowed for this instance's address.
    let site = app.client.get(format!("{}/demo/site", app.base)).send().await.expect("sent");
    assert_eq!(site.status(), 200);
    let page = site.text().await.expect("text");
    assert!(page.contains("/widget.js\" data-channel=\""), "the demo site carries the chat: {page}");
    let agents = app.get_as(&token, "/api/v1/agents").await.ok(200).as_array().map(Vec::len);
    assert_eq!(agents, Some(8));

    // The demo's mail is filed by the running server like any delivered mail.
    let mail = crate::harness::eventually("the demo mail to be filed", || async {
        let page = app.get_as(&token, "/api/v1/mail/messages").await.ok(200).clone();
        let items = page["items"].as_array().cloned().unwrap_or_default();
        items.iter().all(|m| m["status"] != "received").then_some(items)
    })
    .await;
    let statuses: Vec<&str> = mail.iter().rev().filter_map(|m| m["status"].as_str()).collect();
    assert_eq!(statuses, ["processed", "processed", "processed", "processed", "quarantined"]);
    let complaint = mail.last().expect("the first message")["case_id"].as_i64().expect("filed");
    assert_eq!(mail[mail.len() - 2]["case_id"].as_i64(), Some(complaint), "the reply-all joins the complaint");
    let case = app.get_as(&token, &format!("/api/v1/cases/{complaint}")).await.ok(200).clone();
    assert_eq!(case["subject"], "Пятна на диване после уборки", "KOI8-R decoded");
    assert_eq!(case["customer"]["name"], "Вера Орлова");
    let thread = app.get_as(&token, &format!("/api/v1/cases/{complaint}/messages")).await.ok(200).clone();
    let file = thread
        .as_array()
        .and_then(|all| all.iter().find_map(|m| m["attachments"].as_array()?.first().cloned()))
        .expect("the reply's attachment");
    assert_eq!(file["filename"], "протокол.txt", "an RFC 2231 name");
    let download =
        app.client.get(format!("{}{}", app.base, file["url"].as_str().expect("url"))).bearer_auth(&token).send().await.expect("sent");
    assert_eq!(download.headers()["content-type"], "text/plain; charset=utf-8", "UTF-8 text says so");
    assert_eq!(download.text().await.expect("text"), "Диван в гостиной, три пятна.");
}
