//! A small pool of blocking connections used from async code: a permit bounds concurrency, the
//! work runs on tokio's blocking threads, healthy connections go back to the pool.

use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use super::DbError;

pub trait Pooled: Send + 'static {
    /// A connection that lost its server is dropped instead of being reused.
    fn is_broken(&self) -> bool;
}

type Factory<C> = Box<dyn Fn() -> Result<C, DbError> + Send + Sync>;

pub struct Pool<C> {
    idle: Mutex<Vec<C>>,
    permits: Arc<Semaphore>,
    factory: Factory<C>,
    size: usize,
}

impl<C: Pooled> Pool<C> {
    pub fn new(size: usize, factory: impl Fn() -> Result<C, DbError> + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Self { idle: Mutex::new(Vec::new()), permits: Arc::new(Semaphore::new(size)), factory: Box::new(factory), size })
    }

    pub fn size(&self) -> usize {
        self.size
    }

    pub fn idle_count(&self) -> usize {
        self.idle.lock().map(|idle| idle.len()).unwrap_or(0)
    }

    pub async fn run<T, F>(self: &Arc<Self>, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut C) -> T + Send + 'static,
    {
        let permit = self.permits.clone().acquire_owned().await.map_err(|_| DbError::new("connection pool closed"))?;
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = pool.checkout()?;
            let out = work(&mut conn);
            pool.checkin(conn);
            Ok(out)
        })
        .await
        .map_err(|e| DbError::new(format!("database task failed: {e}")))?
    }

    /// The same, for callers already on a blocking thread (the CLI, background threads).
    pub fn run_blocking<T>(&self, work: impl FnOnce(&mut C) -> T) -> Result<T, DbError> {
        let mut conn = self.checkout()?;
        let out = work(&mut conn);
        self.checkin(conn);
        Ok(out)
    }

    fn checkout(&self) -> Result<C, DbError> {
        let pooled = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        match pooled {
            Some(conn) => Ok(conn),
            None => (self.factory)(),
        }
    }

    fn checkin(&self, conn: C) {
        if !conn.is_broken()
            && let Ok(mut idle) = self.idle.lock()
        {
            idle.push(conn);
        }
    }
}
