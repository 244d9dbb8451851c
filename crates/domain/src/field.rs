//! Custom fields defined by an admin (text, number, date, select) and the check of their values.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::FieldError;
use crate::ids::FieldId;
use crate::string_enum;
use crate::time::Timestamp;

string_enum! {
    pub enum FieldType {
        Text => "text",
        Number => "number",
        Date => "date",
        Select => "select",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectOption {
    pub value: String,
    pub label_ru: String,
    pub label_en: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldDefinition {
    pub id: FieldId,
    pub key: String,
    pub label_ru: String,
    pub label_en: String,
    pub field_type: FieldType,
    pub options: Vec<SelectOption>,
    pub required: bool,
    pub position: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

pub const MAX_TEXT_VALUE: usize = 2000;

impl FieldDefinition {
    /// Checks one value against the definition and returns its stored form. `null` clears it.
    pub fn check(&self, value: &Value) -> Result<Value, FieldError> {
        let field = format!("custom_fields.{}", self.key);
        if value.is_null() {
            return if self.required { Err(FieldError::required(field)) } else { Ok(Value::Null) };
        }
        let wrong = || FieldError::new(field.clone(), "invalid_type").with("expected", self.field_type.as_str());
        match self.field_type {
            FieldType::Text => {
                let text = value.as_str().ok_or_else(wrong)?;
                crate::validate::text(&field, text, usize::from(self.required), MAX_TEXT_VALUE).map(Value::String)
            }
            FieldType::Number => {
                let number = match value {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => s.trim().replace(',', ".").parse::<f64>().ok(),
                    _ => None,
                };
                let number = number.filter(|n| n.is_finite()).ok_or_else(wrong)?;
                Ok(serde_json::Number::from_f64(number).map_or(Value::Null, Value::Number))
            }
            FieldType::Date => {
                let text = value.as_str().ok_or_else(wrong)?.trim();
                let valid = text.len() == 10 && Timestamp::parse(text).is_some();
                if valid { Ok(Value::String(text.to_owned())) } else { Err(FieldError::new(field, "invalid_date")) }
            }
            FieldType::Select => {
                let text = value.as_str().ok_or_else(wrong)?;
                if self.options.iter().any(|o| o.value == text) {
                    Ok(Value::String(text.to_owned()))
                } else {
                    let allowed: Vec<&str> = self.options.iter().map(|o| o.value.as_str()).collect();
                    Err(FieldError::new(field, "invalid_choice").with("allowed", allowed.join(", ")))
                }
            }
        }
    }

    pub fn label(&self, language: crate::agent::Language) -> &str {
        match language {
            crate::agent::Language::Ru => &self.label_ru,
            crate::agent::Language::En => &self.label_en,
        }
    }
}

/// Applies custom-field input to a case's current values: unknown keys and invalid values are
/// reported per field, `null` removes a value, and on creation required fields must be present.
pub fn apply_values(
    definitions: &[FieldDefinition],
    current: &BTreeMap<String, Value>,
    input: &serde_json::Map<String, Value>,
    creating: bool,
) -> Result<BTreeMap<String, Value>, crate::DomainError> {
    let mut values = current.clone();
    let mut errors = Vec::new();
    for (key, value) in input {
        match definitions.iter().find(|d| &d.key == key) {
            None => errors.push(FieldError::new(format!("custom_fields.{key}"), "unknown_field")),
            Some(definition) => match definition.check(value) {
                Ok(Value::Null) => {
                    values.remove(key);
                }
                Ok(checked) => {
                    values.insert(key.clone(), checked);
                }
                Err(error) => errors.push(error),
            },
        }
    }
    if creating {
        for definition in definitions.iter().filter(|d| d.required && !values.contains_key(&d.key)) {
            if !errors.iter().any(|e| e.field.ends_with(&format!(".{}", definition.key))) {
                errors.push(FieldError::required(format!("custom_fields.{}", definition.key)));
            }
        }
    }
    if errors.is_empty() { Ok(values) } else { Err(crate::DomainError::Validation(errors)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_and_required_fields_are_reported() {
        let mut required = definition(FieldType::Text);
        required.required = true;
        let input = json!({"colour": "red"});
        let Err(crate::DomainError::Validation(errors)) =
            apply_values(&[required.clone()], &BTreeMap::new(), input.as_object().expect("object"), true)
        else {
            panic!("expected errors");
        };
        let fields: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(fields, [("custom_fields.colour", "unknown_field"), ("custom_fields.order_no", "required")]);
        let input = json!({"order_no": "A-17"});
        let values = apply_values(&[required], &BTreeMap::new(), input.as_object().expect("object"), true).expect("valid");
        assert_eq!(values.get("order_no"), Some(&json!("A-17")));
    }

    fn definition(field_type: FieldType) -> FieldDefinition {
        FieldDefinition {
            id: FieldId(1),
            key: "order_no".into(),
            label_ru: "Номер заказа".into(),
            label_en: "Order number".into(),
            field_type,
            options: vec![SelectOption { value: "msk".into(), label_ru: "Москва".into(), label_en: "Moscow".into() }],
            required: false,
            position: 0,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    #[test]
    fn values_are_checked_by_type() {
        assert_eq!(definition(FieldType::Number).check(&json!("12,5")), Ok(json!(12.5)));
        assert_eq!(definition(FieldType::Number).check(&json!("x")).map_err(|e| e.code), Err("invalid_type"));
        assert_eq!(definition(FieldType::Date).check(&json!("2026-02-30")).map_err(|e| e.code), Err("invalid_date"));
        assert_eq!(definition(FieldType::Date).check(&json!("2026-02-28")), Ok(json!("2026-02-28")));
        assert_eq!(definition(FieldType::Select).check(&json!("spb")).map_err(|e| e.code), Err("invalid_choice"));
        assert_eq!(definition(FieldType::Select).check(&json!("msk")), Ok(json!("msk")));
        assert_eq!(definition(FieldType::Text).check(&json!(5)).map_err(|e| e.field), Err("custom_fields.order_no".into()));
        assert_eq!(definition(FieldType::Text).check(&Value::Null), Ok(Value::Null));
    }
}
