//! Phone call events from each provider, signatures checked: a ringing call tells the workspace
//! who calls and their open cases; a finished call is logged on the customer's case; a missed
//! call opens an urgent call-back case for the agent who carries the customer; forged and
//! malformed events store nothing.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::both_engines;
use crate::harness::{Answer, TestApp, answer, eventually};

fn form(fields: &[(&str, &str)]) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        form.append_pair(k, v);
    }
    form.finish()
}

async fn channel(app: &TestApp, settings: Value) -> (i64, Value) {
    let created =
        app.post("/api/v1/channels", json!({"kind": "phone", "name": format!("АТС {}", settings["provider"]), "settings": settings})).await;
    let body = created.ok(201).clone();
    (body["id"].as_i64().expect("id"), body)
}

async fn post(app: &TestApp, path: &str, headers: &[(&str, String)], content_type: &str, body: String) -> Answer {
    let mut request = app.client.post(format!("{}{path}", app.base)).header("content-type", content_type).body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    answer(request.send().await.expect("sent")).await
}

/// A case of this customer number and kind, once filed.
async fn case_where(app: &TestApp, subject_part: &str) -> Value {
    eventually("the call filed", || async {
        let cases = app.get("/api/v1/cases").await.ok(200).clone();
        cases["items"].as_array().and_then(|c| c.iter().find(|c| c["subject"].as_str().is_some_and(|s| s.contains(subject_part))).cloned())
    })
    .await
}

async fn generic(app: &TestApp, id: i64, secret: &str, event: Value) -> Answer {
    let body = event.to_string();
    let (msg, at) = (format!("msg_{}", opora_domain::Timestamp::now().millis()), opora_domain::Timestamp::now().millis() / 1000);
    let signature = opora_channels::webhook::sign(secret, &msg, at, body.as_bytes()).expect("sign");
    let headers = [("webhook-id", msg), ("webhook-timestamp", at.to_string()), ("webhook-signature", signature)];
    post(app, &format!("/hooks/phone/{id}"), &headers, "application/json", body).await
}

