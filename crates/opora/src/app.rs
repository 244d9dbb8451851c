//! Wiring: the store, the web application and the workers, started together and stopped
//! together.

use std::net::SocketAddr;
use std::sync::Arc;

use opora_store::Store;
use opora_web::AppState;
use opora_web::health::Health;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use opora_channels::email::lmtp::Listener;

use crate::config::Config;
use crate::mail::MailService;
use crate::workers;

/// rustls needs one process-wide crypto provider; reqwest and the PostgreSQL TLS connector use it.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// A running Opora: the address it listens on and the handle to stop it.
pub struct Running {
    pub addr: SocketAddr,
    /// Where the LMTP listener took connections, when one is configured on TCP.
    pub lmtp_addr: Option<SocketAddr>,
    pub state: AppState,
    pub mail: Arc<MailService>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
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

pub async fn start(config: &Config, store: Store) -> anyhow::Result<Running> {
    install_crypto();
    let health = Arc::new(Health::default());
    let (shutdown, signal) = watch::channel(false);
    let mut state = AppState::new(store, config.web(), health.clone(), signal.clone()).map_err(|e| anyhow::anyhow!(e))?;
    crate::mail::sync_config(&state.store, &config.mail).await?;
    let mail = MailService::new(state.store.clone(), config, state.i18n.clone());
    state.mail_check = Some(Arc::new(crate::mail::check::Checker(mail.clone())));
    let listener = TcpListener::bind(&config.listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;
    let app = opora_web::router(state.clone());
    let mut stop = signal.clone();
    let server = tokio::spawn(async move {
        let serving = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(async move {
            let _ = stop.changed().await;
        });
        if let Err(e) = serving.await {
            tracing::error!(error = %e, "the HTTP server stopped");
        }
    });
    let lmtp = match config.mail.lmtp_listen.trim() {
        "" => None,
        address => Some(crate::mail::lmtp::bind(address).await.map_err(|e| anyhow::anyhow!("cannot listen for LMTP on {address}: {e}"))?),
    };
    let lmtp_addr = match &lmtp {
        Some(Listener::Tcp(listener)) => listener.local_addr().ok(),
        _ => None,
    };
    let mut tasks = vec![server];
    tasks.extend(workers::spawn_all(&state, health, config, mail.clone(), lmtp, &signal).map_err(|e| anyhow::anyhow!(e))?);
    Ok(Running { addr, lmtp_addr, state, mail, shutdown, tasks })
}
