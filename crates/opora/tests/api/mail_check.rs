//! "Check connection" on a mailbox, against the real dovecot and SMTP sink: what signs in,
//! what does not and why, and what a mailbox without servers answers.

use serde_json::json;

use crate::harness::TestApp;
use crate::mail::{SUPPORT, mail_config};
use crate::servers::{Dovecot, PASSWORD, SinkTls, SmtpSink, free_port};

/// The default mailbox signing in to IMAP and SMTP on loopback at `ports`, with `security`.
fn with_servers(config: &mut opora::config::Config, (imap_port, smtp_port): (u16, u16), security: &str) {
    mail_config(config);
    config.mail.poll_seconds = 3600;
    let mailbox = &mut config.mail.mailboxes[0];
    mailbox.imap_host = Some("127.0.0.1".into());
    mailbox.imap_port = Some(i64::from(imap_port));
    mailbox.imap_security = Some(security.into());
    mailbox.imap_user = Some(SUPPORT.into());
    mailbox.imap_password = Some(PASSWORD.into());
    mailbox.smtp_host = Some("127.0.0.1".into());
    mailbox.smtp_port = Some(i64::from(smtp_port));
    mailbox.smtp_security = Some(security.into());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checking_a_mailbox_signs_in_to_its_servers() {
    let dovecot = Dovecot::start(&[SUPPORT]);
    let sink = SmtpSink::start(SinkTls::Starttls);
    let (imap_port, smtp_port) = (dovecot.imap_port, sink.port);
    let app = TestApp::start_with(crate::harness::Engine::Sqlite, move |config| {
        with_servers(config, (imap_port, smtp_port), "starttls");
        config.mail.mailboxes[0].accept_invalid_certs = true;
    })
    .await;
    let boxes = app.get("/api/v1/mailboxes").await;
    let id =
        boxes.ok(200).as_array().and_then(|all| all.iter().find(|m| m["name"] == "default")).expect("the default mailbox")["id"].clone();
    let check = format!("/api/v1/mailboxes/{id}/check");

    let good = app.post(&check, json!({})).await;
    assert_eq!(good.ok(200), &json!({"imap": {"ok": true, "error": null}, "smtp": {"ok": true, "error": null}}));

    app.patch(&format!("/api/v1/mailboxes/{id}"), json!({"imap_password": "wrong", "smtp_port": free_port()})).await.ok(200);
    let bad = app.post(&check, json!({})).await;
    let bad = bad.ok(200);
    assert_eq!(bad["imap"]["ok"], false);
    assert!(bad["imap"]["error"].as_str().is_some_and(|e| e.to_lowercase().contains("auth")), "the reason is given: {bad}");
    assert_eq!(bad["smtp"]["ok"], false);
    assert!(bad["smtp"]["error"].as_str().is_some_and(|e| e.starts_with("SMTP")), "{bad}");

    let plain = app.post("/api/v1/mailboxes", json!({"name": "pipe", "address": "pipe@opora.test"})).await;
    let plain = plain.ok(201)["id"].clone();
    let none = app.post(&format!("/api/v1/mailboxes/{plain}/check"), json!({})).await;
    assert_eq!(none.ok(200), &json!({"imap": null, "smtp": null}), "nothing to try without servers");
    app.post("/api/v1/mailboxes/999999/check", json!({})).await.problem(404, "mailbox_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_that_never_greet_are_given_up_on_in_time() {
    // Servers that take the connection and never say a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let app = TestApp::start_with(crate::harness::Engine::Sqlite, move |config| {
        with_servers(config, (port, port), "none");
        config.mail.timeout_seconds = 2;
    })
    .await;
    let id = app.get("/api/v1/mailboxes").await.ok(200)[0]["id"].clone();
    let started = std::time::Instant::now();
    let stalled = app.post(&format!("/api/v1/mailboxes/{id}/check"), json!({})).await;
    let stalled = stalled.ok(200).clone();
    assert!(started.elapsed() < std::time::Duration::from_secs(6), "bounded by the 2 s timeout: {:?}", started.elapsed());
    for server in ["imap", "smtp"] {
        assert_eq!(stalled[server]["ok"], false, "{stalled}");
        assert!(stalled[server]["error"].as_str().is_some_and(|e| e.contains("longer than 2s") || e.contains("timed out")), "{stalled}");
    }
    drop(silent);
}
