//! Embedded migrations, one folder per engine, applied in order at start in one transaction each.

use crate::db::{Conn, DbError, Dialect};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "cases",
        sqlite: include_str!("../migrations/sqlite/0001_cases.sql"),
        postgres: include_str!("../migrations/postgres/0001_cases.sql"),
    },
    Migration {
        version: 2,
        name: "workspace",
        sqlite: include_str!("../migrations/sqlite/0002_workspace.sql"),
        postgres: include_str!("../migrations/postgres/0002_workspace.sql"),
    },
    Migration {
        version: 3,
        name: "mail",
        sqlite: include_str!("../migrations/sqlite/0003_mail.sql"),
        postgres: include_str!("../migrations/postgres/0003_mail.sql"),
    },
    Migration {
        version: 4,
        name: "channels",
        sqlite: include_str!("../migrations/sqlite/0004_channels.sql"),
        postgres: include_str!("../migrations/postgres/0004_channels.sql"),
    },
    Migration {
        version: 5,
        name: "conversations",
        sqlite: include_str!("../migrations/sqlite/0005_conversations.sql"),
        postgres: include_str!("../migrations/postgres/0005_conversations.sql"),
    },
    Migration {
        version: 6,
        name: "access",
        sqlite: include_str!("../migrations/sqlite/0006_access.sql"),
        postgres: include_str!("../migrations/postgres/0006_access.sql"),
    },
    Migration {
        version: 7,
        name: "messengers",
        sqlite: include_str!("../migrations/sqlite/0007_messengers.sql"),
        postgres: include_str!("../migrations/postgres/0007_messengers.sql"),
    },
    Migration {
        version: 8,
        name: "care",
        sqlite: include_str!("../migrations/sqlite/0008_care.sql"),
        postgres: include_str!("../migrations/postgres/0008_care.sql"),
    },
    Migration {
        version: 9,
        name: "surveys",
        sqlite: include_str!("../migrations/sqlite/0009_surveys.sql"),
        postgres: include_str!("../migrations/postgres/0009_surveys.sql"),
    },
    Migration {
        version: 10,
        name: "reply_ratings",
        sqlite: include_str!("../migrations/sqlite/0010_reply_ratings.sql"),
        postgres: include_str!("../migrations/postgres/0010_reply_ratings.sql"),
    },
];

/// Applies every migration the database has not seen. Returns how many were applied.
pub fn run(conn: &mut dyn Conn) -> Result<usize, DbError> {
    run_to(conn, latest_version())
}

/// Applies the migrations up to `version` (tests build a database as an older binary left it).
pub fn run_to(conn: &mut dyn Conn, version: i64) -> Result<usize, DbError> {
    conn.batch(
        "create table if not exists schema_migrations (version bigint primary key, name text not null, applied_at bigint not null)",
    )?;
    let applied: Vec<i64> = conn.all("select version from schema_migrations", &[], |r| r.get(0))?;
    let mut count = 0;
    for migration in MIGRATIONS.iter().filter(|m| m.version <= version && !applied.contains(&m.version)) {
        let sql = match conn.dialect() {
            Dialect::Sqlite => migration.sqlite,
            Dialect::Postgres => migration.postgres,
        };
        let begin = if conn.dialect() == Dialect::Sqlite { "begin immediate" } else { "begin" };
        conn.batch(begin)?;
        let result = conn.batch(sql).and_then(|()| {
            conn.execute(
                "insert into schema_migrations (version, name, applied_at) values ($1, $2, $3)",
                &[migration.version.into(), migration.name.into(), opora_domain::Timestamp::now().into()],
            )
        });
        match result {
            Ok(_) => conn.batch("commit")?,
            Err(e) => {
                let _ = conn.batch("rollback");
                return Err(DbError::new(format!("migration {} ({}) failed: {e}", migration.version, migration.name)));
            }
        }
        tracing::info!(version = migration.version, name = migration.name, "applied migration");
        count += 1;
    }
    Ok(count)
}

/// The newest schema version this binary knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}
