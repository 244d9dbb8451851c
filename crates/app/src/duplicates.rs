//! One person, many identities: customers who may be the same person (the same name, met
//! through different channels) are offered for merging; a customer who turns out to be two
//! people is split, an identity and the cases that came through its channels moving to a new
//! customer with their whole history.

use opora_domain::DomainError;
use opora_domain::case::ActingAgent;
use opora_domain::customer::Customer;
use opora_domain::event::{Actor, CustomerCreated, EventData};
use opora_domain::{CustomerId, FieldError, IdentityId};
use opora_store::customers::{self, NewCustomer};
use opora_store::{case_list, cases};

use crate::{App, Result, Unit};

pub struct Duplicates<'a>(&'a App);

impl App {
    pub fn duplicates(&self) -> Duplicates<'_> {
        Duplicates(self)
    }
}

fn split(u: &mut Unit<'_, '_>, acting: ActingAgent, id: CustomerId, identities: Vec<IdentityId>) -> opora_store::Result<Customer> {
    let rules = u.config().access;
    if let Some(sight) = crate::cases::access::sight(u.conn(), acting, rules)?
        && case_list::any_out_of_sight(u.conn(), &[id], &sight)?
    {
        return Err(DomainError::Forbidden.into());
    }
    let customer = customers::get(u.conn(), id)?;
    if customer.id != id {
        return Err(DomainError::NotFound("customer").into());
    }
    let chosen: Vec<_> = customer.identities.iter().filter(|i| identities.contains(&i.id)).collect();
    if chosen.is_empty() || chosen.len() != identities.len() {
        return Err(DomainError::field("identity_ids", "not_found").into());
    }
    if chosen.len() == customer.identities.len() {
        return Err(DomainError::field("identity_ids", "keeps_none").into());
    }
    // The cases that came through channels reaching the identities split off go with them.
    let kinds: Vec<_> = chosen.iter().map(|i| i.kind).collect();
    let moved: Vec<_> = cases::recent_of_customer(u.conn(), id, opora_domain::Timestamp(0), 10_000)?
        .into_iter()
        .filter(|c| c.channel_kind.reaches().is_some_and(|k| kinds.contains(&k)))
        .map(|c| c.id)
        .collect();
    let new = NewCustomer { name: customer.name.clone(), company: None, language: customer.language, our_client: false, note: None };
    let other = customers::insert(u.tx(), &new)?;
    customers::split_off(u.tx(), id, other, &identities, &moved)?;
    let data = CustomerCreated { customer_id: other, name: customer.name.clone() };
    u.emit(None, Some(other), Actor::agent(acting.id), EventData::CustomerCreated(data))?;
    customers::get(u.conn(), other)
}

impl Duplicates<'_> {
    /// Customers who may be this one under another identity.
    pub async fn similar(&self, id: CustomerId) -> Result<Vec<Customer>> {
        self.0
            .read(move |conn| {
                let customer = customers::get(conn, id)?;
                let ids = customers::same_name(conn, &customer.name, customer.id, 5)?;
                customers::get_many(conn, &ids)
            })
            .await
    }

    /// Splits identities (and the cases that came through their channels) off into a new
    /// customer; returns the new one.
    pub async fn split(&self, acting: ActingAgent, id: CustomerId, identities: Vec<IdentityId>) -> Result<Customer> {
        if identities.is_empty() {
            return Err(DomainError::Validation(vec![FieldError::required("identity_ids")]).into());
        }
        self.0.write(move |u| split(u, acting, id, identities)).await
    }
}
