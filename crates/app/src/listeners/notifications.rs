//! Notifications: the events that concern an agent personally — a case assigned or handed to
//! them, being pulled into a case, the customer answering on a case they own or help with, a
//! missed deadline on their case, a reply of theirs that could not be delivered; for admins, a
//! channel that broke.

use opora_domain::AgentId;
use opora_domain::event::{Event, EventData};
use opora_domain::message::{DeliveryStatus, Direction};
use opora_store::{agents, cases, messages, notifications};

use super::Listener;
use crate::Unit;

pub struct Notifications;

/// Who an event concerns, never counting the one who caused it.
fn recipients(unit: &mut Unit<'_, '_>, event: &Event) -> opora_store::Result<Vec<AgentId>> {
    let mut agents = match &event.data {
        EventData::CaseOwnerAssigned(data) => vec![data.owner_id],
        EventData::CaseOwnerTransferred(data) => vec![data.to],
        EventData::CaseCollaboratorAdded(data) => vec![data.agent_id],
        EventData::CaseDeadlineMissed(data) => data.owner_id.into_iter().collect(),
        // A reply that did not reach the customer: its author and the case's owner must know.
        EventData::MessageDeliveryChanged(data) if data.status == DeliveryStatus::Failed => match event.case_id {
            Some(case) => {
                let owner = cases::get(unit.conn(), case)?.owner_id;
                owner.into_iter().chain(messages::author_agent(unit.conn(), data.message_id)?).collect()
            }
            None => Vec::new(),
        },
        // A grant over the budget waits for a supervisor; a refusal goes back to who asked.
        EventData::CompensationRequested(_) => agents::active_supervisor_ids(unit.conn())?,
        EventData::CompensationRefused(data) => vec![data.requested_by],
        // A channel that waits for an admin: every admin hears of it.
        EventData::ChannelBroken(_) => agents::active_admin_ids(unit.conn())?,
        EventData::MessageAdded(data) if data.direction == Direction::Inbound => match event.case_id {
            Some(case) => cases::workers(unit.conn(), case)?,
            None => Vec::new(),
        },
        _ => Vec::new(),
    };
    if let Some(actor) = event.actor.agent_id() {
        agents.retain(|a| *a != actor);
    }
    agents.sort();
    agents.dedup();
    Ok(agents)
}

impl Listener for Notifications {
    fn name(&self) -> &'static str {
        "notifications"
    }

    fn on_event(&self, unit: &mut Unit<'_, '_>, event: &Event) -> opora_store::Result<()> {
        for agent in recipients(unit, event)? {
            notifications::insert(unit.tx(), agent, event)?;
        }
        Ok(())
    }
}
