//! `/api/v1/customers`: customers, their identities on every channel, and merging duplicates.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use opora_app::customers::{CustomerChange, CustomerFilter, CustomerSpec};
use opora_domain::agent::{Action, Language};
use opora_domain::customer::{IdentityKind, parse_identity};
use opora_domain::error::Errors;
use opora_domain::validate::{line, text};
use opora_domain::{CustomerId, FieldError, IdentityId};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{decode_cursor, encode_cursor, nullable};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, PathId, PathIds};
use crate::input::{IdentityInput, parse_identity_input};
use crate::views::{CustomerView, Page};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCustomer {
    #[schema(required)]
    pub name: Option<String>,
    pub company: Option<String>,
    /// `ru` or `en`: the language customer-facing messages use.
    #[schema(value_type = Option<crate::docs::LanguageChoice>)]
    pub language: Option<String>,
    pub our_client: Option<bool>,
    pub note: Option<String>,
    #[serde(default)]
    pub identities: Vec<IdentityInput>,
}

/// Create a customer with their identities.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = CreateCustomer,
    responses((status = 201, body = CustomerView), (status = 422, body = crate::docs::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<CreateCustomer>,
) -> ApiResult<(StatusCode, Json<CustomerView>)> {
    caller.require(Action::WriteCustomers)?;
    let mut errors = Errors::default();
    let name = errors.take(line("name", input.name.as_deref().unwrap_or(""), 1, 200));
    let company = input.company.as_deref().and_then(|c| errors.take(line("company", c, 1, 200)));
    let language = input.language.as_deref().and_then(|l| errors.take(Language::parse_field("language", l)));
    let note = input.note.as_deref().and_then(|n| errors.take(text("note", n, 0, 5000)));
    if input.identities.len() > 20 {
        errors.push(FieldError::new("identities", "too_many").with("max", 20));
    }
    let identities: Vec<_> = input
        .identities
        .iter()
        .enumerate()
        .filter_map(|(i, id)| parse_identity_input(&format!("identities.{i}"), id, &mut errors))
        .collect();
    errors.finish()?;
    let new =
        CustomerSpec { name: name.unwrap_or_default(), company, language, our_client: input.our_client.unwrap_or(false), note, identities };
    let actor = caller.actor();
    let customer = state.app.customers().create(actor, new).await?;
    Ok((StatusCode::CREATED, Json(CustomerView::from(&customer))))
}

/// List or look up customers.
///
/// `identity=kind:value` finds the customer owning that identity (`identity=email:olga@mail.ru`);
/// `q` searches names, companies and identities; `our_client=true` lists the priority list.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers",
    params(("q" = Option<String>, Query), ("identity" = Option<String>, Query, description = "`kind:value`", pattern = "^(email|phone|telegram|whatsapp|vk|web|external):\\S.*$"),
           ("our_client" = Option<bool>, Query), ("limit" = Option<i64>, Query, minimum = 1, maximum = 200), ("cursor" = Option<String>, Query, pattern = "^[A-Za-z0-9_-]+$", description = "`next_cursor` of the previous page")),
    responses((status = 200, body = Page<CustomerView>), (status = 422, body = crate::docs::Problem)))]
pub async fn list(State(state): State<AppState>, caller: Caller, query: ApiQuery) -> ApiResult<Json<Page<CustomerView>>> {
    caller.require(Action::ReadCases)?;
    query.only(&["q", "identity", "our_client", "limit", "cursor"])?;
    let mut errors = Errors::default();
    // A value no identity of its kind can have (`email:x`) belongs to nobody: an empty page.
    let mut nobody = false;
    let identity = query.text("identity").and_then(|v| match v.split_once(':') {
        Some((kind, value)) => {
            let kind = errors.take(IdentityKind::parse_field("identity", kind))?;
            let value = parse_identity("identity", kind, value).ok();
            nobody = value.is_none();
            value.map(|value| (kind, value))
        }
        None => {
            errors.push(FieldError::new("identity", "invalid_value"));
            None
        }
    });
    let our_client = match query.text("our_client") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            errors.push(FieldError::new("our_client", "invalid_choice").with("allowed", "true, false"));
            None
        }
    };
    let limit = errors.take(query.limit(50, 200)).unwrap_or(50);
    let after_id = query.text("cursor").and_then(|c| errors.take(decode_cursor(c, 1))).map(|p| p[0]);
    errors.finish()?;
    let filter = CustomerFilter { query: query.text("q").map(str::to_owned), identity, our_client, after_id, limit: limit + 1 };
    let mut found = if nobody { Vec::new() } else { state.app.customers().list(filter).await? };
    let more = found.len() as i64 > limit;
    found.truncate(limit as usize);
    let next_cursor = if more { found.last().map(|c| encode_cursor(&[c.id.0])) } else { None };
    Ok(Json(Page { items: found.iter().map(CustomerView::from).collect(), next_cursor }))
}

