//! Orders and performers as rows: found by the business system's ids, the stages each reached,
//! the cases that belong to an order.

use opora_domain::compensation::Money;
use opora_domain::order::{Extra, ExtraStatus, Order, Performer, StageReached};
use opora_domain::{CaseId, CustomerId, DomainError, ExtraId, OrderId, PerformerId, Timestamp};

use crate::db::{Conn, DbError, Row, Value};
use crate::{Result, Tx};

const COLUMNS: &str = "o.id, o.external_id, o.order_type, o.customer_id, o.stage, o.description, o.address, o.amount_minor, o.currency, \
     o.eta_at, o.tracking_url, o.public_token, o.case_id, o.created_at, o.updated_at, p.id, p.external_id, p.name";
const FROM: &str = "orders o left join performers p on p.id = o.performer_id";

fn from_row(r: &Row<'_>) -> Result<Order, DbError> {
    let amount: Option<i64> = r.get(7)?;
    let currency: Option<String> = r.get(8)?;
    let performer: Option<PerformerId> = r.get(15)?;
    Ok(Order {
        id: r.get(0)?,
        external_id: r.get(1)?,
        order_type: r.get(2)?,
        customer_id: r.get(3)?,
        stage: r.get(4)?,
        description: r.get(5)?,
        address: r.get(6)?,
        amount: amount.zip(currency).map(|(minor, currency)| Money { minor, currency }),
        eta_at: r.get(9)?,
        tracking_url: r.get(10)?,
        public_token: r.get(11)?,
        case_id: r.get(12)?,
        created_at: r.get(13)?,
        updated_at: r.get(14)?,
        performer: match performer {
            Some(_) => Some(performer_at(r, 15)?),
            None => None,
        },
        stages: Vec::new(),
    })
}

/// A performer read from three columns (id, external id, name) starting at `first`.
fn performer_at(r: &Row<'_>, first: usize) -> Result<Performer, DbError> {
    Ok(Performer { id: r.get(first)?, external_id: r.get(first + 1)?, name: r.get(first + 2)? })
}

fn with_stages(conn: &mut dyn Conn, order: Option<Order>) -> Result<Option<Order>> {
    let Some(mut order) = order else { return Ok(None) };
    order.stages = conn.all("select stage, at from order_stages where order_id = $1 order by at, stage", &[order.id.into()], |r| {
        Ok(StageReached { stage: r.get(0)?, at: r.get(1)? })
    })?;
    Ok(Some(order))
}

pub fn by_external_id(conn: &mut dyn Conn, external_id: &str) -> Result<Option<Order>> {
    let order = conn.opt(&format!("select {COLUMNS} from {FROM} where o.external_id = $1"), &[external_id.into()], from_row)?;
    with_stages(conn, order)
}

pub fn by_token(conn: &mut dyn Conn, token: &str) -> Result<Option<Order>> {
    let order = conn.opt(&format!("select {COLUMNS} from {FROM} where o.public_token = $1"), &[token.into()], from_row)?;
    with_stages(conn, order)
}

pub fn get(conn: &mut dyn Conn, id: OrderId) -> Result<Order> {
    let order = conn.opt(&format!("select {COLUMNS} from {FROM} where o.id = $1"), &[id.into()], from_row)?;
    with_stages(conn, order)?.ok_or_else(|| DomainError::NotFound("order").into())
}

/// A customer's orders, newest first (the customer panel).
pub fn of_customer(conn: &mut dyn Conn, customer: CustomerId, limit: i64) -> Result<Vec<Order>> {
    let sql = format!("select {COLUMNS} from {FROM} where o.customer_id = $1 order by o.created_at desc, o.id desc limit $2");
    Ok(conn.all(&sql, &[customer.into(), limit.into()], from_row)?)
}

/// What an order says besides its stage, as the business system last sent it.
#[derive(Debug, Clone)]
pub struct OrderFields {
    pub order_type: String,
    pub customer_id: CustomerId,
    pub performer_id: Option<PerformerId>,
    pub description: String,
    pub address: Option<String>,
    pub amount: Option<Money>,
    pub eta_at: Option<Timestamp>,
    pub tracking_url: Option<String>,
}

/// `$1` the row's key (external id or id), `$2`–`$11` what the business system says, `$12` now.
fn values<'a>(key: Value<'a>, fields: &'a OrderFields, stage: &'a str, now: opora_domain::Timestamp) -> [Value<'a>; 12] {
    [
        key,
        fields.order_type.as_str().into(),
        fields.customer_id.into(),
        fields.performer_id.into(),
        stage.into(),
        fields.description.as_str().into(),
        fields.address.as_deref().into(),
        fields.amount.as_ref().map(|a| a.minor).into(),
        fields.amount.as_ref().map(|a| a.currency.as_str()).into(),
        fields.eta_at.into(),
        fields.tracking_url.as_deref().into(),
        now.into(),
    ]
}

pub fn insert(tx: &mut Tx<'_>, external_id: &str, fields: &OrderFields, stage: &str, token: &str) -> Result<OrderId> {
    let now = tx.now;
    let mut params = values(external_id.into(), fields, stage, now).to_vec();
    params.push(token.into());
    Ok(OrderId(tx.int(
        "insert into orders (external_id, order_type, customer_id, performer_id, stage, description, address, amount_minor, currency,
                             eta_at, tracking_url, created_at, updated_at, public_token)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13) returning id",
        &params,
    )?))
}

pub fn update(tx: &mut Tx<'_>, id: OrderId, fields: &OrderFields, stage: &str) -> Result<()> {
    let now = tx.now;
    tx.execute(
        "update orders set order_type = $2, customer_id = $3, performer_id = $4, stage = $5, description = $6, address = $7,
         amount_minor = $8, currency = $9, eta_at = $10, tracking_url = $11, updated_at = $12 where id = $1",
        &values(id.into(), fields, stage, now),
    )?;
    Ok(())
}

