//! Customers: finding who wrote by any of their identities (the one place that does it, for
//! the API, every channel and the people copied on a conversation), keeping their details, and
//! merging two records of the same person.

use opora_domain::agent::Language;
use opora_domain::case::ActingAgent;
use opora_domain::customer::{Customer, IdentityKind, fallback_name};
use opora_domain::event::{Actor, Changes, CustomerCreated, CustomerMerged, CustomerUpdated, EventData, IdentityChanged, note_change};
use opora_domain::{CustomerId, DomainError, IdentityId};
use opora_store::customers::{self, NewCustomer};
use opora_store::{StoreError, case_list, cases};

pub use opora_store::customers::CustomerFilter;

use crate::{App, Result, Unit};

/// Who a case or message is for: an existing customer by id, or whoever has one of these
/// identities (created with them when nobody does).
#[derive(Debug, Clone)]
pub enum CustomerRef {
    Id(CustomerId),
    Identities { identities: Vec<(IdentityKind, String)>, name: Option<String> },
}

/// A customer as an agent describes them.
#[derive(Debug, Clone, Default)]
pub struct CustomerSpec {
    pub name: String,
    pub company: Option<String>,
    pub language: Option<Language>,
    pub our_client: bool,
    pub note: Option<String>,
    pub identities: Vec<(IdentityKind, String)>,
}

/// A change of a customer's details. `None` leaves a property as it is; `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct CustomerChange {
    pub name: Option<String>,
    pub company: Option<Option<String>>,
    pub language: Option<Option<Language>>,
    pub our_client: Option<bool>,
    pub note: Option<Option<String>>,
}

/// Creates a customer with their identities and records `customer.created`.
pub(crate) fn create(u: &mut Unit<'_, '_>, spec: CustomerSpec, actor: Actor) -> opora_store::Result<Customer> {
    let new = NewCustomer {
        name: spec.name.clone(),
        company: spec.company,
        language: spec.language,
        our_client: spec.our_client,
        note: spec.note,
    };
    let id = customers::insert(u.tx(), &new)?;
    for (index, (kind, value)) in spec.identities.iter().enumerate() {
        customers::insert_identity(u.tx(), id, *kind, value).map_err(|e| match e {
            StoreError::Domain(DomainError::Conflict(code)) => DomainError::field(format!("identities.{index}.value"), code).into(),
            other => other,
        })?;
    }
    u.emit(None, Some(id), actor, EventData::CustomerCreated(CustomerCreated { customer_id: id, name: spec.name }))?;
    customers::get(u.conn(), id)
}

/// The customer a reference names. By identities: whoever has the first one known; that
/// customer also gets the given identities nobody has yet. Nobody known: a new customer with all
/// of them (named after the first identity when no name is given). No identities at all: a new
/// customer without any, so a message is never lost for want of an address. Returns whether
/// the customer was created.
pub(crate) fn identify(
    u: &mut Unit<'_, '_>,
    reference: CustomerRef,
    language: Option<Language>,
    actor: Actor,
) -> opora_store::Result<(CustomerId, bool)> {
    let (identities, name) = match reference {
        CustomerRef::Id(id) => return Ok((id, false)),
        CustomerRef::Identities { identities, name } => (identities, name),
    };
    let mut found = None;
    for (kind, value) in &identities {
        if let Some(id) = customers::find_by_identity(u.conn(), *kind, value)? {
            found = Some(id);
            break;
        }
    }
    match found {
        Some(id) => {
            for (kind, value) in identities {
                if customers::find_by_identity(u.conn(), kind, &value)?.is_none() {
                    add_identity(u, id, kind, &value, actor)?;
                }
            }
            Ok((id, false))
        }
        None => {
            let fallback = identities.first().map(|(kind, value)| fallback_name(*kind, value)).unwrap_or_else(|| "?".to_owned());
            let name: String = name.unwrap_or(fallback).chars().take(200).collect();
            let spec = CustomerSpec { name, language, identities, ..Default::default() };
            Ok((create(u, spec, actor)?.id, true))
        }
    }
}

fn add_identity(u: &mut Unit<'_, '_>, id: CustomerId, kind: IdentityKind, value: &str, actor: Actor) -> opora_store::Result<Customer> {
    let customer = customers::get(u.conn(), id)?;
    let identity = customers::insert_identity(u.tx(), customer.id, kind, value)?;
    let data = IdentityChanged { customer_id: customer.id, identity_id: identity, kind, value: value.to_owned() };
    u.emit(None, Some(customer.id), actor, EventData::CustomerIdentityAdded(data))?;
    customers::get(u.conn(), customer.id)
}

