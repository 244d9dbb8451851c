//! API errors: one type, one table of stable codes with their HTTP status, rendered as
//! `application/problem+json` in the caller's language by [`render_problems`].

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use opora_domain::agent::Language;
use opora_domain::{DomainError, FieldError};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::i18n::{I18n, from_accept_language};

/// Every error code the API can answer with, and its HTTP status. Codes are part of the API
/// contract: never rename one, only add.
pub const CODES: &[(&str, u16)] = &[
    ("malformed_json", 400),
    ("bad_request", 400),
    ("unauthenticated", 401),
    ("invalid_credentials", 401),
    ("invalid_signature", 401),
    ("forbidden", 403),
    ("csrf_failed", 403),
    ("not_case_owner", 403),
    ("not_involved", 403),
    ("not_found", 404),
    ("route_not_found", 404),
    ("case_not_found", 404),
    ("customer_not_found", 404),
    ("agent_not_found", 404),
    ("team_not_found", 404),
    ("message_not_found", 404),
    ("attachment_not_found", 404),
    ("identity_not_found", 404),
    ("custom_field_not_found", 404),
    ("token_not_found", 404),
    ("webhook_not_found", 404),
    ("job_not_found", 404),
    ("reply_template_not_found", 404),
    ("mailbox_not_found", 404),
    ("mail_not_found", 404),
    ("channel_not_found", 404),
    ("payload_not_found", 404),
    ("visitor_not_found", 404),
    ("order_not_found", 404),
    ("performer_not_found", 404),
    ("rating_not_found", 404),
    ("playbook_not_found", 404),
    ("no_playbook", 409),
    ("compensation_not_found", 404),
    ("extra_not_found", 404),
    ("survey_not_found", 404),
    ("compensation_decided", 409),
    ("origin_not_allowed", 403),
    ("method_not_allowed", 405),
    ("invalid_status_transition", 409),
    ("case_needs_owner", 409),
    ("case_already_owned", 409),
    ("case_closed", 409),
    ("compensation_over_budget", 409),
    ("idempotency_key_reused", 409),
    ("agent_email_taken", 409),
    ("team_name_taken", 409),
    ("identity_taken", 409),
    ("custom_field_exists", 409),
    ("team_has_cases", 409),
    ("customer_has_cases", 409),
    ("job_not_dead", 409),
    ("last_admin", 409),
    ("mailbox_in_use", 409),
    ("default_mailbox_required", 409),
    ("mail_not_quarantined", 409),
    ("channel_in_use", 409),
    ("verification_failed", 403),
    ("window_closed", 409),
    ("default_channel_required", 409),
    ("payload_too_large", 413),
    ("unsupported_media_type", 415),
    ("validation_failed", 422),
    ("rate_limited", 429),
    ("internal_error", 500),
    ("service_unavailable", 503),
];

pub fn status_of(code: &str) -> StatusCode {
    CODES
        .iter()
        .find(|(c, _)| *c == code)
        .and_then(|(_, status)| StatusCode::from_u16(*status).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: &'static str,
    pub fields: Vec<FieldError>,
    /// Values the title's translation needs (`from`, `to`, `remaining`).
    pub args: Map<String, Value>,
    /// Extra facts for the client (`owner_id` of a case already owned).
    pub extra: Map<String, Value>,
    /// For 5xx: the cause, logged and never shown.
    pub cause: Option<String>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: &'static str) -> Self {
        Self { code, fields: Vec::new(), args: Map::new(), extra: Map::new(), cause: None }
    }

    /// A validation error; a field reported twice by two checks of one request is listed once.
    pub fn fields(mut fields: Vec<FieldError>) -> Self {
        let mut seen = std::collections::HashSet::new();
        fields.retain(|f| seen.insert((f.field.clone(), f.code)));
        Self { fields, ..Self::new("validation_failed") }
    }

    pub fn field(field: impl Into<String>, code: &'static str) -> Self {
        Self::fields(vec![FieldError::new(field, code)])
    }

    pub fn internal(cause: impl Into<String>) -> Self {
        Self { cause: Some(cause.into()), ..Self::new("internal_error") }
    }

    pub fn arg(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.args.insert(key.into(), value.into());
        self
    }

    pub fn status(&self) -> StatusCode {
        status_of(self.code)
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        let code = error.code();
        match error {
            DomainError::Validation(fields) => ApiError::fields(fields),
            DomainError::InvalidStatusTransition { from, to } => ApiError::new(code).arg("from", from.as_str()).arg("to", to.as_str()),
            DomainError::OverBudget { remaining_minor, currency } => ApiError::new(code)
                .arg("remaining", opora_domain::compensation::Money::format_minor(remaining_minor))
                .arg("currency", currency),
            DomainError::CaseAlreadyOwned { owner } => {
                let mut error = ApiError::new(code);
                error.extra.insert("owner_id".into(), json!(owner));
                error
            }
            _ => ApiError::new(code),
        }
    }
}

