//! Customers: identities on every channel, lookup by any of them, merging duplicates with all
//! their history.

use serde_json::json;

use crate::both_engines;

both_engines! {
    async fn customers_have_identities_on_every_channel(app: TestApp) {
        let created = app.post("/api/v1/customers", json!({"name": "Иван Петров", "language": "ru", "our_client": true,
            "identities": [{"kind": "email", "value": "Ivan@Mail.RU"}, {"kind": "phone", "value": "8 (916) 123-45-67"},
                           {"kind": "telegram", "value": "@Ivan_Petrov"}, {"kind": "whatsapp", "value": "+7 916 123 45 67"}]})).await.ok(201).clone();
        let id = created["id"].as_i64().expect("id");
        let values: Vec<&str> = created["identities"].as_array().expect("identities").iter().filter_map(|i| i["value"].as_str()).collect();
        assert_eq!(values, ["ivan@mail.ru", "+79161234567", "@ivan_petrov", "79161234567"]);
        for lookup in ["email:IVAN@mail.ru", "phone:+7 916 123-45-67", "telegram:@ivan_petrov", "whatsapp:79161234567"] {
            let found = app.get(&format!("/api/v1/customers?identity={}", lookup.replace('+', "%2B").replace(' ', "%20"))).await.ok(200).clone();
            assert_eq!(found["items"][0]["id"], id, "{lookup}");
        }
        let by_name = app.get("/api/v1/customers?q=%D0%BF%D0%B5%D1%82%D1%80").await.ok(200).clone();
        assert_eq!(by_name["items"][0]["id"], id, "search by part of the name");
        let count = |q: &'static str| {
            let app = &app;
            async move { app.get(&format!("/api/v1/customers?q={q}")).await.ok(200)["items"].as_array().map(Vec::len) }
        };
        assert_eq!(count("ivan_p").await, Some(1), "an underscore is itself");
        assert_eq!(count("ivan%25p").await, Some(0), "a percent sign is itself, not a wildcard");
        assert_eq!(count("_").await, Some(1), "only the customer whose identity has an underscore");
        assert_eq!(app.get("/api/v1/customers?our_client=true").await.ok(200)["items"].as_array().map(Vec::len), Some(1));
        let taken = app.post("/api/v1/customers", json!({"name": "Двойник", "identities": [{"kind": "email", "value": "ivan@mail.ru"}]})).await;
        taken.field("identities.0.value", "identity_taken");
        app.post("/api/v1/customers", json!({"name": "X", "identities": [{"kind": "fax", "value": "1"}]})).await.field("identities.0.kind", "invalid_choice");
        app.post(&format!("/api/v1/customers/{id}/identities"), json!({"kind": "vk", "value": "12345"})).await.ok(201);
        app.post(&format!("/api/v1/customers/{id}/identities"), json!({"kind": "vk", "value": "id12345"})).await.field("identity.value", "invalid_vk_id");
        let updated = app.patch(&format!("/api/v1/customers/{id}"), json!({"company": "ООО «Ромашка»", "note": null, "language": "en"})).await.ok(200).clone();
        assert_eq!((updated["company"].as_str(), updated["language"].as_str()), (Some("ООО «Ромашка»"), Some("en")));
        let identity = updated["identities"][0]["id"].as_i64().expect("identity");
        let removed = app.delete(&format!("/api/v1/customers/{id}/identities/{identity}")).await.ok(200).clone();
        assert_eq!(removed["identities"].as_array().map(Vec::len), Some(4));
    }

    async fn merging_keeps_all_history(app: TestApp) {
        let first = app.post("/api/v1/cases", json!({"subject": "Из почты", "customer": {"email": "anna@example.ru", "name": "Анна"}})).await.ok(201).clone();
        let second = app.post("/api/v1/cases", json!({"subject": "Из телефона", "customer": {"phone": "+7 903 000-00-01", "name": "Анна К."},
            "message": {"body_text": "Звоню по заказу"}})).await.ok(201).clone();
        let target = first["customer"]["id"].as_i64().expect("target");
        let source = second["customer"]["id"].as_i64().expect("source");
        assert_ne!(target, source);
        let merged = app.post(&format!("/api/v1/customers/{target}/merge"), json!({"source_id": source})).await.ok(200).clone();
        let kinds: Vec<&str> = merged["identities"].as_array().expect("identities").iter().filter_map(|i| i["kind"].as_str()).collect();
        assert_eq!(kinds, ["email", "phone"]);
        let cases = app.get(&format!("/api/v1/cases?customer={target}")).await.ok(200)["items"].as_array().map(Vec::len);
        assert_eq!(cases, Some(2), "both cases now belong to the surviving customer");
        let old = app.get(&format!("/api/v1/customers/{source}")).await.ok(200).clone();
        assert_eq!(old["id"], target, "the merged-away id resolves to the survivor");
        let messages = app.get(&format!("/api/v1/cases/{}/messages", second["id"])).await.ok(200).clone();
        assert_eq!(messages[0]["author"]["id"], target);
        let by_phone = app.get("/api/v1/customers?identity=phone:%2B79030000001").await.ok(200).clone();
        assert_eq!(by_phone["items"][0]["id"], target);
        app.post(&format!("/api/v1/customers/{target}/merge"), json!({"source_id": target})).await.field("source_id", "same_customer");
        app.post(&format!("/api/v1/customers/{target}/merge"), json!({"source_id": 99999})).await.field("source_id", "not_found");
        app.delete(&format!("/api/v1/customers/{target}")).await.problem(409, "customer_has_cases");
        let lonely = app.post("/api/v1/customers", json!({"name": "Ошибка", "identities": []})).await.ok(201)["id"].as_i64().expect("id");
        app.delete(&format!("/api/v1/customers/{lonely}")).await.ok(204);
        app.get(&format!("/api/v1/customers/{lonely}")).await.problem(404, "customer_not_found");
    }

    async fn a_case_by_a_known_address_finds_its_customer(app: TestApp) {
        let first = app.post("/api/v1/cases", json!({"subject": "Первое", "customer": {"email": "known@example.ru"}})).await.ok(201).clone();
        let second = app.post("/api/v1/cases", json!({"subject": "Второе", "customer": {"email": "KNOWN@example.ru", "phone": "+7 999 111-22-33"}})).await.ok(201).clone();
        assert_eq!(first["customer"]["id"], second["customer"]["id"]);
        let customer = app.get(&format!("/api/v1/customers/{}", first["customer"]["id"])).await.ok(200).clone();
        assert_eq!(customer["identities"].as_array().map(Vec::len), Some(2), "the new phone was added to the known customer");
        assert_eq!(customer["name"], "known", "a customer without a name is named after the address");
    }
}
