//! Several systems connected at once, and integrations that push at the same moment: each system
//! answers its customers under its own ids, hears only of its own messages, and reports only on
//! them; a channel that only receives, or is switched off, sends nothing; the first messages of
//! one new customer, pushed side by side, make one customer and one case.

use opora_domain::channel::{ChannelKind, PayloadStatus};
use serde_json::json;

use crate::api_channel::{Integration, message, outbound};
use crate::both_engines;
use crate::harness::{Receiver, TestApp, eventually};

async fn sent(app: &TestApp, case: i64) -> serde_json::Value {
    eventually("the reply sent", || async { outbound(app, case).await.filter(|m| m["delivery_status"] == "sent") }).await
}

both_engines! {
    async fn each_system_is_answered_under_its_own_customer_id(app: TestApp) {
        let (crm_receiver, crm_url) = Receiver::start(&[]).await;
        let (shop_receiver, shop_url) = Receiver::start(&[]).await;
        let crm = Integration::named(&app, "CRM", Some(&crm_url)).await;
        let shop = Integration::named(&app, "Магазин", Some(&shop_url)).await;

        let first = crm.push(&app, &message("a-1", "crm-7", "Где курьер?")).await.ok(201)["case_id"].as_i64().expect("case");
        // The shop knows the same person by its own id and the same e-mail: one customer.
        let mut same_person = message("b-1", "shop-9", "Верните деньги за заказ");
        same_person["data"]["customer"]["email"] = json!("crm-7@example.ru");
        let second = shop.push(&app, &same_person).await.ok(201)["case_id"].as_i64().expect("case");
        assert_ne!(first, second);
        let customer = |case: i64| {
            let app = &app;
            async move { app.get(&format!("/api/v1/cases/{case}")).await.ok(200)["customer"]["id"].clone() }
        };
        assert_eq!(customer(first).await, customer(second).await, "one customer across both systems");

        app.post(&format!("/api/v1/cases/{second}/messages"), json!({"body_text": "Деньги вернём сегодня"})).await.ok(201);
        let ours = sent(&app, second).await;
        let calls = shop_receiver.calls();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].1["data"]["customer"]["id"], "shop-9", "the shop hears of its customer by the shop's id");
        assert!(crm_receiver.calls().is_empty(), "the CRM hears nothing of the shop's case");

        // Another system's report, and an id dressed as another kind of key, name nothing of ours.
        let id = ours["id"].as_i64().expect("id");
        for (channel, about) in [(&crm, id.to_string()), (&shop, format!("out:{id}")), (&shop, "conversation:chat-shop-9".to_owned())] {
            let report = json!({"type": "message.status", "data": {"message_id": about, "status": "failed", "error": "подделка"}});
            assert_eq!(channel.push(&app, &report).await.ok(200)["status"], "ignored", "{about}");
        }
        assert_eq!(outbound(&app, second).await.expect("the reply")["delivery_status"], "sent");
    }

    async fn a_receive_only_or_switched_off_channel_sends_nothing(app: TestApp) {
        let quiet = Integration::named(&app, "Только приём", None).await;
        let case = quiet.push(&app, &message("q-1", "crm-1", "Привет")).await.ok(201)["case_id"].as_i64().expect("case");
        let reply = app.post(&format!("/api/v1/cases/{case}/messages"), json!({"body_text": "Ответ в событиях"})).await.ok(201).clone();
        assert_eq!(reply["delivery_status"], "not_applicable", "recorded for the system to read from events, not failed");

        let (receiver, url) = Receiver::start(&[]).await;
        let paused = Integration::named(&app, "На паузе", Some(&url)).await;
        let case = paused.push(&app, &message("p-1", "crm-2", "Привет")).await.ok(201)["case_id"].as_i64().expect("case");
        app.patch(&format!("/api/v1/channels/{}", paused.id), json!({"active": false})).await.ok(200);
        app.post(&format!("/api/v1/cases/{case}/messages"), json!({"body_text": "Не уйдёт"})).await.ok(201);
        let failed = eventually("the reply refused", || async { outbound(&app, case).await.filter(|m| m["delivery_status"] == "failed") }).await;
        assert_eq!(failed["delivery_error"], "channel_switched_off");
        assert!(receiver.calls().is_empty(), "nothing left through a switched-off channel");
    }

    async fn first_messages_pushed_side_by_side_make_one_customer_and_one_case(app: TestApp) {
        let channel = Integration::create(&app, None).await;
        let pushes = (0..8).map(|i| {
            let (app, channel) = (&app, &channel);
            async move { channel.push(app, &message(&format!("s-{i}"), "crm-new", &format!("Сообщение {i}"))).await }
        });
        for answer in futures_util::future::join_all(pushes).await {
            assert!(matches!(answer.status, 201 | 202), "stored and filed or about to be: {} {}", answer.status, answer.body);
            assert!(matches!(answer.body["status"].as_str(), Some("processed" | "received")), "{}", answer.body);
        }
        let intake = app.running.app().intake();
        let payloads = eventually("every push filed", || async {
            intake.process_waiting().await.expect("processed");
            let all = intake.received(ChannelKind::Api, None, None, 100).await.expect("payloads");
            Some(all).filter(|all| all.iter().all(|p| p.status == PayloadStatus::Processed))
        })
        .await;
        assert_eq!(payloads.len(), 8);
        let cases = app.get("/api/v1/cases?channel=api").await.ok(200)["items"].as_array().cloned().expect("cases");
        assert_eq!(cases.len(), 1, "one conversation, one case: {cases:?}");
        let messages = app.get(&format!("/api/v1/cases/{}/messages", cases[0]["id"])).await.ok(200).as_array().map(Vec::len);
        assert_eq!(messages, Some(8));
        let found = app.get(&format!("/api/v1/customers?identity=external:{}:crm-new", channel.id)).await.ok(200)["items"].as_array().map(Vec::len);
        assert_eq!(found, Some(1), "one customer");
    }
}
