//! Customers with their identities: lookup by any identity, find-or-create for inbound contacts,
//! and merging two records of the same person.

use std::collections::HashMap;

use opora_domain::agent::Language;
use opora_domain::customer::{Customer, Identity, IdentityKind, fallback_name};
use opora_domain::event::{Actor, EventKind};
use opora_domain::{CustomerId, DomainError, IdentityId};
use serde_json::json;

use crate::db::{Conn, DbError, Row, Value, placeholders};
use crate::{Result, StoreError, Tx};

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
    pub identities: Vec<(IdentityKind, String)>,
}

/// What a search by name matches: name and company, lower-cased with `ё` folded to `е`.
fn search_key(name: &str, company: Option<&str>) -> String {
    format!("{} {}", name, company.unwrap_or("")).to_lowercase().replace('ё', "е")
}

pub fn create(tx: &mut Tx<'_>, new: NewCustomer, actor: Actor) -> Result<Customer> {
    let now = tx.now;
    let key = search_key(&new.name, new.company.as_deref());
    let id = CustomerId(tx.int(
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
    )?);
    for (index, (kind, value)) in new.identities.iter().enumerate() {
        insert_identity(tx, id, *kind, value).map_err(|e| match e {
            StoreError::Domain(DomainError::Conflict(code)) => DomainError::field(format!("identities.{index}.value"), code).into(),
            other => other,
        })?;
    }
    tx.emit(EventKind::CustomerCreated, None, Some(id), actor, json!({"customer_id": id, "name": new.name}))?;
    get(&mut **tx, id)
}

fn insert_identity(tx: &mut Tx<'_>, customer: CustomerId, kind: IdentityKind, value: &str) -> Result<IdentityId> {
    let now = tx.now;
    tx.int(
        "insert into identities (customer_id, kind, value, created_at) values ($1, $2, $3, $4) returning id",
        &[customer.into(), kind.as_str().into(), value.into(), now.into()],
    )
    .map(IdentityId)
    .map_err(|e| if e.unique_violation { DomainError::Conflict("identity_taken").into() } else { e.into() })
}

