//! Signing in: cookie sessions with CSRF protection, tokens scoped to a role, deactivation,
//! password changes and brute-force brakes.

use reqwest::Method;
use serde_json::json;

use crate::both_engines;
use crate::harness::{Engine, TestApp, answer};

fn cookie_client() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).build().expect("client")
}

both_engines! {
    async fn sessions_work_with_csrf_protection(app: TestApp) {
        let (agent, _) = app.agent("Session Agent", "agent").await;
        let client = cookie_client();
        let wrong = client.post(format!("{}/api/v1/auth/login", app.base)).json(&json!({"email": "session.agent@test.opora.dev", "password": "nope"})).send().await.expect("sent");
        answer(wrong).await.problem(401, "invalid_credentials");
        let unknown = client.post(format!("{}/api/v1/auth/login", app.base)).json(&json!({"email": "nobody@test.opora.dev", "password": "whatever"})).send().await.expect("sent");
        answer(unknown).await.problem(401, "invalid_credentials");
        let login = client.post(format!("{}/api/v1/auth/login", app.base)).json(&json!({"email": "Session.Agent@test.opora.dev", "password": "correct horse battery"})).send().await.expect("sent");
        let cookie = login.headers()["set-cookie"].to_str().expect("cookie").to_owned();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
        let login = answer(login).await;
        assert_eq!(login.ok(200)["agent"]["id"], agent);
        let csrf = login.body["csrf_token"].as_str().expect("csrf").to_owned();
        let me = answer(client.get(format!("{}/api/v1/me", app.base)).send().await.expect("sent")).await;
        assert_eq!(me.ok(200)["id"], agent);
        let body = json!({"subject": "Из интерфейса", "customer": {"email": "ui@example.ru"}});
        let forged = client.post(format!("{}/api/v1/cases", app.base)).json(&body).send().await.expect("sent");
        answer(forged).await.problem(403, "csrf_failed");
        let wrong_token = client.post(format!("{}/api/v1/cases", app.base)).header("x-csrf-token", "guess").json(&body).send().await.expect("sent");
        answer(wrong_token).await.problem(403, "csrf_failed");
        let created = client.post(format!("{}/api/v1/cases", app.base)).header("x-csrf-token", &csrf).json(&body).send().await.expect("sent");
        answer(created).await.ok(201);
        let language = client.patch(format!("{}/api/v1/me", app.base)).header("x-csrf-token", &csrf).json(&json!({"language": "en"})).send().await.expect("sent");
        assert_eq!(answer(language).await.ok(200)["language"], "en");
        let english = client.post(format!("{}/api/v1/cases", app.base)).header("x-csrf-token", &csrf).json(&json!({})).send().await.expect("sent");
        assert_eq!(answer(english).await.body["title"], "Please check the data you entered", "errors follow the agent's language");
        let logout = client.post(format!("{}/api/v1/auth/logout", app.base)).header("x-csrf-token", &csrf).send().await.expect("sent");
        assert_eq!(logout.status(), 204);
        assert!(logout.headers()["set-cookie"].to_str().expect("cookie").contains("Max-Age=0"));
        let after = answer(client.get(format!("{}/api/v1/me", app.base)).send().await.expect("sent")).await;
        after.problem(401, "unauthenticated");
    }

    async fn tokens_carry_at_most_their_agents_role(app: TestApp) {
        let (agent, agent_token) = app.agent("Token Agent", "agent").await;
        let read_only = app.post_as(&agent_token, "/api/v1/tokens", json!({"name": "Grafana", "role": "viewer"})).await.ok(201).clone();
        let secret = read_only["token"].as_str().expect("token").to_owned();
        assert!(secret.starts_with("opora_"));
        assert_eq!(read_only["prefix"].as_str().map(str::len), Some(12));
        app.get_as(&secret, "/api/v1/cases").await.ok(200);
        app.post_as(&secret, "/api/v1/cases", json!({"subject": "x", "customer": {"email": "x@y.ru"}})).await.problem(403, "forbidden");
        assert_eq!(app.get_as(&secret, "/api/v1/me").await.ok(200)["role"], "viewer");
        app.post_as(&agent_token, "/api/v1/tokens", json!({"name": "root", "role": "admin"})).await.field("role", "role_too_high");
        app.post_as(&agent_token, "/api/v1/tokens", json!({"name": "other", "agent_id": app.admin_id})).await.problem(403, "forbidden");
        let mine = app.get_as(&agent_token, "/api/v1/tokens").await.ok(200).as_array().map(Vec::len);
        assert_eq!(mine, Some(2));
        let id = read_only["id"].as_i64().expect("id");
        app.request(Method::DELETE, &format!("/api/v1/tokens/{id}"), Some(&agent_token), None).await.ok(204);
        app.get_as(&secret, "/api/v1/cases").await.problem(401, "unauthenticated");
        let expired = app.post_as(&agent_token, "/api/v1/tokens", json!({"name": "old", "expires_at": "2020-01-01T00:00:00Z"})).await.ok(201).clone();
        app.get_as(expired["token"].as_str().expect("token"), "/api/v1/cases").await.problem(401, "unauthenticated");
        app.patch(&format!("/api/v1/agents/{agent}"), json!({"active": false})).await.ok(200);
        app.get_as(&agent_token, "/api/v1/cases").await.problem(401, "unauthenticated");
        app.patch(&format!("/api/v1/agents/{}", app.admin_id), json!({"role": "agent"})).await.problem(409, "last_admin");
    }

    async fn password_change_signs_out_other_sessions(app: TestApp) {
        app.agent("Pass Changer", "agent").await;
        let (first, second) = (cookie_client(), cookie_client());
        let mut csrf = String::new();
        for client in [&first, &second] {
            let login = client.post(format!("{}/api/v1/auth/login", app.base)).json(&json!({"email": "pass.changer@test.opora.dev", "password": "correct horse battery"})).send().await.expect("sent");
            csrf = answer(login).await.ok(200)["csrf_token"].as_str().expect("csrf").to_owned();
        }
        let weak = second.post(format!("{}/api/v1/me/password", app.base)).header("x-csrf-token", &csrf).json(&json!({"current_password": "correct horse battery", "new_password": "short"})).send().await.expect("sent");
        answer(weak).await.field("new_password", "weak_password");
        let wrong = second.post(format!("{}/api/v1/me/password", app.base)).header("x-csrf-token", &csrf).json(&json!({"current_password": "nope", "new_password": "a much longer password"})).send().await.expect("sent");
        answer(wrong).await.field("current_password", "wrong_password");
        let changed = second.post(format!("{}/api/v1/me/password", app.base)).header("x-csrf-token", &csrf).json(&json!({"current_password": "correct horse battery", "new_password": "a much longer password"})).send().await.expect("sent");
        assert_eq!(changed.status(), 204);
        answer(second.get(format!("{}/api/v1/me", app.base)).send().await.expect("sent")).await.ok(200);
        answer(first.get(format!("{}/api/v1/me", app.base)).send().await.expect("sent")).await.problem(401, "unauthenticated");
        let login = first.post(format!("{}/api/v1/auth/login", app.base)).json(&json!({"email": "pass.changer@test.opora.dev", "password": "a much longer password"})).send().await.expect("sent");
        assert_eq!(login.status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_are_rate_limited() {
    let app = TestApp::start_with(Engine::Sqlite, |config| config.security.login_attempts_per_minute = 3).await;
    let client = cookie_client();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let attempt = client
            .post(format!("{}/api/v1/auth/login", app.base))
            .json(&json!({"email": "someone@test.opora.dev", "password": "guess"}))
            .send()
            .await
            .expect("sent");
        statuses.push(attempt.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
}
