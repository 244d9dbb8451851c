//! What the server checks of text and shapes beyond types, said in the OpenAPI document so that
//! clients generated from it (and the property-based fuzzer) agree with the server: how
//! `domain::validate` reads a line or a text, keys, hosts, amounts, and which fields a create
//! needs where one schema serves both create and change.

use opora_domain::channel::ChannelKind;
use serde_json::{Value, json};

/// Characters `validate::line` refuses: controls other than tab, CR and LF (those become spaces).
const CONTROL: &str = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f";

/// A one-line value with something visible in it (`validate::line` with a minimum of 1).
pub(crate) fn line() -> String {
    format!(r"^[^{CONTROL}]*[^\s\u0000-\u001f\u007f-\u009f][^{CONTROL}]*$")
}

/// A one-line value that may be empty (`validate::line` with a minimum of 0).
fn optional_line() -> String {
    format!(r"^[^{CONTROL}]*$")
}

/// A text with something visible in it (`validate::text` drops control characters first).
const TEXT: &str = r"[^\s\u0000-\u001f\u007f-\u009f]";
/// `validate::key`: a custom field's key.
pub(crate) const KEY: &str = "^[a-z][a-z0-9_]*$";
/// `email::host_name`: a DNS name or an IPv4 address; blank removes the server. (IPv6 literals
/// are taken too; a pattern for exactly the valid ones would be longer than it is worth.)
const HOST: &str = r"^\s*([A-Za-z0-9][A-Za-z0-9-]{0,62}(\.[A-Za-z0-9][A-Za-z0-9-]{0,62})*\.*)?\s*$";
/// `Money::parse_amount`: up to 12 digits, then up to 2 after a point or comma; spaces group digits.
const AMOUNT: &str = r"^\s*([ \u00a0\u202f]*[0-9]){1,12}[ \u00a0\u202f]*([.,]([ \u00a0\u202f]*[0-9]){0,2})?[ \u00a0\u202f]*\s*$";
/// `EmailAddress::parse`, said for the plain ASCII addresses nearly everyone has (the server
/// also takes international ones).
const EMAIL: &str = r"^\s*[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)+\s*$";
/// `Money::parse_currency`: three letters.
const CURRENCY: &str = r"^\s*[A-Za-z]{3}\s*$";
/// A webhook's address: http or https (that it reaches a public host is checked on the server).
const WEB_URL: &str = r"^\s*[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+\S*\s*$";

