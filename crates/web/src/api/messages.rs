//! `/api/v1/cases/{id}/messages`: the conversation, replies, internal notes and customer
//! messages posted by integrations, with attachments (JSON with base64, or multipart).

use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use opora_app::messages::{Post, ReplyOptions};
use opora_domain::agent::Action;
use opora_domain::case::Status;
use opora_domain::error::Errors;
use opora_domain::message::clean_filename;
use opora_domain::outbound::TemplateUse;
use opora_domain::validate::line;
use opora_domain::{CaseId, CustomerId, FieldError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{PathId, RawJson};
use crate::input::{AttachmentInput, Upload, body, content_type, decode_attachments, store_uploads};
use crate::views::{MessageView, Names};

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    /// `reply` (to the customer; default), `note` (internal) or `inbound` (a customer's message
    /// relayed by an integration).
    pub kind: Option<String>,
    pub body_text: Option<String>,
    pub body_html: Option<String>,
    /// "Send and set status": the case's status after a reply.
    #[schema(value_type = Option<crate::docs::StatusChoice>)]
    pub status_after: Option<String>,
    /// Who a reply is copied to: customer ids of people in the case's conversation (see the
    /// case's `participants`); `[]` for nobody; omitted: everyone in it.
    pub copies: Option<Vec<i64>>,
    /// Send a reply to more people than the limit (`conversations.confirm_recipients_over`):
    /// without it such a reply is refused with `confirm_recipients` and the count.
    #[serde(default)]
    pub confirm_recipients: bool,
    #[serde(default)]
    pub attachments: Vec<AttachmentInput>,
    /// A reply sent as a template the provider approved (WhatsApp, once 24 hours have passed
    /// since the customer last wrote: see `GET /api/v1/cases/{id}/reply-window`). Its text is
    /// the template's, filled with `variables`; `body_text` and `body_html` are not sent.
    pub template: Option<TemplateReply>,
    /// Send a reply through this channel (one that reaches the customer: see `channels` in
    /// `GET /api/v1/cases/{id}/reply-window`); omitted: the channel the customer wrote through
    /// last.
    #[schema(minimum = 1)]
    pub channel_id: Option<i64>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateReply {
    #[schema(required)]
    pub name: Option<String>,
    #[schema(required)]
    pub language: Option<String>,
    /// The values of `{{1}}`, `{{2}}`… in order.
    #[serde(default)]
    pub variables: Vec<String>,
}

/// A template as asked for, each part checked.
fn template(input: &TemplateReply, errors: &mut Errors) -> Option<TemplateUse> {
    let name = input.name.as_deref().and_then(|n| errors.take(line("template.name", n, 1, 512)));
    let language = input.language.as_deref().and_then(|l| errors.take(line("template.language", l, 1, 20)));
    if input.name.is_none() {
        errors.push(FieldError::required("template.name"));
    }
    if input.language.is_none() {
        errors.push(FieldError::required("template.language"));
    }
    if input.variables.len() > 20 {
        errors.push(FieldError::new("template.variables", "too_many").with("max", 20));
    }
    let variables: Vec<String> =
        input.variables.iter().enumerate().filter_map(|(i, v)| errors.take(line(&format!("template.variables.{i}"), v, 1, 1000))).collect();
    Some(TemplateUse { name: name?, language: language?, variables })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Reply,
    Note,
    Inbound,
}

/// Reads a multipart form: text fields as in the JSON body, files under `attachments`.
async fn from_multipart(mut form: Multipart, max_bytes: usize, errors: &mut Errors) -> ApiResult<(PostMessage, Vec<Upload>)> {
    let mut input = PostMessage::default();
    let mut uploads = Vec::new();
    while let Some(field) = form.next_field().await.map_err(|_| ApiError::new("bad_request"))? {
        let name = field.name().unwrap_or("").to_owned();
        if name == "attachments" || field.file_name().is_some() {
            let filename = clean_filename(field.file_name().unwrap_or("file"));
            let mime = content_type(field.content_type());
            let content = field.bytes().await.map_err(|_| ApiError::new("payload_too_large"))?;
            if content.len() > max_bytes {
                errors.push(
                    FieldError::new(format!("attachments.{}", uploads.len()), "file_too_large").with("max", max_bytes / (1024 * 1024)),
                );
            } else {
                uploads.push(Upload { filename, content_type: mime, content: content.to_vec() });
            }
            continue;
        }
        let value = field.text().await.map_err(|_| ApiError::new("bad_request"))?;
        match name.as_str() {
            "kind" => input.kind = Some(value),
            "body_text" => input.body_text = Some(value),
            "body_html" => input.body_html = Some(value),
            "status_after" => input.status_after = Some(value).filter(|v| !v.is_empty()),
            // The workspace sends the chosen copies as one comma-separated field ("" for none).
            "copies" => {
                let ids: Vec<Option<i64>> = value.split(',').filter(|v| !v.trim().is_empty()).map(|v| v.trim().parse().ok()).collect();
                if ids.iter().any(Option::is_none) {
                    errors.push(FieldError::new("copies", "invalid_value"));
                }
                input.copies = Some(ids.into_iter().flatten().collect());
            }
            "confirm_recipients" => input.confirm_recipients = value == "true",
            "channel_id" => match value.parse::<i64>() {
                Ok(id) if id > 0 => input.channel_id = Some(id),
                _ if value.is_empty() => {}
                _ => errors.push(FieldError::new("channel_id", "invalid_value")),
            },
            // The workspace sends a chosen template as one JSON field.
            "template" => match serde_json::from_str(&value) {
                Ok(chosen) => input.template = Some(chosen),
                Err(_) => errors.push(FieldError::new("template", "invalid_value")),
            },
            other => errors.push(FieldError::new(other, "unknown_field")),
        }
    }
    Ok((input, uploads))
}

/// Add a message: a reply to the customer, an internal note, or a customer's message.
///
/// A reply on an unowned case makes you its owner; the first reply marks the first response.
/// `status_after` sets the status in the same step. Notes are for agents only, and anyone
/// working cases may leave one, owner or not. Send `application/json` (attachments as base64)
/// or `multipart/form-data` (files under `attachments`).
#[utoipa::path(post, path = "/api/v1/cases/{id}/messages", tag = "messages", params(("id" = i64, Path)), request_body = PostMessage,
    responses((status = 201, body = MessageView), (status = 409, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem)))]
