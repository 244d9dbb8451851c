//! `opora mail ingest`, the command an MTA pipes each message into, run as the real binary
//! beside a running server that files what it stores. Exit codes follow sysexits: 75 asks the
//! MTA to try again later, 65 tells it the message itself is unusable.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::both_engines;
use crate::harness::{TestApp, eventually};
use crate::mail::{case_of, letter, mail_app, messages, settled};

/// Pipes `raw` into the command; returns the exit code and what it printed on stderr.
fn ingest(app: &TestApp, args: &[&str], raw: &[u8]) -> (i32, String) {
    ingest_with(app, &[], args, raw)
}

fn ingest_with(app: &TestApp, settings: &[(&str, &str)], args: &[&str], raw: &[u8]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_opora"))
        .args(["mail", "ingest"])
        .args(args)
        .env("OPORA_DATA_DIR", &app.config.data_dir)
        .env("OPORA_DATABASE_URL", &app.config.database_url)
        .env("OPORA_LOG", "warn")
        .envs(settings.iter().copied())
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run opora mail ingest");
    child.stdin.take().expect("stdin").write_all(raw).expect("write the message");
    let output = child.wait_with_output().expect("the command ends");
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// The newest stored message, once the server has filed it.
async fn newest(app: &TestApp, after: i64) -> opora_app::intake::Payload {
    let id = eventually("the piped message to be stored", || async {
        let newest = app.running.app().mail().received(None, None, 1).await.expect("read");
        newest.first().map(|raw| raw.id).filter(|id| id.0 > after)
    })
    .await;
    settled(app, id).await
}

both_engines! {
    start = mail_app;

    async fn piped_mail_is_filed_and_the_mta_learns_what_to_do(app: TestApp) {
        let (code, error) = ingest(&app, &[], &letter("Анна <anna@example.ru>", "Не пришёл мастер", "pipe1@example.ru").raw());
        assert_eq!(code, 0, "{error}");
        let first = newest(&app, 0).await;
        assert_eq!(first.source, opora_domain::channel::PayloadSource::Pipe);
        let case = case_of(&first);
        let shown = app.get(&format!("/api/v1/cases/{case}")).await;
        let shown = shown.ok(200);
        assert_eq!(shown["subject"], "Не пришёл мастер");
        assert_eq!(shown["customer"]["name"], "Анна");

        // The reply comes in through the pipe too, named by its envelope recipient.
        let reply = letter("anna@example.ru", "Re: Не пришёл мастер", "pipe2@example.ru").replying_to("pipe1@example.ru", &["pipe1@example.ru"]);
        let (code, error) = ingest(&app, &["--recipient", "Support@Opora.Test"], &reply.raw());
        assert_eq!(code, 0, "{error}");
        let second = newest(&app, first.id.0).await;
        assert_eq!(case_of(&second), case);
        assert_eq!(second.recipients, vec!["support@opora.test".to_owned()]);
        assert_eq!(messages(&app, case).await.len(), 2);

        // Piping the same message again stores it but files nothing new.
        let (code, _) = ingest(&app, &[], &reply.raw());
        assert_eq!(code, 0);
        let again = newest(&app, second.id.0).await;
        assert_eq!(again.status, opora_domain::channel::PayloadStatus::Duplicate);
        assert_eq!(messages(&app, case).await.len(), 2);

        let (code, error) = ingest(&app, &["--mailbox", "nowhere"], &reply.raw());
        assert_eq!(code, 75, "an unknown mailbox is a setup mistake the MTA should retry after: {error}");
        assert!(error.contains("nowhere"), "{error}");
        let (code, error) = ingest(&app, &[], b"");
        assert_eq!(code, 65, "{error}");
        let mut huge = letter("anna@example.ru", "Фото", "pipe3@example.ru");
        huge.body = "x".repeat(1_100_000);
        let (code, error) = ingest_with(&app, &[("OPORA_MAIL_MAX_MESSAGE_MB", "1")], &[], &huge.raw());
        assert_eq!(code, 65, "a message over the limit is refused for good: {error}");
        assert!(error.contains("larger than 1 MiB"), "{error}");
        let stored = app.running.app().mail().received(None, None, 10).await.expect("read");
        assert_eq!(stored.len(), 3, "refused messages are not stored");
    }
}
