//! Opora's storage: one API over SQLite (the embedded default) and PostgreSQL (scale-out).
//! Writes run as synchronous closures inside a transaction ([`Store::write`]); the events they
//! emit are published after commit; jobs they enqueue wake the workers.

pub mod agents;
pub mod auth;
pub mod blobs;
pub mod case_list;
pub mod cases;
pub mod channels;
pub mod compensations;
pub mod customers;
pub mod db;
pub mod events;
pub mod fields;
pub mod idempotency;
pub mod jobs;
pub mod messages;
pub mod migrate;
pub mod names;
pub mod notifications;
pub mod orders;
pub mod payloads;
mod pg_listener;
pub mod playbooks;
pub mod presence;
pub mod ratings;
pub mod secrets;
pub mod surveys;
pub mod templates;
pub mod thread_keys;
pub mod tx;
pub mod webhooks;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use opora_domain::DomainError;
use tokio::sync::{Notify, oneshot};

use crate::blobs::Blobs;
use crate::db::pg::PgConn;
use crate::db::pool::Pool;
use crate::db::sqlite::{Completion, SqliteConn, SqliteEngine, WriteJob};
use crate::db::{Conn, DbError, Dialect};
pub use crate::events::EventBus;
pub use crate::tx::Tx;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("database: {0}")]
    Db(#[from] DbError),
    #[error("storage: {0}")]
    Io(String),
}

impl From<secrets::SealError> for StoreError {
    fn from(e: secrets::SealError) -> Self {
        StoreError::Db(e.into())
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Io(e.to_string())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Where the data lives. `url` is `sqlite://PATH` or `postgres://…`; anything else is refused.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub url: String,
    pub data_dir: PathBuf,
    pub pool_size: usize,
    /// The keys secrets are sealed with (`security.secret_key`); none: the data folder's key file.
    pub secret_key: Option<String>,
}

/// The database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    pub fn parse(url: &str, data_dir: &Path) -> Result<Self, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// needs a file path, e.g. sqlite://data/opora.db".into());
            }
            let path = Path::new(path);
            let path = if path.is_absolute() || path.starts_with(".") { path.to_owned() } else { data_dir.join(path) };
            Ok(Location::Sqlite(path))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Location::Postgres(url.to_owned()))
        } else {
            let scheme = url.split("://").next().unwrap_or(url);
            Err(format!("unsupported database URL scheme {scheme:?}: use sqlite://PATH or postgres://…"))
        }
    }
}

enum Engine {
    Sqlite(SqliteEngine),
    Postgres(Arc<Pool<PgConn>>),
}

struct Inner {
    engine: Engine,
    bus: EventBus,
    jobs_wake: Notify,
    blobs: Blobs,
    /// Background threads hold a weak reference and stop once the store is dropped.
    _alive: Arc<()>,
}

