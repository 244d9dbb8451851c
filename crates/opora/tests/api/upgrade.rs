//! Upgrading without loss: a database as the e-mail release left it (schema 3: mailboxes, raw
//! mail, Message-IDs, IMAP positions, queued sends) migrates to channels with everything kept,
//! and the old conversation goes on threading.

use opora_store::db::{Conn, Value as Param};
use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{Engine, TestApp, eventually};
use crate::mail::{case_of, deliver, letter, mail_config};

const AT: i64 = 1_790_000_000_000;

fn run(conn: &mut dyn Conn, sql: &str, params: &[Param<'_>]) {
    conn.execute(sql, params).unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Schema 3 and what the e-mail release wrote into it.
fn as_left_by_the_mail_release(conn: &mut dyn Conn) {
    opora_store::migrate::run_to(conn, 3).expect("schema 3");
    run(conn, "update mailboxes set address = $1 where id = 1", &["support@opora.test".into()]);
    run(
        conn,
        "insert into mailboxes (id, name, address, sender_name, imap_host, imap_port, imap_security, imap_user, imap_password, imap_folder,
                                imap_archive_folder, smtp_host, smtp_port, smtp_security, smtp_user, smtp_password, accept_invalid_certs,
                                acknowledge, plus_addressing, active, is_default, fetch_error, fetched_at, created_at, updated_at)
         values (2, 'sales', 'sales@opora.test', 'Продажи', '127.0.0.1', 993, 'tls', 'sales', 'секрет', 'INBOX', 'Archive',
                 '127.0.0.1', 2525, 'none', 'sales', 'пароль', $1, $2, $1, $2, $2, 'connection refused', $3, $3, $3)",
        &[true.into(), false.into(), AT.into()],
    );
    run(
        conn,
        "insert into imap_state (mailbox_id, folder, uidvalidity, last_uid, updated_at) values (2, 'INBOX', 77, 1234, $1)",
        &[AT.into()],
    );
    run(
        conn,
        "insert into customers (id, name, our_client, search_key, created_at, updated_at) values (1, 'Иван', $1, 'иван', $2, $2)",
        &[false.into(), AT.into()],
    );
    run(
        conn,
        "insert into identities (id, customer_id, kind, value, created_at) values (1, 1, 'email', 'ivan@example.ru', $1)",
        &[AT.into()],
    );
    run(
        conn,
        "insert into cases (id, number, subject, customer_id, kind, status, priority, channel, custom_fields, deadline_at, spent_minor,
                            created_at, updated_at, mailbox_id)
         values (1, 1001, 'Старое обращение', 1, 'incident', 'open', 'normal', 'email', '{}', $1, 0, $2, $2, 1)",
        &[(AT + 86_400_000).into(), AT.into()],
    );
    for (id, direction, external, status) in
        [(1, "inbound", "old-1@example.ru", "not_applicable"), (2, "outbound", "opora.1001.2.1@opora.test", "pending")]
    {
        run(
            conn,
            "insert into messages (id, case_id, direction, channel, author_customer_id, body_text, external_id, delivery_status, created_at)
             values ($1, 1, $2, 'email', 1, 'Текст', $3, $4, $5)",
            &[i64::from(id).into(), direction.into(), external.into(), status.into(), AT.into()],
        );
    }
    for (key, row, kind) in [
        ("old-1@example.ru", Some(1), "inbound"),
        ("opora.1001.2.1@opora.test", Some(2), "outbound"),
        ("old-0@example.ru", None, "reference"),
    ] {
        run(
            conn,
            "insert into mail_ids (message_id, case_id, message_row, kind, created_at) values ($1, 1, $2, $3, $4)",
            &[key.into(), row.map(i64::from).into(), kind.into(), AT.into()],
        );
    }
    run(
        conn,
        "insert into raw_mails (id, mailbox_id, source, recipients, size, sha256, status, message_id, case_id, message_row, received_at, processed_at)
         values (1, 1, 'lmtp', 'support@opora.test', 100, 'aa', 'processed', 'old-1@example.ru', 1, 1, $1, $1)",
        &[AT.into()],
    );
    run(
        conn,
        "insert into raw_mails (id, mailbox_id, source, recipients, size, sha256, status, error, received_at) values (2, 2, 'imap', '', 5, 'bb', 'quarantined', 'unreadable', $1)",
        &[AT.into()],
    );
    let events = [
        (
            "case.created",
            json!({"number": 1001, "subject": "Старое обращение", "status": "new", "priority": "normal", "kind": "incident",
                                "channel": "email", "team_id": null, "owner_id": null, "deadline_at": null}),
        ),
        ("mailbox.changed", json!({"mailbox_id": 2, "action": "created", "address": "sales@opora.test"})),
        (
            "message.added",
            json!({"number": 1001, "message_id": 1, "direction": "inbound", "channel": "email", "preview": "Текст", "attachments": 0}),
        ),
    ];
    for (kind, data) in events {
        let case = (kind != "mailbox.changed").then_some(1_i64);
        run(
            conn,
            "insert into events (kind, case_id, actor_kind, data, created_at) values ($1, $2, 'system', $3, $4)",
            &[kind.into(), case.into(), data.to_string().as_str().into(), AT.into()],
        );
    }
    run(
        conn,
        "insert into jobs (kind, payload, unique_key, state, run_at, attempts, max_attempts, created_at, updated_at)
         values ('email.send', '{\"message_id\":2}', 'email:2', 'queued', $1, 0, 8, $1, $1)",
        &[AT.into()],
    );
    run(conn, "insert into mail_acknowledgements (address, window_start, sent) values ('ivan@example.ru', $1, 1)", &[AT.into()]);
    if conn.dialect() == opora_store::db::Dialect::Postgres {
        // Rows written with explicit ids, as a restore would: the sequences move past them.
        for table in ["mailboxes", "customers", "identities", "cases", "messages", "raw_mails"] {
            conn.batch(&format!("select setval(pg_get_serial_sequence('{table}', 'id'), (select max(id) from {table}))"))
                .expect("sequence");
        }
    }
}

