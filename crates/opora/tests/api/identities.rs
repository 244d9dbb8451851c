//! One customer across channels: the same person met through an integration and Telegram is
//! offered for merging; after the merge replies go where they wrote last, or through another
//! of their channels when the agent picks it; a customer who was two people is split, each
//! keeping their history.

use serde_json::json;

use crate::api_channel::{Integration, message};
use crate::both_engines;
use crate::harness::{Receiver, eventually};
use crate::telegram_bot::{BotApi, TOKEN, text_update};

both_engines! {
    async fn merged_customers_are_answered_where_they_wrote_last_and_can_be_split(app: TestApp) {
        let (receiver, url) = Receiver::start(&[]).await;
        let crm = Integration::create(&app, Some(&url)).await;
        let api = BotApi::start().await;
        let settings = json!({"bot_token": TOKEN, "api_base_url": api.base});
        app.post("/api/v1/channels", json!({"kind": "telegram", "name": "Бот", "settings": settings})).await.ok(201);

        let mut first = message("m-1", "crm-7", "Где мой заказ?");
        first["data"]["customer"] = json!({"id": "crm-7", "name": "Олег Петров"});
        let by_crm = crm.push(&app, &first).await.ok(201)["case_id"].as_i64().expect("a case");
        let mut update = text_update(900, 5, "Олег", "Я писал в чат магазина");
        update["message"]["from"]["last_name"] = json!("Петров");
        api.queue(update);
        let by_bot = eventually("the Telegram case", || async {
            let cases = app.get("/api/v1/cases").await.ok(200).clone();
            cases["items"].as_array().and_then(|c| c.iter().find(|c| c["channel"] == "telegram").map(|c| c["id"].as_i64().unwrap_or(0)))
        }).await;
        let customer_of = |case: i64| {
            let app = &app;
            async move { app.get(&format!("/api/v1/cases/{case}")).await.ok(200)["customer"]["id"].as_i64().expect("customer") }
        };
        let (oleg, twin) = (customer_of(by_crm).await, customer_of(by_bot).await);
        assert_ne!(oleg, twin);
        let similar = app.get(&format!("/api/v1/customers/{oleg}/similar")).await.ok(200).clone();
        assert_eq!(similar[0]["id"], twin, "{similar}");
        app.post(&format!("/api/v1/customers/{oleg}/merge"), json!({"source_id": twin})).await.ok(200);
        assert_eq!(customer_of(by_bot).await, oleg, "both histories are one customer's");

        // Telegram is where he wrote last: a reply on the integration's case goes there.
        let window = app.get(&format!("/api/v1/cases/{by_crm}/reply-window")).await.ok(200).clone();
        let kinds: Vec<&str> = window["channels"].as_array().expect("channels").iter().filter_map(|c| c["kind"].as_str()).collect();
        assert_eq!(kinds, ["telegram", "api"]);
        app.post(&format!("/api/v1/cases/{by_crm}/messages"), json!({"body_text": "Заказ у курьера"})).await.ok(201);
        let sent = eventually("sent through Telegram", || async { api.calls("sendMessage").pop() }).await;
        assert_eq!((sent.params["chat_id"].as_str(), sent.params["text"].as_str()), (Some("900"), Some("Заказ у курьера")));
        // The agent may pick another of his channels, not someone else's.
        let crm_channel = window["channels"][1]["id"].as_i64().expect("the integration");
        app.post(&format!("/api/v1/cases/{by_crm}/messages"), json!({"body_text": "Дублируем в CRM", "channel_id": crm_channel})).await.ok(201);
        let delivered = eventually("sent to the integration", || async { Some(receiver.calls()).filter(|c| !c.is_empty()) }).await;
        assert_eq!(delivered[0].1["data"]["text"], "Дублируем в CRM");
        app.post(&format!("/api/v1/cases/{by_crm}/messages"), json!({"body_text": "x", "channel_id": 999_999})).await.field("channel_id", "not_reachable");

        // He was two people after all: the Telegram identity and its case go to a new customer.
        let merged = app.get(&format!("/api/v1/customers/{oleg}")).await.ok(200).clone();
        let telegram = merged["identities"].as_array().expect("identities").iter().find(|i| i["kind"] == "telegram").expect("telegram")["id"].clone();
        let other = app.post(&format!("/api/v1/customers/{oleg}/split"), json!({"identity_ids": [telegram]})).await.ok(201).clone();
        assert_eq!(other["identities"].as_array().map(Vec::len), Some(1));
        assert_eq!(customer_of(by_bot).await, other["id"].as_i64().expect("id"));
        assert_eq!(customer_of(by_crm).await, oleg);
        let left = app.get(&format!("/api/v1/customers/{oleg}")).await.ok(200)["identities"].clone();
        let last = left[0]["id"].clone();
        app.post(&format!("/api/v1/customers/{oleg}/split"), json!({"identity_ids": [last]})).await.field("identity_ids", "keeps_none");
        let (_, viewer) = app.agent("Наблюдатель", "agent").await;
        let refused = app.post_as(&viewer, &format!("/api/v1/customers/{oleg}/split"), json!({"identity_ids": [last]})).await;
        refused.problem(403, "forbidden");
    }
}
