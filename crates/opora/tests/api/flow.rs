//! The end-to-end sequence a case goes through, as the issue describes it: create for a new
//! customer, reply, note, pull in a collaborator, hand over with a reason, compensate, solve —
//! with the timeline and the live stream recording each step.

use serde_json::json;

use crate::both_engines;
use crate::harness::EventStream;

both_engines! {
    async fn one_owner_carries_the_case_to_the_end(app: TestApp) {
        let (specialist, specialist_token) = app.agent("Specialist", "agent").await;
        let (next_owner, _) = app.agent("Next Owner", "agent").await;
        let mut stream = EventStream::open(&app, &app.admin_token, "").await;

        let case = app
            .post("/api/v1/cases", json!({
                "subject": "Не приехал клинер",
                "customer": {"email": "Olga.New@Mail.ru", "name": "Ольга Новикова"},
                "message": {"body_text": "Ждала с 10 утра, никто не пришёл."},
                "priority": "high", "kind": "complaint", "tags": ["Опоздание"]
            }))
            .await
            .ok(201)
            .clone();
        let id = case["id"].as_i64().expect("id");
        assert!(case["number"].as_i64().expect("number") >= 1001);
        assert_eq!(case["status"], "new");
        assert_eq!(case["owner"], serde_json::Value::Null);
        assert_eq!(case["customer"]["name"], "Ольга Новикова");
        assert_eq!(case["tags"], json!(["опоздание"]));
        assert!(case["deadline_at"].is_string(), "a deadline from the SLA policy");
        let customer = app.get("/api/v1/customers?identity=email:olga.new@mail.ru").await;
        assert_eq!(customer.ok(200)["items"][0]["id"], case["customer"]["id"], "the new customer is found by the e-mail");
        stream.expect("case.created").await;

        let reply = app.post(&format!("/api/v1/cases/{id}/messages"), json!({"body_text": "Ольга, простите нас. Уже выясняем."})).await;
        assert_eq!(reply.ok(201)["direction"], "outbound");
        let after_reply = app.get(&format!("/api/v1/cases/{id}")).await.ok(200).clone();
        assert_eq!(after_reply["owner"]["id"], app.admin_id, "the first reply takes an unowned case");
        assert_eq!(after_reply["status"], "open");
        assert!(after_reply["first_response_at"].is_string());

        let note = app.post(&format!("/api/v1/cases/{id}/messages"), json!({"kind": "note", "body_text": "Бригада 3 сорвала график"})).await;
        assert_eq!(note.ok(201)["direction"], "internal");

        let pulled = app.post(&format!("/api/v1/cases/{id}/collaborators"), json!({"agent_id": specialist})).await;
        assert_eq!(pulled.ok(200)["collaborators"][0]["id"], specialist);
        let involved = app.get_as(&specialist_token, "/api/v1/cases?collaborator=me").await;
        assert_eq!(involved.ok(200)["items"][0]["id"], id, "the specialist sees it among their involved cases");
        let specialist_note = app.post_as(&specialist_token, &format!("/api/v1/cases/{id}/messages"), json!({"kind": "note", "body_text": "Проверил GPS бригады"})).await;
        specialist_note.ok(201);
        app.post_as(&specialist_token, &format!("/api/v1/cases/{id}/transfer"), json!({"agent_id": specialist, "reason": "беру себе"}))
            .await
            .problem(403, "not_case_owner");

        let handed = app.post(&format!("/api/v1/cases/{id}/transfer"), json!({"agent_id": next_owner, "reason": "Ухожу в отпуск, Next Owner продолжит"})).await;
        assert_eq!(handed.ok(200)["owner"]["id"], next_owner);

        app.patch(&format!("/api/v1/cases/{id}"), json!({"compensation_budget": {"amount": "2000", "currency": "RUB"}})).await.ok(200);
        let granted = app.post(&format!("/api/v1/cases/{id}/compensations"), json!({"kind": "discount", "amount": 1500, "note": "Скидка на следующую уборку"})).await;
        let granted = granted.ok(201);
        assert_eq!((granted["amount"].as_str(), granted["currency"].as_str(), granted["over_budget"].as_bool()), (Some("1500.00"), Some("RUB"), Some(false)));
        let ledger = app.get(&format!("/api/v1/cases/{id}/compensations")).await;
        assert_eq!(ledger.ok(200).as_array().map(Vec::len), Some(1));

        let solved = app.patch(&format!("/api/v1/cases/{id}"), json!({"status": "solved"})).await;
        let solved = solved.ok(200);
        assert_eq!(solved["status"], "solved");
        assert_eq!(solved["compensation_spent"], "1500.00");
        assert!(solved["solved_at"].is_string());
        stream.expect("case.status_changed").await;
        let (_, last) = stream.expect("case.status_changed").await;
        assert_eq!(last["data"]["to"], "solved");

        let timeline = app.get(&format!("/api/v1/cases/{id}/events")).await.ok(200).as_array().cloned().expect("events");
        let kinds: Vec<&str> = timeline.iter().filter_map(|e| e["kind"].as_str()).collect();
        let expected = [
            "case.created", "message.added", "case.owner_assigned", "message.added", "message.added", "case.collaborator_added",
            "message.added", "case.owner_transferred", "compensation.granted", "case.status_changed",
        ];
        let mut rest = kinds.iter();
        for step in expected {
            assert!(rest.any(|k| *k == step), "timeline lacks {step} in order: {kinds:?}");
        }
        for event in &timeline {
            assert!(event["created_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{event}");
            assert!(event["actor"]["kind"].is_string(), "{event}");
        }
        let transfer = timeline.iter().find(|e| e["kind"] == "case.owner_transferred").expect("transfer event");
        assert_eq!(transfer["data"]["reason"], "Ухожу в отпуск, Next Owner продолжит");
        assert_eq!(transfer["actor"]["name"], "Админ");
        let customer_message = timeline.iter().find(|e| e["kind"] == "message.added").expect("message event");
        assert_eq!(customer_message["actor"]["kind"], "customer");

        let streamed: Vec<i64> = stream.seen.iter().map(|e| e.0).collect();
        for event in &timeline {
            let id = event["id"].as_i64().expect("event id");
            assert!(streamed.contains(&id), "event {} ({}) was not streamed live", id, event["kind"]);
        }

        let messages = app.get(&format!("/api/v1/cases/{id}/messages")).await.ok(200).as_array().cloned().expect("messages");
        let directions: Vec<&str> = messages.iter().filter_map(|m| m["direction"].as_str()).collect();
        assert_eq!(directions, ["inbound", "outbound", "internal", "internal"]);
        assert_eq!(messages[0]["author"]["kind"], "customer");
    }
}
