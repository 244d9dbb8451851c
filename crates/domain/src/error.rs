//! Domain errors. Each carries a stable snake_case code; the web layer maps codes to HTTP statuses
//! and translated messages in one table, so these types stay free of HTTP.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::ids::AgentId;
use crate::status::Status;

/// One input field at fault: a dotted path (`customer.email`, `custom_fields.order_no`), a stable
/// code the UI translates, and the parameters its message needs (`max`, `allowed`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub params: Map<String, Value>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str) -> Self {
        Self { field: field.into(), code, params: Map::new() }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.params.insert(key.to_owned(), value.into());
        self
    }

    pub fn required(field: impl Into<String>) -> Self {
        Self::new(field, "required")
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    #[error("invalid input: {0:?}")]
    Validation(Vec<FieldError>),
    #[error("a case cannot go from {from} to {to}")]
    InvalidStatusTransition { from: Status, to: Status },
    #[error("a case needs an owner before it can be solved")]
    CaseNeedsOwner,
    #[error("the case is already owned by agent {owner}")]
    CaseAlreadyOwned { owner: AgentId },
    #[error("only the owner or a supervisor may do this")]
    NotCaseOwner,
    #[error("only the owner, its collaborators or a supervisor may change this case")]
    NotInvolved,
    #[error("the case is closed")]
    CaseClosed,
    #[error("the compensation exceeds the remaining budget")]
    OverBudget { remaining_minor: i64, currency: String },
    #[error("not allowed for this role")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("conflict: {0}")]
    Conflict(&'static str),
}

impl DomainError {
    pub fn field(field: impl Into<String>, code: &'static str) -> Self {
        Self::Validation(vec![FieldError::new(field, code)])
    }

    /// The stable error code, as documented in the API.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation_failed",
            Self::InvalidStatusTransition { .. } => "invalid_status_transition",
            Self::CaseNeedsOwner => "case_needs_owner",
            Self::CaseAlreadyOwned { .. } => "case_already_owned",
            Self::NotCaseOwner => "not_case_owner",
            Self::NotInvolved => "not_involved",
            Self::CaseClosed => "case_closed",
            Self::OverBudget { .. } => "compensation_over_budget",
            Self::Forbidden => "forbidden",
            Self::NotFound(what) => not_found_code(what),
            Self::Conflict(code) => code,
        }
    }
}

fn not_found_code(what: &str) -> &'static str {
    match what {
        "case" => "case_not_found",
        "customer" => "customer_not_found",
        "agent" => "agent_not_found",
        "team" => "team_not_found",
        "message" => "message_not_found",
        "attachment" => "attachment_not_found",
        "identity" => "identity_not_found",
        "custom_field" => "custom_field_not_found",
        "token" => "token_not_found",
        "webhook" => "webhook_not_found",
        "job" => "job_not_found",
        "reply_template" => "reply_template_not_found",
        "mailbox" => "mailbox_not_found",
        "mail" => "mail_not_found",
        "channel" => "channel_not_found",
        "payload" => "payload_not_found",
        "visitor" => "visitor_not_found",
        "order" => "order_not_found",
        "performer" => "performer_not_found",
        "rating" => "rating_not_found",
        "playbook" => "playbook_not_found",
        "compensation" => "compensation_not_found",
        "extra" => "extra_not_found",
        _ => "not_found",
    }
}

/// Collects field errors while parsing a request, so one response lists every field at fault.
#[derive(Debug, Default)]
pub struct Errors(pub Vec<FieldError>);

impl Errors {
    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// Keeps the value of a successful parse and records the failure of an unsuccessful one.
    pub fn take<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(error);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn finish(self) -> Result<(), DomainError> {
        if self.0.is_empty() { Ok(()) } else { Err(DomainError::Validation(self.0)) }
    }
}
