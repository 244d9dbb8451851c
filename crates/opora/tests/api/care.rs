//! The care loop end to end, on both engines: an order pushed by the business system is told to
//! the customer in Telegram stage by stage (in Russian), completes, is rated 2 for lateness; a
//! problem case with the lateness playbook opens for the claims team; its owner works the
//! checklist, compensates within the limit, replies and solves; the customer is asked to rate
//! the resolution. Bad order input gets a 422 naming the field.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{Answer, TestApp, answer, eventually};
use crate::telegram_bot::BotApi;

pub(crate) async fn put(app: &TestApp, external_id: &str, body: Value) -> Answer {
    app.request(Method::PUT, &format!("/api/v1/orders/{external_id}"), Some(&app.admin_token), Some(&body)).await
}

/// The texts the bot sent to the chat so far.
pub(crate) fn sent(api: &BotApi) -> Vec<String> {
    api.calls("sendMessage").iter().map(|c| c.params["text"].as_str().unwrap_or_default().to_owned()).collect()
}

pub(crate) async fn next_text(api: &BotApi, count: usize) -> String {
    eventually("a message in the chat", || async { sent(api).get(count).cloned() }).await
}

/// The path of a link (`/rate/…`, `/track/…`) in a message.
pub(crate) fn link(text: &str, prefix: &str) -> String {
    let start = text.find(prefix).unwrap_or_else(|| panic!("no {prefix} link in {text:?}"));
    text[start..].split_whitespace().next().expect("a link").to_owned()
}

pub(crate) async fn form(app: &TestApp, path: &str, body: &str) -> Answer {
    let request =
        app.client.post(format!("{}{path}", app.base)).header("content-type", "application/x-www-form-urlencoded").body(body.to_owned());
    answer(request.send().await.expect("sent")).await
}

pub(crate) async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.client.get(format!("{}{path}", app.base)).send().await.expect("sent");
    (response.status().as_u16(), response.text().await.expect("body"))
}

/// The claims team's name is configured; a solved case is asked about at once.
pub(crate) async fn start(engine: crate::harness::Engine) -> TestApp {
    TestApp::start_with(engine, |config| {
        config.care.claims_team = "Претензии".into();
        config.care.rate_after_minutes = 0;
    })
    .await
}

both_engines! {
    start = start;
    async fn an_order_is_told_rated_low_and_made_right(app: TestApp) {
        care_loop(app).await;
    }
}