async fn upgraded(engine: Engine) -> TestApp {
    TestApp::start_over(engine, mail_config, as_left_by_the_mail_release).await
}

both_engines! {
    start = upgraded;

    async fn a_mail_release_database_upgrades_with_everything_kept(app: TestApp) {
        let boxes = app.get("/api/v1/mailboxes").await.ok(200).clone();
        let sales = boxes.as_array().expect("list").iter().find(|m| m["name"] == "sales").cloned().expect("the sales mailbox");
        assert_eq!(sales["id"], 2, "ids are kept");
        assert_eq!(sales["address"], "sales@opora.test");
        assert_eq!(sales["sender_name"], "Продажи");
        assert_eq!(sales["imap"], json!({"host": "127.0.0.1", "port": 993, "security": "tls", "user": "sales", "password_set": true}));
        assert_eq!(sales["smtp"], json!({"host": "127.0.0.1", "port": 2525, "security": "none", "user": "sales", "password_set": true}));
        assert_eq!(sales["imap_archive_folder"], "Archive");
        assert_eq!((sales["accept_invalid_certs"].clone(), sales["acknowledge"].clone(), sales["plus_addressing"].clone()), (json!(true), json!(false), json!(true)));
        assert_eq!((sales["active"].clone(), sales["is_default"].clone()), (json!(false), json!(false)));
        assert_eq!(sales["fetch_error"], "connection refused");
        let channels = app.get("/api/v1/channels").await.ok(200).clone();
        assert!(channels.as_array().expect("list").iter().all(|c| c["kind"] == "email"));
        let cursor = app.running.app().store().read(|conn| opora_store::channels::cursor(conn, opora_domain::ChannelId(2))).await.expect("cursor");
        assert_eq!(cursor, Some(json!({"folder": "INBOX", "uidvalidity": 77, "last_uid": 1234})), "the IMAP position is kept");

        let mail = app.get("/api/v1/mail/messages").await.ok(200)["items"].clone();
        let mail: Vec<(Value, Value, Value)> =
            mail.as_array().expect("items").iter().map(|m| (m["id"].clone(), m["status"].clone(), m["mailbox_id"].clone())).collect();
        assert_eq!(mail, [(json!(2), json!("quarantined"), json!(2)), (json!(1), json!("processed"), json!(1))]);
        assert_eq!(app.get("/api/v1/mail/messages/1").await.ok(200)["message_id"], "old-1@example.ru");

        let case = app.get("/api/v1/cases/1").await.ok(200).clone();
        assert_eq!((case["channel"].clone(), case["kind"].clone()), (json!("email"), json!("incident")));
        let history = app.get("/api/v1/cases/1/events").await.ok(200).clone();
        let kinds: Vec<&str> = history.as_array().expect("events").iter().filter_map(|e| e["kind"].as_str()).collect();
        assert_eq!(&kinds[..2], ["case.created", "message.added"], "old events read back: {kinds:?}");
        let feed = app.get("/api/v1/events?after=0").await.ok(200)["items"].clone();
        let renamed = feed.as_array().expect("items").iter().find(|e| e["kind"] == "channel.changed").cloned().expect("renamed");
        assert_eq!(renamed["data"], json!({"channel_id": 2, "kind": "email", "action": "created"}));

        // The send queued before the upgrade runs under its new kind: the default mailbox has no
        // SMTP server, so it fails and says why.
        eventually("the queued send ran", || async {
            let thread = app.get("/api/v1/cases/1/messages").await.ok(200).clone();
            thread.as_array().expect("list").iter().find(|m| m["id"] == 2 && m["delivery_status"] == "failed").cloned()
        })
        .await;

        // The old conversation goes on: by a message it had, by one it only referred to.
        let by_message = letter("ivan@example.ru", "Re: Старое обращение", "new-1@example.ru").replying_to("old-1@example.ru", &["old-1@example.ru"]);
        assert_eq!(case_of(&deliver(&app, &by_message).await), 1);
        let by_reference = letter("ivan@example.ru", "ещё", "new-2@example.ru").replying_to("old-0@example.ru", &["old-0@example.ru"]);
        assert_eq!(case_of(&deliver(&app, &by_reference).await), 1);
        let acknowledged = app
            .running
            .app()
            .store()
            .read(|conn| Ok(conn.all("select identity, sent from acknowledgements", &[], |r| Ok((r.get::<String>(0)?, r.get::<i64>(1)?)))?))
            .await
            .expect("acknowledgements");
        assert_eq!(acknowledged, [("email:ivan@example.ru".to_owned(), 1)]);
    }
}
