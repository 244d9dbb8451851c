//! Bad input on every endpoint gets the documented problem+json answer, never a 500: the list of
//! endpoints comes from the OpenAPI document, so a new route is covered as soon as it exists.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::TestApp;

/// Every documented operation, with path parameters filled from real records.
async fn operations(app: &TestApp) -> Vec<(Method, String, bool)> {
    let case = app.case("Для проверки ошибок").await;
    let case_id = case["id"].as_i64().expect("case id");
    let customer_id = case["customer"]["id"].as_i64().expect("customer id");
    let spec = app.get("/api/v1/openapi.json").await.ok(200).clone();
    let mut found = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            let filled = path
                .replace("/cases/{id}", &format!("/cases/{case_id}"))
                .replace("/customers/{id}", &format!("/customers/{customer_id}"))
                .replace("{agent_id}", &app.admin_id.to_string())
                .replace("{customer_id}", &customer_id.to_string())
                .replace("{identity_id}", "1")
                .replace("{key}", "order_no")
                .replace("{external_id}", "CL-1")
                .replace("{step}", "1")
                .replace("{id}", "1")
                .replace("{kind}", "telegram")
                .replace("{channel_id}", "1");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            found.push((method, filled, operation.get("requestBody").is_some()));
        }
    }
    assert!(found.len() > 40, "the document lists the API: {}", found.len());
    found
}

/// Public paths: the inbound endpoint of an API channel and messengers' hooks answer to a
/// signature instead of a token; `api_channel` and `telegram` test their errors.
const PUBLIC: &[&str] = &["/healthz", "/api/v1/auth/login", "/api/v1/channels/1/inbound", "/hooks/telegram/1"];

