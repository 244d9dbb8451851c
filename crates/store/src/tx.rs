//! A write transaction as store code sees it: the connection, the time of the change, and the
//! events and jobs the change produced (written in the same transaction, announced after
//! commit). What an event sets off inside the transaction is decided above the store.

use std::ops::{Deref, DerefMut};

use opora_domain::Timestamp;
use opora_domain::event::Event;

use sha2::{Digest, Sha256};

use crate::db::{Conn, Dialect};

pub struct Tx<'c> {
    conn: &'c mut dyn Conn,
    pub now: Timestamp,
    pub(crate) events: Vec<Event>,
    pub(crate) jobs_added: bool,
}

impl<'c> Tx<'c> {
    pub(crate) fn new(conn: &'c mut dyn Conn) -> Self {
        Self { conn, now: Timestamp::now(), events: Vec::new(), jobs_added: false }
    }

    /// The connection, for queries that only read.
    pub fn conn(&mut self) -> &mut dyn Conn {
        &mut *self.conn
    }

    /// Waits until no other transaction holds any of `keys`, then holds them until this one ends:
    /// work on the same things (one sender, one conversation) goes one at a time across
    /// connections and nodes. PostgreSQL only; SQLite has a single writer already.
    pub fn serialize(&mut self, keys: &[String]) -> crate::Result<()> {
        if self.conn.dialect() != Dialect::Postgres {
            return Ok(());
        }
        let mut locks: Vec<i64> = keys
            .iter()
            .map(|key| {
                let digest = Sha256::digest(key.as_bytes());
                i64::from_be_bytes([digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7]])
            })
            .collect();
        // One order for everyone, so two transactions never wait for each other in a circle.
        locks.sort_unstable();
        locks.dedup();
        if locks.is_empty() {
            return Ok(());
        }
        // One round trip; the list's order is the order the locks are taken in.
        let list = locks.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        self.conn.execute("select pg_advisory_xact_lock(k::bigint) from unnest(string_to_array($1, ',')) k", &[list.as_str().into()])?;
        Ok(())
    }

    /// Events recorded so far in this transaction.
    pub fn events(&self) -> &[Event] {
        &self.events
    }
}

impl<'c> Deref for Tx<'c> {
    type Target = dyn Conn + 'c;
    fn deref(&self) -> &Self::Target {
        self.conn
    }
}

impl DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.conn
    }
}
