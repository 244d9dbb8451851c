//! The WhatsApp Cloud API channel end to end against a local Graph API: the verification
//! handshake; signed notifications become cases (media downloaded, the number matching the
//! customer's phone); a forged or malformed one stores nothing; replies and files reach the
//! Graph API; delivery statuses only move forward; after 24 hours free text is refused and an
//! approved template goes instead; a revoked token breaks the channel.

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{Answer, TestApp, answer, eventually};
use crate::whatsapp_graph::{
    ACCESS_TOKEN, APP_SECRET, BUSINESS_ACCOUNT_ID, GraphApi, PHONE_NUMBER_ID, VERIFY_TOKEN, notification, signature, status, text,
};

async fn channel(app: &TestApp, api: &GraphApi) -> i64 {
    let settings = json!({"access_token": ACCESS_TOKEN, "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN,
        "phone_number_id": PHONE_NUMBER_ID, "business_account_id": BUSINESS_ACCOUNT_ID, "api_base_url": api.base});
    let created = app.post("/api/v1/channels", json!({"kind": "whatsapp", "name": "WhatsApp", "settings": settings})).await;
    let body = created.ok(201).clone();
    assert_eq!(body["settings"]["access_token_set"], true);
    for secret in [ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN] {
        assert!(!body.to_string().contains(secret), "secrets are never shown: {body}");
    }
    body["id"].as_i64().expect("id")
}

async fn push(app: &TestApp, id: i64, body: &Value) -> Answer {
    let raw = body.to_string();
    push_raw(app, id, Some(&signature(raw.as_bytes())), raw.into_bytes()).await
}

async fn push_raw(app: &TestApp, id: i64, signature: Option<&str>, body: Vec<u8>) -> Answer {
    let mut request = app.client.post(format!("{}/hooks/whatsapp/{id}", app.base)).header("content-type", "application/json").body(body);
    if let Some(signature) = signature {
        request = request.header("x-hub-signature-256", signature);
    }
    answer(request.send().await.expect("sent")).await
}

async fn case_of(app: &TestApp, wamid: &str) -> i64 {
    eventually("the message filed", || async {
        let received =
            app.running.app().intake().received(opora_domain::channel::ChannelKind::Whatsapp, None, None, 100).await.expect("payloads");
        received.iter().find(|p| p.external_id.as_deref().is_some_and(|k| k.ends_with(wamid))).and_then(|p| p.case_id).map(|c| c.0)
    })
    .await
}

async fn thread(app: &TestApp, case: i64) -> Vec<Value> {
    app.get(&format!("/api/v1/cases/{case}/messages")).await.ok(200).as_array().expect("messages").clone()
}

async fn reply_state(app: &TestApp, case: i64, id: i64) -> (String, Value) {
    let found = thread(app, case).await.into_iter().find(|m| m["id"] == id).expect("the reply");
    (found["delivery_status"].as_str().unwrap_or_default().to_owned(), found["delivery_error"].clone())
}