/// Read a customer. The id of a customer merged into another answers with the surviving one.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = CustomerView), (status = 404, body = crate::docs::Problem)))]
pub async fn get(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<CustomerView>> {
    caller.require(Action::ReadCases)?;
    let customer = state.app.customers().get(CustomerId(id)).await?;
    Ok(Json(CustomerView::from(&customer)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCustomer {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub company: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<crate::docs::LanguageChoice>)]
    pub language: Option<Option<String>>,
    pub our_client: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub note: Option<Option<String>>,
}

/// Change a customer.
#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = i64, Path)), request_body = UpdateCustomer,
    responses((status = 200, body = CustomerView), (status = 404, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    ApiJson(input): ApiJson<UpdateCustomer>,
) -> ApiResult<Json<CustomerView>> {
    caller.require(Action::WriteCustomers)?;
    let mut errors = Errors::default();
    let change = CustomerChange {
        name: input.name.as_deref().and_then(|n| errors.take(line("name", n, 1, 200))),
        company: input.company.as_ref().map(|c| c.as_deref().and_then(|c| errors.take(line("company", c, 1, 200)))),
        language: input.language.as_ref().map(|l| l.as_deref().and_then(|l| errors.take(Language::parse_field("language", l)))),
        our_client: input.our_client,
        note: input.note.as_ref().map(|n| n.as_deref().and_then(|n| errors.take(text("note", n, 0, 5000))).filter(|n| !n.is_empty())),
    };
    errors.finish()?;
    let actor = caller.actor();
    let customer = state.app.customers().update(actor, CustomerId(id), change).await?;
    Ok(Json(CustomerView::from(&customer)))
}

/// Delete a customer who has no cases (a duplicate created by mistake); otherwise merge.
#[utoipa::path(delete, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = i64, Path)),
    responses((status = 204), (status = 409, body = crate::docs::Problem)))]
pub async fn delete(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<StatusCode> {
    caller.require(Action::MergeCustomers)?;
    state.app.customers().delete(CustomerId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add an identity (an address on a channel) to a customer.
#[utoipa::path(post, path = "/api/v1/customers/{id}/identities", tag = "customers", params(("id" = i64, Path)), request_body = IdentityInput,
    responses((status = 201, body = CustomerView), (status = 409, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem)))]
pub async fn add_identity(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    ApiJson(input): ApiJson<IdentityInput>,
) -> ApiResult<(StatusCode, Json<CustomerView>)> {
    caller.require(Action::WriteCustomers)?;
    let mut errors = Errors::default();
    let parsed = parse_identity_input("identity", &input, &mut errors);
    errors.finish()?;
    let (kind, value) = parsed.ok_or_else(|| ApiError::new("validation_failed"))?;
    let actor = caller.actor();
    let customer = state.app.customers().add_identity(actor, CustomerId(id), kind, value).await?;
    Ok((StatusCode::CREATED, Json(CustomerView::from(&customer))))
}

/// Remove an identity from a customer.
#[utoipa::path(delete, path = "/api/v1/customers/{id}/identities/{identity_id}", tag = "customers",
    params(("id" = i64, Path), ("identity_id" = i64, Path)), responses((status = 200, body = CustomerView), (status = 404, body = crate::docs::Problem)))]
pub async fn remove_identity(
    State(state): State<AppState>,
    caller: Caller,
    PathIds(id, identity): PathIds,
) -> ApiResult<Json<CustomerView>> {
    caller.require(Action::WriteCustomers)?;
    let actor = caller.actor();
    let customer = state.app.customers().remove_identity(actor, CustomerId(id), IdentityId(identity)).await?;
    Ok(Json(CustomerView::from(&customer)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Merge {
    /// The duplicate to fold into this customer.
    #[schema(required)]
    pub source_id: Option<i64>,
}

/// Merge another customer into this one: identities, cases, messages and history move here.
#[utoipa::path(post, path = "/api/v1/customers/{id}/merge", tag = "customers", params(("id" = i64, Path)), request_body = Merge,
    responses((status = 200, body = CustomerView), (status = 404, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem)))]
pub async fn merge(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    ApiJson(input): ApiJson<Merge>,
) -> ApiResult<Json<CustomerView>> {
    caller.require(Action::MergeCustomers)?;
    let source = input.source_id.ok_or_else(|| ApiError::fields(vec![FieldError::required("source_id")]))?;
    let customer = state.app.customers().merge(caller.acting(), CustomerId(id), CustomerId(source)).await?;
    Ok(Json(CustomerView::from(&customer)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Split {
    /// The identities that belong to another person: they, and the cases that came through
    /// their channels, move to a new customer.
    #[schema(required, min_items = 1)]
    pub identity_ids: Option<Vec<i64>>,
}

/// Split a customer who turned out to be two people: the identities named (and the cases that
/// came through their channels, with every message and event) move to a new customer, which is
/// returned. The customer keeps at least one identity.
#[utoipa::path(post, path = "/api/v1/customers/{id}/split", tag = "customers", params(("id" = i64, Path)), request_body = Split,
    responses((status = 201, body = CustomerView), (status = 404, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem)))]
pub async fn split(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    ApiJson(input): ApiJson<Split>,
) -> ApiResult<(axum::http::StatusCode, Json<CustomerView>)> {
    caller.require(Action::MergeCustomers)?;
    let ids = input.identity_ids.ok_or_else(|| ApiError::fields(vec![FieldError::required("identity_ids")]))?;
    if ids.iter().any(|i| *i < 1) || ids.len() > 20 {
        return Err(ApiError::fields(vec![FieldError::new("identity_ids", "invalid_value")]));
    }
    let ids = ids.into_iter().map(opora_domain::IdentityId).collect();
    let customer = state.app.duplicates().split(caller.acting(), CustomerId(id), ids).await?;
    Ok((axum::http::StatusCode::CREATED, Json(CustomerView::from(&customer))))
}

/// Customers who may be this one under another identity (the same name, met through another
/// channel): candidates for a merge.
#[utoipa::path(get, path = "/api/v1/customers/{id}/similar", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<CustomerView>), (status = 404, body = crate::docs::Problem)))]
pub async fn similar(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<Vec<CustomerView>>> {
    caller.require(Action::ReadCases)?;
    let found = state.app.duplicates().similar(CustomerId(id)).await?;
    Ok(Json(found.iter().map(CustomerView::from).collect()))
}
