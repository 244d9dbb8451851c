//! The API describes itself: an OpenAPI 3 document covering every route, a readable page from
//! the binary, health and metrics.

use crate::both_engines;

both_engines! {
    async fn the_api_documents_itself(app: TestApp) {
        let spec = app.client.get(format!("{}/api/v1/openapi.json", app.base)).send().await.expect("sent");
        assert_eq!(spec.status(), 200);
        let spec: serde_json::Value = spec.json().await.expect("json");
        assert!(spec["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
        let paths = spec["paths"].as_object().expect("paths");
        for path in ["/api/v1/cases", "/api/v1/cases/{id}", "/api/v1/cases/{id}/messages", "/api/v1/cases/{id}/events", "/api/v1/cases/{id}/collaborators",
                     "/api/v1/cases/{id}/transfer", "/api/v1/cases/{id}/compensations", "/api/v1/customers/{id}/merge", "/api/v1/events/stream",
                     "/api/v1/agents", "/api/v1/teams", "/api/v1/custom-fields", "/healthz", "/metrics"] {
            assert!(paths.contains_key(path), "{path} is documented");
        }
        assert!(spec["components"]["schemas"]["CaseView"]["properties"]["owner"].is_object());
        assert!(spec["components"]["securitySchemes"]["bearer"].is_object());
        let page = app.client.get(format!("{}/api/docs", app.base)).send().await.expect("sent");
        assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
        let html = page.text().await.expect("html");
        assert!(html.contains("Hand the case over to another agent") && html.contains("id=\"error-case_already_owned\"") && html.contains("Обращение не найдено"));
        assert!(!html.contains("cdn.") && !html.contains("https://unpkg"), "no assets from CDNs");
    }

    async fn health_and_metrics(app: TestApp) {
        let health = app.request(reqwest::Method::GET, "/healthz", None, None).await;
        let body = health.ok(200);
        assert_eq!(body["status"], "ok");
        assert_eq!(body["database"], "ok");
        assert!(body.get("version").is_none() && body.get("workers").is_none(), "strangers learn only that it is up: {body}");
        let inside = app.request(reqwest::Method::GET, "/healthz", Some(&app.admin_token), None).await;
        let inside = inside.ok(200);
        assert_eq!(inside["workers"]["jobs"]["state"], "running");
        assert!(inside["version"].is_string());
        app.case("Для метрик").await;
        let metrics = app.client.get(format!("{}/metrics", app.base)).bearer_auth(&app.admin_token).send().await.expect("sent");
        assert!(metrics.headers()["content-type"].to_str().expect("type").starts_with("text/plain"));
        let text = metrics.text().await.expect("text");
        for needle in ["opora_http_requests_total{method=\"POST\",route=\"/api/v1/cases\",status=\"201\"} 1", "opora_cases{status=\"new\"} 1",
                       "opora_worker_up{worker=\"jobs\"} 1", "process_resident_memory_bytes", "opora_http_request_duration_seconds_bucket"] {
            assert!(text.contains(needle), "{needle} in metrics:\n{text}");
        }
        app.request(reqwest::Method::GET, "/metrics", None, None).await.problem(401, "unauthenticated");
    }
}
