//! The Telegram channel end to end against a local Bot API: updates pulled by long polling or
//! pushed to the webhook become cases; media is downloaded and kept; edits, replies and odd
//! content are filed sensibly; agents' replies reach the chat, retried on 429 and 5xx; a wrong
//! secret, a malformed or oversized push stores nothing; a revoked token breaks the channel and
//! tells the admins.

use opora_domain::channel::ChannelKind;
use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{Answer, TestApp, answer, eventually};
use crate::telegram_bot::{BotApi, TOKEN, text_update};

/// Adds a Telegram channel on the local Bot API; returns its id.
async fn channel(app: &TestApp, api: &BotApi, mode: &str) -> i64 {
    let settings = json!({"bot_token": TOKEN, "api_base_url": api.base, "mode": mode});
    let created = app.post("/api/v1/channels", json!({"kind": "telegram", "name": "Бот", "settings": settings})).await;
    let body = created.ok(201).clone();
    assert_eq!(body["settings"]["bot_token_set"], true);
    assert_eq!(body["settings"]["bot_id"], "110201543");
    assert!(!body.to_string().contains(TOKEN.split(':').nth(1).expect("secret part")), "the token is never shown: {body}");
    body["id"].as_i64().expect("id")
}

/// The case a payload of this channel kind was filed into, once it is.
async fn filed(app: &TestApp, key_part: &str) -> i64 {
    eventually("the update filed", || async {
        let received = app.running.app().intake().received(ChannelKind::Telegram, None, None, 100).await.expect("payloads");
        received.iter().find(|p| p.external_id.as_deref().is_some_and(|k| k.contains(key_part))).and_then(|p| p.case_id).map(|c| c.0)
    })
    .await
}

async fn thread(app: &TestApp, case: i64) -> Vec<Value> {
    app.get(&format!("/api/v1/cases/{case}/messages")).await.ok(200).as_array().expect("messages").clone()
}

async fn push(app: &TestApp, id: i64, secret: Option<&str>, body: &[u8]) -> Answer {
    let mut request =
        app.client.post(format!("{}/hooks/telegram/{id}", app.base)).header("content-type", "application/json").body(body.to_vec());
    if let Some(secret) = secret {
        request = request.header("x-telegram-bot-api-secret-token", secret);
    }
    answer(request.send().await.expect("sent")).await
}

async fn payload_count(app: &TestApp) -> usize {
    app.running.app().intake().received(ChannelKind::Telegram, None, None, 1000).await.expect("payloads").len()
}

