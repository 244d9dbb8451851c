//! Request parts shared by several endpoints (money, customer references, message bodies with
//! attachments), parsed into domain values with every fault collected.

use base64::Engine;
use opora_app::customers::CustomerRef;
use opora_app::messages::NewAttachment;
use opora_domain::compensation::Money;
use opora_domain::customer::{IdentityKind, parse_identity};
use opora_domain::error::Errors;
use opora_domain::message::{Body, clean_filename};
use opora_domain::validate::{EmailAddress, PhoneNumber, line};
use opora_domain::{CustomerId, FieldError};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::ApiResult;

/// An amount of money: `{"amount": "1500.00", "currency": "RUB"}`; the amount may be a number.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoneyInput {
    #[schema(required, value_type = String, example = "1500.00")]
    pub amount: Option<Value>,
    /// ISO 4217 code; the instance's default currency when omitted.
    pub currency: Option<String>,
}

impl MoneyInput {
    pub fn parse(&self, field: &str, default_currency: &str, errors: &mut Errors) -> Option<Money> {
        let amount_field = format!("{field}.amount");
        let minor = match &self.amount {
            None | Some(Value::Null) => {
                errors.push(FieldError::required(amount_field));
                None
            }
            Some(Value::String(text)) => errors.take(Money::parse_amount(&amount_field, text)),
            // A whole number of units; fractions come as a decimal string, never as a float.
            Some(Value::Number(n)) if n.as_u64().is_some() || n.as_f64().is_some_and(|f| f >= 0.0 && f.fract() == 0.0) => {
                let whole = n.as_u64().map_or_else(|| format!("{:.0}", n.as_f64().unwrap_or_default()), |u| u.to_string());
                errors.take(Money::parse_amount(&amount_field, &whole))
            }
            Some(Value::Number(_)) => {
                errors.push(FieldError::new(amount_field, "invalid_amount"));
                None
            }
            Some(_) => {
                errors.push(FieldError::new(amount_field, "invalid_type"));
                None
            }
        };
        let currency =
            errors.take(Money::parse_currency(&format!("{field}.currency"), self.currency.as_deref().unwrap_or(default_currency)));
        Some(Money { minor: minor?, currency: currency? })
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityInput {
    /// `email`, `phone`, `telegram`, `whatsapp`, `vk` or `web`.
    #[schema(required, value_type = crate::docs::IdentityChoice)]
    pub kind: Option<String>,
    #[schema(required)]
    pub value: Option<String>,
}

pub fn parse_identity_input(field: &str, input: &IdentityInput, errors: &mut Errors) -> Option<(IdentityKind, String)> {
    let kind = match &input.kind {
        Some(k) => errors.take(IdentityKind::parse_field(&format!("{field}.kind"), k)),
        None => {
            errors.push(FieldError::required(format!("{field}.kind")));
            None
        }
    }?;
    let value = errors.take(parse_identity(&format!("{field}.value"), kind, input.value.as_deref().unwrap_or("")))?;
    Some((kind, value))
}

/// Who the case is for: an existing customer by id, or found (or created) by e-mail, phone or
/// any other identity.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    pub id: Option<i64>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Further identities (a Telegram chat, a WhatsApp number…), each found or added.
    pub identities: Option<Vec<IdentityInput>>,
    /// The name to give a new customer.
    pub name: Option<String>,
}

impl CustomerInput {
    pub fn parse(&self, errors: &mut Errors) -> Option<CustomerRef> {
        // Everything given is checked, even beside an id: a request is well-formed or refused.
        let mut identities = Vec::new();
        if let Some(email) = &self.email {
            identities.extend(errors.take(EmailAddress::parse("customer.email", email)).map(|e| (IdentityKind::Email, e.into_string())));
        }
        if let Some(phone) = &self.phone {
            identities
                .extend(errors.take(PhoneNumber::parse("customer.phone", phone)).map(|p| (IdentityKind::Phone, p.as_str().to_owned())));
        }
        let others = self.identities.as_deref().unwrap_or_default();
        for (i, input) in others.iter().enumerate() {
            identities.extend(parse_identity_input(&format!("customer.identities.{i}"), input, errors));
        }
        let name = self.name.as_ref().and_then(|n| errors.take(line("customer.name", n, 1, 200)));
        if let Some(id) = self.id {
            return Some(CustomerRef::Id(CustomerId(id)));
        }
        if self.email.is_none() && self.phone.is_none() && others.is_empty() {
            errors.push(FieldError::new("customer", "required").with("one_of", "id, email, phone, identities"));
            return None;
        }
        (!identities.is_empty()).then_some(CustomerRef::Identities { identities, name })
    }
}

/// A file sent inside JSON.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentInput {
    #[schema(required)]
    pub filename: Option<String>,
    /// MIME type; `application/octet-stream` when omitted.
    pub content_type: Option<String>,
    /// The file's bytes, base64-encoded.
    #[schema(required)]
    pub content_base64: Option<String>,
}

/// A file decoded and checked, ready to be stored.
pub struct Upload {
    pub filename: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

pub const MAX_ATTACHMENTS: usize = 20;

pub fn content_type(value: Option<&str>) -> String {
    let value = value.map(str::trim).filter(|v| !v.is_empty()).unwrap_or("application/octet-stream");
    let valid = value.len() <= 100 && value.contains('/') && value.chars().all(|c| c.is_ascii_graphic() || c == ' ');
    if valid { value.to_ascii_lowercase() } else { "application/octet-stream".to_owned() }
}

pub fn decode_attachments(field: &str, inputs: &[AttachmentInput], max_bytes: usize, errors: &mut Errors) -> Vec<Upload> {
    if inputs.len() > MAX_ATTACHMENTS {
        errors.push(FieldError::new(field, "too_many").with("max", MAX_ATTACHMENTS));
        return Vec::new();
    }
    let mut uploads = Vec::new();
    for (index, input) in inputs.iter().enumerate() {
        let at = |name: &str| format!("{field}.{index}.{name}");
        let Some(filename) = input.filename.as_deref().filter(|f| !f.trim().is_empty()) else {
            errors.push(FieldError::required(at("filename")));
            continue;
        };
        let Some(data) = &input.content_base64 else {
            errors.push(FieldError::required(at("content_base64")));
            continue;
        };
        let compact: String = data.chars().filter(|c| !c.is_whitespace()).collect();
        match base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
            Err(_) => errors.push(FieldError::new(at("content_base64"), "invalid_base64")),
            Ok(content) if content.len() > max_bytes => {
                errors.push(FieldError::new(at("content_base64"), "file_too_large").with("max", max_bytes / (1024 * 1024)))
            }
            Ok(content) => uploads.push(Upload {
                filename: clean_filename(filename),
                content_type: content_type(input.content_type.as_deref()),
                content,
            }),
        }
    }
    uploads
}

/// Writes uploaded files to the blob store, before the transaction that records them.
pub async fn store_uploads(state: &AppState, uploads: Vec<Upload>) -> ApiResult<Vec<NewAttachment>> {
    let files = uploads.into_iter().map(|u| (u.filename, u.content_type, u.content)).collect();
    Ok(state.app.messages().keep_files(files).await?)
}

/// A message body in a request: `body_text`, `body_html` or both.
pub fn body(field: &str, text: Option<&str>, html: Option<&str>, errors: &mut Errors) -> Option<Body> {
    Body::parse(field, text, html, errors)
}
