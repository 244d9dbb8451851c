//! `/api/v1/orders/{external_id}`: the business system pushes its orders by its own ids; each
//! stage reached is told to the customer. `/api/v1/performers/{external_id}`: a performer's
//! ratings and favourites.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use opora_app::care::delays::Trouble;
use opora_app::care::orders::PutOrder;
use opora_domain::agent::Action;
use opora_domain::error::Errors;
use opora_domain::order::{DelayKind, Extra, Order, Performer, parse_external_id};
use opora_domain::validate::{line, text};
use opora_domain::{CustomerId, FieldError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::cases::parse_time;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{ApiJson, PathId};
use crate::input::{CustomerInput, MoneyInput};
use crate::views::MoneyView;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PerformerInput {
    /// The performer's id in the business system.
    #[schema(required)]
    pub external_id: Option<String>,
    #[schema(required)]
    pub name: Option<String>,
}

/// An order as the business system sends it; what is left out keeps its value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    /// An order type from the configuration (`default` when new and not given).
    pub order_type: Option<String>,
    /// Who the order is for, as a new case's customer; required for a new order.
    pub customer: Option<CustomerInput>,
    pub performer: Option<PerformerInput>,
    /// `created`, `accepted`, `in_progress`, `on_the_way`, `completed` or `cancelled` (or the
    /// order type's own); never backwards.
    pub stage: Option<String>,
    /// When the next stage is expected (RFC 3339).
    pub eta: Option<String>,
    pub amount: Option<MoneyInput>,
    pub description: Option<String>,
    pub address: Option<String>,
    /// Where the customer can follow the order (http or https).
    pub tracking_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PerformerView {
    pub external_id: String,
    pub name: String,
}

impl From<&Performer> for PerformerView {
    fn from(p: &Performer) -> Self {
        Self { external_id: p.external_id.clone(), name: p.name.clone() }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StageView {
    pub stage: String,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    pub external_id: String,
    pub order_type: String,
    pub customer_id: i64,
    pub performer: Option<PerformerView>,
    pub stage: String,
    /// Every stage reached, oldest first.
    pub stages: Vec<StageView>,
    pub eta: Option<String>,
    pub amount: Option<MoneyView>,
    pub description: String,
    pub address: Option<String>,
    pub tracking_url: Option<String>,
    /// The case its notifications went out on.
    pub case_id: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Order> for OrderView {
    fn from(o: &Order) -> Self {
        Self {
            external_id: o.external_id.clone(),
            order_type: o.order_type.clone(),
            customer_id: o.customer_id.0,
            performer: o.performer.as_ref().map(PerformerView::from),
            stage: o.stage.clone(),
            stages: o.stages.iter().map(|s| StageView { stage: s.stage.clone(), at: s.at.to_rfc3339() }).collect(),
            eta: o.eta_at.map(|t| t.to_rfc3339()),
            amount: o.amount.as_ref().map(MoneyView::from),
            description: o.description.clone(),
            address: o.address.clone(),
            tracking_url: o.tracking_url.clone(),
            case_id: o.case_id.map(|c| c.0),
            created_at: o.created_at.to_rfc3339(),
            updated_at: o.updated_at.to_rfc3339(),
        }
    }
}

fn parse_url(value: &str, errors: &mut Errors) -> Option<String> {
    let value = errors.take(line("tracking_url", value, 1, 2000))?;
    let lower = value.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        Some(value)
    } else {
        errors.push(FieldError::new("tracking_url", "invalid_url"));
        None
    }
}

fn parse(input: OrderInput, currency: &str) -> Result<PutOrder, crate::error::ApiError> {
    let mut errors = Errors::default();
    let customer = input.customer.as_ref().and_then(|c| c.parse(&mut errors));
    let performer = input.performer.as_ref().and_then(|p| {
        let id = match p.external_id.as_deref() {
            Some(id) => errors.take(line("performer.external_id", id, 1, 100)),
            None => {
                errors.push(FieldError::required("performer.external_id"));
                None
            }
        };
        let name = errors.take(line("performer.name", p.name.as_deref().unwrap_or(""), 1, 200));
        id.zip(name)
    });
    let stage = input.stage.as_deref().map(str::trim).map(str::to_owned);
    let put = PutOrder {
        order_type: input.order_type.as_deref().map(str::trim).map(str::to_owned),
        customer,
        performer,
        stage,
        description: input.description.as_deref().and_then(|d| errors.take(text("description", d, 0, 5000))),
        address: input.address.as_deref().and_then(|a| errors.take(line("address", a, 1, 500))),
        amount: input.amount.as_ref().and_then(|m| m.parse("amount", currency, &mut errors)),
        eta_at: input.eta.as_deref().and_then(|t| parse_time("eta", t, &mut errors)),
        tracking_url: input.tracking_url.as_deref().and_then(|u| parse_url(u, &mut errors)),
    };
    errors.finish()?;
    Ok(put)
}

/// Create or update an order by the business system's id.
///
/// Idempotent: the same body again changes nothing and tells the customer nothing. Each stage
/// reached is told to the customer on their channel in their language; a stage never goes back
/// (422 `stage_backwards`), a completed or cancelled order stays so (422 `order_finished`).
/// Completing an order asks the customer for a rating (`/rate/{token}`). Its customer and order
/// type are fixed once it exists. Needs a supervisor's (or an integration's) token.
#[utoipa::path(put, path = "/api/v1/orders/{external_id}", tag = "orders", params(("external_id" = String, Path)), request_body = OrderInput,
    responses((status = 200, body = OrderView), (status = 201, body = OrderView), (status = 422, body = crate::docs::Problem)))]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path(external_id): Path<String>,
    ApiJson(input): ApiJson<OrderInput>,
) -> ApiResult<(StatusCode, Json<OrderView>)> {
    caller.require(Action::PushOrders)?;
    let external_id = parse_external_id(&external_id).map_err(|e| crate::error::ApiError::fields(vec![e]))?;
    let put = parse(input, &state.config.currency)?;
    let done = state.app.orders().put(caller.acting(), external_id, put).await?;
    let status = if done.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(OrderView::from(&done.order))))
}

