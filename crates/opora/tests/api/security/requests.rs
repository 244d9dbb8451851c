//! Requests shaped to abuse the workspace: redirects off the site, GETs that would change
//! something, header injection through `next`, markup that points back at our own routes, and
//! answers inflated by thousands of bad fields.

use reqwest::Method;
use reqwest::redirect::Policy;
use serde_json::json;

use crate::harness::{Engine, TestApp};

/// A form as a browser posts it.
fn form(request: reqwest::RequestBuilder, fields: &[(&str, &str)]) -> reqwest::RequestBuilder {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    request.header("content-type", "application/x-www-form-urlencoded").body(body)
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(Policy::none()).build().expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_signing_in_nobody_is_sent_off_the_site_or_gets_a_broken_answer() {
    let app = TestApp::start(Engine::Sqlite).await;
    app.agent("Next Tester", "agent").await;
    for (next, expected) in [
        ("/cases/5", "/cases/5"),
        ("/\t/evil.example", "/inbox/mine"),
        ("//evil.example", "/inbox/mine"),
        ("/\r\nSet-Cookie: stolen=1", "/inbox/mine"),
        ("https://evil.example/", "/inbox/mine"),
    ] {
        let fields = [("email", "next.tester@test.opora.dev"), ("password", "correct horse battery"), ("next", next)];
        let answer = form(browser().post(format!("{}/login", app.base)), &fields).send().await.expect("sent");
        assert_eq!(answer.status(), 303, "{next:?}");
        assert_eq!(answer.headers()["location"], expected, "{next:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_get_changes_anything() {
    let app = TestApp::start(Engine::Sqlite).await;
    let (id, _) = app.agent("Lang Keeper", "agent").await;
    let client = browser();
    let fields = [("email", "lang.keeper@test.opora.dev"), ("password", "correct horse battery")];
    form(client.post(format!("{}/login", app.base)), &fields).send().await.expect("signed in");
    let language = || async { app.get(&format!("/api/v1/agents/{id}")).await.ok(200)["language"].clone() };
    let before = language().await;
    let other = if before == "ru" { "en" } else { "ru" };
    // A link, an image or a cross-site form cannot change the agent's language.
    let get = client.get(format!("{}/lang/{other}", app.base)).send().await.expect("sent");
    assert_eq!(get.status(), 405);
    let forged = form(client.post(format!("{}/lang/{other}", app.base)).header("origin", "https://evil.example"), &[("next", "/me")]);
    forged.send().await.expect("sent");
    assert_eq!(language().await, before);
    // Markup in a customer's message cannot point the agent's browser at our own routes.
    let case = app.case("Картинка с подвохом").await;
    let html = r#"<p>Смотрите</p><img src="/api/v1/attachments&#47;../../../lang/en"><img src="/api/v1/attachments/1/../../cases/1">"#;
    let sent = app.post(&format!("/api/v1/cases/{}/messages", case["id"]), json!({"kind": "note", "body_html": html})).await;
    let stored = sent.ok(201)["body_html"].as_str().expect("html").to_owned();
    assert!(!stored.contains("src="), "only exact attachment addresses survive: {stored}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_bad_fields_gets_a_short_answer() {
    let app = TestApp::start(Engine::Sqlite).await;
    let fields: serde_json::Map<String, serde_json::Value> = (0..5000).map(|i| (format!("unknown_{i}"), json!("x"))).collect();
    let body = json!({"subject": "Много полей", "customer": {"email": "flood@example.ru"}, "custom_fields": fields});
    let answer = app.request(Method::POST, "/api/v1/cases", Some(&app.admin_token), Some(&body)).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert_eq!(answer.body["fields"].as_array().map(Vec::len), Some(100));
    assert_eq!(answer.body["fields_omitted"], 4900);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_takes_what_its_document_allows_and_nothing_else() {
    let app = TestApp::start(Engine::Sqlite).await;
    // `1.0` is an integer to JSON Schema, so to us.
    let read = app.request(Method::POST, "/api/v1/notifications/read", Some(&app.admin_token), Some(&json!({"ids": [1.0, 2]}))).await;
    assert_eq!(read.status, 204, "{}", read.body);
    // A parameter is either left out or has a value.
    app.get("/api/v1/cases?limit=").await.field("limit", "invalid_value");
    app.get("/api/v1/cases?our_client=").await.field("our_client", "invalid_value");
    app.get("/api/v1/events/stream?after=-5").await.field("after", "out_of_range");
    // An address no customer can have finds nobody, rather than failing the lookup.
    let nobody = app.get("/api/v1/customers?identity=email:not-an-address").await;
    assert_eq!(nobody.ok(200)["items"].as_array().map(Vec::len), Some(0));
    // The document says so: a required field is never null or empty, an id is at least 1.
    let spec = app.get("/api/v1/openapi.json").await.ok(200).clone();
    let token = &spec["components"]["schemas"]["CreateToken"]["properties"];
    assert_eq!((token["name"]["type"].as_str(), token["name"]["minLength"].as_i64()), (Some("string"), Some(1)));
    assert_eq!(token["agent_id"]["minimum"], 1);
}