both_engines! {
    async fn every_endpoint_requires_credentials(app: TestApp) {
        for (method, path, _) in operations(&app).await {
            if PUBLIC.contains(&path.as_str()) {
                continue;
            }
            let anonymous = app.request(method.clone(), &path, None, None).await;
            anonymous.problem(401, "unauthenticated");
            let forged = app.request(method.clone(), &path, Some("opora_not-a-real-token"), None).await;
            forged.problem(401, "unauthenticated");
        }
        let malformed = app.client.get(format!("{}/api/v1/cases", app.base)).header("authorization", "Basic abc").send().await.expect("sent");
        assert_eq!(malformed.status(), 401);
    }

    async fn bodies_must_be_json_objects(app: TestApp) {
        for (method, path, has_body) in operations(&app).await {
            if !has_body || path == "/api/v1/cases/1/messages" || PUBLIC.contains(&path.as_str()) {
                continue;
            }
            let broken = app.send_raw(method.clone(), &path, "application/json", b"{\"subject\": ").await;
            broken.problem(400, "malformed_json");
            let text = app.send_raw(method.clone(), &path, "text/plain", b"hello").await;
            assert!(text.status == 415 || text.status == 422, "{method} {path}: {}", text.body);
            let array = app.send_raw(method.clone(), &path, "application/json", b"[1, 2]").await;
            array.field("$", "invalid_type");
            let unknown = app.send_raw(method.clone(), &path, "application/json", b"{\"no_such_field\": 1}").await;
            unknown.field("no_such_field", "unknown_field");
        }
    }

    async fn viewers_only_read(app: TestApp) {
        let (_, viewer) = app.agent("Viewer Person", "viewer").await;
        // A viewer still manages their own session, tokens and notifications, and says which
        // case they are looking at.
        let own = ["/api/v1/auth/logout", "/api/v1/me", "/api/v1/me/password", "/api/v1/tokens", "/api/v1/auth/login", "/api/v1/notifications/read"];
        for (method, path, _) in operations(&app).await {
            if method == Method::GET || own.contains(&path.as_str()) || PUBLIC.contains(&path.as_str()) || path.starts_with("/api/v1/tokens/") || path.ends_with("/presence") {
                continue;
            }
            let answer = app.request(method.clone(), &path, Some(&viewer), Some(&json!({}))).await;
            answer.problem(403, "forbidden");
        }
        app.get_as(&viewer, "/api/v1/cases").await.ok(200);
    }

    async fn agents_do_not_administer(app: TestApp) {
        let (_, agent) = app.agent("Plain Agent", "agent").await;
        let admin_only = [
            (Method::POST, "/api/v1/agents"), (Method::PATCH, "/api/v1/agents/1"), (Method::POST, "/api/v1/teams"),
            (Method::PATCH, "/api/v1/teams/1"), (Method::DELETE, "/api/v1/teams/1"), (Method::POST, "/api/v1/custom-fields"),
            (Method::PUT, "/api/v1/custom-fields/order_no"), (Method::DELETE, "/api/v1/custom-fields/order_no"),
            (Method::GET, "/api/v1/webhooks"), (Method::POST, "/api/v1/webhooks"), (Method::GET, "/api/v1/jobs"),
            (Method::POST, "/api/v1/jobs/1/retry"), (Method::GET, "/metrics"), (Method::GET, "/api/v1/tokens?agent=all"),
        ];
        for (method, path) in admin_only {
            app.request(method, path, Some(&agent), Some(&json!({}))).await.problem(403, "forbidden");
        }
        let merge = app.request(Method::POST, "/api/v1/customers/1/merge", Some(&agent), Some(&json!({"source_id": 2}))).await;
        merge.problem(403, "forbidden");
    }

    async fn unknown_ids_are_not_found(app: TestApp) {
        let cases = [
            ("/api/v1/cases/999999", "case_not_found"), ("/api/v1/cases/999999/messages", "case_not_found"),
            ("/api/v1/cases/999999/events", "case_not_found"), ("/api/v1/cases/999999/compensations", "case_not_found"),
            ("/api/v1/customers/999999", "customer_not_found"), ("/api/v1/agents/999999", "agent_not_found"),
            ("/api/v1/teams/999999", "team_not_found"), ("/api/v1/attachments/999999", "attachment_not_found"),
            ("/api/v1/webhooks/999999", "webhook_not_found"), ("/api/v1/cases/abc", "not_found"),
            ("/api/v1/cases/-1", "not_found"), ("/api/v1/no-such-thing", "route_not_found"),
        ];
        for (path, code) in cases {
            app.get(path).await.problem(404, code);
        }
        let writes = [
            (Method::PATCH, "/api/v1/cases/999999", json!({"priority": "high"}), "case_not_found"),
            (Method::POST, "/api/v1/cases/999999/take", json!({}), "case_not_found"),
            (Method::POST, "/api/v1/cases/999999/messages", json!({"body_text": "x"}), "case_not_found"),
            (Method::POST, "/api/v1/cases/999999/transfer", json!({"agent_id": 1, "reason": "x"}), "case_not_found"),
            (Method::POST, "/api/v1/jobs/999999/retry", json!({}), "job_not_found"),
            (Method::DELETE, "/api/v1/tokens/999999", json!({}), "token_not_found"),
            (Method::PUT, "/api/v1/custom-fields/nope", json!({"label_ru": "a", "label_en": "a", "field_type": "text"}), "custom_field_not_found"),
        ];
        for (method, path, body, code) in writes {
            app.request(method, path, Some(&app.admin_token), Some(&body)).await.problem(404, code);
        }
        app.request(Method::PUT, "/api/v1/cases", Some(&app.admin_token), None).await.problem(405, "method_not_allowed");
    }

    async fn case_input_errors_name_their_fields(app: TestApp) {
        let long_subject = "я".repeat(301);
        let invalid: Vec<(Value, &str, &str)> = vec![
            (json!({"customer": {"email": "a@b.ru"}}), "subject", "required"),
            (json!({"subject": "Тема"}), "customer", "required"),
            (json!({"subject": long_subject, "customer": {"email": "a@b.ru"}}), "subject", "too_long"),
            (json!({"subject": 42, "customer": {"email": "a@b.ru"}}), "subject", "invalid_type"),
            (json!({"subject": "Тема", "customer": {"email": "not-an-email"}}), "customer.email", "invalid_email"),
            (json!({"subject": "Тема", "customer": {"phone": "12ab"}}), "customer.phone", "invalid_phone"),
            (json!({"subject": "Тема", "customer": {"email": "a@b.ru"}, "priority": "asap"}), "priority", "invalid_choice"),
            (json!({"subject": "Тема", "customer": {"email": "a@b.ru"}, "kind": "rant"}), "kind", "invalid_choice"),
            (json!({"subject": "Тема", "customer": {"email": "a@b.ru"}, "deadline_at": "tomorrow"}), "deadline_at", "invalid_datetime"),
            (json!({"subject": "Тема", "customer": {"email": "a@b.ru"}, "tags": ["ok", "bad tag!"]}), "tags.1", "invalid_tag"),
            (json!({"subject": "Тема", "customer": {"email": "a@b.ru"}, "message": {"body_text": "  "}}), "message.body_text", "required"),
            (json!({"subject": "Тема", "customer": {"email": "a@b.ru"}, "team_id": 999}), "team_id", "not_found"),
            (json!({"subject": "Тема", "customer": {"email": "a@b.ru"}, "owner_id": 999}), "owner_id", "not_found"),
            (json!({"subject": "Тема", "customer": {"id": 999}}), "customer.id", "not_found"),
            (json!({"subject": "Тема", "customer": {"email": "a@b.ru"}, "custom_fields": {"colour": "red"}}), "custom_fields.colour", "unknown_field"),
            (json!({"subject": "Тема", "customer": {"email": "a@b.ru"}, "compensation_budget": {"amount": "-5"}}), "compensation_budget.amount", "invalid_amount"),
            (json!({"subject": "Тема", "customer": {"email": "a@b.ru"}, "message": {"body_text": "x", "attachments": [{"filename": "a.txt", "content_base64": "%%%"}]}}), "message.attachments.0.content_base64", "invalid_base64"),
        ];
        for (body, field, code) in invalid {
            app.post("/api/v1/cases", body).await.field(field, code);
        }
        let several = app.post("/api/v1/cases", json!({"priority": "asap"})).await;
        assert!(several.body["fields"].as_array().is_some_and(|f| f.len() >= 3), "all faults at once: {}", several.body);
        let russian = app.client.post(format!("{}/api/v1/cases", app.base)).bearer_auth(&app.admin_token).header("accept-language", "ru")
            .json(&json!({"subject": "я".repeat(301), "customer": {"email": "a@b.ru"}})).send().await.expect("sent");
        let russian = crate::harness::answer(russian).await;
        assert_eq!(russian.body["title"], "Проверьте введённые данные");
        assert_eq!(russian.body["fields"][0]["message"], "Не длиннее 300 символов");
        let english = app.client.post(format!("{}/api/v1/cases", app.base)).bearer_auth(&app.admin_token).header("accept-language", "en-GB,en;q=0.9")
            .json(&json!({"subject": "", "customer": {"email": "a@b.ru"}})).send().await.expect("sent");
        let english = crate::harness::answer(english).await;
        assert_eq!(english.body["fields"][0]["message"], "Required");
        assert!(english.body["request_id"].is_string());
        assert_eq!(app.get("/api/v1/cases").await.ok(200)["items"].as_array().map(Vec::len), Some(0), "no case was created by bad input");
    }

    async fn conflicts_are_409(app: TestApp) {
        let case = app.case("Конфликты").await;
        let id = case["id"].as_i64().expect("id");
        app.patch(&format!("/api/v1/cases/{id}"), json!({"status": "closed"})).await.problem(409, "invalid_status_transition");
        app.patch(&format!("/api/v1/cases/{id}"), json!({"status": "solved"})).await.problem(409, "case_needs_owner");
        let (_, other) = app.agent("Other Agent", "agent").await;
        app.post(&format!("/api/v1/cases/{id}/take"), json!({})).await.ok(200);
        app.patch(&format!("/api/v1/cases/{id}"), json!({"status": "new"})).await.problem(409, "invalid_status_transition");
        let taken = app.post_as(&other, &format!("/api/v1/cases/{id}/take"), json!({})).await;
        taken.problem(409, "case_already_owned");
        assert_eq!(taken.body["owner_id"], app.admin_id);
        let over = app.post(&format!("/api/v1/cases/{id}/compensations"), json!({"kind": "gift", "amount": "10", "note": "Подарок"})).await;
        assert_eq!(over.status, 201, "an admin may grant without a budget: {}", over.body);
        let agent_over = app.post_as(&other, &format!("/api/v1/cases/{id}/compensations"), json!({"kind": "gift", "amount": "10", "note": "Подарок"})).await;
        agent_over.problem(409, "compensation_over_budget");
        let edited = app.patch_as(&other, &format!("/api/v1/cases/{id}"), json!({"priority": "urgent"})).await;
        assert_eq!(edited.ok(200)["priority"], "urgent", "any agent may edit a case's properties; only ownership is the owner's");
        app.patch(&format!("/api/v1/cases/{id}"), json!({"status": "solved"})).await.ok(200);
        app.patch(&format!("/api/v1/cases/{id}"), json!({"status": "closed"})).await.ok(200);
        app.post(&format!("/api/v1/cases/{id}/messages"), json!({"body_text": "ещё"})).await.problem(409, "case_closed");
        app.patch(&format!("/api/v1/cases/{id}"), json!({"priority": "low"})).await.problem(409, "case_closed");
        app.post("/api/v1/agents", json!({"email": "admin@test.opora.dev", "name": "Двойник"})).await.problem(409, "agent_email_taken");
    }

    async fn oversized_requests_are_413(app: TestApp) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let case = app.case("Большое вложение").await;
        let id = case["id"].as_i64().expect("id");
        // Raw HTTP: the server answers from the declared length without reading the body, and may
        // close while a client is still writing it, which an HTTP client reports as a broken pipe.
        let address = app.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
        let head = format!(
            "POST /api/v1/cases/{id}/messages HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nAccept-Language: ru\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            app.admin_token,
            60 * 1024 * 1024
        );
        stream.write_all(head.as_bytes()).await.expect("head sent");
        let _ = stream.write_all(&[b'A'; 64 * 1024]).await;
        let mut reply = Vec::new();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut reply)).await.expect("answered in time");
        let reply = String::from_utf8_lossy(&reply);
        assert!(reply.starts_with("HTTP/1.1 413"), "413 from the declared length: {reply}");
        assert!(reply.contains("payload_too_large") && reply.contains("application/problem+json"), "a problem in the user's language: {reply}");
    }
}
