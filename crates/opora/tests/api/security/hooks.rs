//! Every provider hook under hostile input: unsigned, garbage, empty, oversized and misaddressed
//! pushes to channels of every kind get a 4xx problem, never a 500, and store nothing.

use serde_json::json;

use crate::both_engines;
use crate::harness::answer;

both_engines! {
    async fn hostile_pushes_to_every_hook_store_nothing(app: TestApp) {
        let channels = [
            ("telegram", json!({"bot_token": "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "api_base_url": "http://127.0.0.1:9", "mode": "webhook"})),
            ("whatsapp", json!({"access_token": "t", "app_secret": "s", "verify_token": "v", "phone_number_id": "1", "api_base_url": "http://127.0.0.1:9"})),
            ("vk", json!({"access_token": "t", "secret": "s", "confirmation": "c", "group_id": 1, "api_base_url": "http://127.0.0.1:9"})),
            ("phone", json!({"provider": "zadarma", "api_secret": "s"})),
        ];
        for (index, (kind, settings)) in channels.into_iter().enumerate() {
            // Each kind from its own address: refusals are limited per network, and every push
            // here must reach the hook's checks rather than the brake.
            let from: std::net::IpAddr = format!("127.0.0.{}", index + 2).parse().expect("an address");
            let client = reqwest::Client::builder().local_address(from).build().expect("a client");
            let id = app.post("/api/v1/channels", json!({"kind": kind, "name": kind, "settings": settings})).await.ok(201)["id"].as_i64().expect("id");
            let bodies: [(&str, Vec<u8>); 5] = [
                ("garbage", b"\x00\xff not json at all".to_vec()),
                ("empty", Vec::new()),
                ("json array", b"[1, 2, 3]".to_vec()),
                ("deep", "[".repeat(10_000).into_bytes()),
                ("oversized", vec![b'{'; 3 << 20]),
            ];
            for (what, body) in bodies {
                for path in [format!("/hooks/{kind}/{id}"), format!("/hooks/{kind}/{}", id + 1000), format!("/hooks/{kind}/{id}/events/call")] {
                    let sent = client.post(format!("{}{path}", app.base)).header("content-type", "application/json").body(body.clone()).send().await;
                    let answered = answer(sent.expect("sent")).await;
                    let status = answered.status;
                    assert!((400..500).contains(&status) && status != 429, "{kind} {what} {path}: {status} {}", answered.body);
                }
            }
            let stored = app.running.app().intake().received(opora_domain::channel::ChannelKind::parse(kind).expect("kind"), None, None, 10).await.expect("payloads");
            assert!(stored.is_empty(), "{kind}: nothing stored");
        }
        let odd = answer(app.client.get(format!("{}/hooks/whatsapp/1?hub.mode=subscribe", app.base)).send().await.expect("sent")).await;
        assert!((400..500).contains(&odd.status));
    }
}
