//! Access by team: an agent limited to their teams sees their teams' cases, the ones they own or
//! were pulled into and (by default) the unsorted queue — in lists, search, single reads,
//! messages, timelines, attachments, the event feed and the live stream; everything else is "not
//! found" to them. With the `involved` edit policy, a case someone else owns is changed only by
//! its people and supervisors.

use opora::config::Config;
use opora_domain::access::EditPolicy;
use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{Engine, EventStream, TestApp};

async fn team(app: &TestApp, name: &str, members: &[i64]) -> i64 {
    app.post("/api/v1/teams", json!({"name": name, "member_ids": members})).await.ok(201)["id"].as_i64().expect("team id")
}

/// A case of `team` (or none) for a new customer, with a file attached.
async fn case_in(app: &TestApp, subject: &str, team: Option<i64>) -> i64 {
    let file = json!({"filename": "счёт.txt", "content_type": "text/plain", "content_base64": "0YHRh9GR0YI="});
    let body = json!({"subject": subject, "team_id": team,
                      "customer": {"email": format!("{}@example.ru", subject.to_lowercase().replace(' ', "-")), "name": subject},
                      "message": {"body_text": format!("Текст: {subject}"), "attachments": [file]}});
    let body = if team.is_none() { strip_team(body) } else { body };
    app.post("/api/v1/cases", body).await.ok(201)["id"].as_i64().expect("case id")
}

fn strip_team(mut body: Value) -> Value {
    body.as_object_mut().expect("object").remove("team_id");
    body
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"].as_array().expect("items").iter().map(|c| c["id"].as_i64().expect("id")).collect()
}

async fn attachment_of(app: &TestApp, case: i64) -> i64 {
    let messages = app.get(&format!("/api/v1/cases/{case}/messages")).await;
    messages.ok(200)[0]["attachments"][0]["id"].as_i64().expect("attachment id")
}

both_engines! {
    async fn an_agent_limited_to_teams_sees_only_their_cases(app: TestApp) {
        let (limited, token) = app.agent("Ограниченный Агент", "agent").await;
        let (other, _) = app.agent("Другой Агент", "agent").await;
        let patched = app.patch(&format!("/api/v1/agents/{limited}"), json!({"case_access": "teams"})).await;
        assert_eq!(patched.ok(200)["case_access"], "teams");
        let warehouse = team(&app, "Склад", &[limited]).await;
        let billing = team(&app, "Биллинг", &[other]).await;

        let ours = case_in(&app, "Склад потерял", Some(warehouse)).await;
        let theirs = case_in(&app, "Счёт неверный", Some(billing)).await;
        let unsorted = case_in(&app, "Без команды", None).await;
        let owned = case_in(&app, "Отдан мне", Some(billing)).await;
        app.post(&format!("/api/v1/cases/{owned}/transfer"), json!({"agent_id": limited, "reason": "знает клиента"})).await.ok(200);
        let pulled = case_in(&app, "Позвали помочь", Some(billing)).await;
        app.post(&format!("/api/v1/cases/{pulled}/collaborators"), json!({"agent_id": limited})).await.ok(200);

        // Lists and search by customer.
        let mut seen = ids(app.get_as(&token, "/api/v1/cases?limit=100").await.ok(200));
        seen.sort();
        let mut expected = vec![ours, unsorted, owned, pulled];
        expected.sort();
        assert_eq!(seen, expected, "their team's, the unsorted queue, owned and pulled-in cases only");
        let admin_sees = ids(app.get("/api/v1/cases?limit=100").await.ok(200));
        assert!(admin_sees.contains(&theirs));
        let customer = app.get(&format!("/api/v1/cases/{theirs}")).await.ok(200)["customer"]["id"].as_i64().expect("customer");
        assert!(ids(app.get_as(&token, &format!("/api/v1/cases?customer={customer}")).await.ok(200)).is_empty());

        // Every read of another team's case is "not found": its existence does not leak.
        for path in ["", "/messages", "/events", "/participants", "/compensations"] {
            app.get_as(&token, &format!("/api/v1/cases/{theirs}{path}")).await.problem(404, "case_not_found");
        }
        let file = attachment_of(&app, theirs).await;
        app.get_as(&token, &format!("/api/v1/attachments/{file}")).await.problem(404, "attachment_not_found");
        assert_eq!(app.get_as(&token, &format!("/api/v1/attachments/{}", attachment_of(&app, ours).await)).await.status, 200);
        app.post_as(&token, &format!("/api/v1/cases/{theirs}/take"), json!({})).await.problem(404, "case_not_found");
        app.post_as(&token, &format!("/api/v1/cases/{theirs}/messages"), json!({"kind": "note", "body_text": "я тут"}))
            .await
            .problem(404, "case_not_found");
        app.patch_as(&token, &format!("/api/v1/cases/{theirs}"), json!({"priority": "high"})).await.problem(404, "case_not_found");
        app.post_as(&token, &format!("/api/v1/cases/{theirs}/presence"), json!({"typing": false})).await.problem(404, "case_not_found");

        // The event feed and the live stream leave the other team's cases out.
        let mut stream = EventStream::open(&app, &token, "").await;
        app.post(&format!("/api/v1/cases/{theirs}/messages"), json!({"kind": "note", "body_text": "секрет биллинга"})).await.ok(201);
        app.post(&format!("/api/v1/cases/{ours}/messages"), json!({"kind": "note", "body_text": "для склада"})).await.ok(201);
        let (_, shown) = stream.expect("message.added").await;
        assert_eq!(shown["case_id"], ours, "the first note they get is their team's");
        assert!(stream.seen.iter().all(|(_, _, data)| data["case_id"] != theirs), "nothing of the other team's case: {:?}", stream.seen);
        let feed = app.get_as(&token, "/api/v1/events?limit=1000").await;
        let feed = feed.ok(200)["items"].as_array().cloned().expect("items");
        assert!(feed.iter().any(|e| e["case_id"] == ours));
        assert!(feed.iter().all(|e| e["case_id"] != theirs), "the feed leaves the other team's case out");

        // Under the default policy anyone who sees a case may change it, owned or not.
        let (_, colleague) = app.agent("Коллега Склада", "agent").await;
        app.patch_as(&colleague, &format!("/api/v1/cases/{owned}"), json!({"priority": "high"})).await.ok(200);

        // A hand-over out of their sight still answers with the case they just changed.
        let handed = app.post_as(&token, &format!("/api/v1/cases/{owned}/transfer"), json!({"agent_id": other, "reason": "биллинг"})).await;
        assert_eq!(handed.ok(200)["owner"]["id"], other);
        app.get_as(&token, &format!("/api/v1/cases/{owned}")).await.problem(404, "case_not_found");
    }

}

