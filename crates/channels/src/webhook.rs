//! Signed HTTP deliveries per Standard Webhooks (v1): the signature over
//! `{id}.{timestamp}.{raw body}`, checked in constant time on the way in; on the way out, an
//! HTTP client that can never be pointed at internal addresses (the SSRF guard), whose answer
//! is read as done, gone (410), retry later (with `Retry-After`) or refused.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use opora_domain::FieldError;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use sha2::Sha256;

pub type Client = reqwest::Client;

/// How far a signed request's timestamp may be from our clock (the specification's tolerance).
pub const TOLERANCE_SECS: i64 = 300;

fn key(secret: &str) -> Result<Vec<u8>, String> {
    STANDARD.decode(secret.strip_prefix("whsec_").unwrap_or(secret)).map_err(|e| format!("webhook secret: {e}"))
}

/// A new signing secret: `whsec_` and 24 random bytes in base64.
pub fn new_secret() -> Result<String, String> {
    let mut key = [0u8; 24];
    getrandom::fill(&mut key).map_err(|e| format!("no randomness: {e}"))?;
    Ok(format!("whsec_{}", STANDARD.encode(key)))
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` with the key decoded from `whsec_…`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key(secret)?).map_err(|e| e.to_string())?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// Why a signed request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unverified {
    /// A header is missing or unreadable.
    Missing(&'static str),
    /// The timestamp is too far from now (a replay, or a wrong clock).
    Stale,
    /// No signature matches.
    Mismatch,
}

/// Checks the `webhook-signature` header (space-separated `v1,…` entries, any may match) over
/// the raw body, in constant time, and the timestamp against `now_secs`.
pub fn verify(
    secret: &str,
    id: Option<&str>,
    timestamp: Option<&str>,
    signatures: Option<&str>,
    body: &[u8],
    now_secs: i64,
) -> Result<(), Unverified> {
    let id = id.filter(|i| !i.is_empty()).ok_or(Unverified::Missing("webhook-id"))?;
    let timestamp = timestamp.ok_or(Unverified::Missing("webhook-timestamp"))?;
    let signatures = signatures.ok_or(Unverified::Missing("webhook-signature"))?;
    let at: i64 = timestamp.trim().parse().map_err(|_| Unverified::Missing("webhook-timestamp"))?;
    if now_secs.abs_diff(at) > TOLERANCE_SECS.unsigned_abs() {
        return Err(Unverified::Stale);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(&key(secret).map_err(|_| Unverified::Mismatch)?).map_err(|_| Unverified::Mismatch)?;
    mac.update(format!("{id}.{at}.").as_bytes());
    mac.update(body);
    for entry in signatures.split_whitespace() {
        let Some(encoded) = entry.strip_prefix("v1,") else { continue };
        let Ok(given) = STANDARD.decode(encoded) else { continue };
        // verify_slice compares in constant time.
        if mac.clone().verify_slice(&given).is_ok() {
            return Ok(());
        }
    }
    Err(Unverified::Mismatch)
}

/// Loopback, private, link-local, carrier-grade NAT, benchmarking, reserved, multicast and
/// unspecified addresses, and IPv6 forms that carry one of those IPv4 addresses (mapped,
/// compatible, NAT64, 6to4): where an outgoing request must never go unless the operator
/// allowed it.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || a == 0
                || a >= 240
                || a == 100 && (64..128).contains(&b)
                || a == 192 && b == 0 && c == 0
                || a == 198 && (18..20).contains(&b)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let embedded = |high: u16, low: u16| Ipv4Addr::new((high >> 8) as u8, high as u8, (low >> 8) as u8, low as u8);
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
                || v6.to_ipv4().is_some_and(|v4| is_internal(IpAddr::V4(v4)))
                || (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4]) && is_internal(IpAddr::V4(embedded(s[6], s[7])))
                // Local-use NAT64 (RFC 8215) translates into the operator's own networks; Teredo
                // hides an IPv4 address we cannot judge.
                || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1)
                || (s[0] == 0x2001 && s[1] == 0)
                || s[0] == 0x2002 && is_internal(IpAddr::V4(embedded(s[1], s[2])))
        }
    }
}

/// The longest endpoint address taken (what browsers and proxies reliably carry).
pub const MAX_URL_CHARS: usize = 2000;

/// Checks an endpoint address as an admin typed it: http(s), a host, no credentials, and (unless
/// allowed) no internal address or `localhost` name.
pub fn check_url(field: &str, raw: &str, allow_internal: bool) -> Result<String, FieldError> {
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(FieldError::new(field, "too_long").with("max", MAX_URL_CHARS));
    }
    let url = url::Url::parse(raw.trim()).map_err(|_| FieldError::new(field, "invalid_url"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
        return Err(FieldError::new(field, "invalid_url"));
    }
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    };
    // `localhost.` is `localhost` to a resolver.
    let name = url.host_str().map(|h| h.trim_end_matches('.').to_ascii_lowercase());
    let local_name = name.is_some_and(|h| h == "localhost" || h.ends_with(".localhost"));
    if !allow_internal && (literal.is_some_and(is_internal) || local_name) {
        return Err(FieldError::new(field, "forbidden_address"));
    }
    Ok(url.to_string())
}

/// Resolves names like the system does, then refuses internal addresses, so a DNS name cannot
/// smuggle a request to the metadata service or the database.
struct GuardedResolver {
    allow_internal: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_internal = self.allow_internal;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found.into_iter().filter(|a| allow_internal || !is_internal(a.ip())).collect();
            if allowed.is_empty() {
                return Err(format!("{host} resolves only to internal addresses").into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The client for signed deliveries: no redirects, no proxies, guarded name resolution.
pub fn client(timeout: Duration, allow_internal: bool) -> Result<Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("Opora-Webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(GuardedResolver { allow_internal }))
        .build()
        .map_err(|e| e.to_string())
}

/// A [`client`] made on first use: building one reads the system's certificates, which a
/// short-lived process (`opora mail ingest`, run once per message) must not pay for.
pub struct LazyClient {
    timeout: Duration,
    allow_internal: bool,
    made: std::sync::OnceLock<Result<Client, String>>,
}

impl LazyClient {
    pub fn new(timeout: Duration, allow_internal: bool) -> Self {
        Self { timeout, allow_internal, made: std::sync::OnceLock::new() }
    }

    pub fn get(&self) -> Result<&Client, String> {
        self.made.get_or_init(|| client(self.timeout, self.allow_internal)).as_ref().map_err(|e| format!("no HTTP client: {e}"))
    }
}

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
    /// `Retry-After`, in seconds, when the receiver asked to slow down.
    pub retry_after: Option<u64>,
    /// The answer's body (at most 64 KiB), for receivers that answer with an id.
    pub body: Vec<u8>,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// 410: the endpoint is gone for good.
    pub fn gone(&self) -> bool {
        self.status == Some(410)
    }

    /// Worth trying again: no answer, throttling, or a server error.
    pub fn temporary(&self) -> bool {
        match self.status {
            None => true,
            Some(code) => code == 408 || code == 429 || code >= 500,
        }
    }

    /// `HTTP 503`, or the transport error.
    pub fn describe(&self) -> String {
        match (self.status, &self.error) {
            (Some(code), _) => format!("HTTP {code}"),
            (None, Some(error)) => error.clone(),
            (None, None) => "no answer".into(),
        }
    }
}

/// How much of a receiver's answer is read: enough for an id, never a flood.
const ANSWER_LIMIT: usize = 64 * 1024;

/// The answer's body up to `limit` bytes; the rest is never downloaded.
async fn read_capped(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk[..chunk.len().min(limit - body.len())]),
            _ => break,
        }
    }
    body
}

/// POSTs a signed JSON body. An internal literal address is refused unless allowed (names are
/// guarded by the client's resolver).
pub async fn post(client: &Client, url: &str, secret: &str, id: &str, body: &[u8], allow_internal: bool) -> Attempt {
    let failed = |error: String| Attempt { status: None, error: Some(error), duration_ms: 0, retry_after: None, body: Vec::new() };
    let url = match reqwest::Url::parse(url) {
        Ok(url) => url,
        Err(e) => return failed(format!("invalid url: {e}")),
    };
    let literal = url.host_str().and_then(|h| h.trim_matches(['[', ']']).parse::<IpAddr>().ok());
    if !allow_internal && literal.is_some_and(is_internal) {
        return failed(format!("{url} is an internal address"));
    }
    let timestamp = opora_domain::Timestamp::now().millis() / 1000;
    let signature = match sign(secret, id, timestamp, body) {
        Ok(signature) => signature,
        Err(e) => return failed(e),
    };
    let started = Instant::now();
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body.to_vec())
        .send()
        .await;
    let duration_ms = started.elapsed().as_millis() as i64;
    match sent {
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()?.trim().parse().ok());
            let body = read_capped(response, ANSWER_LIMIT).await;
            Attempt { status: Some(status), error: None, duration_ms, retry_after, body }
        }
        Err(e) => Attempt { status: None, error: Some(e.to_string()), duration_ms, retry_after: None, body: Vec::new() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;

    #[test]
    fn standard_webhooks_test_vector() {
        let signature = sign(SECRET, "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1_649_367_553, BODY).expect("signs");
        assert_eq!(signature, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    }

    #[test]
    fn verification_checks_signature_and_time() {
        let (id, at) = ("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", "1649367553");
        let good = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";
        let now = 1_649_367_600;
        assert_eq!(verify(SECRET, Some(id), Some(at), Some(&format!("v1,bm9wZQ== {good}")), BODY, now), Ok(()));
        assert_eq!(verify(SECRET, Some(id), Some(at), Some(good), b"{}", now), Err(Unverified::Mismatch));
        assert_eq!(verify(SECRET, Some(id), Some(at), Some(good), BODY, now + 3600), Err(Unverified::Stale));
        assert_eq!(verify(SECRET, None, Some(at), Some(good), BODY, now), Err(Unverified::Missing("webhook-id")));
        let far = i64::MIN.to_string();
        assert_eq!(verify(SECRET, Some(id), Some(&far), Some(good), BODY, i64::MAX), Err(Unverified::Stale), "no overflow");
    }

    #[test]
    fn internal_addresses_are_refused() {
        for url in [
            "http://127.0.0.1:9000/x",
            "http://10.1.2.3/",
            "http://[::1]/",
            "http://localhost/",
            "http://169.254.169.254/latest",
            "ftp://example.com/",
            "http://user:secret@hooks.example.com/",
            "http://0.1.2.3/",
            "http://198.18.0.1/",
            "http://224.0.0.1/",
            "http://240.0.0.1/",
            "http://[ff02::1]/",
            "http://[::ffff:10.0.0.1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[2002:7f00:1::]/",
            "http://[fec0::1]/",
            "http://[64:ff9b:1::a00:1]/",
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            "http://localhost./",
            "http://LocalHost/",
            "http://[::127.0.0.1]/",
        ] {
            assert!(check_url("url", url, false).is_err(), "{url}");
        }
        assert!(check_url("url", "https://hooks.example.com/opora", false).is_ok());
        for public in ["http://93.184.215.14/", "http://[2606:4700::1111]/", "http://[64:ff9b::5db8:d70e]/", "http://[2002:5db8:d70e::]/"] {
            assert!(check_url("url", public, false).is_ok(), "{public} is a public address");
        }
        assert!(check_url("url", "http://127.0.0.1:9000/x", true).is_ok());
    }
}
