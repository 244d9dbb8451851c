//! Secrets at rest: what an admin typed (mailbox passwords) and what Opora made (signing
//! secrets) are sealed in the database, and the files holding data are the service's alone.

use std::os::unix::fs::PermissionsExt;

use opora_store::db::sqlite::SqliteConn;
use serde_json::json;

use crate::api_channel::{Integration, message};
use crate::harness::{Engine, TestApp};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_secrets_are_sealed_and_data_files_private() {
    let app = TestApp::start(Engine::Sqlite).await;
    let mailbox = json!({"name": "sales", "address": "sales@opora.test", "imap_host": "imap.example.ru", "imap_user": "sales",
                         "imap_password": "imap-password-42"});
    app.post("/api/v1/mailboxes", mailbox).await.ok(201);
    let channel = Integration::create(&app, None).await;
    let hook = app.post("/api/v1/webhooks", json!({"url": "http://127.0.0.1:9/hook", "events": ["*"]})).await.ok(201).clone();
    let hook_secret = hook["secret"].as_str().expect("the webhook's secret, shown once").to_owned();

    let data = app.config.data_dir.clone();
    let mut raw = SqliteConn::open(&data.join("opora.db"), true).expect("open");
    let raw: &mut dyn opora_store::db::Conn = &mut raw;
    let settings: Vec<String> = raw.all("select settings from channels", &[], |r| r.get(0)).expect("settings");
    let secrets: Vec<String> = raw.all("select secret from webhooks", &[], |r| r.get(0)).expect("secrets");
    for stored in settings.iter().chain(&secrets) {
        assert!(stored.starts_with("sealed:v1:"), "sealed: {stored}");
    }
    let everything = format!("{settings:?}{secrets:?}");
    for secret in ["imap-password-42", channel.secret.trim_start_matches("whsec_"), hook_secret.trim_start_matches("whsec_")] {
        assert!(!everything.contains(secret), "{secret} is not readable in the database");
    }
    // Sealed, yet in use: the integration's signed message is still verified with its secret.
    channel.push(&app, &message("sealed-1", "crm-1", "Проверка")).await.ok(201);

    for file in ["opora.db", "opora.db-wal", "secret.key"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file} is readable by the service's user only");
    }
}
