//! Delays, shortages and defects told before the customer asks: when the business system reports
//! one, or the expected time passes without the next stage, the customer hears at once (with the
//! new time when there is one) and a case opens with an owner from the claims team, the playbook
//! for its kind attached.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use opora_domain::case::{ActingAgent, Priority};
use opora_domain::event::{Actor, EventData, OrderDelayed};
use opora_domain::order::{DelayKind, Order};
use opora_domain::{CaseId, DomainError, OrderId, Timestamp};
use opora_store::jobs::{Job, NewJob};
use opora_store::orders;
use opora_store::playbooks::CaseCare;
use serde::{Deserialize, Serialize};

use super::orders::{Orders, conversation};
use super::problems::Problem;
use super::{language_of, say, tell};
use crate::jobs::{JobHandler, JobPayload, Outcome, handler};
use crate::{App, Unit};

/// The playbook category each kind of trouble calls for.
fn category(kind: DelayKind) -> &'static str {
    match kind {
        DelayKind::Delay | DelayKind::EtaPassed => "delay",
        DelayKind::Shortage => "incomplete",
        DelayKind::Defect => "quality",
    }
}

/// What the business system reports.
#[derive(Debug, Clone)]
pub struct Trouble {
    pub kind: DelayKind,
    /// What the customer is told besides the kind: the alternative offered, what is missing.
    pub note: String,
    /// The new expected time, when there is one.
    pub eta_at: Option<Timestamp>,
}

/// Tells the customer, opens the case, records it; returns the case.
pub(crate) fn report(u: &mut Unit<'_, '_>, order: &Order, trouble: Trouble, actor: Actor) -> opora_store::Result<CaseId> {
    super::unfinished(u, order)?;
    if let Some(eta) = trouble.eta_at {
        orders::set_eta(u.tx(), order.id, eta)?;
        u.enqueue(EtaCheck::at(order.id, &order.stage, eta))?;
    }
    let language = language_of(u, order.customer_id)?;
    let eta = trouble.eta_at.map(|eta| super::when::customer_time(eta, u.now(), u.config().care.utc_offset_minutes, language));
    let conversation = conversation(u, order)?;
    let mut lines = vec![say(u, language, &format!("order-trouble-{}", trouble.kind), &[("order", order.external_id.clone())])];
    if let Some(eta) = &eta {
        lines.push(say(u, language, "order-trouble-eta", &[("eta", eta.clone())]));
    }
    if !trouble.note.is_empty() {
        lines.push(trouble.note.clone());
    }
    tell(u, &conversation, lines.join(" "))?;

    let problem = Problem {
        subject: say(u, language, &format!("order-trouble-subject-{}", trouble.kind), &[("order", order.external_id.clone())]),
        customer_id: order.customer_id,
        priority: Priority::High,
        about: &conversation,
        category: Some(category(trouble.kind)),
        reasons: &[],
        assign: true,
        care: CaseCare { order_id: Some(order.id), ..Default::default() },
        actor,
    };
    let case = super::problems::open(u, problem)?;
    let data = OrderDelayed {
        order_id: order.id,
        external_id: order.external_id.clone(),
        kind: trouble.kind.as_str().into(),
        note: trouble.note,
        eta_at: trouble.eta_at,
        case_id: case.id,
    };
    u.emit(Some(case.id), Some(order.customer_id), actor, EventData::OrderDelayed(data))?;
    Ok(case.id)
}

impl Orders<'_> {
    /// The business system reports trouble with an order: the customer is told, a case opens.
    pub async fn report_trouble(&self, acting: ActingAgent, external_id: String, trouble: Trouble) -> crate::Result<(Order, CaseId)> {
        self.app()
            .write(move |u| {
                let order = orders::by_external_id(u.conn(), &external_id)?.ok_or(DomainError::NotFound("order"))?;
                let case = report(u, &order, trouble, Actor::agent(acting.id))?;
                Ok((orders::get(u.conn(), order.id)?, case))
            })
            .await
    }
}

/// The check at an order's expected time (`order.eta_check`): still at the stage it was when
/// the time was set, with that time, and unfinished, it is late.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EtaCheck {
    pub order_id: OrderId,
    pub stage: String,
    pub eta_at: i64,
}

impl JobPayload for EtaCheck {
    const KIND: &'static str = "order.eta_check";
}

impl EtaCheck {
    pub(crate) fn at(order: OrderId, stage: &str, eta: Timestamp) -> NewJob {
        EtaCheck { order_id: order, stage: stage.to_owned(), eta_at: eta.millis() }
            .job()
            .unique(format!("order.eta:{order}:{stage}:{}", eta.millis()))
            .at(eta)
            .attempts(5)
    }
}

fn check(u: &mut Unit<'_, '_>, check: &EtaCheck) -> opora_store::Result<()> {
    let order = orders::get(u.conn(), check.order_id)?;
    let order_type = u.config().care.type_of(&order.order_type);
    let late = order.stage == check.stage && order.eta_at == Some(Timestamp(check.eta_at)) && !order_type.is_final(&order.stage);
    if late && u.now() >= Timestamp(check.eta_at) {
        report(u, &order, Trouble { kind: DelayKind::EtaPassed, note: String::new(), eta_at: None }, Actor::SYSTEM)?;
    }
    Ok(())
}

pub(crate) fn job() -> Arc<dyn JobHandler> {
    fn run<'a>(app: &'a App, payload: EtaCheck, _: &'a Job) -> BoxFuture<'a, Outcome> {
        Box::pin(async move { super::job_outcome(app.write(move |u| check(u, &payload)).await) })
    }
    handler(run)
}