async fn strict(engine: Engine) -> TestApp {
    TestApp::start_with(engine, |config: &mut Config| config.access.edit = EditPolicy::Involved).await
}

both_engines! {
    start = strict;
    async fn the_involved_policy_keeps_owned_cases_to_their_people(app: TestApp) {
        let (owner, owner_token) = app.agent("Владелец Дела", "agent").await;
        let (helper, helper_token) = app.agent("Помощник Дела", "agent").await;
        let (_, supervisor) = app.agent("Старший Смены", "supervisor").await;
        let case = case_in(&app, "Чужое дело", None).await;
        app.patch_as(&helper_token, &format!("/api/v1/cases/{case}"), json!({"priority": "high"})).await.ok(200);
        app.post_as(&owner_token, &format!("/api/v1/cases/{case}/take"), json!({})).await.ok(200);

        let path = format!("/api/v1/cases/{case}");
        app.patch_as(&helper_token, &path, json!({"priority": "urgent"})).await.problem(403, "not_involved");
        app.post_as(&helper_token, &format!("{path}/messages"), json!({"kind": "note", "body_text": "вмешаюсь"}))
            .await
            .problem(403, "not_involved");
        app.post_as(&helper_token, &format!("{path}/collaborators"), json!({"agent_id": helper})).await.problem(403, "not_involved");
        let refused = app.get_as(&helper_token, &path).await;
        assert_eq!(refused.ok(200)["priority"], "high", "still readable, unchanged");

        app.post_as(&owner_token, &format!("{path}/collaborators"), json!({"agent_id": helper})).await.ok(200);
        app.patch_as(&helper_token, &path, json!({"priority": "urgent"})).await.ok(200);
        app.patch_as(&supervisor, &path, json!({"priority": "normal"})).await.ok(200);
        assert_eq!(app.get(&path).await.ok(200)["owner"]["id"], owner);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unsorted_queue_can_be_kept_from_team_agents() {
    let app = TestApp::start_with(Engine::Sqlite, |config: &mut Config| config.access.teams_see_unsorted = false).await;
    let (limited, token) = app.agent("Без Общей Очереди", "agent").await;
    app.patch(&format!("/api/v1/agents/{limited}"), json!({"case_access": "teams"})).await.ok(200);
    let unsorted = case_in(&app, "Никому не отдано", None).await;
    assert!(ids(app.get_as(&token, "/api/v1/cases").await.ok(200)).is_empty());
    app.get_as(&token, &format!("/api/v1/cases/{unsorted}")).await.problem(404, "case_not_found");
    app.patch(&format!("/api/v1/agents/{limited}"), json!({"case_access": "all"})).await.ok(200);
    assert_eq!(ids(app.get_as(&token, "/api/v1/cases").await.ok(200)), [unsorted], "back to every case");
    app.patch(&format!("/api/v1/agents/{limited}"), json!({"case_access": "some"})).await.field("case_access", "invalid_choice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_access_counts_at_once_on_an_open_stream_and_openers_write_first_messages() {
    let app = TestApp::start_with(Engine::Sqlite, |config: &mut Config| config.access.edit = EditPolicy::Involved).await;
    let (agent, token) = app.agent("Сменил Доступ", "agent").await;
    let (colleague, _) = app.agent("Чужой Владелец", "agent").await;
    let own = team(&app, "Своя", &[agent]).await;
    let other = team(&app, "Чужая", &[]).await;
    let ours = case_in(&app, "Своё дело", Some(own)).await;
    let theirs = case_in(&app, "Чужое дело", Some(other)).await;

    let mut stream = EventStream::open(&app, &token, "").await;
    app.patch(&format!("/api/v1/agents/{agent}"), json!({"case_access": "teams"})).await.ok(200);
    app.post(&format!("/api/v1/cases/{theirs}/messages"), json!({"kind": "note", "body_text": "уже не для него"})).await.ok(201);
    app.post(&format!("/api/v1/cases/{ours}/messages"), json!({"kind": "note", "body_text": "для него"})).await.ok(201);
    let (_, shown) = stream.expect("message.added").await;
    assert_eq!(shown["case_id"], ours, "the stream follows the new access without reconnecting");

    // Whoever opens a case writes its first message, whatever team or owner they gave it.
    let opened = app
        .post_as(
            &token,
            "/api/v1/cases",
            json!({"subject": "Для чужой команды", "team_id": other, "owner_id": colleague,
            "customer": {"email": "first@example.ru"}, "message": {"direction": "internal", "body_text": "Передаю коллегам"}}),
        )
        .await;
    let opened = opened.ok(201)["id"].as_i64().expect("id");
    assert_eq!(app.get(&format!("/api/v1/cases/{opened}/messages")).await.ok(200).as_array().map(Vec::len), Some(1));
}

both_engines! {
    async fn a_team_limited_supervisor_merges_only_customers_whose_cases_they_all_see(app: TestApp) {
    let (lead, token) = app.agent("Старшая Склада", "supervisor").await;
    app.patch(&format!("/api/v1/agents/{lead}"), json!({"case_access": "teams"})).await.ok(200);
    let warehouse = team(&app, "Склад Слияний", &[lead]).await;
    let billing = team(&app, "Биллинг Слияний", &[]).await;
    let customer_of = |case: i64| {
        let app = &app;
        async move { app.get(&format!("/api/v1/cases/{case}")).await.ok(200)["customer"]["id"].as_i64().expect("customer") }
    };
    let ours = customer_of(case_in(&app, "Дубль один", Some(warehouse)).await).await;
    let also_ours = customer_of(case_in(&app, "Дубль два", Some(warehouse)).await).await;
    let theirs = customer_of(case_in(&app, "Дубль чужой", Some(billing)).await).await;

    app.post_as(&token, &format!("/api/v1/customers/{ours}/merge"), json!({"source_id": theirs})).await.problem(403, "forbidden");
    app.post_as(&token, &format!("/api/v1/customers/{theirs}/merge"), json!({"source_id": ours})).await.problem(403, "forbidden");
    app.post_as(&token, &format!("/api/v1/customers/{ours}/merge"), json!({"source_id": also_ours})).await.ok(200);
    app.post(&format!("/api/v1/customers/{ours}/merge"), json!({"source_id": theirs})).await.ok(200);
}
}