async fn care_loop(app: TestApp) {
    let api = BotApi::connected(&app).await;
    let (claims_agent, claims_token) = app.agent("Ирина Претензии", "agent").await;
    app.post("/api/v1/teams", json!({"name": "Претензии", "member_ids": [claims_agent]})).await.ok(201);

    // The business system creates the order: the customer hears of it in Telegram, in Russian.
    let customer = json!({"identities": [{"kind": "telegram", "value": "111"}], "name": "Иван"});
    let created = put(
        &app,
        "CL-20481",
        json!({"customer": customer, "performer": {"external_id": "p-7", "name": "Анна"},
        "description": "Генеральная уборка, 2 комнаты", "amount": {"amount": "4500"}, "stage": "created"}),
    )
    .await;
    let order = created.ok(201).clone();
    assert_eq!((order["stage"].as_str(), order["stages"][0]["stage"].as_str()), (Some("created"), Some("created")));
    let first = next_text(&api, 0).await;
    assert!(first.contains("Заказ CL-20481 оформлен"), "{first}");
    assert_eq!(api.calls("sendMessage")[0].params["chat_id"], "111");
    let track = link(&first, "http");
    let track = track.trim_start_matches(&app.config.public_url).to_owned();

    // Each stage is told once; the same push again tells nothing; no stage goes back.
    put(&app, "CL-20481", json!({"stage": "accepted"})).await.ok(200);
    assert!(next_text(&api, 1).await.contains("принят"));
    let eta = opora_domain::Timestamp::now().plus_minutes(45).to_rfc3339();
    put(&app, "CL-20481", json!({"stage": "on_the_way", "eta": eta})).await.ok(200);
    let on_the_way = next_text(&api, 2).await;
    assert!(on_the_way.contains("исполнитель выехал, будет "), "{on_the_way}");
    put(&app, "CL-20481", json!({"stage": "on_the_way", "eta": eta})).await.ok(200);
    put(&app, "CL-20481", json!({"stage": "accepted"})).await.field("stage", "stage_backwards");
    put(&app, "CL-20481", json!({"stage": "completed"})).await.ok(200);
    let ask = next_text(&api, 3).await;
    assert!(ask.contains("выполнен") && ask.contains("Поставьте оценку"), "the news and the request in one message: {ask}");
    assert_eq!(sent(&api).len(), 4, "the repeated push told nothing: {:?}", sent(&api));
    let rate = link(&ask, "/rate/");
    let shown = app.get("/api/v1/orders/CL-20481").await.ok(200).clone();
    let stages: Vec<&str> = shown["stages"].as_array().expect("stages").iter().filter_map(|s| s["stage"].as_str()).collect();
    assert_eq!(stages, ["created", "accepted", "on_the_way", "completed"]);

    // The customer's order page shows the stages with times, in Russian.
    let (status, body) = page(&app, &track).await;
    assert_eq!(status, 200);
    assert!(body.contains("Заказ CL-20481") && body.contains("Выполнен") && body.contains("aria-current=\"step\""), "{body}");

    // A 2 for lateness opens a problem case for the claims team with the lateness playbook.
    let (status, body) = page(&app, &rate).await;
    assert!(status == 200 && body.contains("Как прошёл заказ CL-20481?") && body.contains("Анна"), "{body}");
    let thanks =
        form(&app, &rate, "score=2&reasons=late&comment=%D0%9E%D0%BF%D0%BE%D0%B7%D0%B4%D0%B0%D0%BB%D0%B8+%D0%BD%D0%B0+%D1%87%D0%B0%D1%81")
            .await;
    assert_eq!(thanks.status, 200);
    let again = form(&app, &rate, "score=5").await;
    assert!(again.body["text"].as_str().is_some_and(|t| t.contains("Вы уже поставили оценку")), "a second answer changes nothing");
    let problems = app.get("/api/v1/cases?kind=problem").await.ok(200)["items"].as_array().expect("items").clone();
    assert_eq!(problems.len(), 1, "{problems:?}");
    let problem = &problems[0];
    let id = problem["id"].as_i64().expect("id");
    assert_eq!(problem["kind"], "problem");
    assert_eq!(problem["order"], "CL-20481");
    assert_eq!(problem["playbook"], "Опоздание исполнителя");
    assert_eq!(problem["team"]["name"], "Претензии");
    assert_eq!(problem["priority"], "high");
    assert_eq!(problem["compensation_budget"]["amount"], "500.00");
    let messages = app.get(&format!("/api/v1/cases/{id}/messages")).await.ok(200).clone();
    let words = messages[0]["body_text"].as_str().expect("text");
    assert!(words.contains("Оценка: 2 из 5") && words.contains("Опоздание") && words.contains("Опоздали на час"), "{words}");
    let standing = app.get("/api/v1/performers/p-7").await.ok(200).clone();
    assert_eq!((standing["ratings"].as_i64(), standing["average"].as_f64()), (Some(1), Some(2.0)));

    // The owner works the checklist, compensates within the limit, answers and solves.
    app.post_as(&claims_token, &format!("/api/v1/cases/{id}/take"), json!({})).await.ok(200);
    let playbook = app.get_as(&claims_token, &format!("/api/v1/cases/{id}/playbook")).await.ok(200).clone();
    assert!(playbook["steps"][0]["text"].as_str().expect("a step").starts_with("Позвонить клиенту"));
    let ticked = app.post_as(&claims_token, &format!("/api/v1/cases/{id}/playbook/steps/1"), json!({"done": true})).await;
    assert_eq!(ticked.ok(200)["steps"][0]["done"], true);
    app.post_as(&claims_token, &format!("/api/v1/cases/{id}/playbook/steps/99"), json!({})).await.field("step", "out_of_range");
    let grant = json!({"kind": "discount", "amount": "500", "note": "Скидка за опоздание"});
    app.post_as(&claims_token, &format!("/api/v1/cases/{id}/compensations"), grant).await.ok(201);
    let more = json!({"kind": "discount", "amount": "100", "note": "Ещё"});
    app.post_as(&claims_token, &format!("/api/v1/cases/{id}/compensations"), more.clone()).await.problem(409, "compensation_over_budget");
    // Above the limit only with a supervisor's approval: the request waits, then counts.
    let mut asked = more.clone();
    asked["request_approval"] = json!(true);
    let request = app.post_as(&claims_token, &format!("/api/v1/cases/{id}/compensations"), asked.clone()).await;
    let request = request.ok(201).clone();
    assert_eq!(request["status"], "requested");
    let (_, supervisor) = app.agent("Олег Руководитель", "supervisor").await;
    let waiting = app.get_as(&supervisor, "/api/v1/compensations/requested").await.ok(200).clone();
    assert_eq!((waiting[0]["id"].as_i64(), waiting[0]["case_number"].as_i64()), (request["id"].as_i64(), problem["number"].as_i64()));
    app.get_as(&claims_token, "/api/v1/compensations/requested").await.problem(403, "forbidden");
    app.post_as(&claims_token, &format!("/api/v1/compensations/{}/approve", request["id"]), json!({})).await.problem(403, "forbidden");
    let approved = app.post_as(&supervisor, &format!("/api/v1/compensations/{}/approve", request["id"]), json!({})).await;
    assert_eq!(approved.ok(200)["status"], "granted");
    app.post_as(&supervisor, &format!("/api/v1/compensations/{}/approve", request["id"]), json!({}))
        .await
        .problem(409, "compensation_decided");
    let second = app.post_as(&claims_token, &format!("/api/v1/cases/{id}/compensations"), asked).await.ok(201)["id"].clone();
    let refused = app.post_as(&supervisor, &format!("/api/v1/compensations/{second}/refuse"), json!({"reason": "Хватит скидки"})).await;
    assert_eq!(refused.ok(200)["status"], "refused");
    assert_eq!(app.get(&format!("/api/v1/cases/{id}")).await.ok(200)["compensation_spent"], "600.00", "granted and approved only");
    let told = app.get_as(&claims_token, "/api/v1/notifications").await.ok(200).to_string();
    assert!(told.contains("compensation.refused"), "the agent hears of the refusal: {told}");
    app.post_as(
        &claims_token,
        &format!("/api/v1/cases/{id}/messages"),
        json!({"body_text": "Иван, простите за опоздание. Дарим скидку 500 ₽."}),
    )
    .await
    .ok(201);
    let apology = next_text(&api, 4).await;
    assert!(apology.contains("простите за опоздание"));
    app.post_as(&claims_token, &format!("/api/v1/cases/{id}/playbook/outcome"), json!({"outcome": "resolved"})).await.ok(200);
    app.patch_as(&claims_token, &format!("/api/v1/cases/{id}"), json!({"status": "solved"})).await.ok(200);
    let resolution = next_text(&api, 5).await;
    assert!(resolution.contains("Оцените") && resolution.contains("/rate/"), "{resolution}");
    // The owner's smooth work: solved with one reply, in time, not reopened.
    let work = app.get(&format!("/api/v1/agents/{claims_agent}/smooth-work")).await.ok(200).clone();
    let figures = [&work["solved"], &work["first_contact"], &work["within_deadline"], &work["reopened"]];
    assert_eq!(figures, [&json!(1), &json!(1), &json!(1), &json!(0)], "{work}");
    let kinds: Vec<String> = app
        .get(&format!("/api/v1/cases/{id}/events"))
        .await
        .ok(200)
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["kind"].as_str().map(str::to_owned))
        .collect();
    for kind in ["case.playbook_attached", "case.playbook_step", "compensation.granted"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
}

