//! Phone call events from the team's telephony: Mango Office, Zadarma, Twilio, or any PBX that
//! posts Opora's own JSON (signed per Standard Webhooks), to `/hooks/phone/{id}` (Mango appends
//! its `/events/…` paths). A call finds the customer by number; what the product does with each
//! state is the intake's. Nothing is sent back through this channel: replies on a phone case are
//! recorded for the agent who calls back.

mod providers;

use opora_domain::channel::{Channel, ChannelKind, ConversationPolicy};
use opora_domain::error::{Errors, FieldError};
use opora_domain::inbound::Inbound;
use opora_domain::outbound::{Outbound, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::driver::{BoxFuture, CheckStep, Driver, ParseContext, Profile, Pushed, RawPayload, Refusal, Unreadable};
use crate::form::{finish, required_text, text_of};
use crate::webhook;

/// Which provider posts, with what it signs with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "provider", rename_all = "lowercase")]
pub enum Provider {
    Mango {
        api_key: String,
        api_salt: String,
    },
    Zadarma {
        api_secret: String,
    },
    /// `callback_url`: the address as configured at Twilio (it signs it), when a proxy makes
    /// it differ from ours.
    Twilio {
        auth_token: String,
        callback_url: Option<String>,
    },
    /// Opora's JSON, signed per Standard Webhooks with a secret shown once.
    Generic {
        secret: String,
    },
}

pub struct Phone {
    public_url: String,
}

impl Phone {
    pub fn new(public_url: String) -> Self {
        Self { public_url }
    }
}

fn provider_of(channel: &Channel) -> Result<Provider, String> {
    serde_json::from_value(channel.settings.clone()).map_err(|e| format!("phone channel settings: {e}"))
}

impl Driver for Phone {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Phone
    }

    fn settings(&self, input: &Value, current: Option<&Value>) -> Result<Value, Vec<FieldError>> {
        if !input.is_object() {
            return Err(vec![FieldError::new("settings", "invalid_type").with("expected", "object")]);
        }
        let current: Option<Provider> = current.and_then(|c| serde_json::from_value(c.clone()).ok());
        let mut errors = Errors::default();
        let current_name = current.as_ref().map(|p| match p {
            Provider::Mango { .. } => "mango",
            Provider::Zadarma { .. } => "zadarma",
            Provider::Twilio { .. } => "twilio",
            Provider::Generic { .. } => "generic",
        });
        let name = text_of(input, "provider", &mut errors).flatten().or(current_name).unwrap_or("");
        // Secrets of another provider are not carried over.
        let same_provider = current_name == Some(name);
        let kept = |f: fn(&Provider) -> Option<&str>| current.as_ref().filter(|_| same_provider).and_then(f);
        let provider = match name {
            "mango" => Provider::Mango {
                api_key: required_text(
                    input,
                    "api_key",
                    kept(|p| if let Provider::Mango { api_key, .. } = p { Some(api_key) } else { None }),
                    500,
                    &mut errors,
                ),
                api_salt: required_text(
                    input,
                    "api_salt",
                    kept(|p| if let Provider::Mango { api_salt, .. } = p { Some(api_salt) } else { None }),
                    500,
                    &mut errors,
                ),
            },
            "zadarma" => Provider::Zadarma {
                api_secret: required_text(
                    input,
                    "api_secret",
                    kept(|p| if let Provider::Zadarma { api_secret } = p { Some(api_secret) } else { None }),
                    500,
                    &mut errors,
                ),
            },
            "twilio" => {
                let auth_token = required_text(
                    input,
                    "auth_token",
                    kept(|p| if let Provider::Twilio { auth_token, .. } = p { Some(auth_token) } else { None }),
                    500,
                    &mut errors,
                );
                let stored_url =
                    kept(|p| if let Provider::Twilio { callback_url, .. } = p { callback_url.as_deref() } else { None }).map(str::to_owned);
                let callback_url = match text_of(input, "callback_url", &mut errors) {
                    Some(Some(url)) if !url.trim().is_empty() => errors.take(webhook::check_url("callback_url", url, true)),
                    Some(_) => None,
                    None => stored_url,
                };
                Provider::Twilio { auth_token, callback_url }
            }
            "generic" => match current.as_ref().filter(|_| same_provider) {
                Some(Provider::Generic { secret }) => Provider::Generic { secret: secret.clone() },
                _ => Provider::Generic {
                    secret: webhook::new_secret().map_err(|e| vec![FieldError::new("secret", "unavailable").with("reason", e)])?,
                },
            },
            "" => {
                errors.push(FieldError::required("provider"));
                Provider::Generic { secret: String::new() }
            }
            _ => {
                errors.push(FieldError::new("provider", "invalid_choice").with("allowed", "mango, zadarma, twilio, generic"));
                Provider::Generic { secret: String::new() }
            }
        };
        finish(errors)?;
        Ok(serde_json::to_value(provider).unwrap_or_default())
    }

    fn public_settings(&self, settings: &Value) -> Value {
        match serde_json::from_value::<Provider>(settings.clone()) {
            Ok(Provider::Mango { .. }) => json!({"provider": "mango", "api_key_set": true, "api_salt_set": true}),
            Ok(Provider::Zadarma { .. }) => json!({"provider": "zadarma", "api_secret_set": true}),
            Ok(Provider::Twilio { callback_url, .. }) => {
                json!({"provider": "twilio", "auth_token_set": true, "callback_url": callback_url})
            }
            Ok(Provider::Generic { .. }) => json!({"provider": "generic", "secret_set": true}),
            Err(_) => Value::Null,
        }
    }

    fn reveal_once(&self, settings: &Value) -> Option<Value> {
        match serde_json::from_value::<Provider>(settings.clone()) {
            Ok(Provider::Generic { secret }) => Some(json!({"secret": secret})),
            _ => None,
        }
    }

    fn profile(&self, _channel: &Channel) -> Profile {
        Profile {
            can_send: false,
            receive_only: true,
            acknowledge: false,
            conversation: ConversationPolicy::Ongoing,
            subject_window_ms: 0,
            reply_window_ms: None,
        }
    }

    fn handshake(&self, channel: &Channel, query: &[(String, String)], _body: &[u8]) -> Option<Result<String, Refusal>> {
        // Zadarma checks the address by asking it to echo a value.
        let echo = query.iter().find(|(k, _)| k == "zd_echo").map(|(_, v)| v.clone())?;
        match provider_of(channel) {
            Ok(Provider::Zadarma { .. }) if echo.len() <= 100 && echo.chars().all(|c| c.is_ascii_alphanumeric()) => Some(Ok(echo)),
            _ => Some(Err(Refusal::BadSignature("not a Zadarma channel".into()))),
        }
    }

    fn authenticate(&self, channel: &Channel, request: &Pushed<'_>) -> Result<(), Refusal> {
        let verified = match provider_of(channel).map_err(Refusal::BadSignature)? {
            Provider::Mango { api_key, api_salt } => providers::mango_verify(&api_key, &api_salt, request.body),
            Provider::Zadarma { api_secret } => providers::zadarma_verify(&api_secret, request.header("signature"), request.body),
            Provider::Twilio { auth_token, callback_url } => {
                let url = callback_url.unwrap_or_else(|| format!("{}/hooks/phone/{}", self.public_url.trim_end_matches('/'), channel.id));
                providers::twilio_verify(&auth_token, &url, request.header("x-twilio-signature"), request.body)
            }
            Provider::Generic { secret } => webhook::verify(
                &secret,
                request.header("webhook-id"),
                request.header("webhook-timestamp"),
                request.header("webhook-signature"),
                request.body,
                request.now_secs,
            )
            .is_ok(),
        };
        if verified { Ok(()) } else { Err(Refusal::BadSignature("the provider's signature does not match".into())) }
    }

    fn parse(&self, payload: &RawPayload, context: &ParseContext<'_>) -> Result<Vec<Inbound>, Unreadable> {
        let id = context.channel.id.0;
        let event = match provider_of(context.channel).map_err(Unreadable::new)? {
            Provider::Mango { .. } => providers::mango(id, &payload.bytes)?,
            Provider::Zadarma { .. } => providers::zadarma(id, &payload.bytes)?,
            Provider::Twilio { .. } => providers::twilio(id, &payload.bytes)?,
            Provider::Generic { .. } => providers::generic(id, &payload.bytes)?,
        };
        Ok(event.map(Inbound::Call).into_iter().collect())
    }

    fn send<'a>(&'a self, _channel: &'a Channel, _message: &'a Outbound) -> BoxFuture<'a, Verdict> {
        Box::pin(async { Verdict::Failed { reason: "phone channels do not send".into() } })
    }

    fn check<'a>(&'a self, _channel: &'a Channel) -> BoxFuture<'a, Vec<CheckStep>> {
        Box::pin(async { Vec::new() })
    }
}
