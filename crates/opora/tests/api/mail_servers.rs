//! The e-mail channel against real servers on loopback: dovecot for IMAP (TLS, STARTTLS, IDLE,
//! a dropped connection, an archive folder, a message too large, a server killed mid-fetch) and
//! an aiosmtpd sink for SMTP (acknowledgements, agents' replies with their threading headers,
//! retries after a temporary refusal, permanent refusals and bounces).

use std::time::{Duration, Instant};

use opora::config::{Config, MailboxConfig};
use opora_app::intake::Payload as RawMail;
use opora_domain::channel::PayloadStatus as RawStatus;
use serde_json::{Value, json};

use crate::crash::{Server, seed_token};
use crate::harness::{Engine, PgDatabase, TestApp, answer, eventually, test_config};
use crate::mail::{SUPPORT, case_of, deliver, letter, mail_config, messages, settled};
use crate::servers::{Dovecot, PASSWORD, SinkTls, SmtpSink};

const SALES: &str = "sales@opora.test";

fn imap_mailbox(name: &str, address: &str, port: u16, security: &str) -> MailboxConfig {
    MailboxConfig {
        name: name.into(),
        address: address.into(),
        imap_host: Some("127.0.0.1".into()),
        imap_port: Some(i64::from(port)),
        imap_security: Some(security.into()),
        imap_user: Some(address.into()),
        imap_password: Some(PASSWORD.into()),
        accept_invalid_certs: true,
        ..Default::default()
    }
}

async fn all_mail(app: &TestApp) -> Vec<RawMail> {
    app.running.app().mail().received(None, None, 1000).await.expect("read")
}

/// Waits until `count` messages arrived by IMAP and were dealt with.
async fn fetched(app: &TestApp, count: usize) -> Vec<RawMail> {
    eventually("mail fetched over IMAP", || async {
        let all = all_mail(app).await;
        let fetched: Vec<RawMail> = all.into_iter().filter(|r| r.source == opora_domain::channel::PayloadSource::Imap).collect();
        (fetched.len() >= count && fetched.iter().all(|r| r.status != RawStatus::Received)).then_some(fetched)
    })
    .await
}

