//! Who a case's replies go to: the customer and the people in the conversation (who wrote in or
//! were copied). An agent may take someone out; new mail adds people only up to a limit, so a
//! message copied to a thousand addresses cannot make every reply go to all of them.

use opora_domain::case::ActingAgent;
use opora_domain::customer::Customer;
use opora_domain::event::{Actor, EventData, ParticipantRemoved};
use opora_domain::{CaseId, CustomerId, DomainError};
use opora_store::db::Conn;
use opora_store::{cases, customers};

use super::Cases;
use super::access::{editable, seen};
use crate::{Result, Unit};

/// The people in the conversation, in the order they joined, with how they joined.
pub(crate) fn people(conn: &mut dyn Conn, id: CaseId) -> opora_store::Result<Vec<(Customer, String)>> {
    let joined = cases::participants(conn, id)?;
    let ids: Vec<CustomerId> = joined.iter().map(|(customer, _)| *customer).collect();
    let found = customers::get_many(conn, &ids)?;
    Ok(joined.into_iter().filter_map(|(id, role)| Some((found.iter().find(|c| c.id == id)?.clone(), role))).collect())
}

fn take_out(u: &mut Unit<'_, '_>, id: CaseId, actor: ActingAgent, customer: CustomerId) -> opora_store::Result<()> {
    editable(u, actor, id)?;
    if !cases::remove_participant(u.tx(), id, customer)? {
        return Err(DomainError::NotFound("customer").into());
    }
    cases::touch(u.tx(), id)?;
    let data = ParticipantRemoved { customer_id: customer };
    u.emit(Some(id), Some(customer), Actor::agent(actor.id), EventData::CaseParticipantRemoved(data))?;
    Ok(())
}

impl Cases<'_> {
    /// The people in a case's conversation besides its customer, with how they joined.
    pub async fn participants(&self, reader: ActingAgent, id: CaseId) -> Result<Vec<(Customer, String)>> {
        let rules = self.0.config().access;
        self.0
            .read(move |conn| {
                seen(conn, reader, id, rules)?;
                people(conn, id)
            })
            .await
    }

    /// Takes someone out of the conversation: replies stop going to them. A message of theirs
    /// that names the case afterwards opens a case of their own, linked to this one.
    pub async fn remove_participant(&self, actor: ActingAgent, id: CaseId, customer: CustomerId) -> Result<()> {
        self.0.write(move |u| take_out(u, id, actor, customer)).await
    }
}
