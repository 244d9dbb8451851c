//! Replies no longer fan out to everyone who was ever copied: a conversation holds a limited
//! number of people, the agent sees their addresses, takes people out and picks a reply's
//! copies, and a reply to many people waits for the agent's confirmation.

use serde_json::json;

use crate::harness::{Engine, answer};
use crate::mail::{case_of, deliver, letter};
use crate::mail_servers::{sent, smtp_app_with};
use crate::servers::{SinkTls, SmtpSink};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_go_to_whom_the_agent_chose_and_many_need_confirming() {
    let sink = SmtpSink::start(SinkTls::Implicit);
    let app = smtp_app_with(Engine::Sqlite, &sink, "tls", |config| {
        config.conversations.max_participants = 5;
        config.conversations.confirm_recipients_over = 4;
    })
    .await;
    let mut first = letter("Иван <ivan@example.ru>", "Общий вопрос", "fan1@example.ru");
    first.cc = (1..=8).map(|i| format!("Коллега {i} <c{i}@example.ru>")).collect();
    let case = case_of(&deliver(&app, &first).await);
    let acknowledged = sent(&app, &sink, 1).await;
    assert!(acknowledged[0].1.cc.is_empty(), "the acknowledgement goes to the sender alone");

    let people = app.get(&format!("/api/v1/cases/{case}/participants")).await.ok(200).as_array().cloned().expect("a list");
    assert_eq!(people.len(), 5, "the conversation holds at most five: {people:?}");
    let address = |p: &serde_json::Value| p["customer"]["identities"][0]["value"].as_str().expect("an address").to_owned();
    assert_eq!(address(&people[0]), "c1@example.ru", "each shown with the address, not only the name the sender chose");
    let id = |p: &serde_json::Value| p["customer"]["id"].as_i64().expect("id");

    // One copy, chosen.
    let reply = json!({"body_text": "Отвечаю только Коллеге 1", "copies": [id(&people[0])]});
    app.post(&format!("/api/v1/cases/{case}/messages"), reply).await.ok(201);
    let mails = sent(&app, &sink, 2).await;
    let copied: Vec<&str> = mails[1].1.cc.iter().map(|p| p.address.as_str()).collect();
    assert_eq!(copied, ["c1@example.ru"]);

    // Someone taken out gets nothing more; a stranger cannot be copied.
    assert_eq!(app.delete(&format!("/api/v1/cases/{case}/participants/{}", id(&people[1]))).await.status, 204);
    app.delete(&format!("/api/v1/cases/{case}/participants/{}", id(&people[1]))).await.problem(404, "customer_not_found");
    app.post(&format!("/api/v1/cases/{case}/messages"), json!({"body_text": "x", "copies": [999_999]}))
        .await
        .field("copies.0", "not_a_participant");

    // Five recipients (the customer and four copies) are over the limit of four: confirm first.
    let everyone = json!({"body_text": "Всем сразу"});
    let held = app.post(&format!("/api/v1/cases/{case}/messages"), everyone.clone()).await;
    held.field("copies", "confirm_recipients");
    assert_eq!(held.body["fields"][0]["params"]["count"], 5);
    let confirmed = json!({"body_text": "Всем сразу", "confirm_recipients": true});
    app.post(&format!("/api/v1/cases/{case}/messages"), confirmed).await.ok(201);
    let mails = sent(&app, &sink, 3).await;
    let mut copied: Vec<String> = mails[2].1.cc.iter().map(|p| p.address.clone()).collect();
    copied.sort();
    assert_eq!(copied, ["c1@example.ru", "c3@example.ru", "c4@example.ru", "c5@example.ru"]);
    // As the workspace sends it: one comma-separated field, "" for nobody; unreadable ids refused.
    let form = |copies: &str| reqwest::multipart::Form::new().text("body_text", "Только клиенту").text("copies", copies.to_owned());
    let post = |copies: &str| {
        let request = app.client.post(format!("{}/api/v1/cases/{case}/messages", app.base)).bearer_auth(&app.admin_token);
        request.multipart(form(copies)).send()
    };
    answer(post("x,12").await.expect("sent")).await.field("copies", "invalid_value");
    answer(post("").await.expect("sent")).await.ok(201);
    let mails = sent(&app, &sink, 4).await;
    assert!(mails[3].1.cc.is_empty(), "no copies chosen, none sent: {:?}", mails[3].1.cc);
    let events = app.get(&format!("/api/v1/cases/{case}/events")).await.ok(200).as_array().cloned().expect("events");
    assert!(events.iter().any(|e| e["kind"] == "case.participant_removed"), "taking someone out is on the record");
}
