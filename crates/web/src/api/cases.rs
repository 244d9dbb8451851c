//! `/api/v1/cases`: create (idempotently), list with filters and cursors, read, change.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use opora_app::cases::{self as usecases, CaseChange, CaseFilter, CaseSort, Idempotency, OpenCase, Opened, OwnerFilter};
use opora_domain::agent::Action;
use opora_domain::case::{ActingAgent, CaseKind, Priority, Status};
use opora_domain::channel::ChannelKind;
use opora_domain::error::Errors;
use opora_domain::message::Direction;
use opora_domain::validate::{line, tag};
use opora_domain::{AgentId, CaseId, CustomerId, FieldError, TeamId, Timestamp};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{decode_cursor, encode_cursor, nullable};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, PathId, RawJson};
use crate::input::{AttachmentInput, CustomerInput, MoneyInput, body, decode_attachments, store_uploads};
use crate::views::{CaseView, Names, Page};

pub const MAX_SUBJECT: usize = 300;
pub const MAX_TAGS: usize = 20;

/// The first message of a new case.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FirstMessage {
    /// `inbound` (the customer wrote it; default), `outbound` (an agent wrote first) or `internal`.
    pub direction: Option<String>,
    pub body_text: Option<String>,
    pub body_html: Option<String>,
    #[serde(default)]
    pub attachments: Vec<AttachmentInput>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCase {
    #[schema(required)]
    pub subject: Option<String>,
    #[schema(required)]
    pub customer: Option<CustomerInput>,
    pub message: Option<FirstMessage>,
    /// `low`, `normal` (default), `high` or `urgent`.
    #[schema(value_type = Option<crate::docs::PriorityChoice>)]
    pub priority: Option<String>,
    /// `question` (default), `problem`, `complaint`, `incident` or `callback`.
    #[schema(value_type = Option<crate::docs::KindChoice>)]
    pub kind: Option<String>,
    /// The channel it came through; `api` by default.
    #[schema(value_type = Option<crate::docs::ChannelChoice>)]
    pub channel: Option<String>,
    pub team_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub category: Option<String>,
    pub tags: Option<Vec<String>>,
    #[schema(value_type = Option<Object>)]
    pub custom_fields: Option<Map<String, Value>>,
    /// RFC 3339; by default from the SLA policy for the priority.
    pub deadline_at: Option<String>,
    pub compensation_budget: Option<MoneyInput>,
}

pub(crate) fn parse_tags(field: &str, tags: &[String], errors: &mut Errors) -> Vec<String> {
    if tags.len() > MAX_TAGS {
        errors.push(FieldError::new(field, "too_many").with("max", MAX_TAGS));
        return Vec::new();
    }
    let mut parsed: Vec<String> = tags.iter().enumerate().filter_map(|(i, t)| errors.take(tag(&format!("{field}.{i}"), t))).collect();
    parsed.sort();
    parsed.dedup();
    parsed
}

pub(crate) fn parse_time(field: &str, text: &str, errors: &mut Errors) -> Option<Timestamp> {
    errors.take(Timestamp::parse(text).ok_or_else(|| FieldError::new(field, "invalid_datetime")))
}

