//! Complaints are a gift, and a customer who had to complain several times is looked after
//! first: once their complaints in the window reach the threshold they join "our clients", whose
//! every new case starts at high priority (and so with the tighter deadline). A complaint is
//! worked by the complaint playbook's guided reply.

use opora_domain::case::CaseKind;
use opora_domain::event::{Actor, Event, EventData};
use opora_domain::playbook::choose;
use opora_store::{cases, customers, playbooks};

use crate::Unit;
use crate::customers::CustomerChange;
use crate::listeners::Listener;

pub(crate) struct OurClients;

fn became_complaint(event: &Event) -> bool {
    match &event.data {
        EventData::CaseCreated(created) => created.kind == CaseKind::Complaint,
        EventData::CaseUpdated(updated) => updated.changes.get("kind").is_some_and(|c| c.to == CaseKind::Complaint.as_str()),
        _ => false,
    }
}

impl Listener for OurClients {
    fn name(&self) -> &'static str {
        "our_clients"
    }

    fn on_event(&self, u: &mut Unit<'_, '_>, event: &Event) -> opora_store::Result<()> {
        let (threshold, days) = (u.config().care.our_clients_after_complaints, u.config().care.complaint_window_days);
        let Some(customer) = event.customer_id.filter(|_| threshold > 0 && became_complaint(event)) else { return Ok(()) };
        if customers::get(u.conn(), customer)?.our_client {
            return Ok(());
        }
        let since = u.now().plus_minutes(-days * 24 * 60);
        if cases::complaints_since(u.conn(), customer, since)? >= threshold {
            let change = CustomerChange { our_client: Some(true), ..Default::default() };
            crate::customers::update(u, customer, change, Actor::SYSTEM)?;
        }
        Ok(())
    }
}

/// A complaint is answered by the guided reply of its playbook (thank, say why it matters,
/// apologise, say what we do, agree a resolution): the fitting one goes on the case as it
/// becomes a complaint, unless the case already follows one.
pub(crate) struct ComplaintPlaybook;

impl Listener for ComplaintPlaybook {
    fn name(&self) -> &'static str {
        "complaint_playbook"
    }

    fn on_event(&self, u: &mut Unit<'_, '_>, event: &Event) -> opora_store::Result<()> {
        let Some(id) = event.case_id.filter(|_| became_complaint(event)) else { return Ok(()) };
        let care = playbooks::care(u.conn(), id)?;
        if care.playbook_id.is_some() {
            return Ok(());
        }
        let case = cases::get(u.conn(), id)?;
        let all = playbooks::list(u.conn())?;
        let Some(playbook) = choose(&all, CaseKind::Complaint, case.category.as_deref(), &[]) else { return Ok(()) };
        super::playbooks::put_on(u, &case, playbook, care, Actor::SYSTEM)
    }
}