#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl Store {
    /// Opens the database named by the configuration, applies pending migrations and starts the
    /// engine's background parts (SQLite's writer thread, PostgreSQL's event listener).
    pub async fn open(config: &StoreConfig) -> Result<Store> {
        let location = Location::parse(&config.url, &config.data_dir).map_err(StoreError::Io)?;
        std::fs::create_dir_all(&config.data_dir)?;
        let sealer = Arc::new(secrets::Sealer::load(config.secret_key.as_deref(), &config.data_dir).map_err(StoreError::Io)?);
        let blobs = Blobs::new(config.data_dir.join("blobs"));
        let bus = EventBus::new();
        let alive = Arc::new(());
        let engine = match location {
            Location::Sqlite(path) => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                // The database and its WAL and shared-memory files (SQLite gives them the
                // database's mode) are the service user's alone.
                if !path.exists() {
                    secrets::private_file(&path)?;
                }
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    secrets::make_private(Path::new(&file))?;
                }
                let readers = config.pool_size.max(1);
                let engine =
                    tokio::task::spawn_blocking(move || SqliteEngine::start(&path, readers, sealer, |conn| migrate::run(conn).map(|_| ())))
                        .await
                        .map_err(|e| StoreError::Io(e.to_string()))??;
                Engine::Sqlite(engine)
            }
            Location::Postgres(url) => {
                let pool = {
                    let url = url.clone();
                    Pool::new(config.pool_size.max(2), move || Ok(PgConn::connect(&url)?.sealing(sealer.clone())))
                };
                pool.run(|conn| migrate::run(conn)).await??;
                pg_listener::start(url, bus.clone(), Arc::downgrade(&alive));
                Engine::Postgres(pool)
            }
        };
        let store = Store { inner: Arc::new(Inner { engine, bus, jobs_wake: Notify::new(), blobs, _alive: alive }) };
        // Read first: every start (one per piped message, too) checks, only a changed key writes.
        let stale = store.read(stale_secrets).await?;
        if !stale.is_empty() {
            let resealed = store.write(move |tx| reseal(tx, stale)).await?;
            tracing::info!(resealed, "sealed stored secrets with the current key");
        }
        Ok(store)
    }

    pub fn dialect(&self) -> Dialect {
        match self.inner.engine {
            Engine::Sqlite(_) => Dialect::Sqlite,
            Engine::Postgres(_) => Dialect::Postgres,
        }
    }

    pub fn bus(&self) -> &EventBus {
        &self.inner.bus
    }

    pub fn blobs(&self) -> &Blobs {
        &self.inner.blobs
    }

    /// Resolves when a committed transaction enqueued a job (or spuriously); workers also poll.
    pub async fn jobs_enqueued(&self) {
        self.inner.jobs_wake.notified().await;
    }

    /// Runs `work` in a write transaction. On SQLite writes queue for the single writer thread
    /// and commit in groups; on PostgreSQL each runs on a pooled connection.
    pub async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T> + Send + 'static,
    {
        match &self.inner.engine {
            Engine::Sqlite(engine) => {
                let (reply, answer) = oneshot::channel();
                let store = self.clone();
                let job: WriteJob = Box::new(move |conn: &mut SqliteConn| {
                    let mut tx = Tx::new(conn);
                    let result = work(&mut tx);
                    let (events, jobs_added) = (std::mem::take(&mut tx.events), tx.jobs_added);
                    let ok = result.is_ok();
                    let completion: Completion = Box::new(move |commit: Result<(), DbError>| {
                        let outcome = match commit {
                            Ok(()) => {
                                if ok {
                                    store.after_commit(events, jobs_added);
                                }
                                result
                            }
                            Err(e) => Err(e.into()),
                        };
                        let _ = reply.send(outcome);
                    });
                    (ok, completion)
                });
                engine.submit(job)?;
                answer.await.map_err(|_| StoreError::Db(DbError::new("the write was aborted")))?
            }
            Engine::Postgres(pool) => {
                let store = self.clone();
                pool.run(move |conn: &mut PgConn| {
                    conn.batch("begin")?;
                    let mut tx = Tx::new(conn);
                    let result = work(&mut tx).and_then(|value| {
                        pg_listener::announce(&mut tx)?;
                        Ok(value)
                    });
                    let jobs_added = tx.jobs_added;
                    match result {
                        Ok(value) => {
                            conn.batch("commit")?;
                            if jobs_added {
                                store.inner.jobs_wake.notify_one();
                            }
                            Ok(value)
                        }
                        Err(e) => {
                            let _ = conn.batch("rollback");
                            Err(e)
                        }
                    }
                })
                .await?
            }
        }
    }

    fn after_commit(&self, events: Vec<opora_domain::event::Event>, jobs_added: bool) {
        self.inner.bus.publish(events);
        if jobs_added {
            self.inner.jobs_wake.notify_one();
        }
    }

    /// Runs `work` on a read connection (a read-only SQLite connection, or a pooled PostgreSQL one).
    pub async fn read<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T> + Send + 'static,
    {
        match &self.inner.engine {
            Engine::Sqlite(engine) => engine.readers.run(move |conn: &mut SqliteConn| work(conn)).await?,
            Engine::Postgres(pool) => pool.run(move |conn: &mut PgConn| work(conn)).await?,
        }
    }

    /// A cheap round trip to the database, for `/healthz`.
    pub async fn ping(&self) -> Result<()> {
        self.read(|conn| conn.int("select 1", &[]).map(|_| ()).map_err(Into::into)).await
    }

    /// Online backup of an SQLite database into `target` (which must not exist yet).
    pub async fn backup(&self, target: PathBuf) -> Result<()> {
        match &self.inner.engine {
            Engine::Sqlite(engine) => engine.readers.run(move |conn: &mut SqliteConn| conn.backup_to(&target)).await??,
            Engine::Postgres(_) => {
                return Err(StoreError::Io("backups of PostgreSQL are made with pg_dump; `opora backup` covers SQLite".into()));
            }
        }
        Ok(())
    }
}

/// Where secrets live: table and column.
const SEALED: [(&str, &str); 2] = [("channels", "settings"), ("webhooks", "secret")];

/// Stored secrets not sealed with the key that seals now (stored plain by an earlier release, or
/// sealed with an older key): table index, row id, stored text.
fn stale_secrets(conn: &mut dyn Conn) -> Result<Vec<(usize, i64, String)>> {
    let sealer = conn.sealer();
    if sealer.sealing_key_id().is_none() {
        return Ok(Vec::new());
    }
    let mut stale = Vec::new();
    for (index, (table, column)) in SEALED.iter().enumerate() {
        let rows: Vec<(i64, String)> = conn.all(&format!("select id, {column} from {table}"), &[], |r| Ok((r.get(0)?, r.get(1)?)))?;
        stale.extend(rows.into_iter().filter(|(_, stored)| !sealer.is_current(stored)).map(|(id, stored)| (index, id, stored)));
    }
    Ok(stale)
}

/// Seals the stale secrets with the current key; returns how many changed.
fn reseal(tx: &mut Tx<'_>, stale: Vec<(usize, i64, String)>) -> Result<usize> {
    let sealer = tx.sealer();
    let mut changed = 0;
    for (index, id, stored) in stale {
        let (table, column) = SEALED[index];
        // One secret whose key is gone must not keep the service from starting: it stays as it
        // is, and its channel (or webhook) is off with the reason until it is set up again.
        let plain = match sealer.open(&stored) {
            Ok(plain) => plain,
            Err(e) => {
                tracing::error!(table, id, error = %e, "a stored secret cannot be opened with any configured key");
                continue;
            }
        };
        let sealed = sealer.seal(&plain)?;
        tx.execute(&format!("update {table} set {column} = $2 where id = $1"), &[id.into(), sealed.as_str().into()])?;
        changed += 1;
    }
    Ok(changed)
}
