//! `/api/v1/kudos` and `/api/v1/ratings/response`: the thanks customers wrote, and how many of
//! them answer a rating request at all.

use axum::Json;
use axum::extract::State;
use opora_domain::Timestamp;
use opora_domain::agent::Action;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::ApiQuery;

#[derive(Debug, Serialize, ToSchema)]
pub struct KudosView {
    pub score: i64,
    pub comment: String,
    pub at: String,
    pub customer: String,
    pub order: Option<String>,
    /// The performer thanked, for an order.
    pub performer: Option<String>,
    /// The agent thanked, for a case.
    pub agent: Option<String>,
}

/// The kudos wall: ratings of 4 and 5 with a comment, newest first (at most 100).
#[utoipa::path(get, path = "/api/v1/kudos", tag = "ratings", responses((status = 200, body = Vec<KudosView>)))]
pub async fn kudos(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<KudosView>>> {
    caller.require(Action::ReadCases)?;
    let found = state.app.ratings().kudos(100).await?;
    Ok(Json(
        found
            .into_iter()
            .map(|k| KudosView {
                score: k.score,
                comment: k.comment,
                at: k.at.to_rfc3339(),
                customer: k.customer,
                order: k.order,
                performer: k.performer,
                agent: k.agent,
            })
            .collect(),
    ))
}

/// How many rating requests customers answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResponseView {
    pub days: i64,
    pub asked: i64,
    pub answered: i64,
    /// Answered of asked, in percent with one decimal; null when none was asked.
    pub rate: Option<f64>,
}

/// The response rate of rating requests over the last `days` (1–365, default 30).
#[utoipa::path(get, path = "/api/v1/ratings/response", tag = "ratings", params(("days" = Option<i64>, Query, minimum = 1, maximum = 365)),
    responses((status = 200, body = ResponseView), (status = 422, body = crate::docs::Problem)))]
pub async fn response(State(state): State<AppState>, caller: Caller, query: ApiQuery) -> ApiResult<Json<ResponseView>> {
    caller.require(Action::ReadCases)?;
    query.only(&["days"])?;
    let days = query.count("days", 30, 365).map_err(|e| crate::error::ApiError::fields(vec![e]))?;
    let since = Timestamp::now().plus_minutes(-days * 24 * 60);
    let (asked, answered) = state.app.ratings().response(since).await?;
    let rate = (asked > 0).then(|| (answered as f64 * 1000.0 / asked as f64).round() / 10.0);
    Ok(Json(ResponseView { days, asked, answered, rate }))
}
