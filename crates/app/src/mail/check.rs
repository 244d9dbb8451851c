//! "Check connection" for a mailbox: signs in to its IMAP server and opens the folder, and
//! connects to its SMTP server up to AUTH, with the same settings fetching and sending use.

use std::time::Duration;

use opora_channels::email::{imap, smtp};
use opora_domain::ChannelId;
use opora_domain::mail::Mailbox;

use super::Mail;
use crate::{App, Result};

/// How one server of a mailbox answered: signed in, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCheck {
    pub ok: bool,
    pub error: Option<String>,
}

/// The result of trying a mailbox's servers; a server the mailbox does not have is `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxCheck {
    pub imap: Option<ServerCheck>,
    pub smtp: Option<ServerCheck>,
}

fn outcome(result: Result<(), String>) -> ServerCheck {
    match result {
        Ok(()) => ServerCheck { ok: true, error: None },
        Err(error) => ServerCheck { ok: false, error: Some(error) },
    }
}

async fn imap_check(app: &App, mailbox: &Mailbox) -> Option<ServerCheck> {
    let account = super::fetch::account(app, mailbox)?;
    let limit = Duration::from_secs(app.config().mail.timeout_seconds);
    let result = async {
        let mut session = imap::connect(&account).await.map_err(|e| e.to_string())?;
        let opened = imap::select(&mut session, &mailbox.imap_folder, limit).await.map(|_| ()).map_err(|e| e.to_string());
        imap::logout(session, limit).await;
        opened
    }
    .await;
    Some(outcome(result))
}

async fn smtp_check(app: &App, mailbox: &Mailbox) -> Option<ServerCheck> {
    mailbox.smtp.as_ref()?;
    let timeout = Duration::from_secs(app.config().mail.timeout_seconds);
    let result = async {
        let account = super::outbound::smtp_account(mailbox, timeout).map_err(|e| e.text)?;
        let transport = smtp::transport(&account).map_err(|e| e.text)?;
        smtp::check(&transport).await.map_err(|e| e.text)
    }
    .await;
    Some(outcome(result))
}

impl Mail<'_> {
    /// Tries the mailbox's servers now: connect, TLS, sign in, open the folder.
    pub async fn check(&self, id: ChannelId) -> Result<MailboxCheck> {
        let mailbox = self.mailbox(id).await?;
        let (imap, smtp) = tokio::join!(imap_check(self.0, &mailbox), smtp_check(self.0, &mailbox));
        Ok(MailboxCheck { imap, smtp })
    }
}
