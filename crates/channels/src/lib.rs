//! Channel drivers: receive (raw payload → normalised inbound items) and send (outbound message
//! → the provider's verdict), check the connection, and pull from providers that need pulling.
//! They know protocols, not the database: pollers hand what they pull to a [`driver::Sink`].
//!
//! Every driver is registered here, in [`drivers`]: adding a channel is a folder (or a file)
//! and a line below.

pub mod api;
pub mod driver;
pub mod email;
pub mod form;
pub mod phone;
pub mod telegram;
pub mod vk;
pub mod webhook;
pub mod whatsapp;
pub mod widget;
pub mod wire;

use std::sync::Arc;
use std::time::Duration;

pub use driver::Driver;

/// What drivers need from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub email: email::Config,
    /// Timeout of one HTTP delivery to an integration.
    pub http_timeout: Duration,
    /// Let integrations' URLs be on loopback and private networks (tests, trusted receivers).
    pub allow_internal: bool,
    /// Largest file an integration may send with a message.
    pub max_file_bytes: usize,
    /// Where this instance is reached from outside: providers push to `{public_url}/hooks/…`.
    pub public_url: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            email: email::Config::default(),
            http_timeout: Duration::from_secs(15),
            allow_internal: false,
            max_file_bytes: 25 << 20,
            public_url: "http://127.0.0.1:8080".into(),
        }
    }
}

/// Every channel driver Opora has.
pub fn drivers(settings: &Settings) -> Vec<Arc<dyn Driver>> {
    vec![
        Arc::new(email::Email::new(settings.email.clone())),
        api::driver(settings.http_timeout, settings.allow_internal, settings.max_file_bytes),
        Arc::new(telegram::Telegram::new(settings.allow_internal, settings.max_file_bytes, settings.public_url.clone())),
        Arc::new(whatsapp::Whatsapp::new(settings.http_timeout, settings.allow_internal, settings.max_file_bytes)),
        Arc::new(vk::Vk::new(settings.http_timeout, settings.allow_internal, settings.max_file_bytes)),
        Arc::new(widget::Widget),
        Arc::new(phone::Phone::new(settings.public_url.clone())),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_configurable_kind_has_a_driver() {
        let kinds: Vec<_> = super::drivers(&super::Settings::default()).iter().map(|d| d.kind()).collect();
        assert_eq!(kinds, opora_domain::channel::ChannelKind::CONFIGURABLE);
    }
}
