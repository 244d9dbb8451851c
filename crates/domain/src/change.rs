//! What changed: a property's value before and after, as events and audit lines record it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One property that changed, with its value before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub from: Value,
    pub to: Value,
}

/// The properties a change touched, by name.
pub type Changes = BTreeMap<String, Change>;

/// Records `name` in `changes` when the two values differ.
pub fn note_change(changes: &mut Changes, name: &str, from: impl Serialize, to: impl Serialize) {
    let (from, to) = (serde_json::to_value(from).unwrap_or(Value::Null), serde_json::to_value(to).unwrap_or(Value::Null));
    if from != to {
        changes.insert(name.to_owned(), Change { from, to });
    }
}