/// Read an order with the stages it reached.
#[utoipa::path(get, path = "/api/v1/orders/{external_id}", tag = "orders", params(("external_id" = String, Path)),
    responses((status = 200, body = OrderView), (status = 404, body = crate::docs::Problem)))]
pub async fn get(State(state): State<AppState>, caller: Caller, Path(external_id): Path<String>) -> ApiResult<Json<OrderView>> {
    caller.require(Action::ReadCases)?;
    let order = state.app.orders().get(external_id).await?;
    Ok(Json(OrderView::from(&order)))
}

/// A performer's standing: ratings received, their average and how many customers made them a
/// favourite.
#[derive(Debug, Serialize, ToSchema)]
pub struct PerformerStandingView {
    pub external_id: String,
    pub name: String,
    pub ratings: i64,
    /// Mean score, one decimal; null before the first rating.
    pub average: Option<f64>,
    pub favourites: i64,
}

/// A performer's ratings and favourites.
#[utoipa::path(get, path = "/api/v1/performers/{external_id}", tag = "orders", params(("external_id" = String, Path)),
    responses((status = 200, body = PerformerStandingView), (status = 404, body = crate::docs::Problem)))]
pub async fn performer(
    State(state): State<AppState>,
    caller: Caller,
    Path(external_id): Path<String>,
) -> ApiResult<Json<PerformerStandingView>> {
    caller.require(Action::ReadCases)?;
    let standing = state.app.orders().performer(external_id).await?;
    Ok(Json(PerformerStandingView {
        external_id: standing.performer.external_id,
        name: standing.performer.name,
        ratings: standing.ratings,
        average: standing.average.map(|a| (a * 10.0).round() / 10.0),
        favourites: standing.favourites,
    }))
}

/// A customer's orders and favourite performers.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerOrdersView {
    /// Newest first, at most 20.
    pub orders: Vec<OrderView>,
    /// Performers the customer marked as favourites, for scheduling.
    pub favourites: Vec<PerformerView>,
}