both_engines! {
    async fn bad_order_input_names_the_field(app: TestApp) {
        let customer = json!({"email": "olga@example.ru"});
        put(&app, "A-1", json!({"stage": "created"})).await.field("customer", "required");
        put(&app, "A-1", json!({"customer": customer, "stage": "teleported"})).await.field("stage", "unknown_stage");
        put(&app, "A-1", json!({"customer": customer, "stage": 5})).await.problem(422, "validation_failed");
        put(&app, "A-1", json!({"customer": {"identities": [{"kind": "fax", "value": "1"}]}})).await.field("customer.identities.0.kind", "invalid_choice");
        put(&app, "A-1", json!({"customer": customer, "eta": "tomorrow"})).await.field("eta", "invalid_datetime");
        put(&app, "A-1", json!({"customer": customer, "order_type": "spaceship"})).await.field("order_type", "invalid_choice");
        put(&app, "A-1", json!({"customer": customer, "tracking_url": "javascript:alert(1)"})).await.field("tracking_url", "invalid_url");
        put(&app, "A-1", json!({"customer": customer, "amount": {"amount": "-5"}})).await.field("amount.amount", "invalid_amount");
        put(&app, "A-1", json!({"customer": customer, "stage": "cancelled"})).await.ok(201);
        put(&app, "A-1", json!({"stage": "completed"})).await.field("stage", "order_finished");
        // What an order was created with stays: its customer and its type.
        put(&app, "A-1", json!({"customer": {"email": "someone.else@example.ru"}})).await.field("customer", "read_only");
        put(&app, "A-1", json!({"order_type": "default"})).await.ok(200);
        put(&app, "A-1", json!({"order_type": "spaceship"})).await.field("order_type", "read_only");
        let (_, agent) = app.agent("Обычный Агент", "agent").await;
        let pushed = app.request(Method::PUT, "/api/v1/orders/A-2", Some(&agent), Some(&json!({"customer": customer}))).await;
        pushed.problem(403, "forbidden");
        app.get("/api/v1/orders/nobody").await.problem(404, "order_not_found");
        let (status, body) = page(&app, "/rate/not-a-token").await;
        assert!(status == 404 && body.contains("Ссылка для оценки не найдена"), "{status} {body}");
        let (status, body) = page(&app, "/director").await;
        assert!(status == 404 && body.contains("форма сейчас закрыта"), "closed until a director is named: {status}");
    }
}