pub async fn post(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    request: Request,
) -> ApiResult<(StatusCode, Json<MessageView>)> {
    caller.require(Action::WorkCases)?;
    let max = state.config.max_attachment_bytes;
    let is_multipart =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("multipart/form-data"));
    let mut errors = Errors::default();
    let (input, mut uploads) = if is_multipart {
        let form = Multipart::from_request(request, &state).await.map_err(|_| ApiError::new("bad_request"))?;
        from_multipart(form, max, &mut errors).await?
    } else {
        let RawJson(input, _) = RawJson::<PostMessage>::from_request(request, &state).await?;
        (input, Vec::new())
    };
    uploads.extend(decode_attachments("attachments", &input.attachments, max, &mut errors));
    let kind = match input.kind.as_deref().unwrap_or("reply") {
        "reply" => Some(Kind::Reply),
        "note" => Some(Kind::Note),
        "inbound" => Some(Kind::Inbound),
        _ => {
            errors.push(FieldError::new("kind", "invalid_choice").with("allowed", "reply, note, inbound"));
            None
        }
    };
    let status_after = input.status_after.as_deref().and_then(|s| errors.take(Status::parse_field("status_after", s)));
    if status_after.is_some() && kind != Some(Kind::Reply) {
        errors.push(FieldError::new("status_after", "invalid_value"));
    }
    if input.channel_id.is_some_and(|id| id < 1) {
        errors.push(FieldError::new("channel_id", "invalid_value"));
    }
    if input.channel_id.is_some() && kind != Some(Kind::Reply) {
        errors.push(FieldError::new("channel_id", "invalid_value"));
    }
    if input.copies.is_some() && kind != Some(Kind::Reply) {
        errors.push(FieldError::new("copies", "invalid_value"));
    }
    let template = input.template.as_ref().and_then(|t| template(t, &mut errors));
    if input.template.is_some() && kind != Some(Kind::Reply) {
        errors.push(FieldError::new("template", "invalid_value"));
    }
    let written = input.body_text.is_some() || input.body_html.is_some();
    let body = if input.template.is_some() {
        if written {
            errors.push(FieldError::new("body_text", "invalid_value").with("reason", "a template reply has the template's text"));
        }
        None
    } else {
        body("body", input.body_text.as_deref(), input.body_html.as_deref(), &mut errors)
    };
    errors.finish()?;
    let Some(kind) = kind else {
        return Err(ApiError::new("validation_failed"));
    };
    let attachments = store_uploads(&state, uploads).await?;
    let post = match kind {
        Kind::Reply => Post::Reply(ReplyOptions {
            status_after,
            copies: input.copies.map(|ids| ids.into_iter().map(CustomerId).collect()),
            confirm_recipients: input.confirm_recipients,
            template,
            channel: input.channel_id.filter(|id| *id > 0).map(opora_domain::ChannelId),
        }),
        Kind::Note => Post::Note,
        Kind::Inbound => Post::Inbound,
    };
    let (message, names) = state.app.messages().post(caller.acting(), CaseId(id), post, body, attachments).await?;
    Ok((StatusCode::CREATED, Json(Names(names).message(&message))))
}