/// A customer's orders and favourite performers.
#[utoipa::path(get, path = "/api/v1/customers/{id}/orders", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, body = CustomerOrdersView), (status = 404, body = crate::docs::Problem)))]
pub async fn of_customer(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<CustomerOrdersView>> {
    caller.require(Action::ReadCases)?;
    let customer = CustomerId(id);
    state.app.customers().get(customer).await?;
    let orders = state.app.orders().of_customer(customer).await?;
    let favourites = state.app.orders().favourites(customer).await?;
    Ok(Json(CustomerOrdersView {
        orders: orders.iter().map(OrderView::from).collect(),
        favourites: favourites.iter().map(PerformerView::from).collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExtraView {
    pub id: i64,
    pub description: String,
    pub amount: MoneyView,
    /// `proposed`, `confirmed` or `declined`.
    pub status: String,
    pub proposed_at: String,
    pub answered_at: Option<String>,
}

impl From<&Extra> for ExtraView {
    fn from(e: &Extra) -> Self {
        Self {
            id: e.id.0,
            description: e.description.clone(),
            amount: MoneyView::from(&e.amount),
            status: e.status.as_str().into(),
            proposed_at: e.proposed_at.to_rfc3339(),
            answered_at: e.answered_at.map(|t| t.to_rfc3339()),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtraInput {
    /// What would be done, as the customer will read it ("выведение пятен").
    #[schema(required)]
    pub description: Option<String>,
    #[schema(required)]
    pub amount: Option<MoneyInput>,
}

/// Offer the customer an extra service at a price.
///
/// The customer is asked on their channel and answers on a page; the answer is an `order.extra`
/// event (subscribe a webhook to it) and shows in the order's extras. Nothing should be done
/// before `confirmed`.
#[utoipa::path(post, path = "/api/v1/orders/{external_id}/extras", tag = "orders", params(("external_id" = String, Path)), request_body = ExtraInput,
    responses((status = 201, body = ExtraView), (status = 404, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem)))]
pub async fn propose_extra(
    State(state): State<AppState>,
    caller: Caller,
    Path(external_id): Path<String>,
    ApiJson(input): ApiJson<ExtraInput>,
) -> ApiResult<(StatusCode, Json<ExtraView>)> {
    caller.require(Action::PushOrders)?;
    let mut errors = Errors::default();
    let description = errors.take(line("description", input.description.as_deref().unwrap_or(""), 1, 300));
    let amount = match &input.amount {
        Some(money) => money.parse("amount", &state.config.currency, &mut errors),
        None => {
            errors.push(FieldError::required("amount"));
            None
        }
    };
    errors.finish()?;
    let (Some(description), Some(amount)) = (description, amount) else { return Err(crate::error::ApiError::new("validation_failed")) };
    let extra = state.app.orders().propose_extra(caller.acting(), external_id, description, amount).await?;
    Ok((StatusCode::CREATED, Json(ExtraView::from(&extra))))
}

/// An order's extra services, oldest first, with the customer's answers.
#[utoipa::path(get, path = "/api/v1/orders/{external_id}/extras", tag = "orders", params(("external_id" = String, Path)),
    responses((status = 200, body = Vec<ExtraView>), (status = 404, body = crate::docs::Problem)))]
pub async fn extras(State(state): State<AppState>, caller: Caller, Path(external_id): Path<String>) -> ApiResult<Json<Vec<ExtraView>>> {
    caller.require(Action::ReadCases)?;
    Ok(Json(state.app.orders().extras(external_id).await?.iter().map(ExtraView::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProblemInput {
    /// `delay`, `shortage` or `defect`.
    #[schema(required, value_type = crate::docs::DelayChoice)]
    pub kind: Option<String>,
    /// What the customer is told besides: the alternative offered, what is missing.
    pub note: Option<String>,
    /// The new expected time (RFC 3339), when there is one.
    pub eta: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemView {
    pub order: OrderView,
    /// The case opened for it, with an owner from the claims team.
    pub case_id: i64,
}

/// Report a delay, a shortage or a defect: the customer is told at once (with the new time),
/// and a problem case with the matching playbook opens for the claims team.
#[utoipa::path(post, path = "/api/v1/orders/{external_id}/problems", tag = "orders", params(("external_id" = String, Path)), request_body = ProblemInput,
    responses((status = 201, body = ProblemView), (status = 404, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem)))]
pub async fn report_problem(
    State(state): State<AppState>,
    caller: Caller,
    Path(external_id): Path<String>,
    ApiJson(input): ApiJson<ProblemInput>,
) -> ApiResult<(StatusCode, Json<ProblemView>)> {
    caller.require(Action::PushOrders)?;
    let mut errors = Errors::default();
    let kind = match input.kind.as_deref() {
        Some(k) => errors.take(DelayKind::parse_field("kind", k).and_then(|k| {
            if k == DelayKind::EtaPassed {
                Err(FieldError::new("kind", "invalid_choice").with("allowed", "delay, shortage, defect"))
            } else {
                Ok(k)
            }
        })),
        None => {
            errors.push(FieldError::required("kind"));
            None
        }
    };
    let note = input.note.as_deref().and_then(|n| errors.take(text("note", n, 0, 1000))).unwrap_or_default();
    let eta_at = input.eta.as_deref().and_then(|t| parse_time("eta", t, &mut errors));
    errors.finish()?;
    let Some(kind) = kind else { return Err(crate::error::ApiError::new("validation_failed")) };
    let trouble = Trouble { kind, note, eta_at };
    let (order, case) = state.app.orders().report_trouble(caller.acting(), external_id, trouble).await?;
    Ok((StatusCode::CREATED, Json(ProblemView { order: OrderView::from(&order), case_id: case.0 })))
}