both_engines! {
    async fn a_customer_who_complains_twice_joins_our_clients_and_comes_first(app: TestApp) {
        let customer = json!({"email": "petr@example.ru", "name": "Пётр"});
        let first = app.post("/api/v1/cases", json!({"subject": "Курьер нагрубил", "kind": "complaint", "customer": customer})).await;
        let first = first.ok(201).clone();
        let customer_id = first["customer"]["id"].as_i64().expect("customer");
        let guided = app.get(&format!("/api/v1/cases/{}", first["id"])).await.ok(200)["playbook"].clone();
        assert_eq!(guided, "Жалоба", "a complaint is worked by the complaint playbook's guided reply");
        let path = format!("/api/v1/customers/{customer_id}");
        assert_eq!(app.get(&path).await.ok(200)["our_client"], false, "one complaint is not a pattern");
        let second = app.post("/api/v1/cases", json!({"subject": "Снова опоздали", "customer": customer})).await;
        let second = second.ok(201)["id"].as_i64().expect("id");
        assert_eq!(app.get(&format!("/api/v1/cases/{second}")).await.ok(200)["priority"], "normal");
        app.patch(&format!("/api/v1/cases/{second}"), json!({"kind": "complaint"})).await.ok(200);
        assert_eq!(app.get(&path).await.ok(200)["our_client"], true, "the second complaint puts them on the list");

        let next = app.post("/api/v1/cases", json!({"subject": "Вопрос по счёту", "priority": "normal", "customer": customer})).await;
        let next = next.ok(201).clone();
        assert_eq!(next["priority"], "high", "their next case comes first");
        let created = opora_domain::Timestamp::parse(next["created_at"].as_str().expect("created")).expect("time");
        let deadline = opora_domain::Timestamp::parse(next["deadline_at"].as_str().expect("deadline")).expect("time");
        assert_eq!(deadline.millis() - created.millis(), 8 * 3_600_000, "with the high priority's deadline");
        let listed = app.get("/api/v1/cases?our_client=true").await.ok(200)["items"].as_array().expect("items").len();
        assert_eq!(listed, 3);
    }
}

