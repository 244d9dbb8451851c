//! The two engines carry one schema: after all migrations, SQLite and PostgreSQL have the same
//! tables, the same columns and the same named indexes. A migration written for one engine only
//! fails here, not in a customer's upgrade.

use std::collections::BTreeSet;

use opora_store::db::Conn;
use opora_store::db::pg::PgConn;
use opora_store::db::sqlite::SqliteConn;

use crate::harness::PgDatabase;

#[derive(Debug, Default, PartialEq, Eq)]
struct Schema {
    /// `table.column`
    columns: BTreeSet<String>,
    /// `table.index`, for the indexes a migration names (not those behind keys).
    indexes: BTreeSet<String>,
}

fn sqlite_schema(conn: &mut dyn Conn) -> Schema {
    let columns = conn
        .all(
            "select m.name || '.' || c.name from sqlite_master m join pragma_table_info(m.name) c
             where m.type = 'table' and m.name not like 'sqlite_%'",
            &[],
            |r| r.get::<String>(0),
        )
        .expect("columns");
    let indexes = conn
        .all("select tbl_name || '.' || name from sqlite_master where type = 'index' and name not like 'sqlite_autoindex_%'", &[], |r| {
            r.get::<String>(0)
        })
        .expect("indexes");
    Schema { columns: columns.into_iter().collect(), indexes: indexes.into_iter().collect() }
}

fn postgres_schema(conn: &mut dyn Conn) -> Schema {
    let columns = conn
        .all("select table_name || '.' || column_name from information_schema.columns where table_schema = 'public'", &[], |r| {
            r.get::<String>(0)
        })
        .expect("columns");
    let indexes = conn
        .all(
            "select i.tablename || '.' || i.indexname from pg_indexes i
             where i.schemaname = 'public'
               and not exists (select 1 from pg_constraint c where c.conname = i.indexname)",
            &[],
            |r| r.get::<String>(0),
        )
        .expect("indexes");
    Schema { columns: columns.into_iter().collect(), indexes: indexes.into_iter().collect() }
}

#[test]
fn both_engines_carry_the_same_schema() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut sqlite = SqliteConn::open(&dir.path().join("schema.db"), false).expect("open SQLite");
    opora_store::migrate::run(&mut sqlite).expect("migrate SQLite");
    let lite = sqlite_schema(&mut sqlite);

    let database = PgDatabase::create();
    let mut postgres = PgConn::connect(&database.url).expect("connect to PostgreSQL");
    opora_store::migrate::run(&mut postgres).expect("migrate PostgreSQL");
    let pg = postgres_schema(&mut postgres);
    drop(postgres);

    assert!(lite.columns.contains("channels.settings") && lite.indexes.len() > 10, "the schema was read: {lite:?}");
    let only = |a: &BTreeSet<String>, b: &BTreeSet<String>| a.difference(b).cloned().collect::<Vec<_>>();
    assert_eq!(
        (only(&lite.columns, &pg.columns), only(&pg.columns, &lite.columns)),
        (vec![], vec![]),
        "columns only on SQLite / only on PostgreSQL"
    );
    assert_eq!(
        (only(&lite.indexes, &pg.indexes), only(&pg.indexes, &lite.indexes)),
        (vec![], vec![]),
        "indexes only on SQLite / only on PostgreSQL"
    );
}
