//! `/api/v1/mailboxes` and `/api/v1/mail/messages`: the support addresses with their IMAP and
//! SMTP servers, and every received message as it arrived — filed, duplicate, ignored or in
//! quarantine — with its raw bytes for an admin to inspect and process again.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use opora_app::channels::{Mailbox, MailboxInput, MailboxSpec, Server, ServerInput};
use opora_app::intake::Payload as RawMail;
use opora_domain::agent::Action;
use opora_domain::channel::PayloadStatus as RawStatus;
use opora_domain::error::Errors;
use opora_domain::{ChannelId, FieldError, PayloadId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::nullable;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, PathId};

#[derive(Debug, Serialize, ToSchema)]
pub struct ServerView {
    pub host: String,
    pub port: u16,
    #[schema(value_type = crate::docs::SecurityChoice)]
    pub security: String,
    pub user: Option<String>,
    /// Passwords are never shown, only whether one is set.
    pub password_set: bool,
}

impl From<&Server> for ServerView {
    fn from(s: &Server) -> Self {
        Self {
            host: s.host.clone(),
            port: s.port,
            security: s.security.as_str().into(),
            user: s.user.clone(),
            password_set: s.password.is_some(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MailboxView {
    pub id: i64,
    pub name: String,
    pub address: String,
    /// Shown in From after the agent's name.
    pub sender_name: String,
    pub imap: Option<ServerView>,
    pub imap_folder: String,
    /// Where fetched mail is moved; without it, fetched mail is marked read.
    pub imap_archive_folder: Option<String>,
    pub smtp: Option<ServerView>,
    pub accept_invalid_certs: bool,
    /// New cases get an automatic acknowledgement (rate-limited per sender).
    pub acknowledge: bool,
    /// Replies go out with `Reply-To: local+cNUMBER@domain` (the MTA must deliver plus addresses).
    pub plus_addressing: bool,
    pub active: bool,
    /// Takes piped and LMTP mail addressed to no other mailbox.
    pub is_default: bool,
    /// The last fetching error, or null after a good round.
    pub fetch_error: Option<String>,
    pub fetched_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Mailbox> for MailboxView {
    fn from(m: &Mailbox) -> Self {
        Self {
            id: m.id.0,
            name: m.name.clone(),
            address: m.settings.address.clone(),
            sender_name: m.settings.sender_name.clone(),
            imap: m.settings.imap.as_ref().map(ServerView::from),
            imap_folder: m.settings.imap_folder.clone(),
            imap_archive_folder: m.settings.imap_archive_folder.clone(),
            smtp: m.settings.smtp.as_ref().map(ServerView::from),
            accept_invalid_certs: m.settings.accept_invalid_certs,
            acknowledge: m.settings.acknowledge,
            plus_addressing: m.settings.plus_addressing,
            active: m.active,
            is_default: m.is_default,
            fetch_error: m.fetch_error.clone(),
            fetched_at: m.fetched_at.map(|t| t.to_rfc3339()),
            created_at: m.created_at.to_rfc3339(),
            updated_at: m.updated_at.to_rfc3339(),
        }
    }
}

/// A mailbox to create, or the properties to change (absent ones stay; `null` host removes a
/// server; an absent password keeps the stored one, `""` removes it).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailboxInputBody {
    pub name: Option<String>,
    pub address: Option<String>,
    pub sender_name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub imap_host: Option<Option<String>>,
    pub imap_port: Option<i64>,
    #[schema(value_type = Option<crate::docs::SecurityChoice>)]
    pub imap_security: Option<String>,
    pub imap_user: Option<String>,
    pub imap_password: Option<String>,
    pub imap_folder: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub imap_archive_folder: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub smtp_host: Option<Option<String>>,
    pub smtp_port: Option<i64>,
    #[schema(value_type = Option<crate::docs::SecurityChoice>)]
    pub smtp_security: Option<String>,
    pub smtp_user: Option<String>,
    pub smtp_password: Option<String>,
    pub accept_invalid_certs: Option<bool>,
    pub acknowledge: Option<bool>,
    pub plus_addressing: Option<bool>,
    pub active: Option<bool>,
    pub is_default: Option<bool>,
}

/// The submitted fields over the current server settings.
fn server_input<'a>(
    host: &'a Option<Option<String>>,
    port: Option<i64>,
    security: &'a Option<String>,
    user: &'a Option<String>,
    password: &'a Option<String>,
    current: Option<&'a Server>,
) -> ServerInput<'a> {
    let host = match host {
        Some(host) => host.as_deref(),
        None => current.map(|s| s.host.as_str()),
    };
    ServerInput {
        host,
        port: port.or(current.map(|s| i64::from(s.port))),
        security: security.as_deref().or(current.map(|s| s.security.as_str())),
        user: user.as_deref().or(current.and_then(|s| s.user.as_deref())),
        password: password.as_deref().or(current.and_then(|s| s.password.as_deref())),
    }
}

fn spec(input: &MailboxInputBody, current: Option<&Mailbox>) -> ApiResult<MailboxSpec> {
    let mut errors = Errors::default();
    if current.is_none() {
        for (field, given) in [("name", input.name.is_some()), ("address", input.address.is_some())] {
            if !given {
                errors.push(FieldError::required(field));
            }
        }
    }
    let text = |given: &Option<String>, stored: Option<&String>| given.as_deref().or(stored.map(String::as_str)).unwrap_or("").to_owned();
    let (name, address, sender_name) = (
        text(&input.name, current.map(|c| &c.name)),
        text(&input.address, current.map(|c| &c.settings.address)),
        text(&input.sender_name, current.map(|c| &c.settings.sender_name)),
    );
    let archive = match &input.imap_archive_folder {
        Some(folder) => folder.clone(),
        None => current.and_then(|c| c.settings.imap_archive_folder.clone()),
    };
    let flag = |given: Option<bool>, stored: Option<bool>, default: bool| given.or(stored).unwrap_or(default);
    let parsed = MailboxInput {
        name: &name,
        address: &address,
        sender_name: &sender_name,
        imap: server_input(
            &input.imap_host,
            input.imap_port,
            &input.imap_security,
            &input.imap_user,
            &input.imap_password,
            current.and_then(|c| c.settings.imap.as_ref()),
        ),
        imap_folder: input.imap_folder.as_deref().or(current.map(|c| c.settings.imap_folder.as_str())),
        imap_archive_folder: archive.as_deref(),
        smtp: server_input(
            &input.smtp_host,
            input.smtp_port,
            &input.smtp_security,
            &input.smtp_user,
            &input.smtp_password,
            current.and_then(|c| c.settings.smtp.as_ref()),
        ),
        accept_invalid_certs: flag(input.accept_invalid_certs, current.map(|c| c.settings.accept_invalid_certs), false),
        acknowledge: flag(input.acknowledge, current.map(|c| c.settings.acknowledge), true),
        plus_addressing: flag(input.plus_addressing, current.map(|c| c.settings.plus_addressing), false),
        active: flag(input.active, current.map(|c| c.active), true),
        is_default: flag(input.is_default, current.map(|c| c.is_default), false),
    }
    .parse(&mut errors);
    errors.finish()?;
    parsed.ok_or_else(|| ApiError::internal("a valid mailbox was not built"))
}

#[utoipa::path(get, path = "/api/v1/mailboxes", tag = "mail", responses((status = 200, body = Vec<MailboxView>)))]
pub async fn list_mailboxes(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<MailboxView>>> {
    caller.require(Action::ManageChannels)?;
    let all = state.app.mail().mailboxes().await?;
    Ok(Json(all.iter().map(MailboxView::from).collect()))
}

/// Add a mailbox. With an IMAP server it is fetched at once; with an SMTP server replies on its
/// cases go out through it.
#[utoipa::path(post, path = "/api/v1/mailboxes", tag = "mail", request_body = MailboxInputBody,
    responses((status = 201, body = MailboxView), (status = 422, body = crate::docs::Problem)))]
pub async fn create_mailbox(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<MailboxInputBody>,
) -> ApiResult<(StatusCode, Json<MailboxView>)> {
    caller.require(Action::ManageChannels)?;
    let spec = spec(&input, None)?;
    let mailbox = state.app.mail().create_mailbox(caller.actor(), spec).await?;
    Ok((StatusCode::CREATED, Json(MailboxView::from(&mailbox))))
}

#[utoipa::path(get, path = "/api/v1/mailboxes/{id}", tag = "mail", params(("id" = i64, Path)),
    responses((status = 200, body = MailboxView), (status = 404, body = crate::docs::Problem)))]
