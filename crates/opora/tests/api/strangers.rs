//! A message that names a case — its number in the subject, its reply address, a message of its
//! thread, its conversation — continues that case only when its sender is in the case's
//! conversation (the customer, or someone who wrote in or was copied). Anyone else gets a case
//! of their own, linked to the named one both ways, and never joins the named one: they would
//! receive its conversation from then on.

use serde_json::{Value, json};

use crate::api_channel::{Integration, message};
use crate::both_engines;
use crate::harness::TestApp;
use crate::mail::{case_of, deliver, letter, lmtp, mail_app, settled};

async fn events(app: &TestApp, case: i64) -> Vec<Value> {
    app.get(&format!("/api/v1/cases/{case}/events")).await.ok(200).as_array().cloned().expect("a list")
}

async fn participants(app: &TestApp, case: i64) -> usize {
    events(app, case).await.iter().filter(|e| e["kind"] == "case.participant_added").count()
}

/// Asserts `stranger` is a new case linked to `named`, and `named` knows of it.
async fn linked(app: &TestApp, stranger: i64, named: i64) {
    assert_ne!(stranger, named, "the stranger's message did not join the named case");
    let here = events(app, stranger).await;
    let link = here.iter().find(|e| e["kind"] == "case.linked").unwrap_or_else(|| panic!("linked: {here:?}"));
    assert_eq!(link["data"]["linked_id"], named);
    assert_eq!(link["data"]["reason"], "named_by_stranger");
    let there = events(app, named).await;
    assert!(there.iter().any(|e| e["kind"] == "case.linked" && e["data"]["linked_id"] == stranger), "{there:?}");
}

both_engines! {
    start = mail_app;

    async fn strangers_naming_a_mail_case_get_a_linked_case(app: TestApp) {
        let mut first = letter("Иван <ivan@example.ru>", "Сломан пылесос", "s1@example.ru");
        first.cc = vec!["Ольга <olga@example.ru>".into()];
        let case = case_of(&deliver(&app, &first).await);
        let number = app.get(&format!("/api/v1/cases/{case}")).await.ok(200)["number"].as_i64().expect("number");
        let joined = participants(&app, case).await;

        // By the token in the subject.
        let token = letter("mallory@evil.example", &format!("Re: Сломан пылесос [#{number}]"), "s2@example.ru");
        linked(&app, case_of(&deliver(&app, &token).await), case).await;
        // By the reply address.
        let mut plus = letter("mallory@evil.example", "вопрос", "s3@example.ru");
        plus.to = format!("support+c{number}@opora.test");
        let id = lmtp(&app, &format!("support+c{number}@opora.test"), &[plus.raw()]).await[0];
        linked(&app, case_of(&settled(&app, id).await), case).await;
        // By a message of its thread.
        let thread = letter("mallory@evil.example", "Re: Сломан пылесос", "s4@example.ru").replying_to("s1@example.ru", &["s1@example.ru"]);
        linked(&app, case_of(&deliver(&app, &thread).await), case).await;
        assert_eq!(participants(&app, case).await, joined, "the stranger never joined the named case");

        // The customer and the one copied continue it, whichever way they name it.
        let own = letter("ivan@example.ru", &format!("Ещё вопрос [#{number}]"), "s5@example.ru");
        assert_eq!(case_of(&deliver(&app, &own).await), case);
        let copied = letter("olga@example.ru", &format!("Re: [#{number}]"), "s6@example.ru");
        assert_eq!(case_of(&deliver(&app, &copied).await), case);
        let messages = app.get(&format!("/api/v1/cases/{case}/messages")).await.ok(200).as_array().map(Vec::len);
        assert_eq!(messages, Some(3));
    }

    async fn another_customer_in_an_integrations_conversation_gets_a_linked_case(app: TestApp) {
        let channel = Integration::create(&app, None).await;
        let case = channel.push(&app, &message("c-1", "crm-1", "Первое")).await.ok(201)["case_id"].as_i64().expect("case");
        let mut stranger = message("c-2", "crm-2", "Я из другого аккаунта");
        stranger["data"]["conversation"] = json!("chat-crm-1");
        let other = channel.push(&app, &stranger).await.ok(201)["case_id"].as_i64().expect("case");
        linked(&app, other, case).await;
        let mut same = message("c-3", "crm-1", "Это снова я");
        same["data"]["conversation"] = json!("chat-crm-1");
        assert_eq!(channel.push(&app, &same).await.ok(201)["case_id"], case);
    }
}