fn parse_create(
    input: &CreateCase,
    state: &AppState,
    errors: &mut Errors,
) -> Option<(OpenCase, Option<(Direction, opora_domain::message::Body)>)> {
    let subject = match &input.subject {
        Some(s) => errors.take(line("subject", s, 1, MAX_SUBJECT)),
        None => {
            errors.push(FieldError::required("subject"));
            None
        }
    };
    let customer = match &input.customer {
        Some(c) => c.parse(errors),
        None => {
            errors.push(FieldError::required("customer"));
            None
        }
    };
    let priority = input.priority.as_deref().map_or(Some(Priority::Normal), |p| errors.take(Priority::parse_field("priority", p)));
    let kind = input.kind.as_deref().map_or(Some(CaseKind::Question), |k| errors.take(CaseKind::parse_field("kind", k)));
    let channel = input.channel.as_deref().map_or(Some(ChannelKind::Api), |c| errors.take(ChannelKind::parse_field("channel", c)));
    let category = input.category.as_deref().and_then(|c| errors.take(line("category", c, 1, 100)));
    let tags = parse_tags("tags", input.tags.as_deref().unwrap_or_default(), errors);
    let deadline_at = input.deadline_at.as_deref().and_then(|d| parse_time("deadline_at", d, errors));
    let budget = input.compensation_budget.as_ref().and_then(|b| b.parse("compensation_budget", &state.config.currency, errors));
    let first = input.message.as_ref().and_then(|m| {
        let direction = match m.direction.as_deref() {
            None => Some(Direction::Inbound),
            Some(d) => errors.take(Direction::parse_field("message.direction", d).and_then(|d| {
                if d == Direction::System {
                    Err(FieldError::new("message.direction", "invalid_choice").with("allowed", "inbound, outbound, internal"))
                } else {
                    Ok(d)
                }
            })),
        };
        let body = body("message.body", m.body_text.as_deref(), m.body_html.as_deref(), errors);
        direction.zip(body)
    });
    let open = OpenCase {
        subject: subject?,
        customer: customer?,
        kind: kind?,
        priority: priority?,
        channel_kind: channel?,
        team_id: input.team_id.map(TeamId),
        owner_id: input.owner_id.map(AgentId),
        category,
        tags,
        custom_fields: input.custom_fields.clone().unwrap_or_default(),
        deadline_at,
        budget,
        first: None,
    };
    Some((open, first))
}

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().map_err(|_| ApiError::field("Idempotency-Key", "invalid_characters"))?.trim();
    if key.is_empty() || key.len() > 255 {
        return Err(ApiError::fields(vec![FieldError::new("Idempotency-Key", "too_long").with("max", 255)]));
    }
    Ok(Some(key.to_owned()))
}

/// Create a case.
///
/// The customer is found by id, e-mail or phone, and created when unknown. With an
/// `Idempotency-Key` header a retried request returns the first response instead of a second
/// case; the same key with a different body is refused with 409 `idempotency_key_reused`.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = CreateCase,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key returns the first response")),
    responses((status = 201, body = CaseView), (status = 409, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawJson(input, raw): RawJson<CreateCase>,
) -> ApiResult<Response> {
    caller.require(Action::WorkCases)?;
    let key = idempotency_key(&headers)?;
    let mut errors = Errors::default();
    let parsed = parse_create(&input, &state, &mut errors);
    let uploads = input
        .message
        .as_ref()
        .map(|m| decode_attachments("message.attachments", &m.attachments, state.config.max_attachment_bytes, &mut errors))
        .unwrap_or_default();
    errors.finish()?;
    let Some((mut open, first)) = parsed else {
        return Err(ApiError::new("validation_failed"));
    };
    let attachments = store_uploads(&state, uploads).await?;
    open.first = first.map(|(direction, body)| usecases::FirstMessage { direction, body, attachments });
    let idempotency = key.map(|key| Idempotency { key, request_hash: crate::auth::sha256_hex(&raw) });
    let render = Box::new(|case: &opora_domain::case::Case, names: &opora_app::Names| {
        serde_json::to_string(&Names(names.clone()).case(case)).unwrap_or_default()
    });
    let opened = state.app.cases().open(caller.acting(), open, idempotency, render).await?;
    let (status, body, replayed, location) = match opened {
        Opened::New { id, body } => (StatusCode::CREATED, body, false, Some(format!("/api/v1/cases/{id}"))),
        Opened::Replayed(recorded) => {
            let id = serde_json::from_str::<Value>(&recorded.body).ok().and_then(|v| v["id"].as_i64());
            (
                StatusCode::from_u16(recorded.status).unwrap_or(StatusCode::CREATED),
                recorded.body,
                true,
                id.map(|id| format!("/api/v1/cases/{id}")),
            )
        }
    };
    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

pub const LIST_PARAMS: &[&str] = &[
    "status",
    "owner",
    "team",
    "customer",
    "tag",
    "priority",
    "kind",
    "channel",
    "collaborator",
    "our_client",
    "overdue",
    "updated_since",
    "sort",
    "limit",
    "cursor",
];

/// `owner=me`, `owner=none` or an agent id.
fn owner_filter(caller: &Caller, name: &str, value: Option<&str>) -> Result<Option<OwnerFilter>, FieldError> {
    match value {
        None => Ok(None),
        Some("me") => Ok(Some(OwnerFilter::Agent(caller.agent.id))),
        Some("none") => Ok(Some(OwnerFilter::Nobody)),
        Some(id) => match id.parse::<i64>() {
            Ok(id) if id >= 1 => Ok(Some(OwnerFilter::Agent(AgentId(id)))),
            _ => Err(FieldError::new(name, "invalid_value")),
        },
    }
}

pub fn parse_filter(query: &ApiQuery, caller: &Caller) -> ApiResult<CaseFilter> {
    query.only(LIST_PARAMS)?;
    let mut errors = Errors::default();
    let statuses = query
        .text("status")
        .map_or_else(Vec::new, |list| list.split(',').filter_map(|s| errors.take(Status::parse_field("status", s))).collect());
    let owner = errors.take(owner_filter(caller, "owner", query.text("owner"))).flatten();
    let collaborator = errors.take(owner_filter(caller, "collaborator", query.text("collaborator"))).flatten().and_then(|o| match o {
        OwnerFilter::Agent(a) => Some(a),
        OwnerFilter::Nobody => None,
    });
    let team = errors.take(query.row_id("team")).flatten().map(TeamId);
    let customer = errors.take(query.row_id("customer")).flatten().map(CustomerId);
    let priority = query.text("priority").and_then(|p| errors.take(Priority::parse_field("priority", p)));
    let tag = query.text("tag").and_then(|t| errors.take(tag("tag", t)));
    let kind = query.text("kind").and_then(|k| errors.take(CaseKind::parse_field("kind", k)));
    let updated_since = errors.take(query.time("updated_since")).flatten();
    let channel = query.text("channel").and_then(|c| errors.take(ChannelKind::parse_field("channel", c)));
    let flag = |errors: &mut Errors, name: &str| match query.text(name) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            errors.push(FieldError::new(name, "invalid_choice").with("allowed", "true, false"));
            false
        }
    };
    let our_clients = flag(&mut errors, "our_client");
    let overdue_at = flag(&mut errors, "overdue").then(Timestamp::now);
    let sort = match query.text("sort") {
        None => CaseSort::Newest,
        Some(s) => errors
            .take(CaseSort::parse(s).ok_or_else(|| FieldError::new("sort", "invalid_choice").with("allowed", "newest, oldest, deadline")))
            .unwrap_or_default(),
    };
    let limit = errors.take(query.limit(50, 200)).unwrap_or(50);
    let after = query.text("cursor").and_then(|c| errors.take(decode_cursor(c, 2))).map(|p| (p[0], CaseId(p[1])));
    errors.finish()?;
    Ok(CaseFilter {
        statuses,
        owner,
        team,
        customer,
        tag,
        collaborator,
        priority,
        kind,
        channel,
        our_clients,
        overdue_at,
        updated_since,
        sort,
        after,
        limit,
        ..Default::default()
    })
}

