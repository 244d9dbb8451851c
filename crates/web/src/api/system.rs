//! `/healthz` for load balancers and `/metrics` for Prometheus.

use std::fmt::Write;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use opora_domain::agent::Action;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use opora_app::health::WorkerStatus;

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthView {
    /// `ok` when the database answers and no worker is stuck; `degraded` otherwise.
    pub status: String,
    pub database: String,
    /// For signed-in callers only: a version tells an attacker which advisories apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// For signed-in callers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub workers: Option<std::collections::BTreeMap<&'static str, WorkerStatus>>,
}

/// Health: 200 when the database answers, 503 when it does not. Anyone may ask (load
/// balancers do); the version and the workers' states are shown to signed-in callers.
#[utoipa::path(get, path = "/healthz", tag = "operations", security((), ("bearer" = [])),
    responses((status = 200, body = HealthView), (status = 503, body = HealthView)))]
pub async fn healthz(State(state): State<AppState>, caller: Option<Caller>) -> (StatusCode, Json<HealthView>) {
    let database = match state.app.system().ping().await {
        Ok(()) => "ok".to_owned(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            "unreachable".to_owned()
        }
    };
    let workers = state.app.health().snapshot();
    let stuck = workers.values().any(|w| w.state != "running");
    let status = if database != "ok" {
        "down"
    } else if stuck {
        "degraded"
    } else {
        "ok"
    };
    let code = if database == "ok" { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let (version, workers) = match caller {
        Some(_) => (Some(env!("CARGO_PKG_VERSION").to_owned()), Some(workers)),
        None => (None, None),
    };
    (code, Json(HealthView { status: status.into(), database, version, workers }))
}

/// Prometheus metrics: requests, latency, cases by status, jobs by state, workers, memory.
/// Needs a supervisor's credentials unless `metrics.public` is set.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>, caller: Option<Caller>) -> ApiResult<Response> {
    if !state.config.metrics_public {
        let caller = caller.ok_or_else(|| crate::error::ApiError::new("unauthenticated"))?;
        caller.require(Action::ViewOperations)?;
    }
    let (statuses, job_states) = state.app.system().counts().await?;
    let mut out = String::with_capacity(4096);
    state.metrics.render(&mut out);
    let _ = writeln!(out, "# HELP opora_cases Cases by status.\n# TYPE opora_cases gauge");
    for (status, count) in statuses {
        let _ = writeln!(out, "opora_cases{{status=\"{status}\"}} {count}");
    }
    let _ = writeln!(out, "# HELP opora_jobs Jobs in the outbox by state.\n# TYPE opora_jobs gauge");
    for (job_state, count) in job_states {
        let _ = writeln!(out, "opora_jobs{{state=\"{job_state}\"}} {count}");
    }
    let _ = writeln!(out, "# HELP opora_event_subscribers Live event streams connected.\n# TYPE opora_event_subscribers gauge");
    let _ = writeln!(out, "opora_event_subscribers {}", state.app.system().subscribers());
    let _ = writeln!(
        out,
        "# HELP opora_worker_up Whether a background worker is running (1) or backing off or stopped (0).\n# TYPE opora_worker_up gauge"
    );
    for (name, worker) in state.app.health().snapshot() {
        let _ = writeln!(out, "opora_worker_up{{worker=\"{name}\"}} {}", u8::from(worker.state == "running"));
        let _ = writeln!(out, "opora_worker_processed_total{{worker=\"{name}\"}} {}", worker.processed);
        let _ = writeln!(out, "opora_worker_failed_total{{worker=\"{name}\"}} {}", worker.failed);
    }
    if let Some(bytes) = crate::metrics::resident_bytes() {
        let _ = writeln!(out, "# HELP process_resident_memory_bytes Resident memory.\n# TYPE process_resident_memory_bytes gauge");
        let _ = writeln!(out, "process_resident_memory_bytes {bytes}");
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out).into_response())
}
