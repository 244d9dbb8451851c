//! What the OpenAPI document forbids, the server refuses (the fuzzer's `negative_data_rejection`
//! found these accepted): ids below 1 in queries and bodies, fractional amounts as JSON numbers,
//! a mail server's security or port without its host; and one check of a request reports a field
//! once. The document itself says what the server checks of text (patterns, lengths).

use serde_json::json;

use crate::harness::{Engine, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_document_forbids_is_refused() {
    let app = TestApp::start(Engine::Sqlite).await;
    let case = app.case("Контракт API").await["id"].as_i64().expect("case id");
    app.get("/api/v1/cases?team=0").await.field("team", "out_of_range");
    app.get("/api/v1/cases?owner=0").await.field("owner", "invalid_value");
    app.post("/api/v1/notifications/read", json!({"ids": [3, 0]})).await.field("ids.1", "out_of_range");

    let grant = |amount: serde_json::Value| json!({"kind": "gift", "amount": amount, "note": "Извинение"});
    let path = format!("/api/v1/cases/{case}/compensations");
    app.post(&path, grant(json!(12.5))).await.field("compensation.amount", "invalid_amount");
    let whole = app.post(&path, grant(json!(500))).await;
    assert_eq!(whole.ok(201)["amount"], "500.00", "a whole number is an amount");
    assert_eq!(app.post(&path, grant(json!("1 500,50"))).await.ok(201)["amount"], "1500.50");

    let mailbox = json!({"name": "Без сервера", "address": "nobody@example.ru", "smtp_security": "AAA", "imap_port": 0});
    let refused = app.post("/api/v1/mailboxes", mailbox).await;
    refused.field("smtp_security", "invalid_choice").field("imap_port", "out_of_range");

    let empty = app.post("/api/v1/mailboxes", json!({})).await;
    let fields: Vec<(&str, &str)> = empty.body["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| (f["field"].as_str().unwrap_or(""), f["code"].as_str().unwrap_or("")))
        .collect();
    let unique: std::collections::HashSet<_> = fields.iter().collect();
    assert!(!fields.is_empty());
    assert_eq!(fields.len(), unique.len(), "each field at fault once: {fields:?}");

    let spec = app.get("/api/v1/openapi.json").await.ok(200).clone();
    let team = &spec["components"]["schemas"]["NewTeam"];
    assert_eq!(team["required"], json!(["name"]), "adding a team needs its name; changing one does not");
    assert!(team["properties"]["name"]["pattern"].as_str().is_some_and(|p| p.contains("\\s")), "a name needs something visible");
    assert_eq!(spec["components"]["schemas"]["FieldInput"]["properties"]["key"]["pattern"], "^[a-z][a-z0-9_]*$");
}