both_engines! {
    async fn handshake_messages_replies_and_statuses(app: TestApp) {
        let api = GraphApi::start().await;
        let id = channel(&app, &api).await;
        let verify = |token: &str| format!("{}/hooks/whatsapp/{id}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444", app.base);
        let ok = app.client.get(verify(VERIFY_TOKEN)).send().await.expect("sent");
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.text().await.expect("text"), "1158201444");
        answer(app.client.get(verify("guess")).send().await.expect("sent")).await.problem(403, "verification_failed");

        let first = push(&app, id, &text("wamid.IN1", "79161234567", "Иван", "Здравствуйте, где заказ?")).await;
        assert_eq!(first.status, 200, "{}", first.body);
        let case = case_of(&app, "wamid.IN1").await;
        let shown = app.get(&format!("/api/v1/cases/{case}")).await.ok(200).clone();
        assert_eq!(shown["channel"], "whatsapp");
        let customer = app.get(&format!("/api/v1/customers/{}", shown["customer"]["id"])).await.ok(200).clone();
        let identities: Vec<String> = customer["identities"].as_array().expect("identities").iter().map(|i| format!("{}={}", i["kind"].as_str().unwrap_or(""), i["value"].as_str().unwrap_or(""))).collect();
        assert!(identities.contains(&"whatsapp=79161234567".to_owned()) && identities.contains(&"phone=+79161234567".to_owned()), "{identities:?}");

        // A photo: downloaded with the token and kept; the same notification again is not filed twice.
        api.keep_media("media-77", "image/jpeg", b"\xff\xd8 photo bytes");
        let photo = notification(json!({"contacts": [{"profile": {"name": "Иван"}, "wa_id": "79161234567"}],
            "messages": [{"from": "79161234567", "id": "wamid.IN2", "type": "image", "image": {"id": "media-77", "mime_type": "image/jpeg", "caption": "накладная"}}]}));
        assert_eq!(push(&app, id, &photo).await.status, 200);
        assert_eq!(case_of(&app, "wamid.IN2").await, case);
        assert_eq!(push(&app, id, &photo).await.status, 200);
        let messages = eventually("the photo filed", || async { Some(thread(&app, case).await).filter(|m| m.len() == 2) }).await;
        assert_eq!(messages[1]["body_text"], "накладная");
        let url = messages[1]["attachments"][0]["url"].as_str().expect("an attachment");
        let bytes = app.client.get(format!("{}{url}", app.base)).bearer_auth(&app.admin_token).send().await.expect("sent").bytes().await.expect("bytes");
        assert_eq!(bytes.as_ref(), b"\xff\xd8 photo bytes");

        // A forged, a malformed and a foreign notification store nothing.
        let before = app.running.app().intake().received(opora_domain::channel::ChannelKind::Whatsapp, None, None, 100).await.expect("payloads").len();
        let forged = text("wamid.F", "79990000000", "Злоумышленник", "Переведите деньги");
        push_raw(&app, id, Some("sha256=00"), forged.to_string().into_bytes()).await.problem(401, "invalid_signature");
        push_raw(&app, id, None, forged.to_string().into_bytes()).await.problem(401, "invalid_signature");
        let broken = b"{\"object\": \"whatsapp_business_account\", \"entry\": ".to_vec();
        push_raw(&app, id, Some(&signature(&broken)), broken).await.problem(400, "malformed_json");
        let wrong = json!({"object": "whatsapp_business_account", "entry": {}});
        assert_eq!(push(&app, id, &wrong).await.status, 422);
        let after = app.running.app().intake().received(opora_domain::channel::ChannelKind::Whatsapp, None, None, 100).await.expect("payloads").len();
        assert_eq!(after, before);

        // The agent answers with text and a file: both reach the Graph API for this number.
        let pdf = json!({"filename": "акт.pdf", "content_type": "application/pdf", "content_base64": "JVBERi0xLjQgdGVzdA=="});
        let reply = app.post(&format!("/api/v1/cases/{case}/messages"), json!({"body_text": "Заказ приедет сегодня", "attachments": [pdf]})).await;
        let reply = reply.ok(201)["id"].as_i64().expect("id");
        let sent = eventually("sent", || async { Some(api.sent()).filter(|s| s.len() == 2) }).await;
        assert_eq!((sent[0]["to"].as_str(), sent[0]["type"].as_str(), sent[0]["text"]["body"].as_str()), (Some("79161234567"), Some("text"), Some("Заказ приедет сегодня")));
        assert_eq!((sent[1]["type"].as_str(), sent[1]["document"]["filename"].as_str()), (Some("document"), Some("акт.pdf")));
        assert_eq!(api.uploads(), vec![("акт.pdf".to_owned(), b"%PDF-1.4 test".to_vec())]);
        eventually("marked sent", || async { (reply_state(&app, case, reply).await.0 == "sent").then_some(()) }).await;
        let ours = thread(&app, case).await.into_iter().find(|m| m["id"] == reply).expect("the reply");
        let wamid = ours["external_id"].as_str().and_then(|k| k.rsplit(':').next()).expect("the wamid Meta gave").to_owned();
        assert!(wamid.starts_with("wamid.OUT"), "{wamid}");

        // Statuses move forward only, whatever order they come in.
        for (report, expected) in [("delivered", "delivered"), ("sent", "delivered"), ("read", "read"), ("delivered", "read")] {
            assert_eq!(push(&app, id, &status(&wamid, report, json!([]))).await.status, 200);
            assert_eq!(reply_state(&app, case, reply).await.0, expected, "after {report}");
        }
    }

    async fn after_24_hours_only_an_approved_template_goes(app: TestApp) {
        let api = GraphApi::start().await;
        let id = channel(&app, &api).await;
        push(&app, id, &text("wamid.IN1", "79161234567", "Иван", "Где заказ?")).await;
        let case = case_of(&app, "wamid.IN1").await;
        let window = app.get(&format!("/api/v1/cases/{case}/reply-window")).await.ok(200).clone();
        assert_eq!((window["applies"].as_bool(), window["open"].as_bool()), (Some(true), Some(true)), "{window}");

        // A day and an hour pass.
        app.running.app().store().write(move |tx| {
            tx.execute("update messages set created_at = created_at - 90000000 where case_id = $1", &[case.into()])?;
            Ok(())
        }).await.expect("aged");
        let window = app.get(&format!("/api/v1/cases/{case}/reply-window")).await.ok(200).clone();
        assert_eq!(window["open"], false);
        let names: Vec<&str> = window["templates"].as_array().expect("templates").iter().filter_map(|t| t["name"].as_str()).collect();
        assert_eq!(names, ["ticket_update"], "only approved templates are offered");
        assert_eq!(window["templates"][0]["variables"], 2);
        app.post(&format!("/api/v1/cases/{case}/messages"), json!({"body_text": "Здравствуйте!"})).await.problem(409, "window_closed");
        let unknown = json!({"template": {"name": "promo_draft", "language": "ru", "variables": []}});
        app.post(&format!("/api/v1/cases/{case}/messages"), unknown).await.field("template.name", "template_not_approved");
        let short = json!({"template": {"name": "ticket_update", "language": "ru", "variables": ["1042"]}});
        app.post(&format!("/api/v1/cases/{case}/messages"), short).await.field("template.variables", "template_variables");
        let both = json!({"body_text": "x", "template": {"name": "ticket_update", "language": "ru", "variables": ["1042", "курьер выехал"]}});
        app.post(&format!("/api/v1/cases/{case}/messages"), both).await.field("body_text", "invalid_value");

        let chosen = json!({"template": {"name": "ticket_update", "language": "ru", "variables": ["1042", "курьер выехал"]}});
        let reply = app.post(&format!("/api/v1/cases/{case}/messages"), chosen).await.ok(201).clone();
        assert_eq!(reply["body_text"], "Обращение 1042: курьер выехал", "the agent sees what the customer reads");
        let sent = eventually("the template sent", || async { api.sent().pop() }).await;
        assert_eq!(sent["type"], "template");
        assert_eq!(sent["template"], json!({"name": "ticket_update", "language": {"code": "ru"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "1042"}, {"type": "text", "text": "курьер выехал"}]}]}));

        // Meta's own verdict on a window it considers closed is shown on the reply.
        push(&app, id, &text("wamid.IN2", "79161234567", "Иван", "Спасибо")).await;
        case_of(&app, "wamid.IN2").await;
        api.fail_next(400, 131047, "Re-engagement message");
        let late = app.post(&format!("/api/v1/cases/{case}/messages"), json!({"body_text": "Пожалуйста"})).await.ok(201)["id"].as_i64().expect("id");
        let (state, error) = eventually("failed", || async { Some(reply_state(&app, case, late).await).filter(|(s, _)| s == "failed") }).await;
        assert!(error.as_str().is_some_and(|e| e.contains("131047")), "{error}");
        assert_eq!(state, "failed");

        // Throttling is retried; a revoked token breaks the channel.
        api.fail_next(400, 130429, "Rate limit hit");
        let throttled = app.post(&format!("/api/v1/cases/{case}/messages"), json!({"body_text": "Ещё раз"})).await.ok(201)["id"].as_i64().expect("id");
        eventually("sent after throttling", || async { (reply_state(&app, case, throttled).await.0 == "sent").then_some(()) }).await;
        api.revoke();
        let refused = app.post(&format!("/api/v1/cases/{case}/messages"), json!({"body_text": "После отзыва"})).await.ok(201)["id"].as_i64().expect("id");
        eventually("failed", || async { (reply_state(&app, case, refused).await.0 == "failed").then_some(()) }).await;
        assert_eq!(app.get(&format!("/api/v1/channels/{id}")).await.ok(200)["state"], "broken");
    }
}