impl From<opora_app::Error> for ApiError {
    fn from(error: opora_app::Error) -> Self {
        match error {
            opora_app::Error::Domain(domain) => domain.into(),
            opora_app::Error::Internal(cause) => ApiError::internal(cause),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status().into_response();
        response.extensions_mut().insert(Arc::new(self));
        response
    }
}

/// Set by authentication so errors speak the agent's language when the request did not ask.
#[derive(Clone, Default)]
pub struct LanguageHint(pub Arc<std::sync::OnceLock<Language>>);

/// Renders every error response of the API as problem+json in the caller's language: errors
/// raised as [`ApiError`], and bare statuses from the router (404, 405) and body limits (413).
pub async fn render_problems(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let hint = LanguageHint::default();
    request.extensions_mut().insert(hint.clone());
    let asked = request.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(from_accept_language);
    let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let response = next.run(request).await;
    let error = match response.extensions().get::<Arc<ApiError>>() {
        Some(error) => (**error).clone(),
        None => match bare_status_code(&response) {
            Some(code) => ApiError::new(code),
            None => return response,
        },
    };
    let language = asked.or_else(|| hint.0.get().copied()).unwrap_or(state.config.default_language);
    if let Some(cause) = &error.cause {
        tracing::error!(code = error.code, cause = %cause, request_id = request_id.as_deref().unwrap_or(""), "request failed");
    }
    let status = response.status();
    let (mut parts, _) = response.into_parts();
    let body = problem(&state.i18n, &error, status, language, request_id.as_deref());
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body.to_string()))
}

/// A status without a body (the router's own 404 and 405) becomes a problem document; pages
/// and documents that already say something are left alone.
fn bare_status_code(response: &Response) -> Option<&'static str> {
    if response.headers().contains_key(header::CONTENT_TYPE) || response.status().as_u16() < 400 {
        return None;
    }
    Some(match response.status() {
        StatusCode::NOT_FOUND => "route_not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::BAD_REQUEST => "bad_request",
        status if status.is_server_error() => "internal_error",
        _ => "bad_request",
    })
}

/// How many field errors one answer lists.
pub const MAX_FIELD_ERRORS: usize = 100;

/// The problem document: RFC 9457 members plus our `code`, the fields at fault and the request id.
pub fn problem(i18n: &I18n, error: &ApiError, status: StatusCode, language: Language, request_id: Option<&str>) -> Value {
    let args: Vec<(&str, &Value)> = error.args.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut body = json!({
        "type": format!("/api/docs#error-{}", error.code),
        "title": i18n.text(language, &format!("error-{}", error.code), &args),
        "status": status.as_u16(),
        "code": error.code,
    });
    if !error.fields.is_empty() {
        let fields: Vec<Value> = error
            .fields
            .iter()
            // Enough to fix a form; a body of 200,000 unknown keys must not get a 16 MB answer.
            .take(MAX_FIELD_ERRORS)
            .map(|f| {
                let args: Vec<(&str, &Value)> = f.params.iter().map(|(k, v)| (k.as_str(), v)).collect();
                let mut field =
                    json!({"field": f.field, "code": f.code, "message": i18n.text(language, &format!("field-{}", f.code), &args)});
                if !f.params.is_empty() {
                    field["params"] = Value::Object(f.params.clone());
                }
                field
            })
            .collect();
        body["fields"] = Value::Array(fields);
        if error.fields.len() > MAX_FIELD_ERRORS {
            body["fields_omitted"] = json!(error.fields.len() - MAX_FIELD_ERRORS);
        }
    }
    for (key, value) in &error.extra {
        body[key] = value.clone();
    }
    if let Some(id) = request_id {
        body["request_id"] = json!(id);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_translated() {
        let i18n = I18n::load().expect("translations");
        for (index, (code, _)) in CODES.iter().enumerate() {
            assert!(!CODES[..index].iter().any(|(c, _)| c == code), "duplicate code {code}");
            for language in Language::ALL {
                assert!(i18n.has(*language, &format!("error-{code}")), "no {language} title for {code}");
            }
        }
    }

    #[test]
    fn domain_codes_are_in_the_table() {
        let samples = [
            DomainError::Validation(vec![]),
            DomainError::CaseNeedsOwner,
            DomainError::NotCaseOwner,
            DomainError::NotInvolved,
            DomainError::CaseClosed,
            DomainError::Forbidden,
            DomainError::NotFound("case"),
            DomainError::NotFound("webhook"),
            DomainError::Conflict("identity_taken"),
        ];
        for error in samples {
            assert_ne!(status_of(error.code()), StatusCode::INTERNAL_SERVER_ERROR, "{}", error.code());
        }
    }
}
