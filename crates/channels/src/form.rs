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
