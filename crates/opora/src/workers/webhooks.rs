//! Delivering webhooks: Standard Webhooks signatures, a client that cannot be pointed at
//! internal addresses, and the answer's meaning (2xx done, 410 switch off, else retry).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use opora_domain::{EventId, WebhookId};
use opora_store::{Store, events, webhooks};
use opora_web::api::webhooks::is_internal;
use opora_web::views::Names;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::json;
use sha2::Sha256;

use super::jobs::Outcome;

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` with the key decoded from `whsec_…`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap_or(secret)).map_err(|e| format!("webhook secret: {e}"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
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

pub fn client(timeout: Duration, allow_internal: bool) -> Result<reqwest::Client, String> {
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

/// One delivery attempt of one event to one endpoint.
pub async fn deliver(
    store: &Store,
    client: &reqwest::Client,
    allow_internal: bool,
    hook: WebhookId,
    event: EventId,
    attempt: i64,
) -> Outcome {
    let found = store
        .read(move |conn| {
            let hook = webhooks::get(conn, hook)?;
            let found = events::by_ids(conn, &[event.0])?;
            let view = match found.first() {
                Some(event) => Some(
                    Names::load(
                        conn,
                        &event
                            .actor
                            .id
                            .filter(|_| event.actor.kind == opora_domain::event::ActorKind::Agent)
                            .map(opora_domain::AgentId)
                            .into_iter()
                            .collect::<Vec<_>>(),
                        &[],
                        false,
                    )?
                    .event(event),
                ),
                None => None,
            };
            Ok((hook, view))
        })
        .await;
    let (hook, view) = match found {
        Ok((hook, Some(view))) if hook.active => (hook, view),
        // Deleted or switched off endpoints, and events that no longer exist, have nothing to send.
        Ok(_) | Err(opora_store::StoreError::Domain(_)) => return Outcome::Done,
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    let url = match reqwest::Url::parse(&hook.url) {
        Ok(url) => url,
        Err(e) => return Outcome::Retry(format!("invalid url: {e}")),
    };
    let literal = url.host_str().and_then(|h| h.trim_matches(['[', ']']).parse::<IpAddr>().ok());
    if !allow_internal && literal.is_some_and(is_internal) {
        return Outcome::Retry(format!("{} is an internal address", hook.url));
    }
    let body = json!({"type": view.kind, "timestamp": view.created_at, "data": view}).to_string();
    let message_id = format!("evt_{}", event.0);
    let timestamp = opora_domain::Timestamp::now().millis() / 1000;
    let signature = match sign(&hook.secret, &message_id, timestamp, body.as_bytes()) {
        Ok(signature) => signature,
        Err(e) => return Outcome::Retry(e),
    };
    let started = Instant::now();
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    let duration_ms = started.elapsed().as_millis() as i64;
    let (status, error) = match &sent {
        Ok(response) => (Some(response.status().as_u16()), None),
        Err(e) => (None, Some(format!("{e}"))),
    };
    let outcome = match status {
        Some(code) if (200..300).contains(&code) => Outcome::Done,
        Some(410) => Outcome::Done,
        Some(code) => Outcome::Retry(format!("HTTP {code}")),
        None => Outcome::Retry(error.clone().unwrap_or_default()),
    };
    let gone = status == Some(410);
    let logged = store
        .write(move |tx| {
            webhooks::record_delivery(tx, hook.id, event, attempt, status, error.as_deref(), duration_ms)?;
            if gone {
                webhooks::disable(tx, hook.id, "the receiver answered 410 Gone")?;
            }
            Ok(())
        })
        .await;
    if let Err(e) = logged {
        tracing::warn!(error = %e, "could not record a webhook delivery");
    }
    outcome
}

#[cfg(test)]
mod tests {
    #[test]
    fn standard_webhooks_test_vector() {
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        let signature =
            super::sign("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1_649_367_553, body).expect("signs");
        assert_eq!(signature, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    }
}
