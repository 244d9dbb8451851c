//! Orders pushed by the business system: created or updated by its own id in one idempotent
//! call; each stage reached is told to the customer on their channel, in their language; the
//! completion asks for a rating.

use opora_domain::case::{ActingAgent, Case};
use opora_domain::compensation::Money;
use opora_domain::event::{Actor, EventData, OrderStageChanged};
use opora_domain::order::{CREATED, KNOWN_STAGES, Move, Order};
use opora_domain::{DomainError, FieldError, Timestamp};
use opora_store::orders::{self, OrderFields, PerformerStanding};
use opora_store::playbooks::{self, CaseCare};
use opora_store::{StoreError, cases};

use super::{language_of, public_link, say, tell};
use crate::customers::{self, CustomerRef};
use crate::{App, Result, Unit};

/// An order as the business system sends it. Whatever is left out keeps its value; a new order
/// needs its customer.
#[derive(Debug, Clone, Default)]
pub struct PutOrder {
    pub order_type: Option<String>,
    pub customer: Option<CustomerRef>,
    /// The performer's id in the business system and their name.
    pub performer: Option<(String, String)>,
    pub stage: Option<String>,
    pub description: Option<String>,
    pub address: Option<String>,
    pub amount: Option<Money>,
    pub eta_at: Option<Timestamp>,
    pub tracking_url: Option<String>,
}

/// What a put did.
#[derive(Debug, Clone, PartialEq)]
pub struct Put {
    pub order: Order,
    pub created: bool,
}

pub struct Orders<'a>(&'a App);

impl App {
    pub fn orders(&self) -> Orders<'_> {
        Orders(self)
    }
}

impl Orders<'_> {
    pub(crate) fn app(&self) -> &App {
        self.0
    }

    /// Creates or updates the order `external_id` as the business system describes it.
    pub async fn put(&self, acting: ActingAgent, external_id: String, input: PutOrder) -> Result<Put> {
        self.0.write(move |u| put(u, acting, &external_id, input)).await
    }

    pub async fn get(&self, external_id: String) -> Result<Order> {
        self.0.read(move |conn| orders::by_external_id(conn, &external_id)?.ok_or_else(|| DomainError::NotFound("order").into())).await
    }

    /// The customer's page of an order, by the token in its address.
    pub async fn track(&self, token: String) -> Result<Option<Order>> {
        self.0.read(move |conn| orders::by_token(conn, &token)).await
    }

    /// A customer's orders, newest first.
    pub async fn of_customer(&self, customer: opora_domain::CustomerId) -> Result<Vec<Order>> {
        self.0.read(move |conn| orders::of_customer(conn, customer, 20)).await
    }

    /// A performer's ratings and favourites, by the business system's id.
    pub async fn performer(&self, external_id: String) -> Result<PerformerStanding> {
        self.0.read(move |conn| orders::standing(conn, &external_id)?.ok_or_else(|| DomainError::NotFound("performer").into())).await
    }

    /// The performers a customer marked as favourites, for the business system's scheduling.
    pub async fn favourites(&self, customer: opora_domain::CustomerId) -> Result<Vec<opora_domain::order::Performer>> {
        self.0.read(move |conn| orders::favourites_of(conn, customer)).await
    }
}

