//! Tokens, passwords and sign-in brakes: a scoped token stays within its scope, a password
//! change can end every token, and guessing the current password is limited like signing in.

use reqwest::Method;
use serde_json::json;

use crate::harness::{Engine, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scoped_token_cannot_mint_a_stronger_one() {
    let app = TestApp::start(Engine::Sqlite).await;
    let as_token = |token: &str, method: Method, path: &str, body: serde_json::Value| {
        let (app, token, path) = (&app, token.to_owned(), path.to_owned());
        async move { app.request(method, &path, Some(&token), Some(&body)).await }
    };
    let viewer = app.post("/api/v1/tokens", json!({"name": "dashboard", "role": "viewer"})).await.ok(201).clone();
    let viewer_token = viewer["token"].as_str().expect("token").to_owned();

    // Without a role, the new token has the scope of the one that made it, not the admin's role.
    let minted = as_token(&viewer_token, Method::POST, "/api/v1/tokens", json!({"name": "escalate"})).await.ok(201).clone();
    assert_eq!(minted["role"], "viewer");
    let minted_token = minted["token"].as_str().expect("token").to_owned();
    let agent = json!({"email": "mallory@test.opora.dev", "name": "Mallory", "role": "admin", "password": "correct horse battery"});
    as_token(&minted_token, Method::POST, "/api/v1/agents", agent).await.problem(403, "forbidden");
    as_token(&viewer_token, Method::POST, "/api/v1/tokens", json!({"name": "x", "role": "admin"})).await.field("role", "role_too_high");

    // Nor may it touch its agent's profile, password or other tokens; it may end itself.
    as_token(&viewer_token, Method::PATCH, "/api/v1/me", json!({"name": "Взломщик"})).await.problem(403, "forbidden");
    let change = json!({"current_password": "x", "new_password": "a much longer password"});
    as_token(&viewer_token, Method::POST, "/api/v1/me/password", change).await.problem(403, "forbidden");
    let other = app.post("/api/v1/tokens", json!({"name": "ci"})).await.ok(201)["id"].as_i64().expect("id");
    as_token(&viewer_token, Method::DELETE, &format!("/api/v1/tokens/{other}"), json!(null)).await.problem(403, "forbidden");
    // A token made with a cap stays capped when its agent comes down to that role.
    let (lead, lead_token) = app.agent("Capped Lead", "admin").await;
    let capped =
        as_token(&lead_token, Method::POST, "/api/v1/tokens", json!({"name": "board", "role": "supervisor"})).await.ok(201).clone();
    app.patch(&format!("/api/v1/agents/{lead}"), json!({"role": "supervisor"})).await.ok(200);
    let capped = capped["token"].as_str().expect("token").to_owned();
    as_token(&capped, Method::PATCH, "/api/v1/me", json!({"name": "Взломщик"})).await.problem(403, "forbidden");

    let own = viewer["id"].as_i64().expect("id");
    assert_eq!(app.request(Method::DELETE, &format!("/api/v1/tokens/{own}"), Some(&viewer_token), None).await.status, 204);
    app.request(Method::GET, "/api/v1/me", Some(&viewer_token), None).await.problem(401, "unauthenticated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_can_end_every_token_and_guessing_the_old_one_is_limited() {
    let app = TestApp::start_with(Engine::Sqlite, |config| config.security.login_attempts_per_minute = 3).await;
    let (_, token) = app.agent("Token Owner", "agent").await;

    let guess = json!({"current_password": "guess", "new_password": "a much longer password"});
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(app.request(Method::POST, "/api/v1/me/password", Some(&token), Some(&guess)).await.status);
    }
    assert_eq!(statuses, [422, 422, 422, 429, 429], "the current password is no guessing oracle");

    let other = TestApp::start(Engine::Sqlite).await;
    let (_, token) = other.agent("Token Owner", "agent").await;
    // A password that leaked may have made tokens: the owner can end them all with the change.
    let spare_other = other.request(Method::POST, "/api/v1/tokens", Some(&token), Some(&json!({"name": "spare"}))).await.ok(201).clone();
    let spare_other = spare_other["token"].as_str().expect("token").to_owned();
    let change = json!({"current_password": "correct horse battery", "new_password": "a much longer password", "revoke_tokens": true});
    assert_eq!(other.request(Method::POST, "/api/v1/me/password", Some(&token), Some(&change)).await.status, 204);
    other.request(Method::GET, "/api/v1/me", Some(&spare_other), None).await.problem(401, "unauthenticated");
    other.request(Method::GET, "/api/v1/me", Some(&token), None).await.problem(401, "unauthenticated");
}
