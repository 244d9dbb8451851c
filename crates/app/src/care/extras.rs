//! Extra services at an agreed price: the performer or the business system proposes one, the
//! customer confirms or declines it on a page linked from their channel before anything is done,
//! and the answer goes back to the business system as an `order.extra` event (a webhook).

use opora_domain::DomainError;
use opora_domain::case::ActingAgent;
use opora_domain::compensation::Money;
use opora_domain::event::{Actor, EventData, OrderExtra};
use opora_domain::inbound::Party;
use opora_domain::order::{Extra, ExtraStatus, Order};
use opora_domain::outbound::Choice;
use opora_store::orders;

use super::choices::Press;
use super::orders::{Orders, conversation};
use super::{language_of, public_link, say};
use crate::Unit;

fn event(order: &Order, extra: &Extra) -> EventData {
    EventData::OrderExtra(OrderExtra {
        order_id: order.id,
        external_id: order.external_id.clone(),
        extra_id: extra.id,
        description: extra.description.clone(),
        amount: Money::format_minor(extra.amount.minor),
        currency: extra.amount.currency.clone(),
        status: extra.status.as_str().into(),
    })
}

/// An extra service as its page shows it, with the order and the customer's language.
#[derive(Debug, Clone)]
pub struct ExtraPage {
    pub extra: Extra,
    pub order: Order,
    pub language: opora_domain::agent::Language,
}

fn propose(u: &mut Unit<'_, '_>, acting: ActingAgent, external_id: &str, description: String, amount: Money) -> opora_store::Result<Extra> {
    let order = orders::by_external_id(u.conn(), external_id)?.ok_or(DomainError::NotFound("order"))?;
    super::unfinished(u, &order)?;
    let extra = orders::insert_extra(u.tx(), order.id, &description, &amount, &opora_store::auth::random_secret()?)?;
    let case = conversation(u, &order)?;
    u.emit(Some(case.id), Some(order.customer_id), Actor::agent(acting.id), event(&order, &extra))?;
    let language = language_of(u, order.customer_id)?;
    let price = Money::text(amount.minor, &amount.currency, language);
    let args = [
        ("order", order.external_id.clone()),
        ("extra", description),
        ("price", price),
        ("link", public_link(u, &format!("/extra/{}", extra.token))),
    ];
    let text = say(u, language, "order-extra-ask", &args);
    let choices = [(true, "extra-confirm"), (false, "extra-decline")].map(|(confirm, label)| Choice {
        label: say(u, language, label, &[]),
        data: super::choices::extra_data(&extra.token, confirm),
        link: None,
    });
    super::ask(u, &case, text, choices.to_vec())?;
    Ok(extra)
}

/// Yes or no pressed in a messenger.
pub(crate) fn press(u: &mut Unit<'_, '_>, token: &str, confirm: bool, sender: &Party) -> opora_store::Result<Option<Press>> {
    let Some(extra) = orders::extra_by_token(u.conn(), token)? else { return Ok(None) };
    let order = orders::get(u.conn(), extra.order_id)?;
    if !super::choices::pressed_by(u, sender, order.customer_id)? {
        return Ok(Some(Press::noted(None, order.customer_id, "choice-not-yours")));
    }
    let note = if answer(u, token, confirm)?.is_some() { "choice-thanks" } else { "choice-already" };
    Ok(Some(Press::noted(order.case_id, order.customer_id, note)))
}

fn answer(u: &mut Unit<'_, '_>, token: &str, confirm: bool) -> opora_store::Result<Option<Extra>> {
    let extra = orders::extra_by_token(u.conn(), token)?.ok_or(DomainError::NotFound("extra"))?;
    let status = if confirm { ExtraStatus::Confirmed } else { ExtraStatus::Declined };
    if !orders::answer_extra(u.tx(), extra.id, status)? {
        return Ok(None);
    }
    let order = orders::get(u.conn(), extra.order_id)?;
    let case = conversation(u, &order)?;
    let answered = Extra { status, answered_at: Some(u.now()), ..extra };
    u.emit(Some(case.id), Some(order.customer_id), Actor::customer(order.customer_id), event(&order, &answered))?;
    Ok(Some(answered))
}

impl Orders<'_> {
    /// Offers the customer an extra service at a price; nothing is done until they confirm.
    pub async fn propose_extra(
        &self,
        acting: ActingAgent,
        external_id: String,
        description: String,
        amount: Money,
    ) -> crate::Result<Extra> {
        self.app().write(move |u| propose(u, acting, &external_id, description, amount)).await
    }

    /// An order's extras, oldest first.
    pub async fn extras(&self, external_id: String) -> crate::Result<Vec<Extra>> {
        self.app()
            .read(move |conn| {
                let order = orders::by_external_id(conn, &external_id)?.ok_or(DomainError::NotFound("order"))?;
                orders::extras_of(conn, order.id)
            })
            .await
    }

    /// The page of an extra, by the token in its address.
    pub async fn extra_page(&self, token: String) -> crate::Result<Option<ExtraPage>> {
        let default = self.app().config().care.language;
        self.app()
            .read(move |conn| {
                let Some(extra) = orders::extra_by_token(conn, &token)? else { return Ok(None) };
                let order = orders::get(conn, extra.order_id)?;
                let language = super::customer_language(conn, order.customer_id, default)?;
                Ok(Some(ExtraPage { extra, order, language }))
            })
            .await
    }

    /// The customer's answer; `None` when they had already answered (only the first counts).
    pub async fn answer_extra(&self, token: String, confirm: bool) -> crate::Result<Option<Extra>> {
        self.app().write(move |u| answer(u, &token, confirm)).await
    }
}
