//! `/api/v1/jobs`: the outbox seen by operators — what is queued, running or dead, and a way to
//! send a dead job back to the queue once its cause is fixed.

use axum::Json;
use axum::extract::State;
use opora_app::system::Job;
use opora_domain::JobId;
use opora_domain::agent::Action;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, PathId};

#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    pub id: i64,
    pub kind: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// `queued`, `running` or `dead`.
    pub state: String,
    pub run_at: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
}

impl From<&Job> for JobView {
    fn from(j: &Job) -> Self {
        Self {
            id: j.id.0,
            kind: j.kind.clone(),
            payload: j.payload.clone(),
            state: j.state.clone(),
            run_at: j.run_at.to_rfc3339(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            last_error: j.last_error.clone(),
            created_at: j.created_at.to_rfc3339(),
        }
    }
}

/// Jobs in a state (`dead` by default).
#[utoipa::path(get, path = "/api/v1/jobs", tag = "operations", params(("state" = Option<String>, Query, description = "`queued`, `running` or `dead` (default)", pattern = "^(queued|running|dead)$"), ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000)),
    responses((status = 200, body = Vec<JobView>), (status = 403, body = crate::docs::Problem)))]
pub async fn list(State(state): State<AppState>, caller: Caller, query: ApiQuery) -> ApiResult<Json<Vec<JobView>>> {
    caller.require(Action::ViewOperations)?;
    query.only(&["state", "limit"])?;
    let job_state = query.text("state").unwrap_or("dead").to_owned();
    if !["queued", "running", "dead"].contains(&job_state.as_str()) {
        return Err(ApiError::fields(vec![
            opora_domain::FieldError::new("state", "invalid_choice").with("allowed", "queued, running, dead"),
        ]));
    }
    let limit = query.limit(100, 1000).map_err(|e| ApiError::fields(vec![e]))?;
    let found = state.app.system().jobs(job_state, limit).await?;
    Ok(Json(found.iter().map(JobView::from).collect()))
}

/// Send a dead job back to the queue with fresh attempts.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", tag = "operations", params(("id" = i64, Path)),
    responses((status = 200, body = JobView), (status = 404, body = crate::docs::Problem), (status = 409, body = crate::docs::Problem)))]
pub async fn retry(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<JobView>> {
    caller.require(Action::ViewOperations)?;
    let job = state.app.system().retry_job(JobId(id)).await?;
    Ok(Json(JobView::from(&job)))
}