pub async fn get_mailbox(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<MailboxView>> {
    caller.require(Action::ManageChannels)?;
    let mailbox = state.app.mail().mailbox(ChannelId(id)).await?;
    Ok(Json(MailboxView::from(&mailbox)))
}

/// Change a mailbox; its fetcher restarts with the new settings.
#[utoipa::path(patch, path = "/api/v1/mailboxes/{id}", tag = "mail", params(("id" = i64, Path)), request_body = MailboxInputBody,
    responses((status = 200, body = MailboxView), (status = 404, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem)))]
pub async fn update_mailbox(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    ApiJson(input): ApiJson<MailboxInputBody>,
) -> ApiResult<Json<MailboxView>> {
    caller.require(Action::ManageChannels)?;
    let current = state.app.mail().mailbox(ChannelId(id)).await?;
    let spec = spec(&input, Some(&current))?;
    let mailbox = state.app.mail().update_mailbox(caller.actor(), ChannelId(id), spec).await?;
    Ok(Json(MailboxView::from(&mailbox)))
}

/// Remove a mailbox no mail went through (otherwise switch it off with `"active": false`).
#[utoipa::path(delete, path = "/api/v1/mailboxes/{id}", tag = "mail", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::docs::Problem), (status = 409, body = crate::docs::Problem)))]
pub async fn delete_mailbox(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<StatusCode> {
    caller.require(Action::ManageChannels)?;
    state.app.mail().delete_mailbox(caller.actor(), ChannelId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RawMailView {
    pub id: i64,
    pub mailbox_id: i64,
    /// `lmtp`, `pipe`, `imap` or `api`.
    pub source: String,
    pub recipients: Vec<String>,
    pub size: i64,
    #[schema(value_type = crate::docs::RawStatusChoice)]
    pub status: String,
    /// Why it is quarantined or ignored; for filed automatic mail, why it counts as automatic.
    pub error: Option<String>,
    pub attempts: i64,
    pub message_id: Option<String>,
    pub case_id: Option<i64>,
    pub received_at: String,
    pub processed_at: Option<String>,
}

impl From<&RawMail> for RawMailView {
    fn from(r: &RawMail) -> Self {
        Self {
            id: r.id.0,
            mailbox_id: r.channel_id.0,
            source: r.source.as_str().into(),
            recipients: r.recipients.clone(),
            size: r.size,
            status: r.status.as_str().into(),
            error: r.error.clone(),
            attempts: r.attempts,
            message_id: r.external_id.clone(),
            case_id: r.case_id.map(|c| c.0),
            received_at: r.received_at.to_rfc3339(),
            processed_at: r.processed_at.map(|t| t.to_rfc3339()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RawMailPage {
    pub items: Vec<RawMailView>,
    /// Pass as `before` for the next (older) page; null on the last one.
    pub next_before: Option<i64>,
}

/// Received mail, newest first; `status=quarantined` lists what needs an admin's eye.
#[utoipa::path(get, path = "/api/v1/mail/messages", tag = "mail",
    params(("status" = Option<crate::docs::RawStatusChoice>, Query), ("before" = Option<i64>, Query), ("limit" = Option<i64>, Query, minimum = 1, maximum = 200)),
    responses((status = 200, body = RawMailPage), (status = 422, body = crate::docs::Problem)))]
pub async fn list_messages(State(state): State<AppState>, caller: Caller, query: ApiQuery) -> ApiResult<Json<RawMailPage>> {
    caller.require(Action::ManageChannels)?;
    query.only(&["status", "before", "limit"])?;
    let mut errors = Errors::default();
    let status = query.text("status").and_then(|s| errors.take(RawStatus::parse_field("status", s)));
    let before = errors.take(query.id("before")).flatten().map(PayloadId);
    let limit = errors.take(query.limit(50, 200));
    errors.finish()?;
    let limit = limit.unwrap_or(50);
    let items = state.app.mail().received(status, before, limit).await?;
    let next_before = (items.len() as i64 == limit).then(|| items.last().map(|r| r.id.0)).flatten();
    Ok(Json(RawMailPage { items: items.iter().map(RawMailView::from).collect(), next_before }))
}

#[utoipa::path(get, path = "/api/v1/mail/messages/{id}", tag = "mail", params(("id" = i64, Path)),
    responses((status = 200, body = RawMailView), (status = 404, body = crate::docs::Problem)))]
pub async fn get_message(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<RawMailView>> {
    caller.require(Action::ManageChannels)?;
    let raw = state.app.mail().message(PayloadId(id)).await?;
    Ok(Json(RawMailView::from(&raw)))
}

/// The message exactly as it arrived (`message/rfc822`), to inspect or forward.
#[utoipa::path(get, path = "/api/v1/mail/messages/{id}/raw", tag = "mail", params(("id" = i64, Path)),
    responses((status = 200, description = "The raw message", content_type = "message/rfc822"), (status = 404, body = crate::docs::Problem)))]
pub async fn raw_message(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Response> {
    caller.require(Action::ManageChannels)?;
    let bytes = state.app.mail().raw(PayloadId(id)).await?;
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    // A download, never rendered: the bytes are whatever a stranger sent.
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("message/rfc822"));
    let disposition = super::attachments::content_disposition("attachment", &format!("mail-{id}.eml"));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    Ok(response)
}

/// Send a quarantined or ignored message through processing again (after a fix, or because an
/// admin decided it should be filed after all).
#[utoipa::path(post, path = "/api/v1/mail/messages/{id}/reprocess", tag = "mail", params(("id" = i64, Path)),
    responses((status = 200, body = RawMailView), (status = 404, body = crate::docs::Problem), (status = 409, body = crate::docs::Problem)))]
