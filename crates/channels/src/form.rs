//! Reading a channel's settings as an admin sent them (a JSON object of flat fields) over the
//! stored ones: the typed readers every driver's `settings` shares, each reporting the field at
//! fault.

use opora_domain::channel::ConversationPolicy;
use opora_domain::error::{Errors, FieldError};
use serde_json::Value;

/// Reads a field of a JSON object: absent (`None`), `null` (`Some(None)`), or a value.
pub fn field<'a>(input: &'a Value, name: &str) -> Option<Option<&'a Value>> {
    input.get(name).map(|v| if v.is_null() { None } else { Some(v) })
}

pub fn text_of<'a>(input: &'a Value, name: &str, errors: &mut Errors) -> Option<Option<&'a str>> {
    match field(input, name) {
        None => None,
        Some(None) => Some(None),
        Some(Some(Value::String(s))) => Some(Some(s.as_str())),
        Some(Some(_)) => {
            errors.push(FieldError::new(name, "invalid_type").with("expected", "string"));
            None
        }
    }
}

pub fn flag_of(input: &Value, name: &str, errors: &mut Errors) -> Option<bool> {
    match field(input, name) {
        None | Some(None) => None,
        Some(Some(Value::Bool(b))) => Some(*b),
        Some(Some(_)) => {
            errors.push(FieldError::new(name, "invalid_type").with("expected", "boolean"));
            None
        }
    }
}

/// A required one-line value (a token, a secret): the new one, else the stored one; at most
/// `max` bytes, no control characters.
pub fn required_text(input: &Value, name: &str, stored: Option<&str>, max: usize, errors: &mut Errors) -> String {
    let given = text_of(input, name, errors).flatten().map(str::trim).filter(|v| !v.is_empty());
    match given.or(stored) {
        Some(value) if value.len() <= max && !value.chars().any(char::is_control) => value.to_owned(),
        Some(_) => {
            errors.push(FieldError::new(name, "invalid_value"));
            String::new()
        }
        None => {
            errors.push(FieldError::required(name));
            String::new()
        }
    }
}

/// `api_base_url`: a provider's address (a test's or a proxy's instead of the public one), else
/// the stored one, else `public`. Without a trailing slash; internal addresses only when allowed.
pub fn base_url(input: &Value, stored: Option<&str>, public: &str, allow_internal: bool, errors: &mut Errors) -> String {
    match text_of(input, "api_base_url", errors).flatten().filter(|u| !u.trim().is_empty()) {
        Some(url) => errors
            .take(crate::webhook::check_url("api_base_url", url, allow_internal))
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_default(),
        None => stored.unwrap_or(public).to_owned(),
    }
}

/// `conversation_policy`, else the stored one, else one ongoing case per conversation.
pub fn policy_of(input: &Value, current: Option<ConversationPolicy>, errors: &mut Errors) -> ConversationPolicy {
    let given = text_of(input, "conversation_policy", errors).flatten();
    let parsed = given.and_then(|policy| errors.take(ConversationPolicy::parse_field("conversation_policy", policy)));
    parsed.or(current).unwrap_or(ConversationPolicy::Ongoing)
}

/// The field errors gathered, or nothing when the input was good.
pub fn finish(errors: Errors) -> Result<(), Vec<FieldError>> {
    if errors.is_empty() { Ok(()) } else { Err(errors.0) }
}
