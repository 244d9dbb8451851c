//! The outbox at work: webhooks signed and delivered for committed events, failures retried with
//! backoff and then dead-lettered, 410 switching an endpoint off, deadlines checked on time.

use serde_json::json;

use crate::both_engines;
use crate::harness::{Receiver, eventually};

both_engines! {
    async fn webhooks_are_signed_and_delivered_once_per_event(app: TestApp) {
        let (receiver, url) = Receiver::start(&[]).await;
        let hook = app.post("/api/v1/webhooks", json!({"url": url, "events": ["case.created", "case.status_changed"]})).await.ok(201).clone();
        let secret = hook["secret"].as_str().expect("secret").to_owned();
        assert!(secret.starts_with("whsec_"));
        let case = app.case("Вебхук").await;
        let id = case["id"].as_i64().expect("id");
        app.post(&format!("/api/v1/cases/{id}/take"), json!({})).await.ok(200);
        let calls = eventually("two deliveries", || {
            let receiver = receiver.clone();
            async move { Some(receiver.calls()).filter(|c| c.len() >= 2) }
        })
        .await;
        let kinds: Vec<&str> = calls.iter().filter_map(|(_, body, _)| body["type"].as_str()).collect();
        assert_eq!(kinds, ["case.created", "case.status_changed"], "only subscribed kinds, in order");
        let (headers, body, raw) = &calls[0];
        assert_eq!(body["data"]["case_id"], id);
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).expect("header").to_owned();
        let timestamp: i64 = header("webhook-timestamp").parse().expect("timestamp");
        assert!((opora_domain::Timestamp::now().millis() / 1000 - timestamp).abs() < 60);
        let expected = opora_channels::webhook::sign(&secret, &header("webhook-id"), timestamp, raw).expect("sign");
        assert!(header("webhook-id").starts_with("evt_"));
        assert_eq!(header("webhook-signature"), expected, "the signature verifies over the raw body");
        assert_ne!(calls[1].0.get("webhook-id"), headers.get("webhook-id"), "each event has its own id");
        let log = eventually("both deliveries logged", || {
            let (app, id) = (&app, hook["id"].clone());
            async move { Some(app.get(&format!("/api/v1/webhooks/{id}/deliveries")).await.ok(200).clone()).filter(|l| l.as_array().map(Vec::len) == Some(2)) }
        })
        .await;
        assert_eq!(log[0]["status_code"], 200);
        app.post("/api/v1/webhooks", json!({"url": "ftp://x"})).await.field("url", "invalid_url");
        app.post("/api/v1/webhooks", json!({"url": url, "events": ["agent.created"]})).await.field("events.0", "invalid_value");
    }

    async fn failing_jobs_are_retried_then_dead_lettered(app: TestApp) {
        let (receiver, url) = Receiver::start(&[500, 503, 200]).await;
        app.post("/api/v1/webhooks", json!({"url": url, "events": ["case.created"]})).await.ok(201);
        app.case("Повторы").await;
        eventually("a delivery after two failures", || {
            let receiver = receiver.clone();
            async move { Some(()).filter(|_| receiver.calls().len() == 3) }
        })
        .await;
        let (dead_receiver, dead_url) = Receiver::start(&[500; 20]).await;
        let hook = app.post("/api/v1/webhooks", json!({"url": dead_url, "events": ["case.created"]})).await.ok(201).clone();
        app.case("Никогда").await;
        let dead = eventually("the job to die", || {
            let app = &app;
            async move {
                let jobs = app.get("/api/v1/jobs?state=dead").await.ok(200).clone();
                jobs.as_array().and_then(|j| j.first().cloned())
            }
        })
        .await;
        assert_eq!(dead["kind"], "webhook.deliver");
        assert_eq!(dead["attempts"], 10);
        assert_eq!(dead["last_error"], "HTTP 500");
        assert_eq!(dead_receiver.calls().len(), 10, "every attempt reached the receiver once");
        let log = app.get(&format!("/api/v1/webhooks/{}/deliveries?limit=100", hook["id"])).await.ok(200).clone();
        assert_eq!(log.as_array().map(Vec::len), Some(10));
        dead_receiver.accept_all();
        let retried = app.post(&format!("/api/v1/jobs/{}/retry", dead["id"]), json!({})).await.ok(200).clone();
        assert_eq!(retried["state"], "queued");
        eventually("the retried job to succeed", || {
            let receiver = dead_receiver.clone();
            async move { Some(()).filter(|_| receiver.calls().len() == 11) }
        })
        .await;
        eventually("the dead letter to clear", || {
            let app = &app;
            async move { app.get("/api/v1/jobs?state=dead").await.ok(200).as_array().filter(|j| j.is_empty()).map(|_| ()) }
        })
        .await;
        app.post(&format!("/api/v1/jobs/{}/retry", dead["id"]), json!({})).await.problem(404, "job_not_found");
    }

    async fn a_gone_endpoint_is_switched_off(app: TestApp) {
        let (receiver, url) = Receiver::start(&[410]).await;
        let hook = app.post("/api/v1/webhooks", json!({"url": url, "events": ["*"]})).await.ok(201).clone();
        app.case("Ушёл").await;
        let off = eventually("the endpoint to be disabled", || {
            let app = &app;
            let id = hook["id"].clone();
            async move { Some(app.get(&format!("/api/v1/webhooks/{id}")).await.ok(200).clone()).filter(|h| h["active"] == false) }
        })
        .await;
        assert!(off["disabled_reason"].as_str().is_some_and(|r| r.contains("410")));
        // A delivery already under way when the 410 came back may still land; count after it.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let calls_before = receiver.calls().len();
        app.case("Больше не шлём").await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(receiver.calls().len(), calls_before, "nothing is sent to a disabled endpoint");
        app.patch(&format!("/api/v1/webhooks/{}", hook["id"]), json!({"active": true})).await.ok(200);
    }

    async fn a_missed_deadline_is_recorded(app: TestApp) {
        let soon = opora_domain::Timestamp::now().plus_millis(300).to_rfc3339();
        let case = app.post("/api/v1/cases", json!({"subject": "Срочно", "customer": {"email": "sla@example.ru"}, "deadline_at": soon})).await.ok(201).clone();
        let id = case["id"].as_i64().expect("id");
        let solved_in_time = app.post("/api/v1/cases", json!({"subject": "Успели", "customer": {"email": "sla@example.ru"}, "deadline_at": soon})).await.ok(201).clone();
        let other = solved_in_time["id"].as_i64().expect("id");
        app.post(&format!("/api/v1/cases/{other}/messages"), json!({"body_text": "Решено", "status_after": "solved"})).await.ok(201);
        let missed = eventually("the deadline miss", || {
            let app = &app;
            async move {
                let events = app.get(&format!("/api/v1/cases/{id}/events")).await.ok(200).clone();
                events.as_array().and_then(|e| e.iter().find(|e| e["kind"] == "case.deadline_missed").cloned())
            }
        })
        .await;
        assert_eq!(missed["actor"]["kind"], "system");
        assert_eq!(app.get(&format!("/api/v1/cases/{id}")).await.ok(200)["overdue"], true);
        let events = app.get(&format!("/api/v1/cases/{other}/events")).await.ok(200).clone();
        assert!(!events.as_array().expect("events").iter().any(|e| e["kind"] == "case.deadline_missed"), "a solved case misses nothing");
    }
}