/// The conversation of a case, oldest first: customer messages, replies and internal notes.
#[utoipa::path(get, path = "/api/v1/cases/{id}/messages", tag = "messages", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<MessageView>), (status = 404, body = crate::docs::Problem)))]
pub async fn list(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<Vec<MessageView>>> {
    caller.require(Action::ReadCases)?;
    let (messages, names) = state.app.messages().of_case(caller.acting(), CaseId(id)).await?;
    let names = Names(names);
    Ok(Json(messages.iter().map(|m| names.message(m)).collect()))
}

/// Whether free text reaches the customer now through the case's channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplyWindowView {
    /// The channel limits free text (WhatsApp: 24 hours after the customer's last message).
    pub applies: bool,
    /// A free-text reply reaches the customer now.
    pub open: bool,
    /// When the window closes or closed; null when the customer never wrote through it.
    pub closes_at: Option<String>,
    /// The templates the provider approved: what may be sent while the window is closed.
    pub templates: Vec<TemplateView>,
    /// The channels a reply can go through (`channel_id` of a reply), the default first: the
    /// one the customer wrote through last.
    pub channels: Vec<ReplyChannel>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplyChannel {
    pub id: i64,
    #[schema(value_type = crate::docs::ChannelChoice)]
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    pub name: String,
    pub language: String,
    /// Its text, with `{{1}}`, `{{2}}`… where the variables go.
    pub body: String,
    pub variables: usize,
}

/// The reply window of a case: whether a free-text reply reaches the customer now and, when
/// it does not, the approved templates that do.
#[utoipa::path(get, path = "/api/v1/cases/{id}/reply-window", tag = "messages", params(("id" = i64, Path)),
    responses((status = 200, body = ReplyWindowView), (status = 404, body = crate::docs::Problem)))]
pub async fn reply_window(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<ReplyWindowView>> {
    caller.require(Action::ReadCases)?;
    let (window, templates) = state.app.messages().window(caller.acting(), CaseId(id)).await?;
    let channels = state.app.messages().reply_channels(caller.acting(), CaseId(id)).await?;
    Ok(Json(ReplyWindowView {
        applies: window.applies,
        open: window.open,
        closes_at: window.closes_at.map(|t| t.to_rfc3339()),
        templates: templates
            .into_iter()
            .map(|t| TemplateView { name: t.name, language: t.language, body: t.body, variables: t.variables })
            .collect(),
        channels: channels.into_iter().map(|c| ReplyChannel { id: c.id.0, kind: c.kind.as_str().into(), name: c.name }).collect(),
    }))
}
