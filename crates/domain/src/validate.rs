//! Parsers for user input. Each returns a value the core can trust or a [`FieldError`] naming the
//! field and a stable code; nothing past these functions re-validates.

use crate::error::FieldError;

/// Trims and checks a single-line text (subject, name): line breaks become spaces, control
/// characters are refused, length is counted in characters, not bytes.
pub fn line(field: &str, value: &str, min: usize, max: usize) -> Result<String, FieldError> {
    too_long_as_sent(field, value, max)?;
    let cleaned: String = value.trim().chars().map(|c| if c == '\n' || c == '\r' || c == '\t' { ' ' } else { c }).collect();
    check_len(field, cleaned, min, max)
}

/// Characters that show nothing yet change what is shown: bidirectional overrides and marks
/// (`invoice\u{202e}gnp.exe` reads "invoiceexe.png"), zero-width spaces and joiners, the BOM.
/// They have no place in a file name or an address.
pub fn is_invisible(c: char) -> bool {
    matches!(c, '\u{ad}' | '\u{61c}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
}

/// Trims and checks a multi-line text (a message body, a note).
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, FieldError> {
    too_long_as_sent(field, value, max)?;
    let cleaned: String = value.trim().chars().filter(|c| !c.is_control() || matches!(c, '\n' | '\t')).collect();
    check_len(field, cleaned.replace("\r\n", "\n"), min, max)
}

/// The limit counts what was sent, before trimming and cleaning, so that a client (and the API's
/// document, which says `maxLength`) can tell beforehand whether a value fits.
fn too_long_as_sent(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.chars().count() > max { Err(FieldError::new(field, "too_long").with("max", max)) } else { Ok(()) }
}

fn check_len(field: &str, value: String, min: usize, max: usize) -> Result<String, FieldError> {
    if value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t')) {
        return Err(FieldError::new(field, "invalid_characters"));
    }
    let len = value.chars().count();
    if len == 0 && min > 0 {
        return Err(FieldError::required(field));
    }
    if len < min {
        return Err(FieldError::new(field, "too_short").with("min", min));
    }
    if len > max {
        return Err(FieldError::new(field, "too_long").with("max", max));
    }
    Ok(value)
}

/// An e-mail address, lower-cased so that lookups by identity are exact matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        let value = value.trim().to_lowercase();
        let invalid = || FieldError::new(field, "invalid_email");
        if value.is_empty() {
            return Err(FieldError::required(field));
        }
        if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"".contains(c)) {
            return Err(invalid());
        }
        let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.contains('@')
            && domain.split('.').all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A phone number in international form, `+` and digits. Russian domestic forms (`8 916 …`,
/// `916 …`) are completed to `+7`, since that is how our customers write them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(FieldError::required(field));
        }
        let plus = value.starts_with('+');
        let mut digits = String::new();
        for c in value.trim_start_matches('+').chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '(' | ')' | '.' | '\u{a0}' => {}
                _ => return Err(FieldError::new(field, "invalid_phone")),
            }
        }
        let international = if plus {
            digits
        } else if digits.len() == 11 && digits.starts_with('8') {
            format!("7{}", &digits[1..])
        } else if digits.len() == 10 && digits.starts_with('9') {
            format!("7{digits}")
        } else {
            digits
        };
        if !(7..=15).contains(&international.len()) || international.starts_with('0') {
            return Err(FieldError::new(field, "invalid_phone"));
        }
        Ok(Self(format!("+{international}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A tag: lower-case, spaces become dashes; letters (any script), digits, `-`, `_`, `.`, `:`.
pub fn tag(field: &str, value: &str) -> Result<String, FieldError> {
    let value = value.trim().to_lowercase().replace(' ', "-");
    if value.is_empty() {
        return Err(FieldError::required(field));
    }
    if value.chars().count() > 50 {
        return Err(FieldError::new(field, "too_long").with("max", 50));
    }
    if !value.chars().all(|c| c.is_alphanumeric() || "-_.:".contains(c)) {
        return Err(FieldError::new(field, "invalid_tag"));
    }
    Ok(value)
}

/// A machine key (`order_no`): lower-case ASCII letters, digits and underscores, starting with a
/// letter.
pub fn key(field: &str, value: &str) -> Result<String, FieldError> {
    let ok = value.len() <= 50
        && value.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if value.is_empty() {
        Err(FieldError::required(field))
    } else if ok {
        Ok(value.to_owned())
    } else {
        Err(FieldError::new(field, "invalid_key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_lowercased_and_checked() {
        assert_eq!(EmailAddress::parse("e", " Ivan@Example.RU ").map(EmailAddress::into_string), Ok("ivan@example.ru".into()));
        for bad in ["ivan", "ivan@", "@example.ru", "ivan@example", "iv an@example.ru", "a@b@c.ru", "x@-bad.ru"] {
            assert_eq!(EmailAddress::parse("e", bad).map_err(|e| e.code), Err("invalid_email"), "{bad}");
        }
        assert_eq!(EmailAddress::parse("e", "  ").map_err(|e| e.code), Err("required"));
    }

    #[test]
    fn russian_phone_forms_become_international() {
        for form in ["8 (916) 123-45-67", "+7 916 123 45 67", "9161234567", "79161234567"] {
            assert_eq!(PhoneNumber::parse("p", form).map(|p| p.0), Ok("+79161234567".into()), "{form}");
        }
        assert_eq!(PhoneNumber::parse("p", "+44 20 7946 0958").map(|p| p.0), Ok("+442079460958".into()));
        assert!(PhoneNumber::parse("p", "12-ab").is_err());
        assert!(PhoneNumber::parse("p", "123").is_err());
    }

    #[test]
    fn line_counts_characters_not_bytes() {
        assert_eq!(line("s", "Заказ", 1, 5), Ok("Заказ".into()));
        assert_eq!(line("s", "Заказы", 1, 5).map_err(|e| e.code), Err("too_long"));
        assert_eq!(line("s", " a\r\nb ", 1, 6), Ok("a  b".into()));
        assert_eq!(line("s", "abcde ", 1, 5).map_err(|e| e.code), Err("too_long"), "the limit counts what was sent");
        assert_eq!(text("s", "ab\u{5}cde", 1, 5).map_err(|e| e.code), Err("too_long"));
        assert_eq!(line("s", "   ", 1, 5).map_err(|e| e.code), Err("required"));
        assert_eq!(line("s", "a\u{0}b", 1, 5).map_err(|e| e.code), Err("invalid_characters"));
    }

    #[test]
    fn tags_are_normalised() {
        assert_eq!(tag("t", " Срочно Доставка "), Ok("срочно-доставка".into()));
        assert_eq!(tag("t", "vip!").map_err(|e| e.code), Err("invalid_tag"));
    }
}
