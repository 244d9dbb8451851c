//! The generic API channel end to end: an external system posts its customers' messages,
//! signed; they become cases; an agent's reply reaches the system as a signed webhook; the
//! system reports delivery back. Bad signatures, unknown channels and malformed payloads are
//! refused and store nothing.

use opora_domain::channel::ChannelKind;
use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{Answer, Receiver, TestApp, answer, eventually};

/// An integration as the external system sees it: the channel's id and signing secret.
pub struct Integration {
    pub id: i64,
    pub secret: String,
}

impl Integration {
    pub async fn create(app: &TestApp, url: Option<&str>) -> Self {
        Self::named(app, "CRM", url).await
    }

    pub async fn named(app: &TestApp, name: &str, url: Option<&str>) -> Self {
        let created = app.post("/api/v1/channels", json!({"kind": "api", "name": name, "settings": {"url": url}})).await;
        let body = created.ok(201);
        assert_eq!(body["kind"], "api");
        assert_eq!(body["settings"]["secret_set"], true);
        assert!(body["settings"].get("secret").is_none(), "the secret is not among the settings shown: {body}");
        let secret = body["secret"].as_str().expect("the secret, shown once").to_owned();
        assert!(secret.starts_with("whsec_"));
        let id = body["id"].as_i64().expect("id");
        let shown = app.get(&format!("/api/v1/channels/{id}")).await;
        assert!(shown.ok(200)["secret"].is_null(), "never shown again");
        Integration { id, secret }
    }

    /// Posts a payload signed with `secret`, as the external system would.
    pub async fn push_signed(&self, app: &TestApp, secret: &str, body: &Value) -> Answer {
        let raw = body.to_string();
        let (id, at) = (format!("msg_{}", opora_domain::Timestamp::now().millis()), opora_domain::Timestamp::now().millis() / 1000);
        let signature = opora_channels::webhook::sign(secret, &id, at, raw.as_bytes()).expect("sign");
        let request = app
            .client
            .post(format!("{}/api/v1/channels/{}/inbound", app.base, self.id))
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", at.to_string())
            .header("webhook-signature", signature)
            .body(raw);
        answer(request.send().await.expect("sent")).await
    }

    pub async fn push(&self, app: &TestApp, body: &Value) -> Answer {
        self.push_signed(app, &self.secret.clone(), body).await
    }
}

pub fn message(id: &str, customer: &str, text: &str) -> Value {
    json!({"type": "message.created", "data": {"id": id, "conversation": format!("chat-{customer}"),
           "customer": {"id": customer, "name": "Ольга Смирнова", "email": format!("{customer}@example.ru")}, "text": text}})
}

/// The agents' reply on a case.
pub async fn outbound(app: &TestApp, case: i64) -> Option<Value> {
    let list = app.get(&format!("/api/v1/cases/{case}/messages")).await.ok(200).clone();
    list.as_array().expect("list").iter().find(|m| m["direction"] == "outbound").cloned()
}

async fn stored_payloads(app: &TestApp) -> usize {
    app.running.app().intake().received(ChannelKind::Api, None, None, 1000).await.expect("payloads").len()
}

