//! Buttons in the messengers and surveys, on both engines: a completed order's rating request
//! carries the scores as Telegram buttons, a press records the score once and only from the
//! customer it was sent to; a survey goes to the customers with recent orders, is answered by a
//! button and on its page, and its results count each answer.

use serde_json::json;

use crate::both_engines;
use crate::care::{form, link, next_text, page, put, sent, start};
use crate::harness::{TestApp, eventually};
use crate::telegram_bot::BotApi;

/// The buttons under the bot's `index`-th message, as (label, data).
fn buttons(api: &BotApi, index: usize) -> Vec<(String, String)> {
    let calls = api.calls("sendMessage");
    let rows = calls[index].params["reply_markup"]["inline_keyboard"].as_array().cloned().unwrap_or_default();
    rows.iter()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .map(|b| (b["text"].as_str().unwrap_or_default().to_owned(), b["callback_data"].as_str().unwrap_or_default().to_owned()))
        .collect()
}

/// The bot's messages to one chat, with their index among all it sent.
fn to_chat(api: &BotApi, chat: &str) -> Vec<(usize, String)> {
    let calls = api.calls("sendMessage");
    calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.params["chat_id"] == chat)
        .map(|(i, c)| (i, c.params["text"].as_str().unwrap_or_default().to_owned()))
        .collect()
}

/// A press of a button, as Telegram reports it; returns what the bot answered the press with.
async fn press(api: &BotApi, from: i64, data: &str) -> String {
    let before = api.calls("answerCallbackQuery").len();
    let id = format!("press-{from}-{before}");
    api.queue(json!({"callback_query": {"id": id, "chat_instance": "1", "data": data,
        "from": {"id": from, "is_bot": false, "first_name": "Кто-то", "language_code": "ru"},
        "message": {"message_id": 1, "date": 1_763_823_845, "chat": {"id": from, "type": "private"}}}}));
    eventually("the press answered", || async {
        let answers = api.calls("answerCallbackQuery");
        answers
            .iter()
            .find(|c| c.params["callback_query_id"] == id.as_str())
            .map(|c| c.params["text"].as_str().unwrap_or_default().to_owned())
    })
    .await
}

async fn answered_ratings(app: &TestApp) -> i64 {
    app.get("/api/v1/ratings/response").await.ok(200)["answered"].as_i64().expect("answered")
}

