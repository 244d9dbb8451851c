//! Request extraction with errors that name the field at fault: JSON bodies, query strings and
//! path ids. Axum's own rejections would answer in plain text without the field.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header;
use axum::http::request::Parts;
use opora_domain::{FieldError, Timestamp};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body. Not JSON at all → 400 `malformed_json`; JSON of the wrong shape → 422 with the
/// path of the offending field.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let RawJson(value, _) = RawJson::from_request(request, state).await?;
        Ok(ApiJson(value))
    }
}

/// A JSON body together with its bytes (for idempotency keys, which compare request bodies).
pub struct RawJson<T>(pub T, pub Bytes);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for RawJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
            let mime = v.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            mime == "application/json" || mime.ends_with("+json")
        });
        if !is_json {
            return Err(ApiError::new("unsupported_media_type"));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new("payload_too_large")
            } else {
                ApiError::new("bad_request")
            }
        })?;
        let value = parse_json(&bytes)?;
        Ok(RawJson(value, bytes))
    }
}

/// Every request body of the API is a JSON object.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let is_object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if !is_object && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() {
        return Err(ApiError::fields(vec![FieldError::new("$", "invalid_type").with("expected", "object")]));
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(deserializer) {
        Ok(value) => Ok(value),
        Err(error) => {
            let path = error.path().to_string();
            let inner = error.into_inner();
            // serde stops at the first unknown or mistyped field, possibly before the syntax
            // error further on: a broken document is reported as broken first.
            let broken = inner.is_data() && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_err();
            if !inner.is_data() || broken {
                let mut problem = ApiError::new("malformed_json");
                problem.extra.insert("detail".into(), format!("line {}, column {}", inner.line(), inner.column()).into());
                return Err(problem);
            }
            // `5.0` is the integer 5 in JSON (and to JSON Schema); serde only takes `5`.
            if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(bytes)
                && integral_numbers(&mut value)
                && let Ok(read) = serde_json::from_value::<T>(value)
            {
                return Ok(read);
            }
            Err(ApiError::fields(vec![data_error(&path, &inner.to_string())]))
        }
    }
}

/// Writes whole-valued floats (`5.0`) as integers; returns whether any was.
fn integral_numbers(value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                *value = Value::from(f as i64);
                true
            }
            _ => false,
        },
        Value::Array(items) => {
            let mut changed = false;
            for item in items {
                changed |= integral_numbers(item);
            }
            changed
        }
        Value::Object(fields) => {
            let mut changed = false;
            for item in fields.values_mut() {
                changed |= integral_numbers(item);
            }
            changed
        }
        _ => false,
    }
}

/// Turns serde's message into a field error: `missing field `x``, `unknown field `x``,
/// `invalid type: …`.
fn data_error(path: &str, message: &str) -> FieldError {
    let quoted = |prefix: &str| message.strip_prefix(prefix).and_then(|rest| rest.split('`').next()).map(str::to_owned);
    let join = |parent: &str, name: &str| {
        if parent == "." || parent.is_empty() { name.to_owned() } else { format!("{parent}.{name}") }
    };
    if let Some(name) = quoted("missing field `") {
        return FieldError::required(join(path, &name));
    }
    if let Some(name) = quoted("unknown field `") {
        let field = if path.ends_with(&name) { path.to_owned() } else { join(path, &name) };
        return FieldError::new(field, "unknown_field");
    }
    let field = if path == "." { "$".to_owned() } else { path.to_owned() };
    if message.starts_with("invalid type") {
        let expected = message.split(", expected ").nth(1).map(|e| e.split(" at line").next().unwrap_or(e).to_owned());
        let error = FieldError::new(field, "invalid_type");
        return match expected {
            Some(expected) => error.with("expected", expected),
            None => error,
        };
    }
    if message.starts_with("unknown variant") {
        let allowed = message.split("expected one of ").nth(1).map(|e| e.split(" at line").next().unwrap_or(e).replace('`', ""));
        let error = FieldError::new(field, "invalid_choice");
        return match allowed {
            Some(allowed) => error.with("allowed", allowed),
            None => error,
        };
    }
    FieldError::new(field, "invalid_value")
}

/// Query parameters, checked by name: unknown ones are refused so that a typo (`?staus=open`)
/// does not silently return everything.
pub struct ApiQuery(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for ApiQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        Ok(ApiQuery(form_urlencoded::parse(query.as_bytes()).into_owned().collect()))
    }
}

