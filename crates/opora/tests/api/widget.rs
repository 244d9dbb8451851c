//! The website chat's endpoints as a browser on another site uses them: visitors only for
//! allowed origins (and the answer says so to the browser), messages filed into a case and
//! shown back in the conversation with the replies but never the notes, forged visitors,
//! malformed and oversized messages refused with nothing stored.

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{Answer, TestApp, answer, eventually};

const SHOP: &str = "https://shop.example.ru";

async fn post(app: &TestApp, path: &str, origin: &str, body: Vec<u8>) -> Answer {
    let request = app.client.post(format!("{}{path}", app.base)).header("origin", origin).header("content-type", "text/plain").body(body);
    answer(request.send().await.expect("sent")).await
}

async fn stored(app: &TestApp) -> usize {
    app.running.app().intake().received(opora_domain::channel::ChannelKind::Widget, None, None, 100).await.expect("payloads").len()
}

both_engines! {
    async fn visitors_write_from_allowed_sites_only(app: TestApp) {
        app.post("/api/v1/channels", json!({"kind": "widget", "name": "Чат", "settings": {"allowed_origins": ["javascript:alert(1)"]}})).await
            .field("allowed_origins.0", "invalid_origin");
        let created = app.post("/api/v1/channels", json!({"kind": "widget", "name": "Чат", "settings": {"allowed_origins": [format!("{SHOP}/")]}})).await;
        let channel = created.ok(201).clone();
        assert_eq!(channel["settings"]["allowed_origins"], json!([SHOP]));
        assert!(channel["settings"].get("secret").is_none());
        let id = channel["id"].as_i64().expect("id");

        let refused = post(&app, &format!("/widget/{id}/visitors"), "https://evil.example", Vec::new()).await;
        refused.problem(403, "origin_not_allowed");
        assert_eq!(refused.header("access-control-allow-origin"), None);
        let made = post(&app, &format!("/widget/{id}/visitors"), SHOP, Vec::new()).await;
        assert_eq!(made.header("access-control-allow-origin"), Some(SHOP));
        let visitor = made.ok(201)["visitor"].as_str().expect("a credential").to_owned();
        let message = |text: &str, id: &str| json!({"visitor": visitor, "id": id, "text": text, "email": "olga@example.ru"}).to_string().into_bytes();

        let before = stored(&app).await;
        let forged = json!({"visitor": format!("{}.forged", visitor.split('.').next().unwrap_or("")), "id": "m1", "text": "x"}).to_string();
        post(&app, &format!("/widget/{id}/messages"), SHOP, forged.into_bytes()).await.problem(404, "visitor_not_found");
        post(&app, &format!("/widget/{id}/messages"), "https://evil.example", message("x", "m1")).await.problem(403, "origin_not_allowed");
        post(&app, &format!("/widget/{id}/messages"), SHOP, b"{\"visitor\": ".to_vec()).await.problem(400, "malformed_json");
        post(&app, &format!("/widget/{id}/messages"), SHOP, message("", "m1")).await.field("text", "required");
        let huge = json!({"visitor": visitor, "id": "m2", "text": "x", "attachments": [{"filename": "big.bin", "content_base64": "A".repeat(16 << 20)}]});
        assert_eq!(post(&app, &format!("/widget/{id}/messages"), SHOP, huge.to_string().into_bytes()).await.status, 413);
        let over = json!({"visitor": visitor, "id": "m3", "text": "x", "attachments": [{"filename": "a.bin", "content_base64": "A".repeat(7 << 20)}, {"filename": "b.bin", "content_base64": "A".repeat(7 << 20)}]});
        post(&app, &format!("/widget/{id}/messages"), SHOP, over.to_string().into_bytes()).await.field("attachments", "file_too_large");
        assert_eq!(stored(&app).await, before, "nothing refused was stored");

        let first = post(&app, &format!("/widget/{id}/messages"), SHOP, message("Когда привезут заказ 77?", "m4")).await;
        assert_eq!(first.status, 201, "{}", first.body);
        assert_eq!(post(&app, &format!("/widget/{id}/messages"), SHOP, message("Когда привезут заказ 77?", "m4")).await.status, 201, "a resent message is fine");
        let case = eventually("filed", || async {
            let cases = app.get("/api/v1/cases").await.ok(200).clone();
            cases["items"].as_array().and_then(|c| c.iter().find(|c| c["channel"] == "widget").map(|c| c["id"].as_i64().unwrap_or(0)))
        }).await;
        let customer = app.get(&format!("/api/v1/cases/{case}")).await.ok(200)["customer"]["id"].clone();
        let identities = app.get(&format!("/api/v1/customers/{customer}")).await.ok(200)["identities"].clone();
        assert!(identities.as_array().expect("list").iter().any(|i| i["kind"] == "email" && i["value"] == "olga@example.ru"), "{identities}");
        app.post(&format!("/api/v1/cases/{case}/messages"), json!({"kind": "note", "body_text": "Клиентка из Москвы"})).await.ok(201);
        app.post(&format!("/api/v1/cases/{case}/messages"), json!({"body_text": "Завтра до обеда"})).await.ok(201);
        let conversation = app.client.get(format!("{}/widget/{id}/conversation?visitor={visitor}", app.base)).header("origin", SHOP).send().await.expect("sent");
        let conversation: Value = conversation.json().await.expect("json");
        let texts: Vec<&str> = conversation["messages"].as_array().expect("messages").iter().filter_map(|m| m["text"].as_str()).collect();
        assert_eq!(texts, ["Когда привезут заказ 77?", "Завтра до обеда"], "the visitor's message once, the reply, never the note");
        assert_eq!(conversation["online"], false, "no agent is signed in to the workspace");
        // A page on our own address sends no Origin with a GET: its Referer says where it is.
        let path = format!("{}/widget/{id}/conversation?visitor={visitor}", app.base);
        let same_site = app.client.get(&path).header("referer", format!("{SHOP}/catalog?page=2")).send().await.expect("sent");
        assert_eq!(same_site.status(), 200);
        let elsewhere = app.client.get(&path).header("referer", "https://evil.example/page").send().await.expect("sent");
        assert_eq!(elsewhere.status(), 403);
        assert_eq!(app.client.get(&path).send().await.expect("sent").status(), 403, "no origin at all");
    }
}