/// Records that the order reached `stage` now (once per stage).
pub fn reach(tx: &mut Tx<'_>, id: OrderId, stage: &str) -> Result<()> {
    let now = tx.now;
    tx.execute(
        "insert into order_stages (order_id, stage, at) values ($1, $2, $3) on conflict do nothing",
        &[id.into(), stage.into(), now.into()],
    )?;
    Ok(())
}

/// The case the order's notifications go out on.
pub fn set_case(tx: &mut Tx<'_>, id: OrderId, case: CaseId) -> Result<()> {
    tx.execute("update orders set case_id = $2 where id = $1", &[id.into(), case.into()])?;
    Ok(())
}

/// Finds a performer by the business system's id, creating them or updating their name.
pub fn performer(tx: &mut Tx<'_>, external_id: &str, name: &str) -> Result<PerformerId> {
    let now = tx.now;
    Ok(PerformerId(tx.int(
        "insert into performers (external_id, name, created_at, updated_at) values ($1, $2, $3, $3)
         on conflict (external_id) do update set name = excluded.name, updated_at = excluded.updated_at returning id",
        &[external_id.into(), name.into(), now.into()],
    )?))
}

/// A performer's standing: ratings received, their average, and how many customers call them
/// their favourite.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PerformerStanding {
    pub performer: Performer,
    pub ratings: i64,
    pub average: Option<f64>,
    pub favourites: i64,
}

pub fn standing(conn: &mut dyn Conn, external_id: &str) -> Result<Option<PerformerStanding>> {
    let performer =
        conn.opt("select id, external_id, name from performers where external_id = $1", &[external_id.into()], |r| performer_at(r, 0))?;
    let Some(performer) = performer else { return Ok(None) };
    let (ratings, sum): (i64, i64) = conn.one(
        "select count(*), cast(coalesce(sum(score), 0) as bigint) from ratings where performer_id = $1 and score is not null",
        &[performer.id.into()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let favourites = conn.int("select count(*) from favourites where performer_id = $1", &[performer.id.into()])?;
    let average = (ratings > 0).then(|| sum as f64 / ratings as f64);
    Ok(Some(PerformerStanding { performer, ratings, average, favourites }))
}

/// The performers a customer marked as favourites (their business system's ids).
pub fn favourites_of(conn: &mut dyn Conn, customer: CustomerId) -> Result<Vec<Performer>> {
    Ok(conn.all(
        "select p.id, p.external_id, p.name from favourites f join performers p on p.id = f.performer_id
         where f.customer_id = $1 order by f.created_at",
        &[customer.into()],
        |r| performer_at(r, 0),
    )?)
}

pub fn add_favourite(tx: &mut Tx<'_>, customer: CustomerId, performer: PerformerId) -> Result<()> {
    let now = tx.now;
    tx.execute(
        "insert into favourites (customer_id, performer_id, created_at) values ($1, $2, $3) on conflict do nothing",
        &[customer.into(), performer.into(), now.into()],
    )?;
    Ok(())
}

const EXTRA_COLUMNS: &str = "id, order_id, description, amount_minor, currency, status, token, proposed_at, answered_at";

fn extra_from_row(r: &Row<'_>) -> Result<Extra, DbError> {
    Ok(Extra {
        id: r.get(0)?,
        order_id: r.get(1)?,
        description: r.get(2)?,
        amount: Money { minor: r.get(3)?, currency: r.get(4)? },
        status: r.parse(5, ExtraStatus::parse)?,
        token: r.get(6)?,
        proposed_at: r.get(7)?,
        answered_at: r.get(8)?,
    })
}

pub fn insert_extra(tx: &mut Tx<'_>, order: OrderId, description: &str, amount: &Money, token: &str) -> Result<Extra> {
    let now = tx.now;
    let id = ExtraId(tx.int(
        "insert into order_extras (order_id, description, amount_minor, currency, token, proposed_at) values ($1, $2, $3, $4, $5, $6) returning id",
        &[order.into(), description.into(), amount.minor.into(), amount.currency.as_str().into(), token.into(), now.into()],
    )?);
    Ok(tx.one(&format!("select {EXTRA_COLUMNS} from order_extras where id = $1"), &[id.into()], extra_from_row)?)
}

pub fn extra_by_token(conn: &mut dyn Conn, token: &str) -> Result<Option<Extra>> {
    Ok(conn.opt(&format!("select {EXTRA_COLUMNS} from order_extras where token = $1"), &[token.into()], extra_from_row)?)
}

/// Records the customer's answer; only the first counts. Returns whether this one did.
pub fn answer_extra(tx: &mut Tx<'_>, id: ExtraId, status: ExtraStatus) -> Result<bool> {
    let now = tx.now;
    let changed = tx.execute(
        "update order_extras set status = $2, answered_at = $3 where id = $1 and status = 'proposed'",
        &[id.into(), status.as_str().into(), now.into()],
    )?;
    Ok(changed == 1)
}

/// An order's extras, oldest first.
pub fn extras_of(conn: &mut dyn Conn, order: OrderId) -> Result<Vec<Extra>> {
    Ok(conn.all(&format!("select {EXTRA_COLUMNS} from order_extras where order_id = $1 order by id"), &[order.into()], extra_from_row)?)
}

pub fn set_eta(tx: &mut Tx<'_>, id: OrderId, eta: Timestamp) -> Result<()> {
    let now = tx.now;
    tx.execute("update orders set eta_at = $2, updated_at = $3 where id = $1", &[id.into(), eta.into(), now.into()])?;
    Ok(())
}
