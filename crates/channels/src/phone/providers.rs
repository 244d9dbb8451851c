//! Each telephony provider's call events, signatures checked over what it signs, read into one
//! [`CallEvent`]: Zadarma (`Signature`: base64 of the hex HMAC-SHA1), Mango Office (`sign`: the
//! SHA-256 of key + json + salt), Twilio (`X-Twilio-Signature`: HMAC-SHA1 over the URL and the
//! sorted parameters) and Opora's own JSON, signed per Standard Webhooks.

use std::collections::BTreeMap;

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use opora_domain::FieldError;
use opora_domain::customer::{IdentityKind, parse_identity};
use opora_domain::inbound::{CallEvent, CallState};
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::driver::Unreadable;
use crate::wire::same;

/// A form body's fields.
pub fn form(body: &[u8]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn hmac_sha1(key: &str, message: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha1>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unreadable(reason: &str, field: &str) -> Unreadable {
    Unreadable { reason: reason.into(), fields: vec![FieldError::new(field, "invalid_value")] }
}

/// A number as the provider gives it (`79161234567`, `+7 916…`), in E.164.
fn number(field: &str, raw: &str) -> Result<String, Unreadable> {
    let raw = raw.trim();
    // Providers give international numbers as bare digits (`79161234567`); people write them
    // any way (`8 (916) …`), which the phone rules read.
    let bare_international = raw.len() >= 11 && raw.chars().all(|c| c.is_ascii_digit()) && !raw.starts_with('8');
    let given = if bare_international { format!("+{raw}") } else { raw.to_owned() };
    parse_identity(field, IdentityKind::Phone, &given)
        .map_err(|e| Unreadable { reason: format!("not a phone number: {raw}"), fields: vec![e] })
}

fn call(key: String, state: CallState, incoming: bool, customer: String) -> CallEvent {
    CallEvent {
        key,
        state,
        incoming,
        customer_number: customer,
        line: None,
        agent_extension: None,
        duration_secs: None,
        recording_url: None,
    }
}

// Zadarma

/// The string Zadarma signs for an event.
fn zadarma_signed(fields: &BTreeMap<String, String>) -> Option<String> {
    let get = |name: &str| fields.get(name).map(String::as_str).unwrap_or("");
    Some(match get("event") {
        "NOTIFY_START" | "NOTIFY_INTERNAL" | "NOTIFY_END" => format!("{}{}{}", get("caller_id"), get("called_did"), get("call_start")),
        "NOTIFY_ANSWER" => format!("{}{}{}", get("caller_id"), get("destination"), get("call_start")),
        "NOTIFY_OUT_START" | "NOTIFY_OUT_END" => format!("{}{}{}", get("internal"), get("destination"), get("call_start")),
        _ => return None,
    })
}

pub fn zadarma_verify(secret: &str, signature: Option<&str>, body: &[u8]) -> bool {
    let fields = form(body);
    let (Some(signed), Some(given)) = (zadarma_signed(&fields), signature) else { return false };
    let expected = base64::engine::general_purpose::STANDARD.encode(hex(&hmac_sha1(secret, &signed)));
    same(given.trim().as_bytes(), expected.as_bytes())
}

pub fn zadarma(channel: i64, body: &[u8]) -> Result<Option<CallEvent>, Unreadable> {
    let fields = form(body);
    let get = |name: &str| fields.get(name).map(String::as_str).unwrap_or("");
    let id = get("pbx_call_id");
    if id.is_empty() {
        return Err(unreadable("a Zadarma event without pbx_call_id", "pbx_call_id"));
    }
    let (state, incoming, customer) = match get("event") {
        "NOTIFY_START" => (CallState::Ringing, true, get("caller_id")),
        "NOTIFY_ANSWER" => (CallState::Answered, true, get("caller_id")),
        "NOTIFY_END" if get("disposition") == "answered" => (CallState::Ended, true, get("caller_id")),
        "NOTIFY_END" => (CallState::Missed, true, get("caller_id")),
        "NOTIFY_OUT_END" => (CallState::Ended, false, get("destination")),
        _ => return Ok(None),
    };
    let mut event = call(format!("phone:{channel}:zadarma:{id}:{state}"), state, incoming, number("caller_id", customer)?);
    event.line = Some(get("called_did").to_owned()).filter(|l| !l.is_empty());
    event.agent_extension = Some(get("internal").to_owned()).filter(|e| !e.is_empty());
    event.duration_secs = get("duration").parse().ok();
    Ok(Some(event))
}

// Mango Office

pub fn mango_verify(key: &str, salt: &str, body: &[u8]) -> bool {
    let fields = form(body);
    let get = |name: &str| fields.get(name).map(String::as_str).unwrap_or("");
    if !same(get("vpbx_api_key").as_bytes(), key.as_bytes()) {
        return false;
    }
    let expected = hex(&Sha256::digest(format!("{key}{}{salt}", get("json")).as_bytes()));
    same(get("sign").to_ascii_lowercase().as_bytes(), expected.as_bytes())
}

/// `events/call` (call states) and `events/summary` (how the call ended) are told apart by
/// their fields.
pub fn mango(channel: i64, body: &[u8]) -> Result<Option<CallEvent>, Unreadable> {
    let fields = form(body);
    let json: Value = serde_json::from_str(fields.get("json").map(String::as_str).unwrap_or(""))
        .map_err(|e| unreadable(&format!("Mango's json does not read: {e}"), "json"))?;
    let entry = json["entry_id"].as_str().ok_or_else(|| unreadable("a Mango event without entry_id", "json.entry_id"))?;
    let from = json["from"]["number"].as_str().unwrap_or("");
    if let Some(result) = json["entry_result"].as_i64() {
        // The summary: direction 1 is incoming, 2 outgoing.
        let incoming = json["call_direction"].as_i64() != Some(2);
        let customer = if incoming { from } else { json["to"]["number"].as_str().unwrap_or("") };
        let state = if result == 1 {
            CallState::Ended
        } else if incoming {
            CallState::Missed
        } else {
            return Ok(None);
        };
        let mut event = call(format!("phone:{channel}:mango:{entry}:{state}"), state, incoming, number("json.from.number", customer)?);
        let (talk, end) = (json["talk_time"].as_i64(), json["end_time"].as_i64());
        event.duration_secs = talk.zip(end).map(|(t, e)| (e - t).max(0)).filter(|_| result == 1);
        event.line = json["line_number"].as_str().map(str::to_owned);
        event.agent_extension = json["to"]["extension"].as_str().map(str::to_owned);
        return Ok(Some(event));
    }
    let state = match json["call_state"].as_str() {
        Some("Appeared") if json["to"]["extension"].is_string() || json["location"] == "abonent" => CallState::Ringing,
        Some("Connected") => CallState::Answered,
        _ => return Ok(None),
    };
    let seq = json["seq"].as_i64().unwrap_or(0);
    let mut event = call(format!("phone:{channel}:mango:{entry}:{state}:{seq}"), state, true, number("json.from.number", from)?);
    event.agent_extension = json["to"]["extension"].as_str().map(str::to_owned);
    event.line = json["to"]["line_number"].as_str().map(str::to_owned);
    Ok(Some(event))
}

// Twilio

pub fn twilio_verify(auth_token: &str, url: &str, signature: Option<&str>, body: &[u8]) -> bool {
    let Some(given) = signature else { return false };
    let signed: String = form(body).iter().fold(url.to_owned(), |all, (name, value)| format!("{all}{name}{value}"));
    let expected = base64::engine::general_purpose::STANDARD.encode(hmac_sha1(auth_token, &signed));
    same(given.trim().as_bytes(), expected.as_bytes())
}

pub fn twilio(channel: i64, body: &[u8]) -> Result<Option<CallEvent>, Unreadable> {
    let fields = form(body);
    let get = |name: &str| fields.get(name).map(String::as_str).unwrap_or("");
    let sid = get("CallSid");
    if sid.is_empty() {
        return Err(unreadable("a Twilio callback without CallSid", "CallSid"));
    }
    let incoming = get("Direction") == "inbound";
    let customer = if incoming { get("From") } else { get("To") };
    let state = match get("CallStatus") {
        "ringing" => CallState::Ringing,
        "in-progress" => CallState::Answered,
        "completed" => CallState::Ended,
        "busy" | "no-answer" | "canceled" | "failed" => CallState::Missed,
        _ => return Ok(None),
    };
    let mut event = call(format!("phone:{channel}:twilio:{sid}:{state}"), state, incoming, number("From", customer)?);
    event.duration_secs = get("CallDuration").parse().ok();
    event.line = Some(if incoming { get("To") } else { get("From") }.to_owned()).filter(|l| !l.is_empty());
    event.recording_url = Some(get("RecordingUrl").to_owned()).filter(|u| u.starts_with("https://"));
    Ok(Some(event))
}

// Opora's own format

/// `{"id", "state": "ringing|answered|ended|missed", "direction": "in|out", "customer": "+7…",
/// "line", "extension", "duration", "recording_url"}`.
pub fn generic(channel: i64, body: &[u8]) -> Result<Option<CallEvent>, Unreadable> {
    let json: Value = serde_json::from_slice(body).map_err(|e| Unreadable::new(format!("not JSON: {e}")))?;
    let id = json["id"].as_str().filter(|i| !i.is_empty() && i.len() <= 200).ok_or_else(|| unreadable("a call without an id", "id"))?;
    let state = json["state"]
        .as_str()
        .and_then(CallState::parse)
        .ok_or_else(|| unreadable("state: ringing, answered, ended or missed", "state"))?;
    let incoming = json["direction"].as_str() != Some("out");
    let customer = json["customer"].as_str().ok_or_else(|| unreadable("a call without the customer's number", "customer"))?;
    let mut event = call(format!("phone:{channel}:generic:{id}:{state}"), state, incoming, number("customer", customer)?);
    event.line = json["line"].as_str().map(str::to_owned);
    event.agent_extension = json["extension"].as_str().map(str::to_owned);
    event.duration_secs = json["duration"].as_i64();
    event.recording_url = json["recording_url"].as_str().filter(|u| u.starts_with("https://")).map(str::to_owned);
    Ok(Some(event))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(fields: &[(&str, &str)]) -> Vec<u8> {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            form.append_pair(k, v);
        }
        form.finish().into_bytes()
    }

    #[test]
    fn the_providers_test_vectors() {
        let zadarma = encode(&[
            ("event", "NOTIFY_START"),
            ("caller_id", "+79161234567"),
            ("called_did", "+74951234567"),
            ("call_start", "2026-11-22 15:04:05"),
            ("pbx_call_id", "in_1"),
        ]);
        assert!(zadarma_verify("test_secret", Some("OGI4N2IzNTBkNjdlZWVjOWE3NjZmZDFiNGYwOGJkMzYzMDhmZTUwYg=="), &zadarma));
        assert!(!zadarma_verify("other", Some("OGI4N2IzNTBkNjdlZWVjOWE3NjZmZDFiNGYwOGJkMzYzMDhmZTUwYg=="), &zadarma));
        let ringing = super::zadarma(1, &zadarma).expect("reads").expect("an event");
        assert_eq!((ringing.state, ringing.customer_number.as_str()), (CallState::Ringing, "+79161234567"));

        let json = r#"{"entry_id":"MTox","call_id":"MToxMDA=","timestamp":1763823845,"seq":1,"call_state":"Appeared","location":"ivr","from":{"number":"79161234567"},"to":{"line_number":"74951234567"}}"#;
        let mango = encode(&[
            ("vpbx_api_key", "vpbx_key_test"),
            ("sign", "63c280c001ec2618398728f3ab24fe122edded280eca4b4384ed24a8a231cf18"),
            ("json", json),
        ]);
        assert!(mango_verify("vpbx_key_test", "vpbx_salt_test", &mango));
        assert!(!mango_verify("vpbx_key_test", "other_salt", &mango));

        let twilio = encode(&[
            ("AccountSid", "AC123"),
            ("CallDuration", "42"),
            ("CallSid", "CA123"),
            ("CallStatus", "completed"),
            ("Direction", "inbound"),
            ("From", "+15551230000"),
            ("To", "+15559870000"),
        ]);
        let url = "https://help.example.com/telephony/twilio/status";
        assert!(twilio_verify("auth_token_test", url, Some("4hEDePdDxGoS9ARdRTA9ANiNDOI="), &twilio));
        assert!(!twilio_verify("auth_token_test", "https://elsewhere.example.com/", Some("4hEDePdDxGoS9ARdRTA9ANiNDOI="), &twilio));
        let ended = super::twilio(1, &twilio).expect("reads").expect("an event");
        assert_eq!((ended.state, ended.duration_secs), (CallState::Ended, Some(42)));
    }
}
