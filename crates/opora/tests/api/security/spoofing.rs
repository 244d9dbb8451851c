//! A mail that claims to come from a customer but fails our server's sender checks is still
//! filed (nothing a customer sends is lost) and carries the verdict, so the agent sees it.

use crate::harness::Engine;
use crate::mail::{case_of, deliver, letter, mail_app, messages};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_sender_is_filed_with_a_warning() {
    let app = mail_app(Engine::Sqlite).await;
    let genuine = letter("Иван <ivan@example.ru>", "Где заказ?", "g1@example.ru");
    let case = case_of(&deliver(&app, &genuine).await);

    let mut forged =
        letter("Иван <ivan@example.ru>", "Re: Где заказ?", "f1@mallory.example").replying_to("g1@example.ru", &["g1@example.ru"]);
    forged.headers.push(
        "Authentication-Results: mx.opora.test; spf=fail smtp.mailfrom=example.ru; dkim=none; dmarc=fail (p=reject) header.from=example.ru"
            .into(),
    );
    assert_eq!(case_of(&deliver(&app, &forged).await), case, "filed where it says it belongs");
    let thread = messages(&app, case).await;
    assert_eq!(thread[0]["sender_doubt"], serde_json::Value::Null, "a verified sender carries no warning");
    assert_eq!(thread[1]["sender_doubt"], "spf=fail, dmarc=fail");
}
