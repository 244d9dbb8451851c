//! Customers and their identities: one person or company, many addresses on many channels.

use serde::Serialize;

use crate::agent::Language;
use crate::error::FieldError;
use crate::ids::{CustomerId, IdentityId};
use crate::string_enum;
use crate::time::Timestamp;
use crate::validate::{EmailAddress, PhoneNumber};

string_enum! {
    pub enum IdentityKind {
        Email => "email",
        Phone => "phone",
        Telegram => "telegram",
        Whatsapp => "whatsapp",
        Vk => "vk",
        Web => "web",
        /// A customer's id in an integration's own system, per API channel: `3:crm-42`.
        External => "external",
    }
}

/// Normalises an identity value for its kind, so the same address always finds the same customer.
pub fn parse_identity(field: &str, kind: IdentityKind, value: &str) -> Result<String, FieldError> {
    let value = value.trim();
    if value.chars().any(crate::validate::is_invisible) {
        return Err(FieldError::new(field, "invalid_characters"));
    }
    match kind {
        IdentityKind::Email => EmailAddress::parse(field, value).map(EmailAddress::into_string),
        IdentityKind::Phone => PhoneNumber::parse(field, value).map(|p| p.as_str().to_owned()),
        // WhatsApp's wa_id is the phone number in digits only; a user known only by their
        // business-scoped id (they chose a username) keeps that id.
        IdentityKind::Whatsapp if is_bsuid(value) => Ok(value.to_owned()),
        IdentityKind::Whatsapp => PhoneNumber::parse(field, value).map(|p| p.as_str()[1..].to_owned()),
        IdentityKind::Telegram => telegram(field, value),
        IdentityKind::Vk => numeric_id(field, value, "invalid_vk_id"),
        IdentityKind::Web => visitor(field, value),
        IdentityKind::External => external(field, value),
    }
}

/// WhatsApp's business-scoped user id: a country code, a dot, up to 128 letters and digits
/// (`US.13491208655302741918`; a parent id has `ENT.` after the country).
pub fn is_bsuid(value: &str) -> bool {
    let (country, rest) = value.split_once('.').unwrap_or(("", ""));
    let rest = rest.strip_prefix("ENT.").unwrap_or(rest);
    country.len() == 2
        && country.chars().all(|c| c.is_ascii_uppercase())
        && (1..=128).contains(&rest.len())
        && rest.chars().all(|c| c.is_ascii_alphanumeric())
}

/// A Telegram chat id (a number, negative for groups) or a public `@username`.
fn telegram(field: &str, value: &str) -> Result<String, FieldError> {
    if let Some(name) = value.strip_prefix('@') {
        let ok = (5..=32).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        return if ok { Ok(format!("@{}", name.to_lowercase())) } else { Err(FieldError::new(field, "invalid_telegram_id")) };
    }
    let digits = value.strip_prefix('-').unwrap_or(value);
    if !digits.is_empty() && digits.len() <= 20 && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(value.to_owned())
    } else if value.is_empty() {
        Err(FieldError::required(field))
    } else {
        Err(FieldError::new(field, "invalid_telegram_id"))
    }
}

/// `channel:id`: the channel's number and the id the integration gave.
fn external(field: &str, value: &str) -> Result<String, FieldError> {
    let valid = value.split_once(':').is_some_and(|(channel, id)| {
        !channel.is_empty() && channel.chars().all(|c| c.is_ascii_digit()) && !id.is_empty() && id.chars().count() <= 200
    }) && !value.chars().any(char::is_control);
    if value.is_empty() {
        Err(FieldError::required(field))
    } else if valid {
        Ok(value.to_owned())
    } else {
        Err(FieldError::new(field, "invalid_external_id"))
    }
}

fn numeric_id(field: &str, value: &str, code: &'static str) -> Result<String, FieldError> {
    if value.is_empty() {
        Err(FieldError::required(field))
    } else if value.len() <= 20 && value.chars().all(|c| c.is_ascii_digit()) {
        Ok(value.to_owned())
    } else {
        Err(FieldError::new(field, code))
    }
}

fn visitor(field: &str, value: &str) -> Result<String, FieldError> {
    if value.is_empty() {
        Err(FieldError::required(field))
    } else if value.len() <= 100 && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        Ok(value.to_owned())
    } else {
        Err(FieldError::new(field, "invalid_visitor_id"))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identity {
    pub id: IdentityId,
    pub kind: IdentityKind,
    pub value: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Customer {
    pub id: CustomerId,
    pub name: String,
    pub company: Option<String>,
    pub language: Option<Language>,
    /// On the "our clients" list: customers who complained before and get priority.
    pub our_client: bool,
    pub note: Option<String>,
    pub identities: Vec<Identity>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Customer {
    /// What a record keeps when another record of the same person is merged into it: on the
    /// "our clients" list if either was, both notes, the other's company and language where it
    /// has none.
    pub fn absorb(&mut self, source: &Customer) {
        self.our_client |= source.our_client;
        self.note = match (&self.note, &source.note) {
            (Some(a), Some(b)) if a != b => Some(format!("{a}\n{b}")),
            (a, b) => a.clone().or(b.clone()),
        };
        self.company = self.company.clone().or(source.company.clone());
        self.language = self.language.or(source.language);
    }
}

/// A name to show for a customer who gave none: the local part of an e-mail, or the identity.
pub fn fallback_name(kind: IdentityKind, value: &str) -> String {
    match kind {
        IdentityKind::Email => value.split('@').next().unwrap_or(value).to_owned(),
        _ => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_normalised_per_kind() {
        assert_eq!(parse_identity("v", IdentityKind::Email, "Olga@Mail.RU"), Ok("olga@mail.ru".into()));
        assert_eq!(parse_identity("v", IdentityKind::Phone, "8 916 123-45-67"), Ok("+79161234567".into()));
        assert_eq!(parse_identity("v", IdentityKind::Whatsapp, "+7 916 123 45 67"), Ok("79161234567".into()));
        assert_eq!(parse_identity("v", IdentityKind::Whatsapp, "RU.1502576394655843"), Ok("RU.1502576394655843".into()));
        assert_eq!(parse_identity("v", IdentityKind::Whatsapp, "US.ENT.99"), Ok("US.ENT.99".into()));
        for odd in ["ru.15", "RUS.15", "RU.", "RU.15-2"] {
            assert!(parse_identity("v", IdentityKind::Whatsapp, odd).is_err(), "{odd}");
        }
        assert_eq!(parse_identity("v", IdentityKind::Telegram, "-100123"), Ok("-100123".into()));
        assert_eq!(parse_identity("v", IdentityKind::Telegram, "@Ivan_Petrov"), Ok("@ivan_petrov".into()));
        assert!(parse_identity("v", IdentityKind::Telegram, "@abc").is_err());
        assert!(parse_identity("v", IdentityKind::Vk, "id42").is_err());
        assert!(parse_identity("v", IdentityKind::Web, "a b").is_err());
        for hidden in ["ivan\u{200b}@example.ru", "ivan@exa\u{202e}mple.ru"] {
            assert_eq!(parse_identity("v", IdentityKind::Email, hidden).map_err(|e| e.code), Err("invalid_characters"), "{hidden}");
        }
        assert!(parse_identity("v", IdentityKind::External, "3:crm\u{2066}-1").is_err());
    }
}
