//! VK community messages end to end against a local VK API: the Callback API confirmation; events
//! with our secret become cases (photos downloaded, edits kept, redeliveries recognised); a wrong
//! secret or community stores nothing; replies go out with `messages.send`, a retry reusing its
//! `random_id` so the customer gets it once; files go as documents; VK's refusals are shown and a
//! revoked token breaks the channel.

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{Answer, TestApp, answer, eventually};
use crate::vk_api::{CONFIRMATION, GROUP_ID, SECRET, TOKEN, VkApi, event, message_new};

async fn channel(app: &TestApp, api: &VkApi) -> i64 {
    let settings =
        json!({"access_token": TOKEN, "secret": SECRET, "confirmation": CONFIRMATION, "group_id": GROUP_ID, "api_base_url": api.base});
    let created = app.post("/api/v1/channels", json!({"kind": "vk", "name": "ВКонтакте", "settings": settings})).await;
    let body = created.ok(201).clone();
    assert_eq!((body["settings"]["access_token_set"].as_bool(), body["settings"]["secret_set"].as_bool()), (Some(true), Some(true)));
    assert!(!body.to_string().contains(TOKEN) && !body.to_string().contains(SECRET), "secrets are never shown: {body}");
    body["id"].as_i64().expect("id")
}

async fn push(app: &TestApp, id: i64, body: &Value, retry: Option<u32>) -> Answer {
    let mut request =
        app.client.post(format!("{}/hooks/vk/{id}", app.base)).header("content-type", "application/json").body(body.to_string());
    if let Some(retry) = retry {
        request = request.header("x-retry-counter", retry.to_string());
    }
    answer(request.send().await.expect("sent")).await
}

async fn case_of(app: &TestApp, key_part: &str) -> i64 {
    eventually("the message filed", || async {
        let received =
            app.running.app().intake().received(opora_domain::channel::ChannelKind::Vk, None, None, 100).await.expect("payloads");
        received.iter().find(|p| p.external_id.as_deref().is_some_and(|k| k.contains(key_part))).and_then(|p| p.case_id).map(|c| c.0)
    })
    .await
}

async fn thread(app: &TestApp, case: i64) -> Vec<Value> {
    app.get(&format!("/api/v1/cases/{case}/messages")).await.ok(200).as_array().expect("messages").clone()
}

async fn state_of(app: &TestApp, case: i64, id: i64) -> (String, Value) {
    let found = thread(app, case).await.into_iter().find(|m| m["id"] == id).expect("the reply");
    (found["delivery_status"].as_str().unwrap_or_default().to_owned(), found["delivery_error"].clone())
}

