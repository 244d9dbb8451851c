//! The e-mail channel end to end: messages handed over on the real LMTP listener, filed by the
//! real processor, read back through the API. Threading by headers, by the case token, by a plus
//! address and by subject; reply-all; redelivery; out-of-order delivery; follow-ups; quarantine.

use base64::Engine as _;
use opora::config::{Config, MailboxConfig};
use opora_app::intake::Payload as RawMail;
use opora_domain::PayloadId;
use opora_domain::channel::PayloadStatus as RawStatus;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::both_engines;
use crate::harness::{Engine, TestApp, eventually};

pub const SUPPORT: &str = "support@opora.test";

/// Mail settings for tests: LMTP on a free port, a default mailbox with a real address.
pub fn mail_config(config: &mut Config) {
    config.mail.lmtp_listen = "127.0.0.1:0".into();
    config.mail.mailboxes = vec![MailboxConfig {
        name: "default".into(),
        address: SUPPORT.into(),
        sender_name: "Клининг Плюс".into(),
        default: true,
        ..Default::default()
    }];
}

pub async fn mail_app(engine: Engine) -> TestApp {
    TestApp::start_with(engine, mail_config).await
}

/// A message to hand over, with sensible defaults.
#[derive(Clone)]
pub struct Letter {
    pub from: String,
    pub to: String,
    pub cc: Vec<String>,
    pub subject: String,
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub headers: Vec<String>,
    pub body: String,
}

pub fn letter(from: &str, subject: &str, message_id: &str) -> Letter {
    Letter {
        from: from.into(),
        to: format!("Поддержка <{SUPPORT}>"),
        cc: Vec::new(),
        subject: subject.into(),
        message_id: Some(message_id.into()),
        in_reply_to: None,
        references: Vec::new(),
        headers: Vec::new(),
        body: format!("Текст письма {message_id}"),
    }
}

fn encoded(text: &str) -> String {
    if text.is_ascii() { text.to_owned() } else { format!("=?utf-8?b?{}?=", base64::engine::general_purpose::STANDARD.encode(text)) }
}

impl Letter {
    pub fn replying_to(mut self, parent: &str, references: &[&str]) -> Self {
        self.in_reply_to = Some(parent.into());
        self.references = references.iter().map(|r| (*r).to_owned()).collect();
        self
    }

    pub fn raw(&self) -> Vec<u8> {
        let mut head = vec![
            format!("From: {}", self.from),
            format!("To: {}", self.to),
            format!("Subject: {}", encoded(&self.subject)),
            "Date: Sun, 22 Nov 2026 10:00:00 +0300".to_owned(),
            "MIME-Version: 1.0".to_owned(),
            "Content-Type: text/plain; charset=utf-8".to_owned(),
            "Content-Transfer-Encoding: 8bit".to_owned(),
        ];
        if !self.cc.is_empty() {
            head.push(format!("Cc: {}", self.cc.join(", ")));
        }
        if let Some(id) = &self.message_id {
            head.push(format!("Message-ID: <{id}>"));
        }
        if let Some(parent) = &self.in_reply_to {
            head.push(format!("In-Reply-To: <{parent}>"));
        }
        if !self.references.is_empty() {
            head.push(format!("References: {}", self.references.iter().map(|r| format!("<{r}>")).collect::<Vec<_>>().join(" ")));
        }
        head.extend(self.headers.iter().cloned());
        format!("{}\r\n\r\n{}\r\n", head.join("\r\n"), self.body).into_bytes()
    }
}