both_engines! {
    start = start;
    async fn ratings_and_surveys_are_answered_with_buttons(app: TestApp) {
        let api = BotApi::connected(&app).await;

        // The completion's rating request has the five scores as buttons.
        let ivan = json!({"identities": [{"kind": "telegram", "value": "111"}], "name": "Иван"});
        put(&app, "CL-1", json!({"customer": ivan, "stage": "created"})).await.ok(201);
        next_text(&api, 0).await;
        put(&app, "CL-1", json!({"stage": "completed"})).await.ok(200);
        assert!(next_text(&api, 1).await.contains("/rate/"), "the link answers where there are no buttons");
        let scores = buttons(&api, 1);
        let labels: Vec<&str> = scores.iter().map(|(label, _)| label.as_str()).collect();
        assert_eq!(labels, ["1 ⭐", "2 ⭐", "3 ⭐", "4 ⭐", "5 ⭐"]);
        let five = scores[4].1.clone();

        // Someone else pressing it records nothing; the customer's press counts once.
        assert_eq!(press(&api, 999, &five).await, "Эта кнопка была отправлена другому клиенту.");
        assert_eq!(answered_ratings(&app).await, 0);
        assert_eq!(press(&api, 111, &five).await, "Спасибо, ответ записан.");
        assert!(next_text(&api, 2).await.starts_with("Спасибо за оценку 5!"), "{:?}", sent(&api));
        assert_eq!(answered_ratings(&app).await, 1);
        assert_eq!(press(&api, 111, &scores[0].1).await, "Ответ уже получен, спасибо.");
        assert_eq!(press(&api, 111, "r:forged:3").await, "Этот вопрос уже неактуален.");
        let wall = app.get("/api/v1/ratings/response").await.ok(200).clone();
        assert_eq!((wall["asked"].as_i64(), wall["answered"].as_i64()), (Some(1), Some(1)), "the first press stands");

        // Only supervisors send surveys; bad ones are refused by field.
        let (_, agent) = app.agent("Оля Агент", "agent").await;
        let survey = json!({"title": "Удобство", "audience": {"kind": "ordered", "days": 30},
            "questions": [{"text": {"ru": "Удобно ли заказывать в Telegram?", "en": "Is ordering in Telegram convenient?"}, "options": ["Да", "Нет"]}]});
        app.post_as(&agent, "/api/v1/surveys", survey.clone()).await.problem(403, "forbidden");
        let bad = json!({"title": "x", "audience": {"kind": "everyone"}, "questions": [{"text": "?", "options": ["Да"]}, {"text": "?"}]});
        let refused = app.post("/api/v1/surveys", bad).await;
        refused.field("questions.0.options", "out_of_range");
        refused.field("questions.1.options", "options_or_scale");
        refused.field("audience.kind", "invalid_choice");

        // A survey goes to the customers with recent orders: Ivan and Maria, not Pyotr.
        let maria = json!({"identities": [{"kind": "telegram", "value": "222"}], "name": "Мария"});
        put(&app, "CL-2", json!({"customer": maria, "stage": "created"})).await.ok(201);
        let pyotr = json!({"identities": [{"kind": "telegram", "value": "333"}], "name": "Пётр"});
        app.post("/api/v1/cases", json!({"subject": "Вопрос", "customer": pyotr})).await.ok(201);
        let created = app.post("/api/v1/surveys", survey).await.ok(201).clone();
        let path = format!("/api/v1/surveys/{}", created["id"]);
        eventually("the survey sent", || async {
            let shown = app.get(&path).await.ok(200).clone();
            (shown["status"] == "sent").then_some(shown)
        })
        .await;
        let asked = |chat: &str| to_chat(&api, chat).into_iter().find(|(_, text)| text.contains("Удобно ли заказывать"));
        let (to_ivan, _) = eventually("Ivan asked", || async { asked("111") }).await;
        let (_, to_maria) = eventually("Maria asked", || async { asked("222") }).await;
        assert!(asked("333").is_none(), "Pyotr has no orders");
        let answers = buttons(&api, to_ivan);
        assert_eq!(answers.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(), ["Да", "Нет"]);
        assert_eq!(press(&api, 111, &answers[0].1).await, "Спасибо, ответ записан.");

        // Maria answers on the page: every question needs an answer, and only once.
        let survey_page = link(&to_maria, "/survey/");
        let (status, body) = page(&app, &survey_page).await;
        assert!(status == 200 && body.contains("Удобно ли заказывать в Telegram?"), "{body}");
        let (status, english) = page(&app, &format!("{survey_page}?lang=en")).await;
        assert!(status == 200 && english.contains("Is ordering in Telegram convenient?"), "{english}");
        let empty = form(&app, &survey_page, "").await;
        assert_eq!(empty.status, 422);
        assert!(form(&app, &survey_page, "q0=1").await.body["text"].as_str().is_some_and(|t| t.contains("Спасибо! Ваши ответы записаны")));
        assert!(form(&app, &survey_page, "q0=0").await.body["text"].as_str().is_some_and(|t| t.contains("Вы уже ответили")));

        let results = app.get(&path).await.ok(200).clone();
        assert_eq!((results["invited"].as_i64(), results["answered"].as_i64()), (Some(2), Some(2)));
        let counts: Vec<i64> = results["questions"][0]["options"].as_array().expect("options").iter().filter_map(|o| o["count"].as_i64()).collect();
        assert_eq!(counts, [1, 1]);

        // Chosen customers (one id of nobody among them), two questions: the page needs both.
        let ivan_id = app.get("/api/v1/orders/CL-1").await.ok(200)["customer_id"].clone();
        let two = json!({"title": "Качество", "audience": {"kind": "customers", "ids": [ivan_id, 999_999]},
            "questions": [{"text": "Пришли вовремя?", "options": ["Да", "Нет"]}, {"text": {"ru": "Оцените уборку"}, "scale": 5}]});
        let chosen = app.post("/api/v1/surveys", two).await.ok(201).clone();
        assert_eq!(chosen["audience"], json!({"kind": "customers", "count": 2}));
        let path = format!("/api/v1/surveys/{}", chosen["id"]);
        let sent_to = eventually("the second survey sent", || async {
            let shown = app.get(&path).await.ok(200).clone();
            (shown["status"] == "sent").then_some(shown["invited"].clone())
        })
        .await;
        assert_eq!(sent_to, 1, "the id of nobody is passed over");
        let (_, to_ivan) = eventually("Ivan asked again", || async { to_chat(&api, "111").into_iter().find(|(_, t)| t.contains("Качество")) }).await;
        assert!(!to_ivan.contains("Пришли вовремя"), "several questions wait on the page: {to_ivan}");
        let quality = link(&to_ivan, "/survey/");
        assert_eq!(form(&app, &quality, "q0=0").await.status, 422, "the scale is unanswered");
        assert_eq!(form(&app, &quality, "q0=0&q1=9").await.status, 422, "no sixth point on a scale of five");
        assert_eq!(form(&app, &quality, "q0=0&q1=4").await.status, 200);
        let scale = app.get(&path).await.ok(200)["questions"][1]["options"].clone();
        let scale: Vec<i64> = scale.as_array().expect("options").iter().filter_map(|o| o["count"].as_i64()).collect();
        assert_eq!(scale, [0, 0, 0, 0, 1]);
    }
}