/// Finds the customer owning this identity, or creates one; returns whether it was created.
pub fn find_or_create(tx: &mut Tx<'_>, kind: IdentityKind, value: &str, name: Option<&str>, actor: Actor) -> Result<(CustomerId, bool)> {
    if let Some(id) = find_by_identity(&mut **tx, kind, value)? {
        return Ok((id, false));
    }
    let name = name.map(str::to_owned).unwrap_or_else(|| fallback_name(kind, value));
    let customer = create(tx, NewCustomer { name, identities: vec![(kind, value.to_owned())], ..Default::default() }, actor)?;
    Ok((customer.id, true))
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
    let pattern = filter.query.as_ref().map(|q| format!("%{}%", q.to_lowercase().replace('ё', "е").replace(['%', '_'], "")));
    if let Some(pattern) = &pattern {
        params.push(pattern.as_str().into());
        let n = params.len();
        conditions.push(format!("(search_key like ${n} or id in (select customer_id from identities where value like ${n}))"));
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

#[derive(Debug, Clone, Default)]
pub struct CustomerChange {
    pub name: Option<String>,
    pub company: Option<Option<String>>,
    pub language: Option<Option<Language>>,
    pub our_client: Option<bool>,
    pub note: Option<Option<String>>,
}

pub fn update(tx: &mut Tx<'_>, id: CustomerId, change: CustomerChange, actor: Actor) -> Result<Customer> {
    let before = get(&mut **tx, id)?;
    let after = Customer {
        name: change.name.unwrap_or(before.name.clone()),
        company: change.company.unwrap_or(before.company.clone()),
        language: change.language.unwrap_or(before.language),
        our_client: change.our_client.unwrap_or(before.our_client),
        note: change.note.unwrap_or(before.note.clone()),
        ..before.clone()
    };
    let now = tx.now;
    tx.execute(
        "update customers set name = $2, company = $3, language = $4, our_client = $5, note = $6, search_key = $7, updated_at = $8 where id = $1",
        &[
            before.id.into(),
            after.name.as_str().into(),
            after.company.as_deref().into(),
            after.language.map(Language::as_str).into(),
            after.our_client.into(),
            after.note.as_deref().into(),
            search_key(&after.name, after.company.as_deref()).as_str().into(),
            now.into(),
        ],
    )?;
    let mut changes = serde_json::Map::new();
    let pairs = [
        ("name", json!(before.name), json!(after.name)),
        ("company", json!(before.company), json!(after.company)),
        ("language", json!(before.language), json!(after.language)),
        ("our_client", json!(before.our_client), json!(after.our_client)),
        ("note", json!(before.note), json!(after.note)),
    ];
    for (field, from, to) in pairs {
        if from != to {
            changes.insert(field.into(), json!({"from": from, "to": to}));
        }
    }
    if !changes.is_empty() {
        tx.emit(EventKind::CustomerUpdated, None, Some(before.id), actor, json!({"customer_id": before.id, "changes": changes}))?;
    }
    get(&mut **tx, before.id)
}

pub fn add_identity(tx: &mut Tx<'_>, id: CustomerId, kind: IdentityKind, value: &str, actor: Actor) -> Result<Customer> {
    let customer = get(&mut **tx, id)?;
    let identity = insert_identity(tx, customer.id, kind, value)?;
    tx.emit(
        EventKind::CustomerIdentityAdded,
        None,
        Some(customer.id),
        actor,
        json!({"customer_id": customer.id, "identity_id": identity, "kind": kind, "value": value}),
    )?;
    get(&mut **tx, customer.id)
}

pub fn remove_identity(tx: &mut Tx<'_>, id: CustomerId, identity: IdentityId, actor: Actor) -> Result<Customer> {
    let customer = get(&mut **tx, id)?;
    let found = customer.identities.iter().find(|i| i.id == identity).cloned().ok_or(DomainError::NotFound("identity"))?;
    tx.execute("delete from identities where id = $1", &[identity.into()])?;
    tx.emit(
        EventKind::CustomerIdentityRemoved,
        None,
        Some(customer.id),
        actor,
        json!({"customer_id": customer.id, "identity_id": identity, "kind": found.kind, "value": found.value}),
    )?;
    get(&mut **tx, customer.id)
}

/// Merges `source` into `target`: identities, cases, messages and history move to the target;
/// the source stays as a pointer so old links still resolve.
pub fn merge(tx: &mut Tx<'_>, target: CustomerId, source: CustomerId, actor: Actor) -> Result<Customer> {
    let target = get(&mut **tx, target)?;
    let source = get(&mut **tx, source).map_err(|e| match e {
        StoreError::Domain(DomainError::NotFound(_)) => DomainError::field("source_id", "not_found").into(),
        other => other,
    })?;
    if source.id == target.id {
        return Err(DomainError::field("source_id", "same_customer").into());
    }
    let (t, s, now) = (target.id, source.id, tx.now);
    tx.execute("update identities set customer_id = $1 where customer_id = $2", &[t.into(), s.into()])?;
    tx.execute("update cases set customer_id = $1 where customer_id = $2", &[t.into(), s.into()])?;
    tx.execute("update messages set author_customer_id = $1 where author_customer_id = $2", &[t.into(), s.into()])?;
    tx.execute("update events set customer_id = $1 where customer_id = $2", &[t.into(), s.into()])?;
    let note = match (&target.note, &source.note) {
        (Some(a), Some(b)) if a != b => Some(format!("{a}\n{b}")),
        (a, b) => a.clone().or(b.clone()),
    };
    let company = target.company.clone().or(source.company.clone());
    tx.execute(
        "update customers set our_client = $2, note = $3, company = $4, language = coalesce(language, $5), search_key = $6, updated_at = $7 where id = $1",
        &[
            t.into(),
            (target.our_client || source.our_client).into(),
            note.as_deref().into(),
            company.as_deref().into(),
            source.language.map(Language::as_str).into(),
            search_key(&target.name, company.as_deref()).as_str().into(),
            now.into(),
        ],
    )?;
    tx.execute("update customers set merged_into = $1, updated_at = $3 where id = $2", &[t.into(), s.into(), now.into()])?;
    tx.emit(EventKind::CustomerMerged, None, Some(t), actor, json!({"customer_id": t, "source_id": s, "source_name": source.name}))?;
    get(&mut **tx, t)
}

/// Deletes a customer who has no cases (a duplicate created by mistake); customers with history
/// are merged instead.
pub fn delete(tx: &mut Tx<'_>, id: CustomerId) -> Result<()> {
    let customer = get(&mut **tx, id)?;
    if customer.id != id {
        return Err(DomainError::NotFound("customer").into());
    }
    if tx.opt("select 1 from cases where customer_id = $1 limit 1", &[id.into()], |r| r.get::<i64>(0))?.is_some() {
        return Err(DomainError::Conflict("customer_has_cases").into());
    }
    tx.execute("delete from identities where customer_id = $1", &[id.into()])?;
    tx.execute("update customers set merged_into = null where merged_into = $1", &[id.into()])?;
    tx.execute("update events set customer_id = null where customer_id = $1", &[id.into()])?;
    tx.execute("delete from customers where id = $1", &[id.into()])?;
    Ok(())
}