pub async fn reprocess(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<RawMailView>> {
    caller.require(Action::ManageChannels)?;
    let raw = state.app.mail().reprocess(PayloadId(id)).await?;
    Ok(Json(RawMailView::from(&raw)))
}

/// How one server of a mailbox answered: signed in, or why not.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServerCheck {
    pub ok: bool,
    pub error: Option<String>,
}

/// The result of trying a mailbox's servers; a server the mailbox does not have is null.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MailboxCheck {
    pub imap: Option<ServerCheck>,
    pub smtp: Option<ServerCheck>,
}

impl From<opora_app::channels::ServerCheck> for ServerCheck {
    fn from(check: opora_app::channels::ServerCheck) -> Self {
        Self { ok: check.ok, error: check.error }
    }
}

/// Try the mailbox's IMAP and SMTP servers now: connect, TLS, sign in, open the folder.
#[utoipa::path(post, path = "/api/v1/mailboxes/{id}/check", tag = "mail", params(("id" = i64, Path)),
    responses((status = 200, body = MailboxCheck), (status = 404, body = crate::docs::Problem)))]
pub async fn check_mailbox(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<MailboxCheck>> {
    caller.require(Action::ManageChannels)?;
    let (imap, smtp) = state.app.mail().check(ChannelId(id)).await?;
    Ok(Json(MailboxCheck { imap: imap.map(ServerCheck::from), smtp: smtp.map(ServerCheck::from) }))
}