/// Every reply asks whether it helped.
async fn rated_replies(engine: crate::harness::Engine) -> TestApp {
    TestApp::start_with(engine, |config| config.care.rate_replies = true).await
}

both_engines! {
    start = rated_replies;
    async fn a_single_reply_is_rated_by_a_button_or_a_link(app: TestApp) {
        let api = BotApi::connected(&app).await;
        api.queue(crate::telegram_bot::text_update(111, 1, "Иван", "Где мой заказ?"));
        let case = eventually("the case opened", || async {
            let listed = app.get("/api/v1/cases?channel=telegram").await.ok(200).clone();
            listed["items"][0]["id"].as_i64()
        })
        .await;
        let reply = |text: &'static str| {
            let app = &app;
            async move { app.post(&format!("/api/v1/cases/{case}/messages"), json!({"body_text": text})).await.ok(201).clone() }
        };
        reply("Курьер будет в 14:30").await;
        let (index, _) = eventually("the reply sent", || async { to_chat(&api, "111").into_iter().find(|(_, t)| t.contains("14:30")) }).await;
        let asked = buttons(&api, index);
        assert_eq!(asked.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(), ["👍 Помог", "👎 Не помог"]);

        // A 👎 is the agent's lesson, not a problem case; it does not count as a service rating.
        assert_eq!(press(&api, 111, &asked[1].1).await, "Спасибо, ответ записан.");
        eventually("thanked in the chat", || async { to_chat(&api, "111").into_iter().find(|(_, t)| t.contains("Спасибо за отзыв о нашем ответе")) }).await;
        let events = app.get(&format!("/api/v1/cases/{case}/events")).await.ok(200).clone();
        let rated = events.as_array().expect("events").iter().find(|e| e["kind"] == "rating.received").cloned().expect("rated");
        assert_eq!((rated["data"]["score"].as_i64(), rated["data"]["agent_id"].as_i64().is_some()), (Some(1), true), "{rated}");
        assert!(rated["data"]["problem_case_id"].is_null(), "{rated}");
        assert_eq!(app.get("/api/v1/cases?kind=problem").await.ok(200)["items"].as_array().map(Vec::len), Some(0));
        assert_eq!(app.get("/api/v1/ratings/response").await.ok(200)["asked"], 0);

        // The link e-mail carries opens the page with the answer chosen.
        reply("Уточнили: курьер уже у подъезда").await;
        let (index, _) = eventually("the second reply sent", || async { to_chat(&api, "111").into_iter().find(|(_, t)| t.contains("подъезда")) }).await;
        let good = buttons(&api, index)[0].1.clone();
        let token = good.split(':').nth(1).expect("token");
        let (status, body) = page(&app, &format!("/rate/{token}?score=5")).await;
        assert!(status == 200 && body.contains("Помог ли вам наш ответ по обращению #"), "{body}");
        assert!(body.contains(r#"value="5" required checked"#), "the score from the link is chosen: {body}");
        assert!(!body.contains("reasons-set"), "a reply is rated without the service's reasons");
    }
}
