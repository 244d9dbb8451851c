//! Customers with their identities as rows: lookup by any identity, lists, inserting, saving,
//! and moving one record's history onto another when two are merged.

use std::collections::HashMap;

use opora_domain::agent::Language;
use opora_domain::customer::{Customer, Identity, IdentityKind};
use opora_domain::{CustomerId, DomainError, IdentityId};

use crate::db::{Conn, DbError, Row, Value, placeholders};
use crate::{Result, Tx};

const COLUMNS: &str = "id, name, company, language, our_client, note, created_at, updated_at";

fn from_row(r: &Row<'_>) -> Result<Customer, DbError> {
    let language: Option<String> = r.get(3)?;
    Ok(Customer {
        id: r.get(0)?,
        name: r.get(1)?,
        company: r.get(2)?,
        language: language.as_deref().and_then(Language::parse),
        our_client: r.get(4)?,
        note: r.get(5)?,
        identities: Vec::new(),
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

fn identity_from_row(r: &Row<'_>) -> Result<(CustomerId, Identity), DbError> {
    Ok((r.get(0)?, Identity { id: r.get(1)?, kind: r.parse(2, IdentityKind::parse)?, value: r.get(3)?, created_at: r.get(4)? }))
}

fn with_identities(conn: &mut dyn Conn, mut customers: Vec<Customer>) -> Result<Vec<Customer>> {
    if customers.is_empty() {
        return Ok(customers);
    }
    let ids: Vec<Value<'_>> = customers.iter().map(|c| c.id.into()).collect();
    let sql = format!(
        "select customer_id, id, kind, value, created_at from identities where customer_id in ({}) order by id",
        placeholders(1, ids.len())
    );
    let mut by_customer: HashMap<CustomerId, Vec<Identity>> = HashMap::new();
    for (customer, identity) in conn.all(&sql, &ids, identity_from_row)? {
        by_customer.entry(customer).or_default().push(identity);
    }
    for customer in &mut customers {
        customer.identities = by_customer.remove(&customer.id).unwrap_or_default();
    }
    Ok(customers)
}

/// The customer, following merges: a merged-away id resolves to the record it was merged into.
pub fn get(conn: &mut dyn Conn, id: CustomerId) -> Result<Customer> {
    let mut id = id;
    for _ in 0..16 {
        let row = conn.opt(&format!("select {COLUMNS}, merged_into from customers where id = $1"), &[id.into()], |r| {
            Ok((from_row(r)?, r.get::<Option<CustomerId>>(8)?))
        })?;
        match row {
            Some((_, Some(target))) => id = target,
            Some((customer, None)) => return Ok(with_identities(conn, vec![customer])?.remove(0)),
            None => break,
        }
    }
    Err(DomainError::NotFound("customer").into())
}

pub fn get_many(conn: &mut dyn Conn, ids: &[CustomerId]) -> Result<Vec<Customer>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let params: Vec<Value<'_>> = ids.iter().map(|&id| id.into()).collect();
    let sql = format!("select {COLUMNS} from customers where id in ({})", placeholders(1, params.len()));
    let customers = conn.all(&sql, &params, from_row)?;
    with_identities(conn, customers)
}

pub fn find_by_identity(conn: &mut dyn Conn, kind: IdentityKind, value: &str) -> Result<Option<CustomerId>> {
    Ok(conn.opt("select customer_id from identities where kind = $1 and value = $2", &[kind.as_str().into(), value.into()], |r| r.get(0))?)
}

#[derive(Debug, Clone, Default)]
pub struct NewCustomer {
    pub name: String,
    pub company: Option<String>,
    pub language: Option<Language>,
    pub our_client: bool,
    pub note: Option<String>,
}

/// What a search by name matches: name and company, lower-cased with `ё` folded to `е`.
fn search_key(name: &str, company: Option<&str>) -> String {
    format!("{} {}", name, company.unwrap_or("")).to_lowercase().replace('ё', "е")
}

/// Inserts a customer without identities; those are added one by one.
pub fn insert(tx: &mut Tx<'_>, new: &NewCustomer) -> Result<CustomerId> {
    let now = tx.now;
    let key = search_key(&new.name, new.company.as_deref());
    Ok(CustomerId(tx.int(
        "insert into customers (name, company, language, our_client, note, search_key, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $7) returning id",
        &[
            new.name.as_str().into(),
            new.company.as_deref().into(),
            new.language.map(Language::as_str).into(),
            new.our_client.into(),
            new.note.as_deref().into(),
            key.as_str().into(),
            now.into(),
        ],
    )?))
}

/// Adds an identity; one that belongs to someone already is a conflict (`identity_taken`).
pub fn insert_identity(tx: &mut Tx<'_>, customer: CustomerId, kind: IdentityKind, value: &str) -> Result<IdentityId> {
    let now = tx.now;
    tx.int(
        "insert into identities (customer_id, kind, value, created_at) values ($1, $2, $3, $4) returning id",
        &[customer.into(), kind.as_str().into(), value.into(), now.into()],
    )
    .map(IdentityId)
    .map_err(|e| if e.unique_violation { DomainError::Conflict("identity_taken").into() } else { e.into() })
}

pub fn delete_identity(tx: &mut Tx<'_>, identity: IdentityId) -> Result<()> {
    tx.execute("delete from identities where id = $1", &[identity.into()])?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    /// Part of a name, company or identity value.
    pub query: Option<String>,
    pub identity: Option<(IdentityKind, String)>,
    pub our_client: Option<bool>,
    pub after_id: Option<i64>,
    pub limit: i64,
}

/// Customers by id descending (newest first), keyset-paginated by id.
pub fn list(conn: &mut dyn Conn, filter: &CustomerFilter) -> Result<Vec<Customer>> {
    let mut conditions = vec!["merged_into is null".to_owned()];
    let mut params: Vec<Value<'_>> = Vec::new();
    // `%` and `_` typed by a person are themselves, not wildcards (`ivan_petrov` finds exactly that).
    let pattern = filter.query.as_ref().map(|q| {
        let wanted = q.to_lowercase().replace('ё', "е");
        format!("%{}%", wanted.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
    });
    if let Some(pattern) = &pattern {
        params.push(pattern.as_str().into());
        let n = params.len();
        conditions.push(format!(
            "(search_key like ${n} escape '\\' or id in (select customer_id from identities where value like ${n} escape '\\'))"
        ));
    }
    if let Some((kind, value)) = &filter.identity {
        params.push(kind.as_str().into());
        params.push(value.as_str().into());
        let n = params.len();
        conditions.push(format!("id in (select customer_id from identities where kind = ${} and value = ${n})", n - 1));
    }
    if let Some(our) = filter.our_client {
        params.push(our.into());
        conditions.push(format!("our_client = ${}", params.len()));
    }
    if let Some(after) = filter.after_id {
        params.push(after.into());
        conditions.push(format!("id < ${}", params.len()));
    }
    params.push(filter.limit.into());
    let sql = format!("select {COLUMNS} from customers where {} order by id desc limit ${}", conditions.join(" and "), params.len());
    let customers = conn.all(&sql, &params, from_row)?;
    with_identities(conn, customers)
}

/// Writes a customer's own properties (not identities).
pub fn save(tx: &mut Tx<'_>, customer: &Customer) -> Result<()> {
    let now = tx.now;
    tx.execute(
        "update customers set name = $2, company = $3, language = $4, our_client = $5, note = $6, search_key = $7, updated_at = $8 where id = $1",
        &[
            customer.id.into(),
            customer.name.as_str().into(),
            customer.company.as_deref().into(),
            customer.language.map(Language::as_str).into(),
            customer.our_client.into(),
            customer.note.as_deref().into(),
            search_key(&customer.name, customer.company.as_deref()).as_str().into(),
            now.into(),
        ],
    )?;
    Ok(())
}

/// Moves everything of `source` to `target` (identities, cases, messages, history) and leaves
/// `source` as a pointer, so old links still resolve.
pub fn merge_into(tx: &mut Tx<'_>, target: CustomerId, source: CustomerId) -> Result<()> {
    let (t, s, now) = (target, source, tx.now);
    tx.execute("update identities set customer_id = $1 where customer_id = $2", &[t.into(), s.into()])?;
    tx.execute("update cases set customer_id = $1 where customer_id = $2", &[t.into(), s.into()])?;
    tx.execute("update messages set author_customer_id = $1 where author_customer_id = $2", &[t.into(), s.into()])?;
    tx.execute("update events set customer_id = $1 where customer_id = $2", &[t.into(), s.into()])?;
    tx.execute("update orders set customer_id = $1 where customer_id = $2", &[t.into(), s.into()])?;
    tx.execute("update ratings set customer_id = $1 where customer_id = $2", &[t.into(), s.into()])?;
    // A survey both were sent keeps the target's answers.
    tx.execute(
        "update survey_invitations set customer_id = $1 where customer_id = $2
         and survey_id not in (select survey_id from survey_invitations where customer_id = $1)",
        &[t.into(), s.into()],
    )?;
    tx.execute(
        "insert into favourites (customer_id, performer_id, created_at) select $1, performer_id, created_at from favourites where customer_id = $2
         on conflict do nothing",
        &[t.into(), s.into()],
    )?;
    tx.execute("delete from favourites where customer_id = $1", &[s.into()])?;
    tx.execute("update customers set merged_into = $1, updated_at = $3 where id = $2", &[t.into(), s.into(), now.into()])?;
    Ok(())
}

/// Other customers of exactly this name: perhaps the same person, known by another identity.
pub fn same_name(conn: &mut dyn Conn, name: &str, except: CustomerId, limit: i64) -> Result<Vec<CustomerId>> {
    if name.trim().chars().count() < 3 {
        return Ok(Vec::new());
    }
    let sql = "select id from customers where name = $1 and id <> $2 and merged_into is null order by id limit $3";
    Ok(conn.all(sql, &[name.into(), except.into(), limit.into()], |r| r.get(0))?)
}

/// Moves identities and cases (with their messages and events) of `from` to `to`: a person
/// split off a customer who was two people.
pub fn split_off(
    tx: &mut Tx<'_>,
    from: CustomerId,
    to: CustomerId,
    identities: &[IdentityId],
    cases: &[opora_domain::CaseId],
) -> Result<()> {
    for identity in identities {
        tx.execute(
            "update identities set customer_id = $1 where id = $2 and customer_id = $3",
            &[to.into(), (*identity).into(), from.into()],
        )?;
    }
    for case in cases {
        let (to, case, from) = (to.into(), (*case).into(), from.into());
        tx.execute("update cases set customer_id = $1 where id = $2 and customer_id = $3", &[to, case, from])?;
        tx.execute("update messages set author_customer_id = $1 where case_id = $2 and author_customer_id = $3", &[to, case, from])?;
        tx.execute("update events set customer_id = $1 where case_id = $2 and customer_id = $3", &[to, case, from])?;
        // An order goes with the case its notifications went out on, and its ratings with it.
        tx.execute(
            "update ratings set customer_id = $1 where customer_id = $3 and (case_id = $2 or order_id in (select id from orders where case_id = $2))",
            &[to, case, from],
        )?;
        tx.execute("update orders set customer_id = $1 where case_id = $2 and customer_id = $3", &[to, case, from])?;
    }
    Ok(())
}

/// Removes a customer and their identities; their events stay, without them.
pub fn delete(tx: &mut Tx<'_>, id: CustomerId) -> Result<()> {
    tx.execute("delete from identities where customer_id = $1", &[id.into()])?;
    tx.execute("update customers set merged_into = null where merged_into = $1", &[id.into()])?;
    tx.execute("update events set customer_id = null where customer_id = $1", &[id.into()])?;
    tx.execute("delete from customers where id = $1", &[id.into()])?;
    Ok(())
}