pub(crate) fn put(u: &mut Unit<'_, '_>, acting: ActingAgent, external_id: &str, input: PutOrder) -> opora_store::Result<Put> {
    // Pushes of one order go one at a time (a retry racing the original, two stages at once), so
    // a stage is checked against the one really stored.
    u.tx().serialize(&[format!("order:{external_id}")])?;
    let existing = orders::by_external_id(u.conn(), external_id)?;
    // An order's type and customer are what it was created with: a different type would reopen
    // a finished order, another customer would receive the first one's conversation.
    if let (Some(order), Some(asked)) = (&existing, &input.order_type)
        && *asked != order.order_type
    {
        return Err(DomainError::field("order_type", "read_only").into());
    }
    let type_name =
        input.order_type.clone().or_else(|| existing.as_ref().map(|o| o.order_type.clone())).unwrap_or_else(|| "default".into());
    let care = &u.config().care;
    let order_type = care.order_type(&type_name).map_err(|e| DomainError::Validation(vec![e]))?.clone();
    let to = input.stage.clone().or_else(|| existing.as_ref().map(|o| o.stage.clone())).unwrap_or_else(|| CREATED.into());
    let step = order_type.step(existing.as_ref().map(|o| o.stage.as_str()), &to).map_err(|e| DomainError::Validation(vec![e]))?;
    let customer_id = match (input.customer, &existing) {
        (Some(CustomerRef::Id(id)), _) => match opora_store::customers::get(u.conn(), id) {
            Ok(customer) => customer.id,
            Err(StoreError::Domain(DomainError::NotFound(_))) => return Err(DomainError::field("customer.id", "not_found").into()),
            Err(other) => return Err(other),
        },
        (Some(reference), _) => customers::identify(u, reference, None, Actor::agent(acting.id))?.0,
        (None, Some(order)) => order.customer_id,
        (None, None) => return Err(DomainError::Validation(vec![FieldError::required("customer")]).into()),
    };
    if existing.as_ref().is_some_and(|o| o.customer_id != customer_id) {
        return Err(DomainError::field("customer", "read_only").into());
    }
    let performer_id = match &input.performer {
        Some((id, name)) => Some(orders::performer(u.tx(), id, name)?),
        None => existing.as_ref().and_then(|o| o.performer.as_ref().map(|p| p.id)),
    };
    let keep = |new: Option<String>, old: Option<&Order>, get: fn(&Order) -> Option<String>| new.or_else(|| old.and_then(get));
    let old = existing.as_ref();
    let fields = OrderFields {
        order_type: type_name,
        customer_id,
        performer_id,
        description: input.description.or_else(|| old.map(|o| o.description.clone())).unwrap_or_default(),
        address: keep(input.address, old, |o| o.address.clone()),
        amount: input.amount.or_else(|| old.and_then(|o| o.amount.clone())),
        eta_at: input.eta_at.or_else(|| old.and_then(|o| o.eta_at)),
        tracking_url: keep(input.tracking_url, old, |o| o.tracking_url.clone()),
    };
    let id = match &existing {
        Some(order) => {
            orders::update(u.tx(), order.id, &fields, &to)?;
            order.id
        }
        None => orders::insert(u.tx(), external_id, &fields, &to, &opora_store::auth::random_secret()?)?,
    };
    let eta_moved = existing.as_ref().is_some_and(|o| o.eta_at.is_some() && input.eta_at.is_some() && o.eta_at != input.eta_at);
    // The expected time is watched: passing it without the next stage is a delay.
    let eta_changed = existing.as_ref().map_or(fields.eta_at.is_some(), |o| o.eta_at != fields.eta_at);
    if let Some(eta) = fields.eta_at.filter(|_| (eta_changed || step == Move::Forward) && !order_type.is_final(&to)) {
        u.enqueue(super::delays::EtaCheck::at(id, &to, eta))?;
    }
    if step == Move::Forward {
        orders::reach(u.tx(), id, &to)?;
        let data = OrderStageChanged {
            order_id: id,
            external_id: external_id.to_owned(),
            from: existing.as_ref().map(|o| o.stage.clone()),
            to: to.clone(),
            eta_at: fields.eta_at,
        };
        let order = orders::get(u.conn(), id)?;
        let case = conversation(u, &order)?;
        u.emit(Some(case.id), Some(customer_id), Actor::agent(acting.id), EventData::OrderStageChanged(data))?;
        let mut text = stage_text(u, &order)?;
        let mut choices = Vec::new();
        if order_type.is_completion(&to)
            && let Some(request) = super::ratings::ask_about_order(u, &order)?
        {
            text = format!("{text}\n\n{}", request.text);
            choices = request.choices;
        }
        super::ask(u, &case, text, choices)?;
    } else if eta_moved && !order_type.is_final(&to) {
        let order = orders::get(u.conn(), id)?;
        let case = conversation(u, &order)?;
        let language = language_of(u, customer_id)?;
        let eta = eta_text(u, &order, language);
        let text = say(u, language, "order-eta-moved", &[("order", order.external_id.clone()), ("eta", eta)]);
        tell(u, &case, text)?;
    }
    Ok(Put { order: orders::get(u.conn(), id)?, created: existing.is_none() })
}

fn eta_text(u: &Unit<'_, '_>, order: &Order, language: opora_domain::agent::Language) -> String {
    order.eta_at.map(|eta| super::when::customer_time(eta, u.now(), u.config().care.utc_offset_minutes, language)).unwrap_or_default()
}

/// What the customer is told of the stage their order reached: a line per stage in their
/// language, the time when one is known, the order page's address on the first.
fn stage_text(u: &mut Unit<'_, '_>, order: &Order) -> opora_store::Result<String> {
    let language = language_of(u, order.customer_id)?;
    let eta = eta_text(u, order, language);
    // A stage that waits for the next one says when, if the business system said.
    let timed = ["accepted", "in_progress", "on_the_way"].contains(&order.stage.as_str()) && !eta.is_empty();
    let key = match (KNOWN_STAGES.contains(&order.stage.as_str()), timed) {
        (true, true) => format!("order-stage-{}-eta", order.stage),
        (true, false) => format!("order-stage-{}", order.stage),
        (false, _) => "order-stage-other".into(),
    };
    let args = [
        ("order", order.external_id.clone()),
        ("stage", order.stage.clone()),
        ("eta", eta),
        ("performer", order.performer.as_ref().map(|p| p.name.clone()).unwrap_or_default()),
        ("link", public_link(u, &format!("/track/{}", order.public_token))),
    ];
    Ok(say(u, language, &key, &args))
}

/// The case an order's notifications go out on, opened with the first one (a record case).
pub(crate) fn conversation(u: &mut Unit<'_, '_>, order: &Order) -> opora_store::Result<Case> {
    if let Some(id) = order.case_id {
        match cases::get(u.conn(), id) {
            Err(StoreError::Domain(DomainError::NotFound(_))) => {}
            found => return found,
        }
    }
    let language = language_of(u, order.customer_id)?;
    let subject = say(u, language, "order-subject", &[("order", order.external_id.clone())]);
    let case = super::record_case(u, order.customer_id, subject)?;
    orders::set_case(u.tx(), order.id, case.id)?;
    playbooks::save_care(u.tx(), case.id, &CaseCare { order_id: Some(order.id), ..Default::default() })?;
    Ok(case)
}