both_engines! {
    async fn callbacks_become_cases_and_replies_go_out_once(app: TestApp) {
        let api = VkApi::start().await;
        let id = channel(&app, &api).await;
        let confirmation = push(&app, id, &json!({"type": "confirmation", "group_id": GROUP_ID, "secret": SECRET}), None).await;
        assert_eq!((confirmation.status, &confirmation.body["text"]), (200, &json!(CONFIRMATION)));
        push(&app, id, &json!({"type": "confirmation", "group_id": 1}), None).await.problem(401, "invalid_signature");

        let photo = api.keep_file("photo.jpg", b"\xff\xd8 vk photo");
        let attachments = json!([{"type": "photo", "photo": {"id": 45, "owner_id": 111, "sizes": [{"type": "x", "url": photo, "width": 604, "height": 453}]}}]);
        let first = message_new("ev-1", 1543, 111, "Не приходит код подтверждения", attachments);
        let pushed = push(&app, id, &first, None).await;
        assert_eq!((pushed.status, &pushed.body["text"]), (200, &json!("ok")), "{}", pushed.body);
        let case = case_of(&app, ":msg:111:1543").await;
        assert_eq!(push(&app, id, &first, Some(1)).await.status, 200, "a redelivery is acknowledged");
        let messages = eventually("filed with its photo", || async { Some(thread(&app, case).await).filter(|m| m.len() == 1 && !m[0]["attachments"].as_array().is_some_and(Vec::is_empty)) }).await;
        assert_eq!(messages[0]["channel"], "vk");
        let url = messages[0]["attachments"][0]["url"].as_str().expect("url");
        let bytes = app.client.get(format!("{}{url}", app.base)).bearer_auth(&app.admin_token).send().await.expect("sent").bytes().await.expect("bytes");
        assert_eq!(bytes.as_ref(), b"\xff\xd8 vk photo");
        let edit = event("message_edit", "ev-2", json!({"id": 1543, "peer_id": 111, "from_id": 111, "text": "Не приходит SMS-код", "update_time": 9}));
        assert_eq!(push(&app, id, &edit, None).await.status, 200);
        assert_eq!(case_of(&app, ":edit:111:1543:9").await, case);

        // Forged and malformed events store nothing.
        let before = app.running.app().intake().received(opora_domain::channel::ChannelKind::Vk, None, None, 100).await.expect("payloads").len();
        let mut forged = message_new("ev-3", 1600, 222, "Переведите деньги", json!([]));
        forged["secret"] = json!("guess");
        push(&app, id, &forged, None).await.problem(401, "invalid_signature");
        forged["secret"] = json!(SECRET);
        forged["group_id"] = json!(1);
        push(&app, id, &forged, None).await.problem(401, "invalid_signature");
        let mut empty = event("message_new", "ev-4", json!({}));
        empty["object"] = json!({"message": {"text": "нет id"}});
        assert_eq!(push(&app, id, &empty, None).await.status, 422);
        let after = app.running.app().intake().received(opora_domain::channel::ChannelKind::Vk, None, None, 100).await.expect("payloads").len();
        assert_eq!(after, before);

        // A reply with a file; VK's internal error first: the retry reuses the random_id.
        api.fail_next(10);
        let pdf = json!({"filename": "чек.pdf", "content_type": "application/pdf", "content_base64": "JVBERi0xLjQgdGVzdA=="});
        let reply = app.post(&format!("/api/v1/cases/{case}/messages"), json!({"body_text": "Отправили код повторно", "attachments": [pdf]})).await.ok(201)["id"].as_i64().expect("id");
        eventually("sent", || async { (state_of(&app, case, reply).await.0 == "sent").then_some(()) }).await;
        let delivered = api.delivered();
        assert_eq!(delivered.len(), 1, "delivered once: {delivered:?}");
        assert_eq!((delivered[0]["peer_id"].as_str(), delivered[0]["message"].as_str()), ("111", "Отправили код повторно"));
        assert!(delivered[0]["attachment"].starts_with(&format!("doc-{GROUP_ID}_")), "{delivered:?}");
        assert_eq!(api.uploads()[0], ("чек.pdf".to_owned(), b"%PDF-1.4 test".to_vec()));
        let ids = api.random_ids();
        assert_eq!(ids.len(), 2, "the error was retried once: {ids:?}");
        assert_eq!(ids[0], ids[1], "with the same random_id");

        api.fail_next(901);
        let denied = app.post(&format!("/api/v1/cases/{case}/messages"), json!({"body_text": "Вы здесь?"})).await.ok(201)["id"].as_i64().expect("id");
        let (_, error) = eventually("failed", || async { Some(state_of(&app, case, denied).await).filter(|(s, _)| s == "failed") }).await;
        assert!(error.as_str().is_some_and(|e| e.starts_with("901")), "{error}");
        api.revoke();
        let revoked = app.post(&format!("/api/v1/cases/{case}/messages"), json!({"body_text": "После отзыва"})).await.ok(201)["id"].as_i64().expect("id");
        eventually("failed", || async { (state_of(&app, case, revoked).await.0 == "failed").then_some(()) }).await;
        assert_eq!(app.get(&format!("/api/v1/channels/{id}")).await.ok(200)["state"], "broken");
    }

    async fn without_a_public_address_events_are_polled(app: TestApp) {
        let api = VkApi::start().await;
        let settings = json!({"access_token": TOKEN, "group_id": GROUP_ID, "api_base_url": api.base, "mode": "longpoll"});
        let created = app.post("/api/v1/channels", json!({"kind": "vk", "name": "ВКонтакте", "settings": settings})).await.ok(201).clone();
        assert_eq!(created["settings"]["mode"], "longpoll");
        let id = created["id"].as_i64().expect("id");
        // VK hands out "from now on": the poller is listening before the customer writes.
        eventually("the poller listening", || async { (api.servers_given() > 0).then_some(()) }).await;
        api.poll_event(message_new("lp-1", 70, 333, "Пишу из приложения", json!([])));
        let case = case_of(&app, ":msg:333:70").await;
        // The key expires: the poller asks for a new one and goes on from where it was.
        api.expire_key();
        eventually("a new key asked for", || async { (api.servers_given() > 1).then_some(()) }).await;
        api.poll_event(message_new("lp-2", 71, 333, "Ещё вопрос", json!([])));
        assert_eq!(case_of(&app, ":msg:333:71").await, case);
        assert_eq!(thread(&app, case).await.len(), 2, "nothing filed twice");
        // A polling channel takes no pushes, whatever secret they carry.
        let mut forged = message_new("lp-3", 72, 333, "x", json!([]));
        forged["secret"] = json!("");
        push(&app, id, &forged, None).await.problem(401, "invalid_signature");
        push(&app, id, &json!({"type": "confirmation", "group_id": GROUP_ID}), None).await.problem(401, "invalid_signature");
    }
}