both_engines! {
    start = start;
    async fn extras_wait_for_the_customer_and_delays_are_told_before_they_ask(app: TestApp) {
        let api = BotApi::connected(&app).await;
        let (owner, _) = app.agent("Ирина Претензии", "agent").await;
        app.post("/api/v1/teams", json!({"name": "Претензии", "member_ids": [owner]})).await.ok(201);
        let (receiver, url) = crate::harness::Receiver::start(&[]).await;
        app.post("/api/v1/webhooks", json!({"url": url, "events": ["order.extra"]})).await.ok(201);
        let customer = json!({"identities": [{"kind": "telegram", "value": "222"}], "name": "Мария"});
        let later = opora_domain::Timestamp::now().plus_minutes(120).to_rfc3339();
        put(&app, "CL-7", json!({"customer": customer, "stage": "in_progress", "eta": later})).await.ok(201);
        next_text(&api, 0).await;

        // An extra service is asked, answered once, and reaches the business system.
        let extra = app.post("/api/v1/orders/CL-7/extras", json!({"description": "Выведение пятен", "amount": {"amount": "500"}})).await;
        assert_eq!(extra.ok(201)["status"], "proposed");
        let asked = next_text(&api, 1).await;
        assert!(asked.contains("Выведение пятен") && asked.contains("500"), "{asked}");
        let page_path = link(&asked, "/extra/");
        let (status, body) = page(&app, &page_path).await;
        assert!(status == 200 && body.contains("Выведение пятен"), "{body}");
        assert_eq!(form(&app, &page_path, "answer=maybe").await.status, 422, "an unknown answer is refused");
        let confirmed = form(&app, &page_path, "answer=confirm").await;
        assert!(confirmed.body["text"].as_str().is_some_and(|t| t.contains("Сделаем")), "{:?}", confirmed.body);
        form(&app, &page_path, "answer=decline").await;
        let extras = app.get("/api/v1/orders/CL-7/extras").await.ok(200).clone();
        assert_eq!(extras[0]["status"], "confirmed", "the first answer counts");
        let told = eventually("the business system hears", || async {
            receiver.calls().into_iter().find(|(_, body, _)| body["type"] == "order.extra" && body["data"]["data"]["status"] == "confirmed")
        })
        .await;
        assert_eq!(told.1["data"]["data"]["external_id"], "CL-7");

        // A delay reported by the business system: told at once with the new time, a case opens
        // with an owner and the delay playbook.
        let new_eta = opora_domain::Timestamp::now().plus_minutes(180).to_rfc3339();
        let reported = app.post("/api/v1/orders/CL-7/problems", json!({"kind": "delay", "eta": new_eta, "note": "Можем перенести на завтра."})).await;
        let case = reported.ok(201)["case_id"].as_i64().expect("case");
        let told = next_text(&api, 2).await;
        assert!(told.contains("задерживается") && told.contains("Новое время") && told.contains("перенести на завтра"), "{told}");
        let opened = app.get(&format!("/api/v1/cases/{case}")).await.ok(200).clone();
        assert_eq!((opened["kind"].as_str(), opened["order"].as_str()), (Some("problem"), Some("CL-7")));
        assert_eq!(opened["owner"]["id"].as_i64(), Some(owner));
        assert_eq!(opened["playbook"], "Заказ задерживается");
        assert_eq!(app.get("/api/v1/orders/CL-7").await.ok(200)["eta"].as_str().map(|e| e[..16].to_owned()), Some(new_eta[..16].to_owned()));

        // The expected time passing without the next stage is noticed by itself.
        let past = opora_domain::Timestamp::now().plus_minutes(-5).to_rfc3339();
        put(&app, "CL-8", json!({"customer": customer, "stage": "on_the_way", "eta": past})).await.ok(201);
        let noticed = eventually("the late order noticed", || async {
            sent(&api).into_iter().find(|t| t.contains("CL-8") && t.contains("скоро напишем"))
        })
        .await;
        assert!(noticed.contains("задерживается"));
        let late = app.get("/api/v1/cases?kind=problem").await.ok(200)["items"].as_array().expect("items").len();
        assert_eq!(late, 2);

        app.post("/api/v1/orders/CL-7/problems", json!({"kind": "eta_passed"})).await.field("kind", "invalid_choice");
        app.post("/api/v1/orders/nobody/problems", json!({"kind": "delay"})).await.problem(404, "order_not_found");
        put(&app, "CL-7", json!({"stage": "completed"})).await.ok(200);
        let late_offer = json!({"description": "Ещё", "amount": {"amount": "1"}});
        app.post("/api/v1/orders/CL-7/extras", late_offer).await.field("stage", "order_finished");
    }
}

