//! Events: a case's timeline, the event feed for integrations that poll, and the live stream
//! (Server-Sent Events) the agent UI and integrations run on.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use opora_app::App;
use opora_domain::agent::{Action, Role};
use opora_domain::case::ActingAgent;
use opora_domain::event::{Event, EventData};
use opora_domain::{CaseId, EventId, FieldError};
use tokio::sync::broadcast::{self, error::RecvError};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, PathId};
use crate::views::{EventView, Names, Page};

fn visible(event: &Event, role: Role) -> bool {
    !event.kind().admin_only() || role == Role::Admin
}

/// The timeline of a case: every change with its actor and time, oldest first.
#[utoipa::path(get, path = "/api/v1/cases/{id}/events", tag = "events", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<EventView>), (status = 404, body = crate::docs::Problem)))]
pub async fn timeline(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<Vec<EventView>>> {
    caller.require(Action::ReadCases)?;
    let (events, names) = state.app.events().of_case(caller.acting(), CaseId(id)).await?;
    let names = Names(names);
    Ok(Json(events.iter().map(|e| names.event(e)).collect()))
}

/// Events after `after` (an event id), oldest first: for integrations that poll.
#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    params(("after" = Option<i64>, Query, minimum = 0, description = "Last event id seen; 0 for the beginning"), ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000)),
    responses((status = 200, body = Page<EventView>)))]
pub async fn feed(State(state): State<AppState>, caller: Caller, query: ApiQuery) -> ApiResult<Json<Page<EventView>>> {
    caller.require(Action::ReadCases)?;
    query.only(&["after", "limit"])?;
    let after = query.id("after").map_err(|e| ApiError::fields(vec![e]))?.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::fields(vec![opora_domain::FieldError::new("after", "out_of_range").with("min", 0)]));
    }
    let limit = query.limit(100, 1000).map_err(|e| ApiError::fields(vec![e]))?;
    let role = caller.role;
    let batch = state.app.events().after(EventId(after), limit).await?;
    let next_cursor = batch.last().map(|e| e.id.0.to_string());
    let shown: Vec<Event> = batch.into_iter().filter(|e| visible(e, role)).collect();
    let (shown, names) = state.app.events().shown(caller.acting(), shown).await?;
    let names = Names(names);
    Ok(Json(Page { items: shown.iter().map(|e| names.event(e)).collect(), next_cursor }))
}

const CATCH_UP_PAGE: i64 = 500;

/// Where a stream stands: what it still has to send and the last id it sent.
struct Cursor {
    app: App,
    live: broadcast::Receiver<Arc<Event>>,
    pending: VecDeque<Event>,
    last: i64,
    /// Still reading the log (after a reconnect or after falling behind) before going live.
    catching_up: bool,
    role: Role,
    reader: ActingAgent,
}

impl Cursor {
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                if event.id.0 <= self.last {
                    continue;
                }
                self.last = event.id.0;
                if let EventData::AgentUpdated(changed) = &event.data
                    && changed.agent_id == self.reader.id
                {
                    // An admin changed this agent: a new case access counts from now on, and a
                    // switched-off agent's stream ends.
                    match self.app.staff().agent(changed.agent_id).await {
                        Ok(agent) if agent.active => self.reader.access = agent.case_access.effective(self.reader.role),
                        _ => return None,
                    }
                }
                if visible(&event, self.role) {
                    return Some(event);
                }
                continue;
            }
            if self.catching_up {
                let after = EventId(self.last);
                let page = self.app.events().after(after, CATCH_UP_PAGE).await.ok()?;
                self.catching_up = page.len() as i64 == CATCH_UP_PAGE;
                self.pending.extend(page);
                continue;
            }
            match self.live.recv().await {
                Ok(event) => self.pending.push_back((*event).clone()),
                Err(RecvError::Lagged(_)) => self.catching_up = true,
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

fn resume_point(headers: &HeaderMap, query: &ApiQuery) -> ApiResult<Option<i64>> {
    if let Some(id) = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<i64>().ok()) {
        return Ok(Some(id));
    }
    match query.id("after") {
        Ok(Some(after)) if after < 0 => Err(ApiError::fields(vec![FieldError::new("after", "out_of_range").with("min", 0)])),
        Ok(after) => Ok(after),
        Err(e) => Err(ApiError::fields(vec![e])),
    }
}

/// The live stream of everything the caller may see, as Server-Sent Events: `id` is the event
/// id, `event` its kind, `data` the event as JSON. Reconnecting with `Last-Event-ID` (or
/// `?after=`) replays what was missed.
#[utoipa::path(get, path = "/api/v1/events/stream", tag = "events",
    params(("after" = Option<i64>, Query, minimum = 0, description = "Replay events after this id (a `Last-Event-ID` header, as browsers send on reconnecting, wins)")),
    responses((status = 200, description = "An event stream", content_type = "text/event-stream")))]
pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    query: ApiQuery,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    caller.require(Action::ReadCases)?;
    query.only(&["after"])?;
    // Subscribe before reading the log, so nothing committed in between is missed.
    let live = state.app.events().subscribe();
    let resume = resume_point(&headers, &query)?;
    let last = match resume {
        Some(id) => id,
        None => state.app.events().latest_id().await?.0,
    };
    let cursor = Cursor {
        app: state.app.clone(),
        live,
        pending: VecDeque::new(),
        last,
        catching_up: resume.is_some(),
        role: caller.role,
        reader: caller.acting(),
    };
    let shutdown = state.shutdown.clone();
    let stream = futures_util::stream::unfold((cursor, shutdown), |(mut cursor, mut shutdown)| async move {
        let event = tokio::select! {
            event = cursor.next_event() => event?,
            _ = shutdown.wait_for(|stopping| *stopping) => return None,
        };
        let (shown, names) = cursor.app.events().shown(cursor.reader, vec![event.clone()]).await.ok()?;
        let Some(shown) = shown.first() else {
            // A case this reader does not see: nothing to send, only a comment to keep the pace.
            return Some((Ok(SseEvent::default().comment("")), (cursor, shutdown)));
        };
        let view = Names(names).event(shown);
        let data = serde_json::to_string(&view).ok()?;
        let sse = SseEvent::default().id(event.id.0.to_string()).event(event.kind().as_str()).data(data);
        Some((Ok(sse), (cursor, shutdown)))
    });
    // A first frame right away, so clients (and proxies) see the stream open before any event;
    // it also tells browsers how soon to reconnect.
    let hello = SseEvent::default().retry(Duration::from_secs(3)).comment("connected");
    let stream = futures_util::stream::once(async move { Ok(hello) }).chain(stream);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
