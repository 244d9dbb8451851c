//! The one storage API over two engines. Store code is written once, as synchronous functions
//! over [`Conn`], with `$1`-style placeholders; each engine module adapts parameters and rows.
//!
//! Why synchronous drivers (rusqlite, rust-postgres) behind blocking threads rather than sqlx:
//! measured on our 2-core machine, the create-case transaction (6 statements) ran at ~4,000/s
//! on sqlx-sqlite and ~21,000/s on rusqlite from a writer thread (~60,000/s with group commit).
//! SQLite has one writer anyway; a dedicated writer thread makes that explicit and lets us batch.

pub mod pg;
pub mod pool;
pub mod sqlite;

use std::fmt;

/// Which SQL dialect a connection speaks, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A parameter bound to a statement.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
    Bool(bool),
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<f64> for Value<'_> {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(v)
    }
}
impl<'a> From<&'a String> for Value<'a> {
    fn from(v: &'a String) -> Self {
        Value::Text(v)
    }
}
impl<'a> From<&'a [u8]> for Value<'a> {
    fn from(v: &'a [u8]) -> Self {
        Value::Blob(v)
    }
}
impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

macro_rules! id_values {
    ($($id:ident),*) => {$(
        impl From<opora_domain::$id> for Value<'_> {
            fn from(v: opora_domain::$id) -> Self { Value::Int(v.0) }
        }
    )*};
}
id_values!(
    CaseId,
    MessageId,
    AttachmentId,
    CustomerId,
    IdentityId,
    AgentId,
    TeamId,
    EventId,
    JobId,
    TokenId,
    FieldId,
    CompensationId,
    WebhookId,
    ChannelId,
    PayloadId,
    OrderId,
    PerformerId,
    RatingId,
    PlaybookId,
    ExtraId,
    SurveyId
);

impl From<opora_domain::Timestamp> for Value<'_> {
    fn from(v: opora_domain::Timestamp) -> Self {
        Value::Int(v.0)
    }
}

/// A column value as read from a row, borrowed from the driver.
#[derive(Debug, Clone, Copy)]
pub enum ValueRef<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
    Bool(bool),
}

