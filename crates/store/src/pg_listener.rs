//! Live events across PostgreSQL nodes: a transaction announces its event ids with NOTIFY (which
//! PostgreSQL delivers only after commit, in commit order); every node listens, reads those events
//! back and publishes them on its own bus.

use std::sync::Weak;
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

use crate::db::pg::PgConn;
use crate::db::{Conn, Dialect};
use crate::{EventBus, Result, Tx, events};

const CHANNEL: &str = "opora_events";
/// NOTIFY payloads are limited to 8000 bytes; ids are sent in chunks well below that.
const IDS_PER_NOTIFY: usize = 500;

/// Called at the end of a PostgreSQL write transaction that emitted events.
pub(crate) fn announce(tx: &mut Tx<'_>) -> Result<()> {
    if tx.dialect() != Dialect::Postgres || tx.events.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = tx.events.iter().map(|e| e.id.0.to_string()).collect();
    for chunk in ids.chunks(IDS_PER_NOTIFY) {
        let payload = chunk.join(",");
        tx.execute("select pg_notify($1, $2)", &[CHANNEL.into(), payload.as_str().into()])?;
    }
    Ok(())
}

pub(crate) fn start(url: String, bus: EventBus, alive: Weak<()>) {
    let spawned = std::thread::Builder::new().name("opora-pg-listener".into()).spawn(move || {
        let mut delay = Duration::from_millis(200);
        loop {
            match listen(&url, &bus, &alive) {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "event listener lost its connection; reconnecting");
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
            }
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the event listener thread");
    }
}

/// Returns Ok only when nobody can receive events any more (the store is gone).
fn listen(url: &str, bus: &EventBus, alive: &Weak<()>) -> Result<()> {
    let mut conn = PgConn::connect(url)?;
    conn.batch(&format!("listen {CHANNEL}"))?;
    let mut reader = PgConn::connect(url)?;
    loop {
        let mut ids = Vec::new();
        {
            let mut notifications = conn.client()?.notifications();
            let mut iter = notifications.timeout_iter(Duration::from_secs(1));
            while let Some(note) = iter.next().map_err(crate::db::DbError::from)? {
                ids.extend(note.payload().split(',').filter_map(|id| id.parse::<i64>().ok()));
                if ids.len() >= IDS_PER_NOTIFY * 4 {
                    break;
                }
            }
        }
        if !ids.is_empty() {
            bus.publish(events::by_ids(&mut reader, &ids)?);
        }
        if alive.strong_count() == 0 {
            return Ok(());
        }
    }
}
