//! "Check connection" for a mailbox: signs in to its IMAP server and opens the folder, and
//! connects to its SMTP server up to AUTH, with the same settings fetching and sending use.

use std::sync::Arc;
use std::time::Duration;

use opora_channels::email::{imap, smtp};
use opora_domain::mail::Mailbox;
use opora_web::api::mail::{CheckFuture, MailCheck, MailboxCheck, ServerCheck};

use super::MailService;

pub struct Checker(pub Arc<MailService>);

fn outcome(result: Result<(), String>) -> ServerCheck {
    match result {
        Ok(()) => ServerCheck { ok: true, error: None },
        Err(error) => ServerCheck { ok: false, error: Some(error) },
    }
}

async fn imap_check(service: &MailService, mailbox: &Mailbox) -> Option<ServerCheck> {
    let account = super::fetch::account(service, mailbox)?;
    let limit = Duration::from_secs(service.config.timeout_seconds);
    let result = async {
        let mut session = imap::connect(&account).await.map_err(|e| e.to_string())?;
        let opened = imap::select(&mut session, &mailbox.imap_folder, limit).await.map(|_| ()).map_err(|e| e.to_string());
        imap::logout(session, limit).await;
        opened
    }
    .await;
    Some(outcome(result))
}

async fn smtp_check(service: &MailService, mailbox: &Mailbox) -> Option<ServerCheck> {
    mailbox.smtp.as_ref()?;
    let timeout = Duration::from_secs(service.config.timeout_seconds);
    let result = async {
        let account = super::outbound::smtp_account(mailbox, timeout).map_err(|e| e.text)?;
        let transport = smtp::transport(&account).map_err(|e| e.text)?;
        smtp::check(&transport).await.map_err(|e| e.text)
    }
    .await;
    Some(outcome(result))
}

impl MailCheck for Checker {
    fn check(&self, mailbox: Mailbox) -> CheckFuture {
        let service = self.0.clone();
        Box::pin(async move {
            let (imap, smtp) = tokio::join!(imap_check(&service, &mailbox), smtp_check(&service, &mailbox));
            MailboxCheck { imap, smtp }
        })
    }
}