both_engines! {
    async fn calls_find_the_customer_log_on_their_case_and_missed_ones_get_a_call_back(app: TestApp) {
        let (id, created) = channel(&app, json!({"provider": "generic"})).await;
        let secret = created["secret"].as_str().expect("the secret, shown once").to_owned();
        // A customer who wrote before, with an open case an agent carries.
        let (agent, _) = app.agent("Марина Звонкова", "agent").await;
        let customer = app.post("/api/v1/customers", json!({"name": "Пётр Клиентов", "identities": [{"kind": "phone", "value": "+7 916 123-45-67"}]})).await.ok(201).clone();
        let case = app.post("/api/v1/cases", json!({"subject": "Не пришёл курьер", "customer": {"id": customer["id"]}})).await.ok(201).clone();
        app.post(&format!("/api/v1/cases/{}/transfer", case["id"]), json!({"agent_id": agent, "reason": "Марина ведёт этого клиента"})).await.ok(200);

        let ringing = generic(&app, id, &secret, json!({"id": "c1", "state": "ringing", "direction": "in", "customer": "+79161234567", "line": "+74950000000"})).await;
        assert_eq!(ringing.status, 200, "{}", ringing.body);
        let events = app.get("/api/v1/events?after=0&limit=1000").await.ok(200).clone();
        let call = events["items"].as_array().expect("events").iter().find(|e| e["kind"] == "call.ringing").cloned().expect("the workspace hears of the call");
        assert_eq!(call["customer_id"], customer["id"]);
        assert_eq!(call["data"]["name"], "Пётр Клиентов");
        assert_eq!(call["data"]["open_cases"][0][0], case["id"]);

        assert_eq!(generic(&app, id, &secret, json!({"id": "c1", "state": "ended", "customer": "+79161234567", "duration": 185, "extension": "101"})).await.status, 200);
        let thread = eventually("logged", || async {
            let thread = app.get(&format!("/api/v1/cases/{}/messages", case["id"])).await.ok(200).clone();
            thread.as_array().and_then(|m| m.iter().find(|m| m["channel"] == "phone").cloned())
        }).await;
        assert!(thread["body_text"].as_str().is_some_and(|t| t.contains("3:05") && t.contains("101")), "{thread}");
        assert_eq!(generic(&app, id, &secret, json!({"id": "c1", "state": "ended", "customer": "+79161234567", "duration": 185})).await.status, 200, "a resent event is fine");

        let missed = generic(&app, id, &secret, json!({"id": "c2", "state": "missed", "customer": "+79161234567"})).await;
        assert_eq!(missed.status, 200, "{}", missed.body);
        let callback = case_where(&app, "+79161234567").await;
        assert_eq!((callback["kind"].as_str(), callback["priority"].as_str()), (Some("callback"), Some("high")), "{callback}");
        assert_eq!(callback["owner"]["id"], agent, "the agent who carries the customer calls back");
        assert_eq!(callback["customer"]["id"], customer["id"]);

        // A stranger's missed call: a new customer known by the number, a call-back for the team.
        generic(&app, id, &secret, json!({"id": "c3", "state": "missed", "customer": "8 (903) 555-01-02"})).await;
        let stranger = case_where(&app, "+79035550102").await;
        assert!(stranger["owner"].is_null(), "{stranger}");

        // Forged and malformed events store nothing.
        let before = app.running.app().intake().received(opora_domain::channel::ChannelKind::Phone, None, None, 100).await.expect("payloads").len();
        generic(&app, id, "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", json!({"id": "c4", "state": "missed", "customer": "+79160000000"})).await.problem(401, "invalid_signature");
        generic(&app, id, &secret, json!({"state": "missed", "customer": "+79160000000"})).await.field("id", "invalid_value");
        generic(&app, id, &secret, json!({"id": "c5", "state": "missed", "customer": "not a phone"})).await.field("customer", "invalid_phone");
        let after = app.running.app().intake().received(opora_domain::channel::ChannelKind::Phone, None, None, 100).await.expect("payloads").len();
        assert_eq!(after, before);
    }

    async fn zadarma_mango_and_twilio_sign_their_own_ways(app: TestApp) {
        // Zadarma: the address echo, then a call nobody answered.
        let (zadarma, _) = channel(&app, json!({"provider": "zadarma", "api_secret": "test_secret"})).await;
        let echo = app.client.get(format!("{}/hooks/phone/{zadarma}?zd_echo=abc123", app.base)).send().await.expect("sent");
        assert_eq!(echo.text().await.expect("text"), "abc123");
        let fields = [("event", "NOTIFY_END"), ("call_start", "2026-11-22 15:04:05"), ("pbx_call_id", "in_42"), ("caller_id", "+79161112233"),
            ("called_did", "+74951234567"), ("internal", ""), ("duration", "0"), ("disposition", "no answer"), ("status_code", "16"), ("is_recorded", "0")];
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(b"test_secret").expect("key");
        mac.update(b"+79161112233+749512345672026-11-22 15:04:05");
        let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let signature = base64::engine::general_purpose::STANDARD.encode(hex);
        post(&app, &format!("/hooks/phone/{zadarma}"), &[("signature", "Zm9yZ2Vk".into())], "application/x-www-form-urlencoded", form(&fields)).await.problem(401, "invalid_signature");
        assert_eq!(post(&app, &format!("/hooks/phone/{zadarma}"), &[("signature", signature)], "application/x-www-form-urlencoded", form(&fields)).await.status, 200);
        assert_eq!(case_where(&app, "+79161112233").await["kind"], "callback");

        // Mango: the summary of a missed call, posted under the address it was given.
        let (mango, _) = channel(&app, json!({"provider": "mango", "api_key": "vpbx_key_test", "api_salt": "vpbx_salt_test"})).await;
        let json = r#"{"entry_id":"MTox","call_direction":1,"from":{"number":"79162223344"},"to":{"extension":"101"},"line_number":"74951234567","create_time":1763823845,"forward_time":0,"talk_time":0,"end_time":1763823900,"entry_result":0,"disconnect_reason":1110}"#;
        let sign: String = Sha256::digest(format!("vpbx_key_test{json}vpbx_salt_test").as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        let body = form(&[("vpbx_api_key", "vpbx_key_test"), ("sign", &sign), ("json", json)]);
        assert_eq!(post(&app, &format!("/hooks/phone/{mango}/events/summary"), &[], "application/x-www-form-urlencoded", body).await.status, 200);
        assert_eq!(case_where(&app, "+79162223344").await["kind"], "callback");

        // Twilio: a completed call, signed over our hook address and the sorted parameters.
        let (twilio, _) = channel(&app, json!({"provider": "twilio", "auth_token": "auth_token_test"})).await;
        let params = [("AccountSid", "AC123"), ("CallDuration", "42"), ("CallSid", "CA123"), ("CallStatus", "completed"),
            ("Direction", "inbound"), ("From", "+15551230000"), ("To", "+15559870000")];
        let url = format!("{}/hooks/phone/{twilio}", app.config.public_url.trim_end_matches('/'));
        let signed = params.iter().fold(url, |all, (k, v)| format!("{all}{k}{v}"));
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(b"auth_token_test").expect("key");
        mac.update(signed.as_bytes());
        let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert_eq!(post(&app, &format!("/hooks/phone/{twilio}"), &[("x-twilio-signature", signature)], "application/x-www-form-urlencoded", form(&params)).await.status, 200);
        let logged = case_where(&app, "+15551230000").await;
        let thread = app.get(&format!("/api/v1/cases/{}/messages", logged["id"])).await.ok(200).clone();
        assert!(thread[0]["body_text"].as_str().is_some_and(|t| t.contains("0:42")), "{thread}");
    }
}