/// Types a column can be read into.
pub trait FromValue: Sized {
    fn from_value(value: ValueRef<'_>) -> Option<Self>;
}

impl FromValue for i64 {
    fn from_value(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::Int(v) => Some(v),
            ValueRef::Bool(v) => Some(i64::from(v)),
            _ => None,
        }
    }
}
impl FromValue for bool {
    fn from_value(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::Bool(v) => Some(v),
            ValueRef::Int(v) => Some(v != 0),
            _ => None,
        }
    }
}
impl FromValue for f64 {
    fn from_value(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::Real(v) => Some(v),
            ValueRef::Int(v) => Some(v as f64),
            _ => None,
        }
    }
}
impl FromValue for String {
    fn from_value(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::Text(v) => Some(v.to_owned()),
            _ => None,
        }
    }
}
impl FromValue for Vec<u8> {
    fn from_value(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::Blob(v) => Some(v.to_vec()),
            ValueRef::Text(v) => Some(v.as_bytes().to_vec()),
            _ => None,
        }
    }
}
impl FromValue for opora_domain::Timestamp {
    fn from_value(value: ValueRef<'_>) -> Option<Self> {
        i64::from_value(value).map(opora_domain::Timestamp)
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

macro_rules! id_from_values {
    ($($id:ident),*) => {$(
        impl FromValue for opora_domain::$id {
            fn from_value(value: ValueRef<'_>) -> Option<Self> { i64::from_value(value).map(opora_domain::$id) }
        }
    )*};
}
id_from_values!(
    CaseId,
    MessageId,
    AttachmentId,
    CustomerId,
    IdentityId,
    AgentId,
    TeamId,
    EventId,
    JobId,
    TokenId,
    FieldId,
    CompensationId,
    WebhookId,
    ChannelId,
    PayloadId,
    OrderId,
    PerformerId,
    RatingId,
    PlaybookId,
    ExtraId,
    SurveyId
);

/// A row being read; columns are addressed by position in the select list.
pub enum Row<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Postgres(&'a postgres::Row),
}

impl Row<'_> {
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T, DbError> {
        let value = match self {
            Row::Sqlite(row) => sqlite::value(row, index)?,
            Row::Postgres(row) => pg::value(row, index)?,
        };
        T::from_value(value).ok_or_else(|| DbError::new(format!("column {index} has an unexpected type: {value:?}")))
    }

    /// A string enum column (`status`, `role`), parsed with the enum's own parser.
    pub fn parse<T>(&self, index: usize, parse: fn(&str) -> Option<T>) -> Result<T, DbError> {
        let text: String = self.get(index)?;
        parse(&text).ok_or_else(|| DbError::new(format!("column {index} holds an unknown value {text:?}")))
    }
}

/// A database error. Unique-constraint violations are recognisable, so callers can turn them into
/// a 409 where they expect one.
#[derive(Debug, Clone)]
pub struct DbError {
    pub message: String,
    pub unique_violation: bool,
}

impl DbError {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), unique_violation: false }
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DbError {}

impl From<crate::secrets::SealError> for DbError {
    fn from(e: crate::secrets::SealError) -> Self {
        DbError::new(e.0)
    }
}

/// A connection (or a connection inside a transaction) of either engine.
pub trait Conn: Send {
    fn dialect(&self) -> Dialect;
    /// What seals and opens secrets stored through this connection.
    fn sealer(&self) -> std::sync::Arc<crate::secrets::Sealer>;
    fn execute(&mut self, sql: &str, params: &[Value<'_>]) -> Result<u64, DbError>;
    fn query(&mut self, sql: &str, params: &[Value<'_>], each: &mut dyn FnMut(&Row<'_>) -> Result<(), DbError>) -> Result<(), DbError>;
    /// Runs statements without parameters (transaction control, migrations).
    fn batch(&mut self, sql: &str) -> Result<(), DbError>;
}

impl dyn Conn + '_ {
    pub fn all<T>(&mut self, sql: &str, params: &[Value<'_>], map: impl Fn(&Row<'_>) -> Result<T, DbError>) -> Result<Vec<T>, DbError> {
        let mut out = Vec::new();
        self.query(sql, params, &mut |row| {
            out.push(map(row)?);
            Ok(())
        })?;
        Ok(out)
    }

    pub fn opt<T>(&mut self, sql: &str, params: &[Value<'_>], map: impl Fn(&Row<'_>) -> Result<T, DbError>) -> Result<Option<T>, DbError> {
        let mut out = None;
        self.query(sql, params, &mut |row| {
            if out.is_none() {
                out = Some(map(row)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    pub fn one<T>(&mut self, sql: &str, params: &[Value<'_>], map: impl Fn(&Row<'_>) -> Result<T, DbError>) -> Result<T, DbError> {
        self.opt(sql, params, map)?.ok_or_else(|| DbError::new(format!("expected a row from {sql}")))
    }

    /// A single integer (`count(*)`, `returning id`).
    pub fn int(&mut self, sql: &str, params: &[Value<'_>]) -> Result<i64, DbError> {
        self.one(sql, params, |r| r.get(0))
    }
}

/// `$1` placeholders become `?1` for SQLite, which would otherwise number `$`-named parameters in
/// order of first appearance rather than by their digits.
pub(crate) fn sqlite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

/// `in (...)` lists: `$3, $4, $5` for values starting at parameter `first`.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_rewritten_for_sqlite() {
        assert_eq!(super::sqlite_placeholders("select $2, $10 where a = '$x'"), "select ?2, ?10 where a = '$x'");
        assert_eq!(super::placeholders(3, 3), "$3, $4, $5");
    }
}