both_engines! {
    async fn polled_updates_become_cases_and_replies_reach_the_chat(app: TestApp) {
        let api = BotApi::start().await;
        channel(&app, &api, "polling").await;
        api.queue(text_update(111, 42, "Иван", "Здравствуйте, не работает вход"));
        let case = filed(&app, ":msg:111:42").await;
        let shown = app.get(&format!("/api/v1/cases/{case}")).await.ok(200).clone();
        assert_eq!(shown["channel"], "telegram");
        assert_eq!(shown["customer"]["name"], "Иван");

        // A photo with a caption: downloaded and kept on the case.
        api.keep_file("ph-big", "photos/file_7.jpg", b"\xff\xd8\xff a photo");
        api.queue(json!({"message": {"message_id": 43, "date": 1, "from": {"id": 111, "first_name": "Иван"}, "chat": {"id": 111, "type": "private"},
            "caption": "вот экран", "photo": [{"file_id": "ph-small", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 9},
                                               {"file_id": "ph-big", "file_unique_id": "b", "width": 800, "height": 600, "file_size": 12}]}}));
        assert_eq!(filed(&app, ":msg:111:43").await, case, "one ongoing case per chat");
        // An edit is kept beside the message it changes.
        api.queue(json!({"edited_message": {"message_id": 42, "date": 1, "edit_date": 5, "from": {"id": 111, "first_name": "Иван"},
            "chat": {"id": 111, "type": "private"}, "text": "Не работает вход через Госуслуги"}}));
        assert_eq!(filed(&app, ":edit:111:42:5").await, case);
        let messages = thread(&app, case).await;
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(messages.iter().all(|m| m["channel"] == "telegram"));
        let photo = &messages[1];
        assert_eq!(photo["body_text"], "вот экран");
        assert_eq!(photo["attachments"][0]["filename"], "photo_43.jpg");
        let url = photo["attachments"][0]["url"].as_str().expect("a download address");
        let downloaded = app.client.get(format!("{}{url}", app.base)).bearer_auth(&app.admin_token).send().await.expect("sent");
        assert_eq!(downloaded.bytes().await.expect("bytes").as_ref(), b"\xff\xd8\xff a photo");
        assert_eq!(messages[2]["edit_of"], messages[0]["id"], "the edit names the message it changes");
        assert_eq!(messages[2]["body_text"], "Не работает вход через Госуслуги");
        eventually("the offset confirmed", || async { (api.unconfirmed() == 0).then_some(()) }).await;

        // The agent answers: the text reaches the chat, and the customer's reply to it threads.
        let reply = app.post(&format!("/api/v1/cases/{case}/messages"), json!({"body_text": "Проверили, вход работает. <b>Попробуйте</b> снова"})).await;
        let reply_id = reply.ok(201)["id"].as_i64().expect("id");
        let sent = eventually("the reply sent", || async { api.calls("sendMessage").pop() }).await;
        assert_eq!(sent.params["chat_id"], "111");
        assert_eq!(sent.params["text"], "Проверили, вход работает. <b>Попробуйте</b> снова", "plain text, no markup parsed");
        let ours = eventually("marked sent", || async {
            thread(&app, case).await.into_iter().find(|m| m["id"] == reply_id && m["delivery_status"] == "sent")
        })
        .await;
        assert_eq!(ours["channel"], "telegram");
        // A file goes as a document (a PDF) with its name and bytes.
        let pdf = json!({"filename": "акт.pdf", "content_type": "application/pdf", "content_base64": "JVBERi0xLjQgdGVzdA=="});
        app.post(&format!("/api/v1/cases/{case}/messages"), json!({"body_text": "Акт во вложении", "attachments": [pdf]})).await.ok(201);
        let document = eventually("the file sent", || async { api.calls("sendDocument").pop() }).await;
        assert_eq!(document.params["chat_id"], "111");
        assert_eq!(document.file, Some(("акт.pdf".to_owned(), b"%PDF-1.4 test".to_vec())));
        app.patch(&format!("/api/v1/cases/{case}"), json!({"status": "solved"})).await.ok(200);
        api.queue(json!({"message": {"message_id": 44, "date": 1, "from": {"id": 111, "first_name": "Иван"}, "chat": {"id": 111, "type": "private"},
            "text": "Спасибо, заработало", "reply_to_message": {"message_id": 501, "date": 1, "chat": {"id": 111}}}}));
        assert_eq!(filed(&app, ":msg:111:44").await, case, "a reply to our message continues its case");
    }

    async fn webhook_mode_checks_the_secret_and_refuses_bad_pushes(app: TestApp) {
        let api = BotApi::start().await;
        let id = channel(&app, &api, "webhook").await;
        let (url, secret) = eventually("the webhook set", || async { api.webhook() }).await;
        assert_eq!(url, format!("{}/hooks/telegram/{id}", app.config.public_url));
        assert!(secret.len() >= 32 && secret.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'), "{secret}");

        let mut update = text_update(222, 7, "Мария", "Где мой заказ?");
        update["update_id"] = json!(9001);
        let body = update.to_string();
        let first = push(&app, id, Some(&secret), body.as_bytes()).await;
        assert_eq!((first.status, &first.body["text"]), (200, &json!("ok")), "{}", first.body);
        let case = filed(&app, ":msg:222:7").await;
        let again = push(&app, id, Some(&secret), body.as_bytes()).await;
        assert_eq!(again.status, 200, "a redelivery is acknowledged");
        assert_eq!(thread(&app, case).await.len(), 1, "and not filed twice");

        let stored = payload_count(&app).await;
        push(&app, id, Some("not-the-secret-token-at-all-00000"), body.as_bytes()).await.problem(401, "invalid_signature");
        push(&app, id, None, body.as_bytes()).await.problem(401, "invalid_signature");
        push(&app, id, Some(&secret), b"{\"update_id\": ").await.problem(400, "malformed_json");
        push(&app, id, Some(&secret), br#"{"message": {"text": "no id"}}"#).await.field("update_id", "required");
        let wrong_kind = app.client.post(format!("{}/hooks/whatsapp/{id}", app.base)).body(body.clone()).send().await.expect("sent");
        answer(wrong_kind).await.problem(404, "channel_not_found");
        let odd_id = app.client.post(format!("{}/hooks/telegram/x{id}", app.base)).body(body.clone()).send().await.expect("sent");
        answer(odd_id).await.problem(404, "channel_not_found");
        let huge = vec![b' '; 2 << 20];
        assert_eq!(push(&app, id, Some(&secret), &huge).await.status, 413);
        assert_eq!(payload_count(&app).await, stored, "nothing refused was stored");

        // Updates that are no message are kept and filed nowhere; content Opora does not know
        // is shown, never blocking the chat.
        let member = json!({"update_id": 9002, "my_chat_member": {"chat": {"id": 222}, "date": 1}}).to_string();
        assert_eq!(push(&app, id, Some(&secret), member.as_bytes()).await.status, 200);
        let mut poll = json!({"message": {"message_id": 8, "date": 1, "from": {"id": 222, "first_name": "Мария"}, "chat": {"id": 222},
            "poll": {"id": "1", "question": "?", "options": []}}});
        poll["update_id"] = json!(9003);
        assert_eq!(push(&app, id, Some(&secret), poll.to_string().as_bytes()).await.status, 200);
        assert_eq!(filed(&app, ":msg:222:8").await, case);
        assert_eq!(thread(&app, case).await[1]["body_text"], "[Telegram: poll]");

        // Someone guessing secrets is shut out, valid pushes from their network too, for a while.
        let mut refused = 0;
        while push(&app, id, Some("guessed-secret-guessed-secret-000"), body.as_bytes()).await.status == 401 {
            refused += 1;
            assert!(refused < 60, "guessing goes on unchecked");
        }
        push(&app, id, Some(&secret), body.as_bytes()).await.problem(429, "rate_limited");
    }

    async fn throttling_and_refusals_are_retried_or_surfaced_and_a_revoked_token_breaks_the_channel(app: TestApp) {
        let api = BotApi::start().await;
        let id = channel(&app, &api, "polling").await;
        api.queue(text_update(333, 1, "Пётр", "Помогите"));
        let case = filed(&app, ":msg:333:1").await;
        let reply = |text: &'static str| {
            let app = &app;
            async move { app.post(&format!("/api/v1/cases/{case}/messages"), json!({"body_text": text})).await.ok(201)["id"].as_i64().expect("id") }
        };
        let state_of = |message: i64| {
            let app = &app;
            async move {
                let all = thread(app, case).await;
                let found = all.into_iter().find(|m| m["id"] == message).expect("the reply");
                (found["delivery_status"].as_str().unwrap_or_default().to_owned(), found["delivery_error"].clone())
            }
        };

        api.fail_next(429, json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}}));
        api.fail_next(502, json!({"ok": false, "error_code": 502, "description": "Bad Gateway"}));
        let throttled = reply("Уже смотрим").await;
        eventually("sent after a wait and a retry", || async { (state_of(throttled).await.0 == "sent").then_some(()) }).await;
        assert_eq!(api.calls("sendMessage").len(), 3, "429, 502, then sent");

        api.fail_next(403, json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}));
        let blocked = reply("Вы здесь?").await;
        let (status, error) = eventually("failed", || async { Some(state_of(blocked).await).filter(|(s, _)| s == "failed") }).await;
        assert!(error.as_str().is_some_and(|e| e.contains("blocked")), "the agent sees why: {error}");
        assert_eq!(status, "failed");

        api.revoke();
        let refused = reply("Ответ после отзыва токена").await;
        eventually("failed", || async { (state_of(refused).await.0 == "failed").then_some(()) }).await;
        let shown = app.get(&format!("/api/v1/channels/{id}")).await.ok(200).clone();
        assert_eq!(shown["state"], "broken", "{shown}");
        let notifications = app.get("/api/v1/notifications").await.ok(200).clone();
        let kinds: Vec<&str> = notifications["items"].as_array().expect("items").iter().filter_map(|n| n["kind"].as_str()).collect();
        assert!(kinds.contains(&"channel.broken"), "an admin is told: {kinds:?}");
    }
}
