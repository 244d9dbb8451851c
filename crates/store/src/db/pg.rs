//! PostgreSQL through rust-postgres: a pool of connections with a per-connection statement cache,
//! and the parameter and row adapters.

use std::collections::HashMap;
use std::error::Error;
use std::sync::Arc;

use bytes::BytesMut;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls, Statement};

use super::pool::Pooled;
use super::{Conn, DbError, Dialect, Row, Value, ValueRef};
use crate::secrets::Sealer;

pub struct PgConn {
    client: Option<Client>,
    statements: HashMap<String, Statement>,
    sealer: Arc<Sealer>,
}

/// The synchronous client closes its connection by blocking on its own runtime, which tokio
/// forbids on an async thread; a connection dropped there is closed from a plain thread.
impl Drop for PgConn {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::Builder::new().name("opora-pg-close".into()).spawn(move || drop(client));
            } else {
                drop(client);
            }
        }
    }
}

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> Self {
        let unique_violation = e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION);
        let message = match e.as_db_error() {
            Some(db) => format!("postgres: {}: {}", db.code().code(), db.message()),
            None => format!("postgres: {e}"),
        };
        DbError { message, unique_violation }
    }
}

impl PgConn {
    pub fn connect(url: &str) -> Result<Self, DbError> {
        let client = Client::connect(url, NoTls)?;
        Ok(Self { client: Some(client), statements: HashMap::new(), sealer: Arc::new(Sealer::none()) })
    }

    /// The same connection, sealing secrets with `sealer`.
    pub fn sealing(mut self, sealer: Arc<Sealer>) -> Self {
        self.sealer = sealer;
        self
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, DbError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client()?.prepare(sql)?;
        // Dynamic filters produce a bounded set of statements; the cap only guards against misuse.
        if self.statements.len() > 512 {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    pub fn client(&mut self) -> Result<&mut Client, DbError> {
        self.client.as_mut().ok_or_else(|| DbError::new("connection closed"))
    }
}

impl Pooled for PgConn {
    fn is_broken(&self) -> bool {
        self.client.as_ref().is_none_or(Client::is_closed)
    }
}

impl Conn for PgConn {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn sealer(&self) -> Arc<Sealer> {
        self.sealer.clone()
    }

    fn execute(&mut self, sql: &str, params: &[Value<'_>]) -> Result<u64, DbError> {
        let statement = self.statement(sql)?;
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        Ok(self.client()?.execute(&statement, &params)?)
    }

    fn query(&mut self, sql: &str, params: &[Value<'_>], each: &mut dyn FnMut(&Row<'_>) -> Result<(), DbError>) -> Result<(), DbError> {
        let statement = self.statement(sql)?;
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        for row in self.client()?.query(&statement, &params)? {
            each(&Row::Postgres(&row))?;
        }
        Ok(())
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.client()?.batch_execute(sql)?)
    }
}

/// Our parameters adapt to whatever type PostgreSQL inferred for the placeholder, so store code
/// can bind an `i64` to an `int4` column or a string to `text` without knowing the dialect.
impl ToSql for Value<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match *self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT2 => i16::try_from(v)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(v)?.to_sql(ty, out),
                Type::FLOAT8 => (v as f64).to_sql(ty, out),
                Type::BOOL => (v != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => v.to_string().to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Value::Real(v) => match *ty {
                Type::FLOAT4 => (v as f32).to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Value::Text(v) => v.to_sql(ty, out),
            Value::Blob(v) => v.to_sql(ty, out),
            Value::Bool(v) => match *ty {
                Type::INT2 | Type::INT4 | Type::INT8 => Value::Int(i64::from(v)).to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

pub(super) fn value<'a>(row: &'a postgres::Row, index: usize) -> Result<ValueRef<'a>, DbError> {
    let column = row.columns().get(index).ok_or_else(|| DbError::new(format!("no column {index}")))?;
    let value = match *column.type_() {
        Type::INT8 => row.try_get::<_, Option<i64>>(index)?.map(ValueRef::Int),
        Type::INT4 => row.try_get::<_, Option<i32>>(index)?.map(|v| ValueRef::Int(v.into())),
        Type::INT2 => row.try_get::<_, Option<i16>>(index)?.map(|v| ValueRef::Int(v.into())),
        Type::BOOL => row.try_get::<_, Option<bool>>(index)?.map(ValueRef::Bool),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(index)?.map(ValueRef::Real),
        Type::FLOAT4 => row.try_get::<_, Option<f32>>(index)?.map(|v| ValueRef::Real(v.into())),
        Type::BYTEA => row.try_get::<_, Option<&[u8]>>(index)?.map(ValueRef::Blob),
        _ => row.try_get::<_, Option<&str>>(index)?.map(ValueRef::Text),
    };
    Ok(value.unwrap_or(ValueRef::Null))
}