both_engines! {
    async fn messages_in_replies_out_and_delivery_reported_back(app: TestApp) {
        let (receiver, url) = Receiver::start(&[]).await;
        let channel = Integration::create(&app, Some(&url)).await;

        let first = channel.push(&app, &message("m-1", "crm-42", "Курьер не приехал")).await;
        let filed = first.ok(201).clone();
        assert_eq!(filed["status"], "processed");
        let case = filed["case_id"].as_i64().expect("a case");
        let shown = app.get(&format!("/api/v1/cases/{case}")).await.ok(200).clone();
        assert_eq!(shown["channel"], "api");
        assert_eq!(shown["customer"]["name"], "Ольга Смирнова");
        assert_eq!(filed["case_number"], shown["number"]);
        let customer = app.get(&format!("/api/v1/customers/{}", shown["customer"]["id"])).await.ok(200).clone();
        let identities: Vec<String> =
            customer["identities"].as_array().expect("identities").iter().map(|i| format!("{}:{}", i["kind"], i["value"])).collect();
        assert!(identities.contains(&format!("\"external\":\"{}:crm-42\"", channel.id)), "{identities:?}");
        assert!(identities.contains(&"\"email\":\"crm-42@example.ru\"".to_owned()), "one customer, every identity: {identities:?}");

        // The same message again is a redelivery; the next one of the conversation joins the case.
        let again = channel.push(&app, &message("m-1", "crm-42", "Курьер не приехал")).await;
        assert_eq!(again.ok(200)["status"], "duplicate");
        let next = channel.push(&app, &message("m-2", "crm-42", "Жду до шести")).await;
        assert_eq!(next.ok(201)["case_id"], case);
        let thread = app.get(&format!("/api/v1/cases/{case}/messages")).await.ok(200).clone();
        assert_eq!(thread.as_array().map(Vec::len), Some(2));

        // An agent answers: the system receives it, signed, with the conversation to route it.
        let reply = app.post(&format!("/api/v1/cases/{case}/messages"), json!({"body_text": "Курьер будет в 17:00"})).await.ok(201).clone();
        assert_eq!(reply["delivery_status"], "pending");
        let calls = eventually("the reply delivered", || {
            let receiver = receiver.clone();
            async move { Some(receiver.calls()).filter(|c| !c.is_empty()) }
        })
        .await;
        let (headers, body, raw) = &calls[0];
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let verified = opora_channels::webhook::verify(
            &channel.secret,
            header("webhook-id").as_deref(),
            header("webhook-timestamp").as_deref(),
            header("webhook-signature").as_deref(),
            raw,
            opora_domain::Timestamp::now().millis() / 1000,
        );
        assert_eq!(verified, Ok(()), "the reply is signed with the channel's secret");
        assert_eq!(body["type"], "message.created");
        assert_eq!(body["data"]["text"], "Курьер будет в 17:00");
        assert_eq!(body["data"]["conversation"], "chat-crm-42");
        assert_eq!(body["data"]["customer"]["id"], "crm-42");
        assert_eq!(body["data"]["case"]["id"], case);
        let ours = body["data"]["id"].as_str().expect("our message id").to_owned();
        eventually("sent", || async { outbound(&app, case).await.filter(|m| m["delivery_status"] == "sent") }).await;

        // Delivery reports move the reply forward, never back.
        for (status, expected) in [("delivered", "delivered"), ("sent", "delivered"), ("read", "read")] {
            let report = json!({"type": "message.status", "data": {"message_id": ours, "status": status}});
            let answer = channel.push(&app, &report).await;
            assert!(matches!(answer.status, 200 | 201), "{}", answer.body);
            let shown = outbound(&app, case).await.expect("the reply");
            assert_eq!(shown["delivery_status"], expected, "after {status}");
        }
        let unknown = channel.push(&app, &json!({"type": "message.status", "data": {"message_id": "999999", "status": "read"}})).await;
        assert_eq!(unknown.ok(200)["status"], "ignored");
    }

    async fn forged_unknown_and_malformed_pushes_store_nothing(app: TestApp) {
        let channel = Integration::create(&app, None).await;
        let before = stored_payloads(&app).await;
        let forged = channel.push_signed(&app, "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", &message("x-1", "crm-1", "Привет")).await;
        forged.problem(401, "invalid_signature");
        let unsigned = app
            .client
            .post(format!("{}/api/v1/channels/{}/inbound", app.base, channel.id))
            .header("content-type", "application/json")
            .body(message("x-2", "crm-1", "Привет").to_string());
        answer(unsigned.send().await.expect("sent")).await.problem(401, "invalid_signature");
        let elsewhere = Integration { id: 999_999, secret: channel.secret.clone() };
        elsewhere.push(&app, &message("x-3", "crm-1", "Привет")).await.problem(404, "channel_not_found");
        // The default mailbox takes no pushed requests.
        let mailbox = app.get("/api/v1/mailboxes").await.ok(200)[0]["id"].as_i64().expect("mailbox");
        Integration { id: mailbox, secret: channel.secret.clone() }.push(&app, &message("x-4", "crm-1", "Привет")).await.problem(404, "channel_not_found");
        let missing = json!({"type": "message.created", "data": {"id": "x-5", "text": "Без клиента"}});
        channel.push(&app, &missing).await.field("data.customer", "required");
        let wrong_type = json!({"type": "message.created", "data": {"id": "x-6", "customer": {"id": 5}, "text": "Привет"}});
        channel.push(&app, &wrong_type).await.problem(422, "validation_failed");
        channel.push(&app, &json!({"type": "order.created", "data": {}})).await.field("type", "invalid_choice");
        let broken = opora_channels::webhook::sign(&channel.secret, "msg_1", opora_domain::Timestamp::now().millis() / 1000, b"{not json").expect("sign");
        let not_json = app
            .client
            .post(format!("{}/api/v1/channels/{}/inbound", app.base, channel.id))
            .header("webhook-id", "msg_1")
            .header("webhook-timestamp", (opora_domain::Timestamp::now().millis() / 1000).to_string())
            .header("webhook-signature", broken)
            .body("{not json");
        answer(not_json.send().await.expect("sent")).await.problem(400, "malformed_json");
        assert_eq!(stored_payloads(&app).await, before, "nothing refused was stored");
        let cases = app.get("/api/v1/cases?channel=api").await.ok(200)["items"].as_array().map(Vec::len);
        assert_eq!(cases, Some(0));
    }

    async fn a_receiver_that_refuses_marks_the_reply_failed(app: TestApp) {
        let (_, url) = Receiver::start(&[400]).await;
        let channel = Integration::create(&app, Some(&url)).await;
        let case = channel.push(&app, &message("r-1", "crm-7", "Где заказ?")).await.ok(201)["case_id"].as_i64().expect("case");
        app.post(&format!("/api/v1/cases/{case}/messages"), json!({"body_text": "Уточняем"})).await.ok(201);
        let failed = eventually("the refusal recorded", || async {
            let list = app.get(&format!("/api/v1/cases/{case}/messages")).await.ok(200).clone();
            list.as_array().expect("list").iter().find(|m| m["direction"] == "outbound" && m["delivery_status"] == "failed").cloned()
        })
        .await;
        assert_eq!(failed["delivery_error"], "HTTP 400");
        // Without an address, replies cannot leave and say why.
        let quiet = app.post("/api/v1/channels", json!({"kind": "api", "name": "Без ответов"})).await.ok(201).clone();
        assert_eq!(quiet["settings"]["url"], Value::Null);
        app.post("/api/v1/channels", json!({"kind": "api", "name": "CRM"})).await.field("name", "already_exists");
        app.post("/api/v1/channels", json!({"kind": "fax", "name": "Факс"})).await.field("kind", "invalid_choice");
        app.post("/api/v1/channels", json!({"kind": "api", "name": "Плохой", "settings": {"url": "ftp://x"}})).await.field("url", "invalid_url");
        app.patch(&format!("/api/v1/channels/{}", channel.id), json!({"settings": {"secret": "mine"}})).await.field("secret", "read_only");
        app.delete(&format!("/api/v1/channels/{}", channel.id)).await.problem(409, "channel_in_use");
        app.delete(&format!("/api/v1/channels/{}", quiet["id"])).await.ok(204);
    }

    async fn a_channel_a_reply_left_by_stays(app: TestApp) {
        // A case opened through the API has no channel: its reply leaves by the default one of its
        // kind, and that channel can then no longer be deleted (it was a 500 before).
        let first = app.post("/api/v1/channels", json!({"kind": "api", "name": "Первый", "is_default": true})).await.ok(201)["id"].clone();
        let body = json!({"subject": "Без канала", "channel": "api", "customer": {"email": "nochannel@example.ru"},
                          "message": {"body_text": "Вопрос"}});
        let case = app.post("/api/v1/cases", body).await.ok(201)["id"].as_i64().expect("case");
        app.post(&format!("/api/v1/cases/{case}/messages"), json!({"body_text": "Ответ"})).await.ok(201);
        let second = app.post("/api/v1/channels", json!({"kind": "api", "name": "Второй", "is_default": true})).await.ok(201)["id"].clone();
        assert_eq!(app.get(&format!("/api/v1/channels/{first}")).await.ok(200)["is_default"], false);
        app.delete(&format!("/api/v1/channels/{first}")).await.problem(409, "channel_in_use");
        assert_eq!(app.delete(&format!("/api/v1/channels/{second}")).await.status, 409, "the default stays");
    }
}