enum Form {
    Line,
    OptionalLine,
    Text,
    /// Any text up to the length, empty included (it clears the field).
    Free,
    Pattern(&'static str),
}

/// Text fields of request bodies by how the server reads them: (schema, property, form, most
/// characters).
const FIELDS: &[(&str, &str, Form, u64)] = &[
    ("CreateAgent", "name", Form::Line, 200),
    ("UpdateAgent", "name", Form::Line, 200),
    ("UpdateMe", "name", Form::Line, 200),
    ("UpdateMe", "signature", Form::Free, 2000),
    ("CreateCustomer", "note", Form::Free, 5000),
    ("UpdateCustomer", "note", Form::Free, 5000),
    ("WebhookInput", "description", Form::Free, 500),
    ("TeamInput", "name", Form::Line, 100),
    ("CreateCase", "subject", Form::Line, 300),
    ("CreateCase", "category", Form::Line, 100),
    ("UpdateCase", "subject", Form::Line, 300),
    ("CustomerInput", "name", Form::Line, 200),
    ("CreateCustomer", "name", Form::Line, 200),
    ("CreateCustomer", "company", Form::Line, 200),
    ("UpdateCustomer", "name", Form::Line, 200),
    ("UpdateCustomer", "company", Form::Line, 200),
    ("Transfer", "reason", Form::Text, 1000),
    ("Grant", "note", Form::Text, 2000),
    ("Refusal", "reason", Form::Text, 1000),
    ("ChannelInput", "name", Form::Line, 100),
    ("MailboxInputBody", "name", Form::Line, 100),
    ("MailboxInputBody", "sender_name", Form::OptionalLine, 100),
    ("MailboxInputBody", "imap_host", Form::Pattern(HOST), 253),
    ("MailboxInputBody", "smtp_host", Form::Pattern(HOST), 253),
    ("TemplateInput", "name", Form::Line, 100),
    ("TemplateInput", "body", Form::Text, 20_000),
    ("TemplateReply", "name", Form::Line, 512),
    ("TemplateReply", "language", Form::Line, 20),
    ("FieldInput", "key", Form::Pattern(KEY), 50),
    ("FieldInput", "label_ru", Form::Line, 100),
    ("FieldInput", "label_en", Form::Line, 100),
    ("WebhookInput", "url", Form::Pattern(WEB_URL), 2000),
    ("CreateAgent", "email", Form::Pattern(EMAIL), 254),
    ("CustomerInput", "email", Form::Pattern(EMAIL), 254),
    ("MailboxInputBody", "address", Form::Pattern(EMAIL), 254),
    ("OrderInput", "description", Form::Free, 5000),
    ("OrderInput", "address", Form::Line, 500),
    ("OrderInput", "tracking_url", Form::Pattern(WEB_URL), 2000),
    ("PerformerInput", "external_id", Form::Line, 100),
    ("PerformerInput", "name", Form::Line, 200),
    ("PlaybookInput", "name", Form::Line, 200),
    ("ExtraInput", "description", Form::Line, 300),
    ("ProblemInput", "note", Form::Free, 1000),
    ("PlaybookInput", "reply", Form::Free, 5000),
];

/// Where one schema serves a create and a change, what the create cannot do without.
const CREATE_NEEDS: &[(&str, &[&str])] =
    &[("/api/v1/channels", &["kind", "name"]), ("/api/v1/teams", &["name"]), ("/api/v1/mailboxes", &["name", "address"])];

/// Applies the tables above to a generated document.
pub fn apply(spec: &mut Value) {
    if let Some(schemas) = spec.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        for (schema, property, form, max) in FIELDS {
            let Some(target) = schemas.get_mut(*schema).and_then(|s| s.pointer_mut(&format!("/properties/{property}"))) else {
                continue;
            };
            let pattern = match form {
                Form::Line => Some(line()),
                Form::OptionalLine => Some(optional_line()),
                Form::Text => Some(TEXT.to_owned()),
                Form::Free => None,
                Form::Pattern(pattern) => Some((*pattern).to_owned()),
            };
            constrain_string(target, pattern.as_deref(), *max);
        }
        // Who the case is for: one of an id, an e-mail or a phone; what a message says: a text or
        // an HTML body. Given and not null.
        for (schema, choices) in
            [("CustomerInput", &["id", "email", "phone"][..]), ("PostMessage", &["body_text", "body_html", "template"][..])]
        {
            if let Some(target) = schemas.get_mut(schema) {
                let forms: Vec<Value> =
                    choices.iter().map(|name| json!({"required": [name], "properties": {*name: {"not": {"type": "null"}}}})).collect();
                target["anyOf"] = json!(forms);
            }
        }
        for money in ["MoneyInput", "Grant"] {
            if let Some(amount) = schemas.get_mut(money).and_then(|s| s.pointer_mut("/properties/amount")) {
                // A decimal string, or a whole number.
                *amount = json!({"oneOf": [
                    {"type": "string", "pattern": AMOUNT, "example": "1500.00"},
                    {"type": "integer", "minimum": 0, "maximum": 999_999_999_999_i64},
                ]});
            }
        }
        if let Some(events) = schemas.get_mut("WebhookInput").and_then(|s| s.pointer_mut("/properties/events")) {
            events["minItems"] = json!(1);
        }
        for (schema, property) in [("MailboxInputBody", "imap_port"), ("MailboxInputBody", "smtp_port")] {
            if let Some(port) = schemas.get_mut(schema).and_then(|s| s.pointer_mut(&format!("/properties/{property}"))) {
                port["minimum"] = json!(1);
                port["maximum"] = json!(65535);
            }
        }
        if let Some(password) = schemas.get_mut("CreateAgent").and_then(|s| s.pointer_mut("/properties/password")) {
            password["minLength"] = json!(crate::auth::MIN_PASSWORD_CHARS);
        }
        for (schema, property) in [("Grant", "currency"), ("MoneyInput", "currency")] {
            if let Some(currency) = schemas.get_mut(schema).and_then(|s| s.pointer_mut(&format!("/properties/{property}"))) {
                constrain_string(currency, Some(CURRENCY), 3);
                currency.as_object_mut().map(|c| c.remove("maxLength"));
            }
        }
        if let Some(kind) = schemas.get_mut("ChannelInput").and_then(|s| s.pointer_mut("/properties/kind")) {
            let kinds: Vec<&str> = ChannelKind::CONFIGURABLE.iter().map(|k| k.as_str()).collect();
            *kind = json!({"type": ["string", "null"], "enum": kinds.iter().map(|k| json!(k)).chain([Value::Null]).collect::<Vec<_>>()});
        }
    }
    for (path, needs) in CREATE_NEEDS {
        create_schema(spec, path, needs);
    }
}

/// A string property (possibly nullable, possibly behind `oneOf`) gets a pattern and a length.
fn constrain_string(property: &mut Value, pattern: Option<&str>, max: u64) {
    if let Some(forms) = property.get_mut("oneOf").and_then(Value::as_array_mut) {
        for form in forms.iter_mut().filter(|f| f["type"] == "string") {
            constrain_string(form, pattern, max);
        }
        return;
    }
    if let Some(pattern) = pattern {
        property["pattern"] = json!(pattern);
    }
    property["maxLength"] = json!(max);
    if let Some(object) = property.as_object_mut() {
        object.remove("minLength");
    }
}

/// The POST of `path` gets its own copy of the shared body schema, `New…`, with `needs`
/// required and not null.
fn create_schema(spec: &mut Value, path: &str, needs: &[&str]) {
    let pointer = "/requestBody/content/application~1json/schema/$ref";
    let Some(operation) = spec.pointer_mut(&format!("/paths/{}/post", path.replace('/', "~1"))) else { return };
    let Some(name) = operation.pointer(pointer).and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/")) else {
        return;
    };
    let (name, created) = (name.to_owned(), format!("New{}", name.trim_end_matches("Body").trim_end_matches("Input")));
    if let Some(reference) = operation.pointer_mut(pointer) {
        *reference = json!(format!("#/components/schemas/{created}"));
    }
    let Some(schemas) = spec.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else { return };
    let Some(mut schema) = schemas.get(&name).cloned() else { return };
    schema["required"] = json!(needs);
    for need in needs {
        if let Some(property) = schema.pointer_mut(&format!("/properties/{need}")) {
            crate::docs::not_null(property);
        }
    }
    schemas.insert(created, schema);
}
