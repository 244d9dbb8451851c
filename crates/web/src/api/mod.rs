//! The REST API under `/api/v1`: one module per resource, each handler documented for OpenAPI.

pub mod agents;
pub mod attachments;
pub mod auth;
pub mod case_work;
pub mod cases;
pub mod channels;
pub mod customers;
pub mod events;
pub mod fields;
pub mod hooks;
pub mod jobs;
pub mod mail;
pub mod messages;
pub mod orders;
pub mod playbooks;
pub mod ratings;
pub mod surveys;
pub mod system;
pub mod tokens;
pub mod webhooks;
pub mod workspace;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use opora_domain::FieldError;
use serde::{Deserialize, Deserializer};

/// Distinguishes an absent field (`None`, leave as is) from `null` (`Some(None)`, clear it).
pub fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Ok(Some(Option::deserialize(deserializer)?))
}

/// Opaque page cursors: the sort key of the last item, so pages stay stable while data changes.
pub fn encode_cursor(parts: &[i64]) -> String {
    let text = parts.iter().map(i64::to_string).collect::<Vec<_>>().join(":");
    URL_SAFE_NO_PAD.encode(text)
}

pub fn decode_cursor(cursor: &str, count: usize) -> Result<Vec<i64>, FieldError> {
    let invalid = || FieldError::new("cursor", "invalid_cursor");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let parts: Vec<i64> = text.split(':').map(str::parse).collect::<Result<_, _>>().map_err(|_| invalid())?;
    if parts.len() == count { Ok(parts) } else { Err(invalid()) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = super::encode_cursor(&[1_763_823_845_000, 42]);
        assert_eq!(super::decode_cursor(&cursor, 2), Ok(vec![1_763_823_845_000, 42]));
        assert!(super::decode_cursor("not a cursor", 2).is_err());
        assert!(super::decode_cursor(&super::encode_cursor(&[1]), 2).is_err());
    }
}
