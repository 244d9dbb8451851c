//! Wiring: the store, the use cases, the web application and the workers, started together and
//! stopped together.

use std::net::SocketAddr;
use std::sync::Arc;

use opora_app::App;
use opora_channels::email::lmtp::Listener;
use opora_domain::agent::Language;
use opora_domain::case::Case;
use opora_domain::message::Body;
use opora_store::Store;
use opora_web::AppState;
use opora_web::i18n::I18n;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;

/// rustls needs one process-wide crypto provider; reqwest and the PostgreSQL TLS connector use it.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// The customer-facing texts the use cases send, from the translation files. They are parsed
/// on first use: `opora mail ingest` runs once per message and never needs them.
#[derive(Default)]
struct Texts(std::sync::OnceLock<Result<I18n, String>>);

impl opora_app::Texts for Texts {
    fn acknowledgement(&self, language: Language, case: &Case) -> Body {
        let args = [("number", json!(case.number.to_string())), ("subject", json!(case.subject))];
        let borrowed: Vec<(&str, &serde_json::Value)> = args.iter().map(|(k, v)| (*k, v)).collect();
        let text = match self.0.get_or_init(I18n::load) {
            Ok(i18n) => i18n.text(language, "mail-ack-body", &borrowed),
            // The translations are built in and parsed by the tests; should they ever fail, the
            // customer still learns the case number.
            Err(_) => format!("[#{}] {}", case.number, case.subject),
        };
        Body { text, html: None }
    }

    fn say(&self, language: Language, key: &str, args: &[(&str, String)]) -> String {
        let values: Vec<(&str, serde_json::Value)> = args.iter().map(|(k, v)| (*k, json!(v))).collect();
        let borrowed: Vec<(&str, &serde_json::Value)> = values.iter().map(|(k, v)| (*k, v)).collect();
        match self.0.get_or_init(I18n::load) {
            Ok(i18n) => i18n.text(language, key, &borrowed),
            Err(_) => args.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join(" "),
        }
    }
}

/// A running Opora: the address it listens on and the handle to stop it.
pub struct Running {
    pub addr: SocketAddr,
    /// Where the LMTP listener took connections, when one is configured on TCP.
    pub lmtp_addr: Option<SocketAddr>,
    pub state: AppState,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// The use cases of this instance.
    pub fn app(&self) -> &App {
        &self.state.app
    }

    /// Stops accepting requests and lets requests and workers finish their current work. Live
    /// event streams never finish by themselves, so whatever still runs after the grace period
    /// is cut off.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for mut task in self.tasks {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await.is_err() {
                task.abort();
                let _ = task.await;
            }
        }
    }

    /// Waits until the server stops by itself (it does not, short of an error).
    pub async fn wait(mut self) {
        if let Some(server) = self.tasks.first_mut() {
            let _ = server.await;
        }
    }
}

pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    Store::open(&config.store()).await.map_err(|e| anyhow::anyhow!("cannot open the database {}: {e}", config.database_url))
}

/// The use cases over an open store, with the translations their texts come from.
pub fn use_cases(config: &Config, store: Store) -> App {
    App::new(store, config.app(), Arc::new(Texts::default()))
}

/// Creates or updates the mailboxes the configuration names; others are left alone.
pub async fn sync_mailboxes(app: &App, config: &Config) -> anyhow::Result<()> {
    for mailbox in &config.mail.mailboxes {
        let spec = crate::config::mailbox_spec(mailbox).map_err(|e| anyhow::anyhow!("mail.mailboxes ({}): {e}", mailbox.name))?;
        app.mail().sync_mailbox(spec).await?;
    }
    Ok(())
}

pub async fn start(config: &Config, store: Store) -> anyhow::Result<Running> {
    install_crypto();
    let (shutdown, signal) = watch::channel(false);
    let app = use_cases(config, store);
    sync_mailboxes(&app, config).await?;
    app.playbooks().install_starter().await?;
    let state = AppState::new(app.clone(), config.web(), signal.clone()).map_err(|e| anyhow::anyhow!(e))?;
    let listener = TcpListener::bind(&config.listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;
    let router = opora_web::router(state.clone());
    let mut stop = signal.clone();
    let server = tokio::spawn(async move {
        let serving =
            axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(async move {
                let _ = stop.changed().await;
            });
        if let Err(e) = serving.await {
            tracing::error!(error = %e, "the HTTP server stopped");
        }
    });
    let lmtp = match config.mail.lmtp_listen.trim() {
        "" => None,
        address => {
            Some(opora_app::channels::lmtp::bind(address).await.map_err(|e| anyhow::anyhow!("cannot listen for LMTP on {address}: {e}"))?)
        }
    };
    let lmtp_addr = match &lmtp {
        Some(Listener::Tcp(listener)) => listener.local_addr().ok(),
        _ => None,
    };
    let mut tasks = vec![server, tokio::spawn(opora_web::housekeeping(state.clone(), signal.clone()))];
    tasks.extend(app.spawn_workers(lmtp, &signal));
    Ok(Running { addr, lmtp_addr, state, shutdown, tasks })
}