/// Completes an order for a customer known by e-mail; returns the rating page's path.
async fn completed(app: &TestApp, external_id: &str) -> String {
    let customer = json!({"email": format!("{}@example.ru", external_id.to_lowercase()), "name": "Клиент"});
    let performer = json!({"external_id": "p-1", "name": "Анна"});
    put(app, external_id, json!({"customer": customer, "performer": performer, "stage": "completed"})).await.ok(201);
    let case = app.get(&format!("/api/v1/orders/{external_id}")).await.ok(200)["case_id"].as_i64().expect("case");
    let messages = app.get(&format!("/api/v1/cases/{case}/messages")).await.ok(200).clone();
    let text = messages
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["body_text"].as_str())
        .find(|t| t.contains("/rate/"))
        .expect("asked");
    link(text, "/rate/")
}

both_engines! {
    async fn thanks_reach_the_wall_and_the_response_rate_is_measured(app: TestApp) {
        let rate = completed(&app, "K-1").await;
        completed(&app, "K-2").await;
        assert_eq!(form(&app, &rate, "score=5&comment=%D0%A1%D0%BF%D0%B0%D1%81%D0%B8%D0%B1%D0%BE%2C+%D0%90%D0%BD%D0%BD%D0%B0%21").await.status, 200);
        let wall = app.get("/api/v1/kudos").await.ok(200).clone();
        assert_eq!((wall[0]["comment"].as_str(), wall[0]["performer"].as_str()), (Some("Спасибо, Анна!"), Some("Анна")));
        assert_eq!(wall.as_array().map(Vec::len), Some(1), "an unanswered request is no kudos");
        let response = app.get("/api/v1/ratings/response").await.ok(200).clone();
        assert_eq!((response["asked"].as_i64(), response["answered"].as_i64(), response["rate"].as_f64()), (Some(2), Some(1), Some(50.0)));
        app.get("/api/v1/ratings/response?days=0").await.field("days", "out_of_range");
    }
}

async fn with_director(engine: crate::harness::Engine) -> TestApp {
    TestApp::start_with(engine, |config| config.care.director_email = "admin@test.opora.dev".into()).await
}

both_engines! {
    start = with_director;
    async fn a_letter_to_the_director_reaches_the_director_and_strangers_are_braked(app: TestApp) {
        let (status, body) = page(&app, "/director").await;
        assert!(status == 200 && body.contains("Написать директору"), "{status}");
        let bad = form(&app, "/director", "name=&contact=abc&text=short").await;
        assert_eq!(bad.status, 422);
        let shown = bad.body["text"].as_str().unwrap_or_default().to_owned();
        assert!(shown.contains("Нужен адрес почты или номер телефона") && shown.contains("Опишите, что случилось"), "{shown}");
        let letter = "name=%D0%9F%D1%91%D1%82%D1%80&contact=petr%40example.ru&text=%D0%A3%D0%B6%D0%B5+%D1%82%D1%80%D0%B5%D1%82%D0%B8%D0%B9+%D1%80%D0%B0%D0%B7+%D0%BE%D0%BF%D0%B0%D0%B7%D0%B4%D1%8B%D0%B2%D0%B0%D0%B5%D1%82%D0%B5";
        let sent = form(&app, "/director", letter).await;
        assert!(sent.status == 200 && sent.body["text"].as_str().is_some_and(|t| t.contains("Письмо отправлено")));
        let letters = app.get("/api/v1/cases?kind=complaint").await.ok(200)["items"].as_array().expect("items").clone();
        assert_eq!(letters.len(), 1);
        let case = &letters[0];
        assert_eq!((case["owner"]["id"].as_i64(), case["category"].as_str()), (Some(app.admin_id), Some("director")));
        let created = opora_domain::Timestamp::parse(case["created_at"].as_str().expect("created")).expect("time");
        let due = opora_domain::Timestamp::parse(case["deadline_at"].as_str().expect("due")).expect("time");
        assert_eq!(due.millis() - created.millis(), 24 * 3_600_000, "the director's own deadline");
        let words = app.get(&format!("/api/v1/cases/{}/messages", case["id"])).await.ok(200)[0]["body_text"].clone();
        assert_eq!(words, "Уже третий раз опаздываете");
        // Someone sending form after form is slowed down.
        let mut statuses = Vec::new();
        for _ in 0..12 {
            statuses.push(form(&app, "/director", "name=x").await.status);
        }
        assert!(statuses.contains(&429), "{statuses:?}");
    }
}