/// Hands messages to the LMTP listener in one session; returns the stored ids.
pub async fn lmtp(app: &TestApp, recipient: &str, messages: &[Vec<u8>]) -> Vec<PayloadId> {
    let addr = app.running.lmtp_addr.expect("LMTP is configured");
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect to LMTP");
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut expect = async |prefix: &str| {
        let line = lines.next_line().await.expect("read").expect("a reply");
        assert!(line.starts_with(prefix), "expected {prefix}, got {line}");
        line
    };
    expect("220").await;
    write.write_all(b"LHLO tests\r\n").await.expect("write");
    loop {
        if expect("250").await.starts_with("250 ") {
            break;
        }
    }
    let mut ids = Vec::new();
    for raw in messages {
        write.write_all(format!("MAIL FROM:<mta@opora.test>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n").as_bytes()).await.expect("write");
        expect("250").await;
        expect("250").await;
        expect("354").await;
        let mut text = String::from_utf8_lossy(raw).replace("\r\n.", "\r\n..");
        if !text.ends_with("\r\n") {
            text.push_str("\r\n");
        }
        write.write_all(text.as_bytes()).await.expect("write");
        write.write_all(b".\r\n").await.expect("write");
        let stored = expect("250 2.0.0 stored as mail ").await;
        ids.push(PayloadId(stored.rsplit(' ').next().and_then(|n| n.parse().ok()).expect("an id")));
    }
    write.write_all(b"QUIT\r\n").await.expect("write");
    ids
}

/// Waits until the processor has dealt with a stored message.
pub async fn settled(app: &TestApp, id: PayloadId) -> RawMail {
    eventually("the message to be processed", || async {
        let raw = app.running.app().intake().payload(id).await.expect("read");
        (raw.status != RawStatus::Received).then_some(raw)
    })
    .await
}

/// Delivers one message and returns where it was filed.
pub async fn deliver(app: &TestApp, letter: &Letter) -> RawMail {
    let id = lmtp(app, SUPPORT, &[letter.raw()]).await[0];
    settled(app, id).await
}

pub fn case_of(raw: &RawMail) -> i64 {
    raw.case_id.unwrap_or_else(|| panic!("filed into a case: {raw:?}")).0
}

pub async fn messages(app: &TestApp, case: i64) -> Vec<Value> {
    app.get(&format!("/api/v1/cases/{case}/messages")).await.ok(200).as_array().cloned().expect("a list")
}

