//! The LMTP listener, wired to the store: each message is recorded (raw first) under the mailbox
//! its recipients name before the MTA hears "250".

use std::sync::Arc;

use opora_channels::email::lmtp::{self, Envelope, Listener, Settings, Sink};
use opora_domain::mail::MailSource;
use tokio::sync::watch;

use super::{MailService, choose_mailbox};

struct Store(Arc<MailService>);

impl Sink for Store {
    async fn deliver(&self, envelope: Envelope) -> Result<String, String> {
        let service = &self.0;
        let mailbox = choose_mailbox(&service.store, None, &envelope.recipients).await.map_err(|e| e.to_string())?;
        let id = service.receive(mailbox, MailSource::Lmtp, envelope.recipients, envelope.data).await.map_err(|e| e.to_string())?;
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

pub async fn serve(service: Arc<MailService>, listener: Listener, shutdown: watch::Receiver<bool>) {
    let settings =
        Settings { hostname: service.config.hostname.clone(), max_message_bytes: service.max_message_bytes(), ..Settings::default() };
    lmtp::serve(listener, Arc::new(Store(service)), settings, shutdown).await;
}
