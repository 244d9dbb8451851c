//! Opora's use-case layer: every operation of the product, called alike by the REST API, the
//! agent UI, channel drivers, workers and the command line.
//!
//! A use case loads what it needs through the store, lets the domain decide, persists the
//! result, records events and enqueues jobs — all in one transaction ([`Unit`]). Events run the
//! registered listeners inside that transaction (webhooks, notifications); jobs run later on
//! the registered handlers. Channel drivers are reached only through this layer, by kind.
//!
//! The callers see one handle, [`App`], with a small facade per resource
//! (`app.cases().take(…)`, `app.intake().receive(…)`).

pub mod auth;
pub mod care;
pub mod cases;
pub mod channels;
pub mod customers;
pub mod demo;
pub mod duplicates;
mod error;
pub mod events;
pub mod health;
pub mod intake;
pub mod jobs;
pub mod listeners;
pub mod messages;
mod outbound;
pub mod settings;
pub mod staff;
pub mod system;
mod unit;
pub mod webhooks;
pub mod widget;
pub mod workers;
pub mod workspace;

use std::sync::Arc;

use opora_domain::case::SlaPolicy;
use opora_store::Store;
use opora_store::db::Conn;

pub use crate::error::{Error, Result};
pub use crate::unit::Unit;
pub use opora_store::names::{AgentName, Names};

use crate::health::Health;
use crate::jobs::Jobs;
use crate::listeners::Listeners;

/// What the use cases need from the configuration.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub sla: SlaPolicy,
    /// Default currency of compensation budgets.
    pub currency: String,
    pub workers: WorkerSettings,
    /// Let webhooks reach loopback and private addresses (tests, trusted internal receivers).
    pub webhooks_allow_internal: bool,
    pub webhook_timeout_ms: u64,
    /// What the channel drivers follow (mail servers' timeouts, integrations' HTTP).
    pub channels: opora_channels::Settings,
    /// Automatic acknowledgements per sender per hour, at most.
    pub acknowledgements_per_hour: i64,
    /// How many people a case's conversation holds besides the customer, at most.
    pub max_participants: usize,
    /// A reply to more people than this is sent only when the agent confirms it.
    pub confirm_recipients_over: usize,
    /// Who sees which cases and who may change them.
    pub access: opora_domain::access::AccessRules,
    /// Orders, ratings and playbooks.
    pub care: care::CareSettings,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            sla: SlaPolicy::default(),
            currency: "RUB".into(),
            workers: WorkerSettings::default(),
            webhooks_allow_internal: false,
            webhook_timeout_ms: 15_000,
            channels: opora_channels::Settings::default(),
            acknowledgements_per_hour: 3,
            max_participants: 20,
            confirm_recipients_over: 10,
            access: Default::default(),
            care: Default::default(),
        }
    }
}

/// How the job runner works through the outbox.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Jobs run at the same time.
    pub concurrency: usize,
    /// How often idle workers look for due jobs (they are also woken on commit).
    pub poll_interval_ms: u64,
    /// First retry delay; each further attempt waits four times longer, up to `retry_cap_ms`.
    pub retry_base_ms: i64,
    pub retry_cap_ms: i64,
    /// A claimed job whose worker vanished is picked up again after this long.
    pub lease_ms: i64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self { concurrency: 4, poll_interval_ms: 1000, retry_base_ms: 5000, retry_cap_ms: 3_600_000, lease_ms: 300_000 }
    }
}

/// The customer-facing texts the use cases send on their own (acknowledgements), in the
/// customer's language. The binary wires them to the translation files.
pub trait Texts: Send + Sync {
    fn acknowledgement(&self, language: opora_domain::agent::Language, case: &opora_domain::case::Case) -> opora_domain::message::Body;

    /// The customer-facing message `key` (an order's stage, a rating request) with its arguments.
    fn say(&self, language: opora_domain::agent::Language, key: &str, args: &[(&str, String)]) -> String;
}

pub(crate) struct Core {
    pub store: Store,
    pub config: AppConfig,
    pub listeners: Listeners,
    pub jobs: Jobs,
    pub health: Arc<Health>,
    pub texts: Arc<dyn Texts>,
    pub drivers: channels::Drivers,
    pub intake: intake::Runtime,
}

/// Every job kind Opora runs, registered here; each handler lives beside the use case it serves.
fn standard_jobs(webhook_client: opora_channels::webhook::LazyClient) -> Jobs {
    let mut jobs = Jobs::new(webhook_client);
    let [ask, remind] = care::ratings::jobs();
    for handler in [cases::deadline::job(), webhooks::job(), outbound::job(), ask, remind, care::delays::job(), care::surveys::job()] {
        jobs.register(handler);
    }
    jobs
}

/// The handle to every use case. Cheap to clone.
#[derive(Clone)]
pub struct App {
    core: Arc<Core>,
}

impl App {
    pub fn new(store: Store, config: AppConfig, texts: Arc<dyn Texts>) -> App {
        let webhook_client = opora_channels::webhook::LazyClient::new(
            std::time::Duration::from_millis(config.webhook_timeout_ms),
            config.webhooks_allow_internal,
        );
        let core = Core {
            store,
            listeners: Listeners::standard(),
            jobs: standard_jobs(webhook_client),
            health: Arc::new(Health::default()),
            texts,
            drivers: channels::Drivers::new(opora_channels::drivers(&config.channels)),
            intake: intake::Runtime::default(),
            config,
        };
        App { core: Arc::new(core) }
    }

    pub fn config(&self) -> &AppConfig {
        &self.core.config
    }

    pub fn health(&self) -> &Arc<Health> {
        &self.core.health
    }

    /// The storage underneath, for the binary's own commands (migrations, backups) and tests.
    /// Callers above this layer go through the use cases instead.
    #[doc(hidden)]
    pub fn store(&self) -> &Store {
        &self.core.store
    }

    /// Runs `work` as one transaction with the registries at hand.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Unit<'_, '_>) -> opora_store::Result<T> + Send + 'static,
    {
        let core = Arc::clone(&self.core);
        Ok(self.core.store.write(move |tx| work(&mut Unit::new(tx, &core))).await?)
    }

    /// Runs `work` on a read connection.
    pub(crate) async fn read<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> opora_store::Result<T> + Send + 'static,
    {
        Ok(self.core.store.read(work).await?)
    }
}