both_engines! {
    start = mail_app;

    async fn replies_thread_by_headers_token_and_subject(app: TestApp) {
        let first = deliver(&app, &letter("Иван Петров <ivan@example.ru>", "Курьер опоздал с заказом 5512", "m1@example.ru")).await;
        assert_eq!(first.status, RawStatus::Processed);
        let case = case_of(&first);
        let shown = app.get(&format!("/api/v1/cases/{case}")).await;
        let shown = shown.ok(200);
        assert_eq!(shown["subject"], "Курьер опоздал с заказом 5512");
        assert_eq!(shown["channel"], "email");
        assert_eq!(shown["customer"]["name"], "Иван Петров");
        let number = shown["number"].as_i64().expect("number");

        // By In-Reply-To, whatever the subject says.
        let by_header = letter("ivan@example.ru", "совсем другая тема", "m2@example.ru").replying_to("m1@example.ru", &["m1@example.ru"]);
        assert_eq!(case_of(&deliver(&app, &by_header).await), case);
        // By References alone.
        let mut by_reference = letter("ivan@example.ru", "ещё", "m3@example.ru");
        by_reference.references = vec!["m0@elsewhere".into(), "m2@example.ru".into()];
        assert_eq!(case_of(&deliver(&app, &by_reference).await), case);
        // By the token in the subject.
        let by_token = letter("ivan@example.ru", &format!("Новый вопрос [#{number}]"), "m4@example.ru");
        assert_eq!(case_of(&deliver(&app, &by_token).await), case);
        // By sender and subject, Russian prefixes and counters stripped.
        for (i, subject) in ["Re: Курьер опоздал с заказом 5512", "Отв: Ответ[2]: курьер опоздал с заказом  5512", "AW: SV: Курьер опоздал с заказом 5512"].iter().enumerate() {
            let reply = letter("ivan@example.ru", subject, &format!("s{i}@example.ru"));
            assert_eq!(case_of(&deliver(&app, &reply).await), case, "{subject}");
        }
        // The same subject without a reply prefix is a new request, and so is another sender's.
        let again = deliver(&app, &letter("ivan@example.ru", "Курьер опоздал с заказом 5512", "m5@example.ru")).await;
        assert_ne!(case_of(&again), case);
        let stranger = deliver(&app, &letter("olga@example.ru", "Re: Курьер опоздал с заказом 5512", "m6@example.ru")).await;
        assert_ne!(case_of(&stranger), case);
        assert_eq!(messages(&app, case).await.len(), 7);
    }

    async fn plus_addresses_carry_the_case(app: TestApp) {
        let first = deliver(&app, &letter("ivan@example.ru", "Двойное списание", "p1@example.ru")).await;
        let case = case_of(&first);
        let number = app.get(&format!("/api/v1/cases/{case}")).await.ok(200)["number"].as_i64().expect("number");
        let mut reply = letter("ivan@example.ru", "без темы", "p2@example.ru");
        reply.to = format!("support+c{number}@opora.test");
        let id = lmtp(&app, &format!("support+c{number}@opora.test"), &[reply.raw()]).await[0];
        assert_eq!(case_of(&settled(&app, id).await), case);
    }

    async fn reply_all_brings_in_participants(app: TestApp) {
        let mut first = letter("Иван <ivan@example.ru>", "Уборка после ремонта", "r1@example.ru");
        first.cc = vec!["Ольга <olga@example.ru>".into()];
        let case = case_of(&deliver(&app, &first).await);
        // Olga answers everyone: her message joins Ivan's case, with her as its author.
        let mut answer = letter("Ольга <olga@example.ru>", "Re: Уборка после ремонта", "r2@example.ru").replying_to("r1@example.ru", &["r1@example.ru"]);
        answer.cc = vec!["ivan@example.ru".into(), "Пётр <petr@example.ru>".into()];
        assert_eq!(case_of(&deliver(&app, &answer).await), case);
        let thread = messages(&app, case).await;
        assert_eq!(thread[1]["author"]["name"], "Ольга");
        let events = app.get(&format!("/api/v1/cases/{case}/events")).await;
        let added: Vec<&Value> = events.ok(200).as_array().expect("a list").iter().filter(|e| e["kind"] == "case.participant_added").collect();
        assert_eq!(added.len(), 2, "Olga and Petr joined: {added:?}");
        let shown = app.get(&format!("/api/v1/cases/{case}")).await;
        assert_eq!(shown.ok(200)["customer"]["name"], "Иван", "the case stays Ivan's");
    }

    async fn the_same_message_twice_is_filed_once(app: TestApp) {
        let message = letter("ivan@example.ru", "Не работает промокод", "d1@example.ru").raw();
        let ids = lmtp(&app, SUPPORT, &[message.clone(), message]).await;
        let first = settled(&app, ids[0]).await;
        let second = settled(&app, ids[1]).await;
        assert_eq!(first.status, RawStatus::Processed);
        assert_eq!(second.status, RawStatus::Duplicate);
        assert_eq!(second.case_id, first.case_id);
        assert_eq!(messages(&app, case_of(&first)).await.len(), 1);
        // A message without a Message-ID is recognised by its bytes.
        let mut anonymous = letter("ivan@example.ru", "Без идентификатора", "unused");
        anonymous.message_id = None;
        let ids = lmtp(&app, SUPPORT, &[anonymous.raw(), anonymous.raw()]).await;
        assert_eq!(settled(&app, ids[0]).await.status, RawStatus::Processed);
        assert_eq!(settled(&app, ids[1]).await.status, RawStatus::Duplicate);
    }

    async fn a_reply_arriving_before_its_parent_ends_in_one_case(app: TestApp) {
        let reply = letter("ivan@example.ru", "Re: Возврат денег", "o2@example.ru").replying_to("o1@example.ru", &["o1@example.ru"]);
        let late_reply = letter("ivan@example.ru", "Re: Re: Возврат денег", "o3@example.ru").replying_to("o2@example.ru", &["o1@example.ru", "o2@example.ru"]);
        let parent = letter("ivan@example.ru", "Возврат денег", "o1@example.ru");
        let ids = lmtp(&app, SUPPORT, &[reply.raw(), late_reply.raw(), parent.raw()]).await;
        let mut cases = Vec::new();
        for id in ids {
            cases.push(case_of(&settled(&app, id).await));
        }
        assert!(cases.iter().all(|c| *c == cases[0]), "{cases:?}");
        assert_eq!(messages(&app, cases[0]).await.len(), 3);
    }

    async fn a_closed_case_gets_a_follow_up(app: TestApp) {
        let first = deliver(&app, &letter("ivan@example.ru", "Сломался пылесос", "f1@example.ru")).await;
        let case = case_of(&first);
        app.post(&format!("/api/v1/cases/{case}/take"), serde_json::json!({})).await.ok(200);
        for status in ["solved", "closed"] {
            app.patch(&format!("/api/v1/cases/{case}"), serde_json::json!({"status": status})).await.ok(200);
        }
        let reply = letter("ivan@example.ru", "Re: Сломался пылесос", "f2@example.ru").replying_to("f1@example.ru", &["f1@example.ru"]);
        let follow_up = case_of(&deliver(&app, &reply).await);
        assert_ne!(follow_up, case);
        let shown = app.get(&format!("/api/v1/cases/{follow_up}")).await;
        let shown = shown.ok(200);
        assert_eq!(shown["owner"]["id"], app.admin_id, "the owner of the closed case carries on");
        let events = app.get(&format!("/api/v1/cases/{follow_up}/events")).await;
        assert!(events.ok(200).as_array().expect("a list").iter().any(|e| e["kind"] == "case.follow_up"));
    }

    async fn unreadable_mail_is_quarantined_and_can_be_reprocessed(app: TestApp) {
        let id = lmtp(&app, SUPPORT, &[b"\x00\x01 not a message at all".to_vec()]).await[0];
        let raw = settled(&app, id).await;
        assert_eq!(raw.status, RawStatus::Quarantined);
        assert!(raw.error.is_some());
        let listed = app.get("/api/v1/mail/messages?status=quarantined").await;
        assert!(listed.ok(200)["items"].as_array().expect("items").iter().any(|m| m["id"] == id.0));
        let bytes = app.client.get(format!("{}/api/v1/mail/messages/{}/raw", app.base, id.0)).bearer_auth(&app.admin_token).send().await.expect("sent");
        assert_eq!(bytes.status(), 200);
        assert_eq!(bytes.bytes().await.expect("body").as_ref(), b"\x00\x01 not a message at all\r\n");
        let again = app.post(&format!("/api/v1/mail/messages/{}/reprocess", id.0), serde_json::json!({})).await;
        assert_eq!(again.ok(200)["status"], "received");
        assert_eq!(settled(&app, id).await.status, RawStatus::Quarantined, "still unreadable, still kept");
        app.post(&format!("/api/v1/mail/messages/{}/reprocess", 999_999), serde_json::json!({})).await.problem(404, "mail_not_found");
    }

    async fn automatic_mail_and_loops_are_recorded_but_not_answered(app: TestApp) {
        let mut vacation = letter("ivan@example.ru", "Автоответ: в отпуске", "a1@example.ru");
        vacation.headers.push("Auto-Submitted: auto-replied".into());
        let raw = deliver(&app, &vacation).await;
        assert_eq!(raw.status, RawStatus::Processed);
        assert!(raw.error.as_deref().is_some_and(|e| e.contains("auto")), "the reason is noted: {raw:?}");
        let loop_mail = deliver(&app, &letter(SUPPORT, "Re: your request", "a2@opora.test")).await;
        assert_eq!(loop_mail.status, RawStatus::Ignored);
        assert!(loop_mail.case_id.is_none());
    }
}