both_engines! {
    async fn supervisors_write_playbooks_and_agents_put_them_on_cases(app: TestApp) {
        let (_, agent) = app.agent("Агент Сценариев", "agent").await;
        let spec = json!({"name": "Сломанный пылесос", "kinds": ["problem"], "categories": ["equipment"],
            "checklist": ["Позвонить клиенту", "Привезти другой пылесос"], "compensation_kind": "discount",
            "compensation_limit": {"amount": "700"}, "deadline_minutes": 120});
        app.post_as(&agent, "/api/v1/playbooks", spec.clone()).await.problem(403, "forbidden");
        let created = app.post("/api/v1/playbooks", spec).await.ok(201).clone();
        assert_eq!((created["compensation_limit"]["amount"].as_str(), created["active"].as_bool()), (Some("700.00"), Some(true)));
        let id = created["id"].as_i64().expect("id");
        app.post("/api/v1/playbooks", json!({"name": "Пусто", "checklist": []})).await.field("checklist", "out_of_range");
        app.post("/api/v1/playbooks", json!({"name": "x", "checklist": ["a"], "kinds": ["teleport"]})).await.field("kinds.0", "invalid_choice");
        app.post("/api/v1/playbooks", json!({"name": "x", "checklist": ["a"], "reasons": ["Late!"]})).await.field("reasons.0", "invalid_key");
        let listed = app.get("/api/v1/playbooks").await.ok(200).to_string();
        assert!(listed.contains("Сломанный пылесос") && listed.contains("Опоздание исполнителя"), "the starter set and the new one");

        let case = app.case("Пылесос сломался на уборке").await["id"].as_i64().expect("case");
        app.get_as(&agent, &format!("/api/v1/cases/{case}/playbook")).await.problem(404, "playbook_not_found");
        app.post_as(&agent, &format!("/api/v1/cases/{case}/playbook/steps/1"), json!({})).await.problem(409, "no_playbook");
        app.post_as(&agent, &format!("/api/v1/cases/{case}/playbook"), json!({"playbook_id": 999_999})).await.field("playbook_id", "not_found");
        let attached = app.post_as(&agent, &format!("/api/v1/cases/{case}/playbook"), json!({"playbook_id": id})).await.ok(200).clone();
        assert_eq!(attached["steps"].as_array().map(Vec::len), Some(2));
        assert_eq!(app.get(&format!("/api/v1/cases/{case}")).await.ok(200)["playbook"], "Сломанный пылесос");
        for _ in 0..2 {
            app.post_as(&agent, &format!("/api/v1/cases/{case}/playbook/steps/2"), json!({"done": true})).await.ok(200);
        }
        let events = app.get(&format!("/api/v1/cases/{case}/events")).await.ok(200).clone();
        let ticks = events.as_array().expect("events").iter().filter(|e| e["kind"] == "case.playbook_step").count();
        assert_eq!(ticks, 1, "a step ticked again records nothing");
    }
}