pub(crate) fn update(u: &mut Unit<'_, '_>, id: CustomerId, change: CustomerChange, actor: Actor) -> opora_store::Result<Customer> {
    let before = customers::get(u.conn(), id)?;
    let after = Customer {
        name: change.name.unwrap_or(before.name.clone()),
        company: change.company.unwrap_or(before.company.clone()),
        language: change.language.unwrap_or(before.language),
        our_client: change.our_client.unwrap_or(before.our_client),
        note: change.note.unwrap_or(before.note.clone()),
        ..before.clone()
    };
    customers::save(u.tx(), &after)?;
    let mut changes = Changes::new();
    note_change(&mut changes, "name", &before.name, &after.name);
    note_change(&mut changes, "company", &before.company, &after.company);
    note_change(&mut changes, "language", before.language, after.language);
    note_change(&mut changes, "our_client", before.our_client, after.our_client);
    note_change(&mut changes, "note", &before.note, &after.note);
    if !changes.is_empty() {
        u.emit(None, Some(before.id), actor, EventData::CustomerUpdated(CustomerUpdated { customer_id: before.id, changes }))?;
    }
    customers::get(u.conn(), before.id)
}

fn remove_identity(u: &mut Unit<'_, '_>, id: CustomerId, identity: IdentityId, actor: Actor) -> opora_store::Result<Customer> {
    let customer = customers::get(u.conn(), id)?;
    let found = customer.identities.iter().find(|i| i.id == identity).cloned().ok_or(DomainError::NotFound("identity"))?;
    customers::delete_identity(u.tx(), identity)?;
    let data = IdentityChanged { customer_id: customer.id, identity_id: identity, kind: found.kind, value: found.value };
    u.emit(None, Some(customer.id), actor, EventData::CustomerIdentityRemoved(data))?;
    customers::get(u.conn(), customer.id)
}

/// Merges `source` into `target`: identities, cases, messages and history move to the target;
/// the source stays as a pointer so old links still resolve.
fn merge(u: &mut Unit<'_, '_>, target: CustomerId, source: CustomerId, acting: ActingAgent) -> opora_store::Result<Customer> {
    let actor = Actor::agent(acting.id);
    // Merging moves every case of both: an agent limited to their teams may do it only when they
    // see all of them.
    let rules = u.config().access;
    if let Some(sight) = crate::cases::access::sight(u.conn(), acting, rules)?
        && case_list::any_out_of_sight(u.conn(), &[target, source], &sight)?
    {
        return Err(DomainError::Forbidden.into());
    }
    let mut target = customers::get(u.conn(), target)?;
    let source = customers::get(u.conn(), source).map_err(|e| match e {
        StoreError::Domain(DomainError::NotFound(_)) => DomainError::field("source_id", "not_found").into(),
        other => other,
    })?;
    if source.id == target.id {
        return Err(DomainError::field("source_id", "same_customer").into());
    }
    customers::merge_into(u.tx(), target.id, source.id)?;
    target.absorb(&source);
    customers::save(u.tx(), &target)?;
    let data = CustomerMerged { customer_id: target.id, source_id: source.id, source_name: source.name };
    u.emit(None, Some(target.id), actor, EventData::CustomerMerged(data))?;
    customers::get(u.conn(), target.id)
}

/// Deletes a customer who has no cases (a duplicate created by mistake); customers with history
/// are merged instead.
fn delete(u: &mut Unit<'_, '_>, id: CustomerId) -> opora_store::Result<()> {
    let customer = customers::get(u.conn(), id)?;
    if customer.id != id {
        return Err(DomainError::NotFound("customer").into());
    }
    if cases::customer_has_cases(u.conn(), id)? {
        return Err(DomainError::Conflict("customer_has_cases").into());
    }
    customers::delete(u.tx(), id)
}

pub struct Customers<'a>(&'a App);

impl App {
    pub fn customers(&self) -> Customers<'_> {
        Customers(self)
    }
}

impl Customers<'_> {
    pub async fn create(&self, actor: Actor, spec: CustomerSpec) -> Result<Customer> {
        self.0.write(move |u| create(u, spec, actor)).await
    }

    pub async fn get(&self, id: CustomerId) -> Result<Customer> {
        self.0.read(move |conn| customers::get(conn, id)).await
    }

    pub async fn list(&self, filter: CustomerFilter) -> Result<Vec<Customer>> {
        self.0.read(move |conn| customers::list(conn, &filter)).await
    }

    pub async fn update(&self, actor: Actor, id: CustomerId, change: CustomerChange) -> Result<Customer> {
        self.0.write(move |u| update(u, id, change, actor)).await
    }

    pub async fn delete(&self, id: CustomerId) -> Result<()> {
        self.0.write(move |u| delete(u, id)).await
    }

    pub async fn add_identity(&self, actor: Actor, id: CustomerId, kind: IdentityKind, value: String) -> Result<Customer> {
        self.0.write(move |u| add_identity(u, id, kind, &value, actor)).await
    }

    pub async fn remove_identity(&self, actor: Actor, id: CustomerId, identity: IdentityId) -> Result<Customer> {
        self.0.write(move |u| remove_identity(u, id, identity, actor)).await
    }

    pub async fn merge(&self, acting: ActingAgent, target: CustomerId, source: CustomerId) -> Result<Customer> {
        self.0.write(move |u| merge(u, target, source, acting)).await
    }
}
