//! SQLite through rusqlite: WAL, one writer thread that commits queued writes in groups, and a
//! pool of read-only connections.

use std::path::Path;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use rusqlite::types::ValueRef as SqlValueRef;
use rusqlite::{Connection, OpenFlags, ToSql};

use super::pool::{Pool, Pooled};
use super::{Conn, DbError, Dialect, Row, Value, ValueRef, sqlite_placeholders};
use crate::secrets::Sealer;

pub struct SqliteConn {
    conn: Connection,
    sealer: Arc<Sealer>,
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        let unique_violation = matches!(
            e.sqlite_error().map(|s| s.extended_code),
            Some(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
        );
        DbError { message: format!("sqlite: {e}"), unique_violation }
    }
}

impl SqliteConn {
    pub fn open(path: &Path, read_only: bool) -> Result<Self, DbError> {
        let flags = if read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX
        };
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // WAL lets readers run beside the writer; NORMAL sync loses nothing on a process crash
        // (only the last transactions on power loss), which is SQLite's recommended pairing.
        // Deleted content is zeroed where that costs no extra I/O: an overwritten secret does
        // not linger in the page it lived in.
        conn.execute_batch(
            "pragma journal_mode = wal; pragma synchronous = normal; pragma foreign_keys = on; pragma temp_store = memory;
             pragma secure_delete = fast;",
        )?;
        conn.set_prepared_statement_cache_capacity(128);
        Ok(Self { conn, sealer: Arc::new(Sealer::none()) })
    }

    /// The same connection, sealing secrets with `sealer`.
    pub fn sealing(self, sealer: Arc<Sealer>) -> Self {
        Self { sealer, ..self }
    }

    /// Online backup into a new file, consistent while the server keeps running.
    pub fn backup_to(&mut self, target: &Path) -> Result<(), DbError> {
        // An empty file made first (SQLite takes one) keeps the copy as private as the original.
        crate::secrets::private_file(target).map_err(|e| DbError::new(format!("backup file: {e}")))?;
        let target = target.to_str().ok_or_else(|| DbError::new("backup path is not valid UTF-8"))?;
        self.conn.execute("vacuum into ?1", [target])?;
        Ok(())
    }
}

impl Pooled for SqliteConn {
    fn is_broken(&self) -> bool {
        false
    }
}

fn bind<'a>(value: &'a Value<'a>) -> &'a dyn ToSql {
    match value {
        Value::Null => &rusqlite::types::Null,
        Value::Int(v) => v,
        Value::Real(v) => v,
        Value::Text(v) => v,
        Value::Blob(v) => v,
        Value::Bool(v) => v,
    }
}

impl Conn for SqliteConn {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn sealer(&self) -> Arc<Sealer> {
        self.sealer.clone()
    }

    fn execute(&mut self, sql: &str, params: &[Value<'_>]) -> Result<u64, DbError> {
        let mut statement = self.conn.prepare_cached(&sqlite_placeholders(sql))?;
        let params: Vec<&dyn ToSql> = params.iter().map(bind).collect();
        Ok(statement.execute(params.as_slice())? as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value<'_>], each: &mut dyn FnMut(&Row<'_>) -> Result<(), DbError>) -> Result<(), DbError> {
        let mut statement = self.conn.prepare_cached(&sqlite_placeholders(sql))?;
        let params: Vec<&dyn ToSql> = params.iter().map(bind).collect();
        let mut rows = statement.query(params.as_slice())?;
        while let Some(row) = rows.next()? {
            each(&Row::Sqlite(row))?;
        }
        Ok(())
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.conn.execute_batch(sql)?)
    }
}

pub(super) fn value<'a>(row: &'a rusqlite::Row<'a>, index: usize) -> Result<ValueRef<'a>, DbError> {
    Ok(match row.get_ref(index)? {
        SqlValueRef::Null => ValueRef::Null,
        SqlValueRef::Integer(v) => ValueRef::Int(v),
        SqlValueRef::Real(v) => ValueRef::Real(v),
        SqlValueRef::Text(v) => ValueRef::Text(std::str::from_utf8(v).map_err(|e| DbError::new(e.to_string()))?),
        SqlValueRef::Blob(v) => ValueRef::Blob(v),
    })
}

/// What a queued write returns: whether it succeeded (to release or roll back its savepoint) and
/// what to do once the group's commit succeeded or failed.
pub type Completion = Box<dyn FnOnce(Result<(), DbError>) + Send>;
pub type WriteJob = Box<dyn FnOnce(&mut SqliteConn) -> (bool, Completion) + Send>;

/// At most this many queued writes share one commit.
const GROUP_LIMIT: usize = 128;

pub struct SqliteEngine {
    writer: mpsc::Sender<WriteJob>,
    pub readers: std::sync::Arc<Pool<SqliteConn>>,
}

impl SqliteEngine {
    /// Opens the database (created if missing), runs `setup` on the writer connection (migrations)
    /// and starts the writer thread.
    pub fn start(
        path: &Path,
        readers: usize,
        sealer: Arc<Sealer>,
        setup: impl FnOnce(&mut SqliteConn) -> Result<(), DbError>,
    ) -> Result<Self, DbError> {
        let mut writer_conn = SqliteConn::open(path, false)?.sealing(sealer.clone());
        setup(&mut writer_conn)?;
        let (sender, receiver) = mpsc::channel::<WriteJob>();
        std::thread::Builder::new()
            .name("opora-sqlite-writer".into())
            .spawn(move || write_loop(writer_conn, receiver))
            .map_err(|e| DbError::new(format!("cannot start the writer thread: {e}")))?;
        let path = path.to_owned();
        let readers = Pool::new(readers, move || Ok(SqliteConn::open(&path, true)?.sealing(sealer.clone())));
        Ok(Self { writer: sender, readers })
    }

    pub fn submit(&self, job: WriteJob) -> Result<(), DbError> {
        self.writer.send(job).map_err(|_| DbError::new("the database writer has stopped"))
    }
}

/// Group commit: everything queued while the previous commit ran goes into the next
/// transaction, each write in its own savepoint so one failure does not undo the others.
fn write_loop(mut conn: SqliteConn, receiver: mpsc::Receiver<WriteJob>) {
    while let Ok(first) = receiver.recv() {
        let mut group = vec![first];
        while group.len() < GROUP_LIMIT {
            match receiver.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.batch("begin immediate") {
            // Dropping the group drops each caller's reply channel: they see the write fail.
            tracing::error!(error = %e, "cannot begin a write transaction");
            continue;
        }
        let mut completions = Vec::with_capacity(group.len());
        for job in group {
            let savepoint = conn.batch("savepoint w");
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut conn)));
            let (ok, completion) = match outcome {
                Ok(result) => result,
                Err(_) => {
                    tracing::error!("a database write panicked; it was rolled back");
                    (false, Box::new(|_| ()) as Completion)
                }
            };
            let finish = if savepoint.is_err() {
                savepoint
            } else if ok {
                conn.batch("release w")
            } else {
                conn.batch("rollback to w; release w")
            };
            if let Err(e) = finish {
                tracing::error!(error = %e, "savepoint handling failed");
            }
            completions.push(completion);
        }
        let commit = conn.batch("commit");
        if commit.is_err() {
            let _ = conn.batch("rollback");
        }
        for completion in completions {
            completion(commit.clone());
        }
    }
    // Every sender is gone: the store shut down. Fold the WAL back so the file is self-contained.
    let _ = conn.batch("pragma wal_checkpoint(truncate)");
}