async fn subjects(app: &TestApp, raws: &[RawMail]) -> Vec<String> {
    let mut subjects = Vec::new();
    for raw in raws.iter().filter(|r| r.status == RawStatus::Processed) {
        let case = app.get(&format!("/api/v1/cases/{}", case_of(raw))).await;
        subjects.push(case.ok(200)["subject"].as_str().unwrap_or_default().to_owned());
    }
    subjects.sort();
    subjects
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_fetches_over_tls_waits_with_idle_and_survives_a_dropped_connection() {
    let dovecot = Dovecot::start(&[SUPPORT, SALES]);
    dovecot.append(SUPPORT, "INBOX", &letter("ivan@example.ru", "Прочитано до нас", "old@example.ru").raw(), true).await;
    dovecot.append(SUPPORT, "INBOX", &letter("ivan@example.ru", "Первое", "i1@example.ru").raw(), false).await;
    dovecot.append(SUPPORT, "INBOX", &letter("olga@example.ru", "Второе", "i2@example.ru").raw(), false).await;
    dovecot.append(SALES, "INBOX", &letter("petr@example.ru", "Оптовый заказ", "s1@example.ru").raw(), false).await;
    let (imap_port, imaps_port) = (dovecot.imap_port, dovecot.imaps_port);
    let app = TestApp::start_with(Engine::Sqlite, |config| {
        mail_config(config);
        config.mail.max_message_mb = 1;
        // Only IDLE can bring new mail in time: polling would wait an hour.
        config.mail.poll_seconds = 3600;
        config.mail.mailboxes[0] = MailboxConfig { default: true, ..imap_mailbox("default", SUPPORT, imap_port, "starttls") };
        config
            .mail
            .mailboxes
            .push(MailboxConfig { imap_archive_folder: Some("Archive".into()), ..imap_mailbox("sales", SALES, imaps_port, "tls") });
    })
    .await;

    let first = fetched(&app, 3).await;
    assert_eq!(subjects(&app, &first).await, ["Второе", "Оптовый заказ", "Первое"], "unread mail only; what was read stays history");
    eventually("stored mail to be flagged \\Seen", || async {
        dovecot.seen(SUPPORT, "INBOX").await.iter().all(|(_, seen)| *seen).then_some(())
    })
    .await;
    eventually("the sales mailbox to move what it stored", || async { dovecot.seen(SALES, "INBOX").await.is_empty().then_some(()) }).await;
    assert_eq!(dovecot.seen(SALES, "Archive").await.len(), 1);

    let started = Instant::now();
    dovecot
        .append(
            SUPPORT,
            "INBOX",
            &letter("ivan@example.ru", "Re: Первое", "i3@example.ru").replying_to("i1@example.ru", &["i1@example.ru"]).raw(),
            false,
        )
        .await;
    let after_idle = fetched(&app, 4).await;
    assert!(started.elapsed() < Duration::from_secs(5), "IDLE brought the message in {:?}", started.elapsed());
    assert_eq!(
        after_idle[0].case_id,
        first.iter().find(|r| r.external_id.as_deref() == Some("i1@example.ru")).and_then(|r| r.case_id),
        "the reply threads"
    );

    dovecot.kick(SUPPORT);
    dovecot.append(SUPPORT, "INBOX", &letter("anna@example.ru", "После обрыва", "i4@example.ru").raw(), false).await;
    let mut huge = letter("anna@example.ru", "Огромное вложение", "i5@example.ru");
    huge.body = "x".repeat(1_500_000);
    dovecot.append(SUPPORT, "INBOX", &huge.raw(), false).await;
    dovecot.append(SUPPORT, "INBOX", &letter("anna@example.ru", "После огромного", "i6@example.ru").raw(), false).await;
    let all = fetched(&app, 7).await;
    let status = |id: &str| all.iter().find(|r| r.external_id.as_deref() == Some(id)).map(|r| r.status);
    assert_eq!(status("i4@example.ru"), Some(RawStatus::Processed), "fetching resumed after the dropped connection");
    assert_eq!(status("i6@example.ru"), Some(RawStatus::Processed), "a huge message does not hold up the next one");
    let huge = all.iter().find(|r| r.error.as_deref().is_some_and(|e| e.contains("MiB"))).expect("the huge message is quarantined");
    assert_eq!(huge.status, RawStatus::Quarantined);
    assert!(huge.size < 100_000, "only its header was taken: {} bytes", huge.size);
    let boxes = app.get("/api/v1/mailboxes").await;
    for mailbox in boxes.ok(200).as_array().expect("list") {
        assert_eq!(mailbox["fetch_error"], Value::Null, "{mailbox}");
        assert!(mailbox["fetched_at"].is_string());
    }
}

/// The real binary is killed while it fetches a full mailbox; after a restart every message is
/// filed once.
async fn killed_mid_fetch(engine: Engine) {
    opora::server::install_crypto();
    const COUNT: usize = 300;
    let dovecot = Dovecot::start(&[SUPPORT]);
    {
        let mut session = dovecot.session(SUPPORT).await;
        for i in 0..COUNT {
            let raw = letter(&format!("client{}@example.ru", i % 25), &format!("Письмо номер {i}"), &format!("k{i}@example.ru")).raw();
            session.append("INBOX", None, None, &raw).await.expect("append");
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let database = (engine == Engine::Postgres).then(PgDatabase::create);
    let config = test_config(engine, &dir, database.as_ref());
    let token = seed_token(&config).await;
    let file = dir.path().join("opora.toml");
    let mailbox = format!(
        "[mail]\npoll_seconds = 3600\n[[mail.mailboxes]]\nname = \"default\"\naddress = \"{SUPPORT}\"\ndefault = true\nimap_host = \"127.0.0.1\"\n\
         imap_port = {}\nimap_security = \"none\"\nimap_user = \"{SUPPORT}\"\nimap_password = \"{PASSWORD}\"\n",
        dovecot.imap_port
    );
    std::fs::write(&file, mailbox).expect("config");
    let settings = [("OPORA_CONFIG", file.display().to_string())];
    let client = reqwest::Client::new();
    let count = async |server: &Server| -> Vec<Value> {
        let mut items = Vec::new();
        let mut before = String::new();
        loop {
            let url = format!("{}/api/v1/mail/messages?limit=200{before}", server.base);
            let page = answer(client.get(url).bearer_auth(&token).send().await.expect("sent")).await;
            let page = page.ok(200);
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_before"].as_i64() {
                Some(next) => before = format!("&before={next}"),
                None => return items,
            }
        }
    };
    let server = Server::start(&config.database_url, &config.data_dir, &settings).await;
    let before_kill = eventually("some mail to be fetched", || async { Some(count(&server).await.len()).filter(|n| *n >= 20) }).await;
    server.kill();
    assert!(before_kill < COUNT, "killed in the middle: {before_kill} of {COUNT} fetched");

    let server = Server::start(&config.database_url, &config.data_dir, &settings).await;
    let items = eventually("every message to be filed", || async {
        let items = count(&server).await;
        let done = items.iter().filter(|r| r["status"] != "received").count();
        (done >= COUNT).then_some(items)
    })
    .await;
    let processed: Vec<&Value> = items.iter().filter(|r| r["status"] == "processed").collect();
    let mut ids: Vec<&str> = processed.iter().filter_map(|r| r["message_id"].as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), COUNT, "every message filed");
    assert_eq!(processed.len(), COUNT, "none filed twice");
    let fetched_twice = items.len() - COUNT;
    assert_eq!(fetched_twice, 0, "no message was even fetched twice");
    eventually("every stored message to end up \\Seen", || async {
        dovecot.seen(SUPPORT, "INBOX").await.iter().all(|(_, seen)| *seen).then_some(())
    })
    .await;
    server.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_fetch_loses_and_duplicates_nothing_sqlite() {
    killed_mid_fetch(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_fetch_loses_and_duplicates_nothing_postgres() {
    killed_mid_fetch(Engine::Postgres).await;
}

async fn smtp_app(engine: Engine, sink: &SmtpSink, security: &str) -> TestApp {
    smtp_app_with(engine, sink, security, |_| {}).await
}

/// A mail app whose default mailbox sends through the sink, adjusted further by `adjust`.
pub async fn smtp_app_with(engine: Engine, sink: &SmtpSink, security: &str, adjust: impl FnOnce(&mut Config) + Send) -> TestApp {
    let port = sink.port;
    let security = security.to_owned();
    TestApp::start_with(engine, move |config| {
        mail_config(config);
        adjust(config);
        let mailbox = &mut config.mail.mailboxes[0];
        mailbox.smtp_host = Some("127.0.0.1".into());
        mailbox.smtp_port = Some(i64::from(port));
        mailbox.smtp_security = Some(security);
        mailbox.accept_invalid_certs = true;
    })
    .await
}

/// Waits for the sink to hold `count` messages and parses them.
pub async fn sent(app: &TestApp, sink: &SmtpSink, count: usize) -> Vec<(Value, opora_channels::email::ParsedEmail)> {
    for _ in 0..200 {
        if sink.messages().len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let raw = sink.messages();
    if raw.len() < count {
        let mut jobs = Vec::new();
        for state in ["queued", "running", "dead"] {
            jobs.push(app.get(&format!("/api/v1/jobs?state={state}")).await.body);
        }
        let cases = app.get("/api/v1/cases").await.body;
        let outbound: Vec<Value> = match cases["items"].as_array() {
            Some(items) => {
                let mut found = Vec::new();
                for case in items {
                    found
                        .extend(messages(app, case["id"].as_i64().unwrap_or(0)).await.into_iter().filter(|m| m["direction"] == "outbound"));
                }
                found
            }
            None => Vec::new(),
        };
        panic!("the sink holds {} of {count} messages; jobs: {jobs:?}; outbound messages: {outbound:?}", raw.len());
    }
    raw.into_iter().map(|(envelope, bytes)| (envelope, opora_channels::email::parse(&bytes).expect("our mail parses"))).collect()
}

async fn delivery(app: &TestApp, case: i64, message: i64) -> Value {
    eventually("the delivery status to settle", || async {
        let thread = messages(app, case).await;
        thread.into_iter().find(|m| m["id"] == message).filter(|m| m["delivery_status"] != "pending")
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_go_out_over_starttls_and_answers_come_back_to_the_case() {
    let sink = SmtpSink::start(SinkTls::Starttls);
    let app = smtp_app(Engine::Sqlite, &sink, "starttls").await;
    let mut first = letter("Иван Петров <ivan@example.ru>", "Курьер не приехал", "c1@example.ru");
    first.cc = vec!["Ольга <olga@example.ru>".into()];
    let case = case_of(&deliver(&app, &first).await);
    let number = app.get(&format!("/api/v1/cases/{case}")).await.ok(200)["number"].as_i64().expect("number");

    // The acknowledgement: automatic, in Russian, threaded under the customer's message.
    let (envelope, ack) = sent(&app, &sink, 1).await.remove(0);
    assert_eq!(envelope["tls"], true, "STARTTLS was used");
    assert_eq!(envelope["to"], json!(["ivan@example.ru"]), "the sender alone: nobody copied hears from a robot");
    assert!(ack.automatic.is_some(), "Auto-Submitted is set");
    assert_eq!(ack.in_reply_to, ["c1@example.ru"]);
    assert!(ack.subject.contains(&format!("[#{number}]")), "{}", ack.subject);
    assert!(ack.text.contains(&number.to_string()) && ack.text.contains("Мы получили"), "{}", ack.text);

    // An auto-reply is recorded but never answered, and a second new case from the same sender
    // within the hour is acknowledged again (the limit is three an hour).
    let mut vacation = letter("ivan@example.ru", "Автоответ: я в отпуске", "c2@example.ru");
    vacation.headers.push("Auto-Submitted: auto-replied".into());
    deliver(&app, &vacation).await;

    // The agent's reply: name and signature, text and HTML, an attachment, the threading headers.
    app.patch("/api/v1/me", json!({"signature": "Анна, служба заботы\n+7 800 000-00-00"})).await.ok(200);
    let reply = app
        .post(
            &format!("/api/v1/cases/{case}/messages"),
            json!({"kind": "reply", "body_text": "Иван, курьер будет сегодня до 18:00.",
                   "attachments": [{"filename": "маршрут.txt", "content_type": "text/plain", "content_base64": "0LzQsNGA0YjRgNGD0YI="}]}),
        )
        .await;
    let message = reply.ok(201)["id"].as_i64().expect("id");
    let status = delivery(&app, case, message).await;
    assert_eq!(status["delivery_status"], "sent", "{status}");
    let all = sent(&app, &sink, 2).await;
    assert_eq!(all.len(), 2, "the auto-reply got no answer");
    let (envelope, answer_mail) = &all[1];
    assert_eq!(envelope["to"], json!(["ivan@example.ru", "olga@example.ru"]), "the customer, with the copied participant");
    assert_eq!(answer_mail.from.as_ref().map(|f| f.name.as_str()), Some("Админ — Клининг Плюс"));
    assert_eq!(answer_mail.from.as_ref().map(|f| f.address.as_str()), Some(SUPPORT));
    assert_eq!(answer_mail.subject, format!("Re: Курьер не приехал [#{number}]"));
    assert_eq!(answer_mail.in_reply_to, ["c1@example.ru"]);
    assert!(answer_mail.references.contains(&"c1@example.ru".to_owned()));
    assert!(answer_mail.text.contains("до 18:00") && answer_mail.text.contains("Анна, служба заботы"), "{}", answer_mail.text);
    assert!(answer_mail.html.as_deref().is_some_and(|h| h.contains("до 18:00")));
    assert_eq!(answer_mail.attachments.len(), 1);
    assert_eq!(answer_mail.attachments[0].filename, "маршрут.txt");
    assert!(answer_mail.automatic.is_none());

    // The customer answers our reply from another client, with a new subject: same case.
    let ours = answer_mail.message_id.clone().expect("our Message-ID");
    let back = letter("ivan@example.ru", "Спасибо!", "c3@example.ru").replying_to(&ours, &["c1@example.ru", &ours]);
    assert_eq!(case_of(&deliver(&app, &back).await), case);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_retries_and_bounces_show_on_the_message() {
    let sink = SmtpSink::start(SinkTls::Implicit);
    let app = smtp_app(Engine::Sqlite, &sink, "tls").await;
    let reply_to = async |from: &str, id: &str| {
        let case = case_of(&deliver(&app, &letter(from, &format!("Вопрос {id}"), id)).await);
        let reply = app.post(&format!("/api/v1/cases/{case}/messages"), json!({"kind": "reply", "body_text": "Ответ"})).await;
        (case, reply.ok(201)["id"].as_i64().expect("id"))
    };
    // A temporary refusal is retried and then delivered.
    let (case, message) = reply_to("tempfail@example.ru", "t1@example.ru").await;
    assert_eq!(delivery(&app, case, message).await["delivery_status"], "sent");
    // A permanent refusal fails at once, with the server's reason, and the owner is told.
    let (case, message) = reply_to("reject@example.ru", "t2@example.ru").await;
    let failed = delivery(&app, case, message).await;
    assert_eq!(failed["delivery_status"], "failed");
    assert!(failed["delivery_error"].as_str().is_some_and(|e| e.contains("550")), "{failed}");

    // A bounce for a message that was accepted marks it failed after the fact.
    let (case, message) = reply_to("later@example.ru", "t3@example.ru").await;
    assert_eq!(delivery(&app, case, message).await["delivery_status"], "sent");
    let ours = messages(&app, case)
        .await
        .into_iter()
        .find(|m| m["id"] == message)
        .and_then(|m| m["external_id"].as_str().map(str::to_owned))
        .expect("Message-ID");
    let bounce = |to: &str, id: &str| {
        format!(
            "From: Mail Delivery System <MAILER-DAEMON@mx.example.ru>\r\nTo: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <{id}@mx.example.ru>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nThe mail system could not deliver your message.\r\n\
         --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.ru\r\n\r\nFinal-Recipient: rfc822; later@example.ru\r\n\
         Action: failed\r\nStatus: 5.2.2\r\nDiagnostic-Code: smtp; 552 5.2.2 mailbox full\r\n\r\n\
         --b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{ours}>\r\nSubject: Re: Вопрос\r\n\r\n--b--\r\n"
        )
    };
    // A report that reaches another mailbox is not about our message: nobody can fail it (or put
    // words on its case) from outside by naming its Message-ID.
    app.post("/api/v1/mailboxes", json!({"name": "sales", "address": "sales@opora.test"})).await.ok(201);
    let elsewhere =
        settled(&app, crate::mail::lmtp(&app, "sales@opora.test", &[bounce("sales@opora.test", "forged").into_bytes()]).await[0]).await;
    assert_eq!(elsewhere.status.as_str(), "ignored", "{:?}", elsewhere.error);
    assert_eq!(delivery(&app, case, message).await["delivery_status"], "sent");
    let raw = settled(&app, crate::mail::lmtp(&app, SUPPORT, &[bounce(SUPPORT, "bounce1").into_bytes()]).await[0]).await;
    assert_eq!(raw.case_id.map(|c| c.0), Some(case), "the bounce is kept on the case");
    let bounced = messages(&app, case).await.into_iter().find(|m| m["id"] == message).expect("message");
    assert_eq!(bounced["delivery_status"], "failed");
    assert!(bounced["delivery_error"].as_str().is_some_and(|e| e.contains("mailbox full")), "{bounced}");
    let notifications = app.get("/api/v1/notifications").await;
    let kinds: Vec<&str> = notifications.ok(200)["items"].as_array().expect("items").iter().filter_map(|n| n["kind"].as_str()).collect();
    assert!(kinds.contains(&"message.delivery_changed"), "the owner hears about failed deliveries: {kinds:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_by_mail_asks_whether_it_helped_with_two_links() {
    let sink = SmtpSink::start(SinkTls::Starttls);
    let app = smtp_app_with(Engine::Sqlite, &sink, "starttls", |config| config.care.rate_replies = true).await;
    let case = case_of(&deliver(&app, &letter("Иван Петров <ivan@example.ru>", "Где заказ?", "h1@example.ru")).await);
    sent(&app, &sink, 1).await;
    app.post(&format!("/api/v1/cases/{case}/messages"), json!({"body_text": "Иван, заказ приедет завтра."})).await.ok(201);
    let (_, mail) = sent(&app, &sink, 2).await.remove(1);
    let good = mail.text.lines().find(|l| l.starts_with("👍 Помог: ")).unwrap_or_else(|| panic!("{}", mail.text));
    let bad = mail.text.lines().find(|l| l.starts_with("👎 Не помог: ")).unwrap_or_else(|| panic!("{}", mail.text));
    assert!(good.contains("/rate/") && good.ends_with("?score=5") && bad.ends_with("?score=1"), "{good} / {bad}");
    let html = mail.html.clone().unwrap_or_default();
    assert!(html.contains("?score=5\">👍 Помог</a>"), "{html}");
    let path = &good[good.find("/rate/").expect("path")..];
    let page = app.client.get(format!("{}{path}", app.base)).send().await.expect("page").text().await.expect("body");
    assert!(page.contains(r#"value="5" required checked"#), "{page}");
}