/// List cases, most recently active first.
///
/// Filters: `status` (comma-separated), `owner` (`me`, `none` or an agent id), `team`,
/// `customer`, `tag`, `priority`, `kind`, `collaborator` (`me` or an agent id), `updated_since`
/// (RFC 3339). Pages of `limit` (1–200, default 50); pass `next_cursor` as `cursor`.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases",
    params(("status" = Option<String>, Query, description = "Comma-separated statuses", pattern = "^(new|open|pending_customer|pending_internal|on_hold|solved|closed)(,(new|open|pending_customer|pending_internal|on_hold|solved|closed))*$"),
           ("owner" = Option<String>, Query, description = "`me`, `none` or an agent id", pattern = "^(me|none|[1-9][0-9]{0,17})$"),
           ("team" = Option<i64>, Query, minimum = 1), ("customer" = Option<i64>, Query, minimum = 1),
           ("tag" = Option<String>, Query, pattern = "^[\\w.:-][\\w .:-]{0,49}$"),
           ("priority" = Option<crate::docs::PriorityChoice>, Query), ("kind" = Option<crate::docs::KindChoice>, Query),
           ("collaborator" = Option<String>, Query, description = "`me` or an agent id", pattern = "^(me|none|[1-9][0-9]{0,17})$"),
           ("channel" = Option<crate::docs::ChannelChoice>, Query), ("our_client" = Option<bool>, Query, description = "Only customers on the \"our clients\" list"),
           ("overdue" = Option<bool>, Query, description = "Only cases past their deadline"),
           ("sort" = Option<String>, Query, description = "`newest` (default), `oldest` or `deadline`", pattern = "^(newest|oldest|deadline)$"),
           ("updated_since" = Option<String>, Query, format = DateTime, description = "RFC 3339"),
           ("limit" = Option<i64>, Query, minimum = 1, maximum = 200), ("cursor" = Option<String>, Query, pattern = "^[A-Za-z0-9_-]+$", description = "`next_cursor` of the previous page")),
    responses((status = 200, body = Page<CaseView>), (status = 422, body = crate::docs::Problem)))]
