//! Mailbox settings as the form and the channels API send them: flat fields (`imap_host`,
//! `smtp_password` …) over the stored settings, checked like every other input.

use opora_domain::error::{Errors, FieldError};

use crate::form::{field, flag_of, text_of};

use super::mailbox::{MailboxInput, Server, ServerInput, Settings};

/// One server's fields as typed, before they are checked.
struct Typed {
    host: Option<String>,
    port: Option<i64>,
    security: Option<String>,
    user: Option<String>,
    password: Option<String>,
}

impl Typed {
    fn input(&self) -> ServerInput<'_> {
        ServerInput {
            host: self.host.as_deref(),
            port: self.port,
            security: self.security.as_deref(),
            user: self.user.as_deref(),
            password: self.password.as_deref(),
        }
    }
}

fn port_of(input: &serde_json::Value, name: &str, errors: &mut Errors) -> Option<i64> {
    match field(input, name) {
        None | Some(None) => None,
        Some(Some(value)) => match value.as_i64() {
            Some(port) => Some(port),
            None => {
                errors.push(FieldError::new(name, "invalid_type").with("expected", "integer"));
                None
            }
        },
    }
}

impl Settings {
    /// Settings as an admin sent them (`address`, `imap_host`, `smtp_password` … flat, as on the
    /// mailbox form), over the current ones: an absent field stays, a `null` host removes the
    /// server, an absent password keeps the stored one and `""` removes it.
    pub fn from_input(input: &serde_json::Value, current: Option<&Settings>) -> Result<Settings, Vec<FieldError>> {
        let mut errors = Errors::default();
        if !input.is_object() {
            return Err(vec![FieldError::new("settings", "invalid_type").with("expected", "object")]);
        }
        if current.is_none() && input.get("address").is_none() {
            errors.push(FieldError::required("address"));
        }
        let address = text_of(input, "address", &mut errors).flatten().or(current.map(|c| c.address.as_str())).unwrap_or("").to_owned();
        let sender_name =
            text_of(input, "sender_name", &mut errors).flatten().or(current.map(|c| c.sender_name.as_str())).unwrap_or("").to_owned();
        let server = |prefix: &str, now: Option<&Server>, errors: &mut Errors| {
            let text = |name: &str, errors: &mut Errors| text_of(input, &format!("{prefix}_{name}"), errors).flatten().map(str::to_owned);
            Typed {
                host: match text_of(input, &format!("{prefix}_host"), errors) {
                    Some(host) => host.map(str::to_owned),
                    None => now.map(|s| s.host.clone()),
                },
                port: port_of(input, &format!("{prefix}_port"), errors).or(now.map(|s| i64::from(s.port))),
                security: text("security", errors).or(now.map(|s| s.security.as_str().to_owned())),
                user: text("user", errors).or(now.and_then(|s| s.user.clone())),
                password: text("password", errors).or(now.and_then(|s| s.password.clone())),
            }
        };
        let imap = server("imap", current.and_then(|c| c.imap.as_ref()), &mut errors);
        let smtp = server("smtp", current.and_then(|c| c.smtp.as_ref()), &mut errors);
        let folder = text_of(input, "imap_folder", &mut errors).flatten().map(str::to_owned).or(current.map(|c| c.imap_folder.clone()));
        let archive = match text_of(input, "imap_archive_folder", &mut errors) {
            Some(folder) => folder.map(str::to_owned),
            None => current.and_then(|c| c.imap_archive_folder.clone()),
        };
        let flag = |name: &str, stored: Option<bool>, default: bool, errors: &mut Errors| {
            flag_of(input, name, errors).or(stored).unwrap_or(default)
        };
        let accept_invalid_certs = flag("accept_invalid_certs", current.map(|c| c.accept_invalid_certs), false, &mut errors);
        let acknowledge = flag("acknowledge", current.map(|c| c.acknowledge), true, &mut errors);
        let plus_addressing = flag("plus_addressing", current.map(|c| c.plus_addressing), false, &mut errors);
        let parsed = MailboxInput {
            name: "mailbox",
            address: &address,
            sender_name: &sender_name,
            imap: imap.input(),
            imap_folder: folder.as_deref(),
            imap_archive_folder: archive.as_deref(),
            smtp: smtp.input(),
            accept_invalid_certs,
            acknowledge,
            plus_addressing,
            active: true,
            is_default: false,
        }
        .parse(&mut errors);
        match parsed {
            Some(spec) if errors.is_empty() => Ok(spec.settings),
            _ => Err(errors.0),
        }
    }

    /// The settings without the passwords: whether each is set.
    pub fn public(&self) -> serde_json::Value {
        let server = |s: &Option<Server>| {
            s.as_ref().map(|s| {
                serde_json::json!({"host": s.host, "port": s.port, "security": s.security, "user": s.user, "password_set": s.password.is_some()})
            })
        };
        serde_json::json!({
            "address": self.address, "sender_name": self.sender_name, "imap": server(&self.imap), "imap_folder": self.imap_folder,
            "imap_archive_folder": self.imap_archive_folder, "smtp": server(&self.smtp), "accept_invalid_certs": self.accept_invalid_certs,
            "acknowledge": self.acknowledge, "plus_addressing": self.plus_addressing,
        })
    }
}