impl ApiQuery {
    /// Refuses parameters other than `allowed`, and allowed ones given empty (`limit=`): a
    /// parameter is either left out or has a value.
    pub fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        let mut unknown: Vec<FieldError> = self
            .0
            .iter()
            .filter_map(|(k, v)| match allowed.contains(&k.as_str()) {
                false => Some(FieldError::new(k.clone(), "unknown_field")),
                true if v.is_empty() => Some(FieldError::new(k.clone(), "invalid_value")),
                true => None,
            })
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            unknown.sort_by(|a, b| a.field.cmp(&b.field));
            Err(ApiError::fields(unknown))
        }
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub fn id(&self, name: &str) -> Result<Option<i64>, FieldError> {
        self.text(name).map(|v| v.parse::<i64>().map_err(|_| FieldError::new(name, "invalid_number"))).transpose()
    }

    /// An id naming a row (`team=`, `customer=`): at least 1.
    pub fn row_id(&self, name: &str) -> Result<Option<i64>, FieldError> {
        match self.id(name)? {
            Some(id) if id < 1 => Err(FieldError::new(name, "out_of_range").with("min", 1)),
            id => Ok(id),
        }
    }

    pub fn time(&self, name: &str) -> Result<Option<Timestamp>, FieldError> {
        self.text(name).map(|v| Timestamp::parse(v).ok_or_else(|| FieldError::new(name, "invalid_datetime"))).transpose()
    }

    /// `limit`, 1..=max, default `default`.
    pub fn limit(&self, default: i64, max: i64) -> Result<i64, FieldError> {
        self.count("limit", default, max)
    }

    /// A whole number parameter `name`, 1..=max, default `default`.
    pub fn count(&self, name: &str, default: i64, max: i64) -> Result<i64, FieldError> {
        match self.text(name) {
            None => Ok(default),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                Ok(_) => Err(FieldError::new(name, "out_of_range").with("min", 1).with("max", max)),
                Err(_) => Err(FieldError::new(name, "invalid_number")),
            },
        }
    }
}

/// The peer address, when the server was started with connection info (it always is, outside
/// handler-level tests).
pub struct ClientAddr(pub Option<std::net::SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0)))
    }
}

/// The network a client is counted by in rate limits: its IPv4 address, or its IPv6 /64 (one
/// subscriber's whole allocation, so walking through its addresses buys nothing).
pub fn network(ip: std::net::IpAddr) -> std::net::IpAddr {
    use std::net::{IpAddr, Ipv6Addr};
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

/// A numeric id in the path. Anything else cannot name a resource: 404.
pub struct PathId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(params) =
            Path::<HashMap<String, String>>::from_request_parts(parts, state).await.map_err(|_| ApiError::new("not_found"))?;
        let value = params.get("id").ok_or_else(|| ApiError::new("not_found"))?;
        value.parse::<i64>().ok().filter(|id| *id > 0).map(PathId).ok_or_else(|| ApiError::new("not_found"))
    }
}

/// Two numeric ids in the path (`/cases/{id}/collaborators/{agent_id}`).
pub struct PathIds(pub i64, pub i64);

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(params) =
            Path::<HashMap<String, String>>::from_request_parts(parts, state).await.map_err(|_| ApiError::new("not_found"))?;
        let mut values = params.iter().filter(|(k, _)| *k != "id").map(|(_, v)| v);
        let first = params.get("id").and_then(|v| v.parse::<i64>().ok());
        let second = values.next().and_then(|v| v.parse::<i64>().ok());
        match (first, second) {
            (Some(a), Some(b)) if a > 0 && b > 0 => Ok(PathIds(a, b)),
            _ => Err(ApiError::new("not_found")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Input {
        subject: String,
        customer: Option<Nested>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Nested {
        email: Option<String>,
    }

    fn field_of(json: &str) -> (String, &'static str) {
        let error = parse_json::<Input>(json.as_bytes()).expect_err("should fail");
        if error.code == "malformed_json" {
            return (String::new(), "malformed_json");
        }
        (error.fields[0].field.clone(), error.fields[0].code)
    }

    #[test]
    fn json_errors_name_the_field() {
        assert_eq!(field_of(r#"{"subject": 5}"#), ("subject".into(), "invalid_type"));
        assert_eq!(field_of(r#"{}"#), ("subject".into(), "required"));
        assert_eq!(field_of(r#"{"subject": "a", "prioritty": 1}"#), ("prioritty".into(), "unknown_field"));
        assert_eq!(field_of(r#"{"subject": "a", "customer": {"mail": "x"}}"#), ("customer.mail".into(), "unknown_field"));
        assert_eq!(field_of(r#"{"subject": "a", "customer": {"email": 1}}"#), ("customer.email".into(), "invalid_type"));
        assert_eq!(field_of(r#"[1]"#), ("$".into(), "invalid_type"));
        assert_eq!(field_of(r#"{"subject": "#), (String::new(), "malformed_json"));
    }
}