pub async fn list(State(state): State<AppState>, caller: Caller, query: ApiQuery) -> ApiResult<Json<Page<CaseView>>> {
    caller.require(Action::ReadCases)?;
    let filter = parse_filter(&query, &caller)?;
    let sort = filter.sort;
    let (cases, more, names) = state.app.cases().list(caller.acting(), filter).await?;
    let names = Names(names);
    let next_cursor = if more { cases.last().map(|c| encode_cursor(&[sort.key(c), c.id.0])) } else { None };
    Ok(Json(Page { items: cases.iter().map(|c| names.case(c)).collect(), next_cursor }))
}

/// The case as `reader` sees it. After a change of theirs, pass `reader.after_change()`: the
/// answer shows what they did even when it took the case out of their sight (a hand-over).
pub async fn load_view(state: &AppState, reader: ActingAgent, id: CaseId) -> ApiResult<CaseView> {
    let (case, names) = state.app.cases().get(reader, id).await?;
    Ok(Names(names).case(&case))
}

/// Read one case.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = CaseView), (status = 404, body = crate::docs::Problem)))]
pub async fn get(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<CaseView>> {
    caller.require(Action::ReadCases)?;
    Ok(Json(load_view(&state, caller.acting(), CaseId(id)).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCase {
    pub subject: Option<String>,
    #[schema(value_type = Option<crate::docs::StatusChoice>)]
    pub status: Option<String>,
    #[schema(value_type = Option<crate::docs::PriorityChoice>)]
    pub priority: Option<String>,
    #[schema(value_type = Option<crate::docs::KindChoice>)]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub team_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub category: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    /// Values by field key; `null` removes a value.
    #[schema(value_type = Option<Object>)]
    pub custom_fields: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub deadline_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<MoneyInput>)]
    pub compensation_budget: Option<Option<MoneyInput>>,
}

fn parse_update(input: &UpdateCase, state: &AppState) -> ApiResult<CaseChange> {
    let mut errors = Errors::default();
    let change = CaseChange {
        subject: input.subject.as_deref().and_then(|s| errors.take(line("subject", s, 1, MAX_SUBJECT))),
        status: input.status.as_deref().and_then(|s| errors.take(Status::parse_field("status", s))),
        priority: input.priority.as_deref().and_then(|p| errors.take(Priority::parse_field("priority", p))),
        kind: input.kind.as_deref().and_then(|k| errors.take(CaseKind::parse_field("kind", k))),
        team_id: input.team_id.map(|t| t.map(TeamId)),
        category: input.category.as_ref().map(|c| c.as_deref().and_then(|c| errors.take(line("category", c, 1, 100)))),
        tags: input.tags.as_ref().map(|t| parse_tags("tags", t, &mut errors)),
        custom_fields: input.custom_fields.clone(),
        deadline_at: input.deadline_at.as_ref().map(|d| d.as_deref().and_then(|d| parse_time("deadline_at", d, &mut errors))),
        budget: input
            .compensation_budget
            .as_ref()
            .map(|b| b.as_ref().and_then(|b| b.parse("compensation_budget", &state.config.currency, &mut errors))),
    };
    errors.finish()?;
    Ok(change)
}

/// Change a case's properties.
///
/// Status changes follow the lifecycle: an invalid transition is 409
/// `invalid_status_transition`; solving needs an owner (409 `case_needs_owner`). Ownership is
/// changed with `/take` and `/transfer`, not here.
#[utoipa::path(patch, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = i64, Path)), request_body = UpdateCase,
    responses((status = 200, body = CaseView), (status = 404, body = crate::docs::Problem), (status = 409, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    ApiJson(input): ApiJson<UpdateCase>,
) -> ApiResult<Json<CaseView>> {
    caller.require(Action::WorkCases)?;
    let change = parse_update(&input, &state)?;
    let id = CaseId(id);
    state.app.cases().change(caller.acting(), id, change).await?;
    Ok(Json(load_view(&state, caller.acting().after_change(), id).await?))
}
