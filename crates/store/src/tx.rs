//! A write transaction as store code sees it: the connection, the time of the change, and the
//! events and jobs the change produced (written in the same transaction, announced after
//! commit). What an event sets off inside the transaction is decided above the store.

use std::ops::{Deref, DerefMut};

use opora_domain::Timestamp;
use opora_domain::event::Event;

use crate::db::Conn;

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
