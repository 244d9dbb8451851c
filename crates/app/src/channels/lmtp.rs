//! The LMTP listener for the MTA in front of Opora: each message is recorded (raw first) under
//! the mailbox its recipients name before the MTA hears "250".

use std::sync::Arc;

use opora_channels::email::lmtp::{self, Envelope, Listener, Settings, Sink};
use opora_domain::channel::PayloadSource;
use tokio::sync::watch;

use crate::App;

struct Intake(App);

impl Sink for Intake {
    async fn deliver(&self, envelope: Envelope) -> Result<String, String> {
        let mail = self.0.mail();
        let mailbox = mail.choose_mailbox(None, envelope.recipients.clone()).await.map_err(|e| e.to_string())?;
        let id = mail.receive(mailbox, PayloadSource::Lmtp, envelope.recipients, envelope.data).await.map_err(|e| e.to_string())?;
        Ok(format!("mail {id}"))
    }
}

/// Binds the configured address: `HOST:PORT`, or `unix:PATH` for a Unix socket.
pub async fn bind(address: &str) -> std::io::Result<Listener> {
    match address.strip_prefix("unix:") {
        Some(path) => {
            // A socket left by a previous run would make bind fail.
            let _ = std::fs::remove_file(path);
            Ok(Listener::Unix(tokio::net::UnixListener::bind(path)?))
        }
        None => Ok(Listener::Tcp(tokio::net::TcpListener::bind(address).await?)),
    }
}

pub async fn serve(app: App, listener: Listener, shutdown: watch::Receiver<bool>) {
    let email = &app.config().channels.email;
    let settings = Settings { hostname: email.hostname.clone(), max_message_bytes: email.max_message_bytes, ..Settings::default() };
    lmtp::serve(listener, Arc::new(Intake(app)), settings, shutdown).await;
}
