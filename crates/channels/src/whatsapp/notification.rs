//! One WhatsApp webhook notification read into what the intake files: each customer message
//! (text, media to download, a place, a contact card, a button, a reaction) and each status of
//! a message we sent. A notification for another number of the same app is not ours and is
//! skipped; a message type Opora does not know is described, never refused.

use opora_domain::ChannelId;
use opora_domain::FieldError;
use opora_domain::customer::{IdentityKind, is_bsuid, parse_identity};
use opora_domain::inbound::{ChoiceMade, Inbound, InboundMessage, Party, RemoteFile, StatusReport, ThreadHints};
use opora_domain::message::{DeliveryStatus, clean_filename};
use serde::Deserialize;
use serde_json::Value;

use crate::driver::Unreadable;

pub fn message_key(channel: ChannelId, wamid: &str) -> String {
    format!("whatsapp:{channel}:msg:{wamid}")
}

pub fn conversation_key(channel: ChannelId, user: &str) -> String {
    format!("whatsapp:{channel}:chat:{user}")
}

/// The user a conversation key names: a wa_id (digits) or a business-scoped id.
pub fn user_of(channel: ChannelId, key: &str) -> Option<String> {
    key.strip_prefix(&format!("whatsapp:{channel}:chat:")).map(str::to_owned)
}

#[derive(Debug, Deserialize)]
struct Notification {
    object: Option<String>,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Debug, Deserialize)]
struct Change {
    #[serde(default)]
    value: Changed,
}

#[derive(Debug, Default, Deserialize)]
struct Changed {
    metadata: Option<Metadata>,
    #[serde(default)]
    contacts: Vec<Contact>,
    #[serde(default)]
    messages: Vec<Value>,
    #[serde(default)]
    statuses: Vec<Status>,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    phone_number_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Contact {
    profile: Option<Profile>,
    wa_id: Option<String>,
    user_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Profile {
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Status {
    id: String,
    status: String,
    #[serde(default)]
    errors: Vec<Value>,
}

/// Reads a notification for the number `phone_number_id`.
pub fn parse(channel: ChannelId, phone_number_id: &str, bytes: &[u8]) -> Result<Vec<Inbound>, Unreadable> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| Unreadable::new(format!("not JSON: {e}")))?;
    let notification: Notification = serde_path_to_error::deserialize(value).map_err(|e| Unreadable {
        reason: format!("not a WhatsApp notification: {e}"),
        fields: vec![FieldError::new(e.path().to_string(), "invalid_value")],
    })?;
    if notification.object.as_deref() != Some("whatsapp_business_account") {
        return Err(Unreadable { reason: "not a WhatsApp notification".into(), fields: vec![FieldError::new("object", "invalid_choice")] });
    }
    let mut items = Vec::new();
    for change in notification.entry.into_iter().flat_map(|e| e.changes) {
        let value = change.value;
        if value.metadata.as_ref().and_then(|m| m.phone_number_id.as_deref()) != Some(phone_number_id) {
            continue;
        }
        for raw in &value.messages {
            items.push(message(channel, raw, &value.contacts)?);
        }
        for status in value.statuses {
            items.extend(report(channel, status).map(Inbound::Status));
        }
    }
    Ok(items)
}

fn report(channel: ChannelId, status: Status) -> Option<StatusReport> {
    let new = match status.status.as_str() {
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" => DeliveryStatus::Read,
        "failed" => DeliveryStatus::Failed,
        // `deleted`, `warning`…: nothing about delivery.
        _ => return None,
    };
    let reason = status.errors.first().map(|e| {
        let code = e["code"].as_i64().map(|c| format!("(#{c}) ")).unwrap_or_default();
        let title = e["title"].as_str().or(e["message"].as_str()).unwrap_or("");
        match e["error_data"]["details"].as_str() {
            Some(details) => format!("{code}{title}: {details}"),
            None => format!("{code}{title}"),
        }
    });
    Some(StatusReport {
        key: format!("whatsapp:{channel}:status:{}:{}", status.id, status.status),
        about: message_key(channel, &status.id),
        status: Some(new),
        reason,
        note: None,
    })
}

/// A file a message names, by its media id.
fn media(raw: &Value, kind: &str) -> Option<RemoteFile> {
    let media = raw.get(kind)?;
    let id = media["id"].as_str()?;
    let content_type = media["mime_type"].as_str().unwrap_or("application/octet-stream").split(';').next().unwrap_or("").trim().to_owned();
    let extension = content_type.rsplit('/').next().unwrap_or("bin");
    let fallback = format!("{kind}_{}.{extension}", &id[id.len().saturating_sub(8)..]);
    Some(RemoteFile {
        filename: clean_filename(media["filename"].as_str().unwrap_or(&fallback)),
        content_type,
        reference: id.to_owned(),
        size: media["file_size"].as_u64(),
    })
}

fn message(channel: ChannelId, raw: &Value, contacts: &[Contact]) -> Result<Inbound, Unreadable> {
    let field = |name: &str| raw[name].as_str().filter(|v| !v.is_empty());
    let Some(id) = field("id") else {
        return Err(Unreadable { reason: "a message without an id".into(), fields: vec![FieldError::required("messages.id")] });
    };
    // The phone (wa_id) when the user shares it, else their business-scoped id.
    let wa_id = field("from").filter(|f| !is_bsuid(f));
    let contact = contacts.iter().find(|c| c.wa_id.as_deref() == wa_id && wa_id.is_some()).or(contacts.first());
    let bsuid =
        field("from_user_id").or(field("user_id")).or(field("from").filter(|f| is_bsuid(f))).or(contact.and_then(|c| c.user_id.as_deref()));
    let mut identities = Vec::new();
    if let Some(wa_id) = wa_id {
        let parsed = parse_identity("messages.from", IdentityKind::Whatsapp, &format!("+{wa_id}"))
            .map_err(|e| Unreadable { reason: format!("an unreadable sender: {wa_id}"), fields: vec![e] })?;
        identities.push((IdentityKind::Whatsapp, parsed.clone()));
        // The same number finds the customer who called or wrote from it before.
        identities.push((IdentityKind::Phone, format!("+{parsed}")));
    }
    if let Some(bsuid) = bsuid.filter(|b| is_bsuid(b)) {
        identities.push((IdentityKind::Whatsapp, bsuid.to_owned()));
    }
    let Some(user) = identities.first().map(|(_, v)| v.clone()) else {
        return Err(Unreadable { reason: "a message without a sender".into(), fields: vec![FieldError::required("messages.from")] });
    };
    let kind = field("type").unwrap_or("unknown");
    let name = contact.and_then(|c| c.profile.as_ref()).and_then(|p| p.name.clone()).unwrap_or_default();
    // Only our own messages carry reply buttons: the id of the one pressed is what we gave it.
    let reply = &raw["interactive"];
    if let Some(data) =
        reply["button_reply"]["id"].as_str().or(reply["list_reply"]["id"].as_str()).filter(|d| kind == "interactive" && !d.is_empty())
    {
        let sender = Party { identities, name };
        return Ok(Inbound::Choice(ChoiceMade { key: message_key(channel, id), sender, data: data.to_owned(), handle: None }));
    }
    let mut lines = Vec::new();
    let mut remote_files = Vec::new();
    let mut references: Vec<String> = raw["context"]["id"].as_str().map(|c| message_key(channel, c)).into_iter().collect();
    let mut automatic = None;
    match kind {
        "text" => lines.extend(raw["text"]["body"].as_str().map(str::to_owned)),
        "image" | "document" | "audio" | "video" | "sticker" | "voice" => {
            remote_files.extend(media(raw, kind));
            lines.extend(raw[kind]["caption"].as_str().map(str::to_owned));
        }
        "location" => {
            let place = &raw["location"];
            let (lat, lon) = (place["latitude"].as_f64().unwrap_or(0.0), place["longitude"].as_f64().unwrap_or(0.0));
            let named = [place["name"].as_str(), place["address"].as_str()].into_iter().flatten().collect::<Vec<_>>().join(", ");
            lines.push(
                format!("📍 {named} {lat:.6}, {lon:.6} https://www.openstreetmap.org/?mlat={lat:.6}&mlon={lon:.6}").replace("📍  ", "📍 "),
            );
        }
        "contacts" => {
            for card in raw["contacts"].as_array().into_iter().flatten() {
                let phones: Vec<&str> = card["phones"].as_array().into_iter().flatten().filter_map(|p| p["phone"].as_str()).collect();
                lines.push(format!("📇 {} {}", card["name"]["formatted_name"].as_str().unwrap_or(""), phones.join(", ")).trim().to_owned());
            }
        }
        "interactive" => {
            let reply = &raw["interactive"];
            let chosen = reply["button_reply"]["title"].as_str().or(reply["list_reply"]["title"].as_str()).unwrap_or("");
            lines.push(format!("[{chosen}]"));
        }
        "button" => lines.push(format!("[{}]", raw["button"]["text"].as_str().unwrap_or(""))),
        "reaction" => {
            let reaction = &raw["reaction"];
            references.extend(reaction["message_id"].as_str().map(|m| message_key(channel, m)));
            lines.push(format!("[reaction {}]", reaction["emoji"].as_str().unwrap_or("removed")));
            automatic = Some("a reaction to a message".to_owned());
        }
        _ => {
            let why = raw["errors"][0]["title"].as_str().or(raw["errors"][0]["message"].as_str());
            lines.push(match why {
                Some(why) => format!("[WhatsApp: {kind} — {why}]"),
                None => format!("[WhatsApp: {kind}]"),
            });
        }
    }
    Ok(Inbound::Message(Box::new(InboundMessage {
        key: message_key(channel, id),
        sender: Party { identities, name },
        text: lines.join("\n"),
        remote_files,
        thread: ThreadHints { references, case_number: None, conversation: Some(conversation_key(channel, &user)) },
        automatic,
        ..Default::default()
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn notification(value: Value) -> Vec<Inbound> {
        let body =
            json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}]});
        parse(ChannelId(5), "123456789012345", body.to_string().as_bytes()).expect("reads")
    }

    #[test]
    fn a_text_message_has_the_number_and_the_business_scoped_id() {
        let items = notification(
            json!({"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550001234", "phone_number_id": "123456789012345"},
            "contacts": [{"profile": {"name": "Иван"}, "wa_id": "79161234567", "user_id": "RU.1502576394655843"}],
            "messages": [{"from": "79161234567", "id": "wamid.A", "timestamp": "1763823845", "type": "text", "text": {"body": "Здравствуйте"}}]}),
        );
        let Some(Inbound::Message(m)) = items.first() else { panic!("{items:?}") };
        assert_eq!(m.key, "whatsapp:5:msg:wamid.A");
        assert_eq!(m.sender.name, "Иван");
        assert_eq!(
            m.sender.identities,
            vec![
                (IdentityKind::Whatsapp, "79161234567".into()),
                (IdentityKind::Phone, "+79161234567".into()),
                (IdentityKind::Whatsapp, "RU.1502576394655843".into())
            ]
        );
        assert_eq!(m.thread.conversation.as_deref(), Some("whatsapp:5:chat:79161234567"));
    }

    #[test]
    fn a_pressed_reply_button_is_a_choice() {
        let items = notification(json!({"metadata": {"phone_number_id": "123456789012345"},
            "contacts": [{"profile": {"name": "Иван"}, "wa_id": "79161234567"}],
            "messages": [{"from": "79161234567", "id": "wamid.P", "type": "interactive", "context": {"id": "wamid.OURS"},
                          "interactive": {"type": "list_reply", "list_reply": {"id": "r:abc:5", "title": "5 ⭐"}}}]}));
        let [Inbound::Choice(choice)] = items.as_slice() else { panic!("{items:?}") };
        assert_eq!((choice.key.as_str(), choice.data.as_str(), choice.handle.as_deref()), ("whatsapp:5:msg:wamid.P", "r:abc:5", None));
        assert_eq!(choice.sender.identities[0], (IdentityKind::Whatsapp, "79161234567".to_owned()));
    }

    #[test]
    fn media_statuses_usernames_and_other_numbers() {
        let items = notification(json!({"metadata": {"phone_number_id": "123456789012345"},
            "contacts": [{"profile": {"name": "Nick"}, "user_id": "US.13491208655302741918"}],
            "messages": [{"from_user_id": "US.13491208655302741918", "id": "wamid.B", "type": "image",
                          "image": {"id": "media-1", "mime_type": "image/jpeg", "caption": "чек"}, "context": {"id": "wamid.OURS"}},
                         {"from_user_id": "US.13491208655302741918", "id": "wamid.C", "type": "order", "errors": [{"code": 131051, "title": "Message type unknown"}]}],
            "statuses": [{"id": "wamid.OURS", "status": "failed", "recipient_id": "79161234567",
                          "errors": [{"code": 131047, "title": "Re-engagement message", "error_data": {"details": "24 hours passed"}}]},
                         {"id": "wamid.OURS", "status": "deleted"}]}));
        assert_eq!(items.len(), 3, "{items:?}");
        let Inbound::Message(photo) = &items[0] else { panic!() };
        assert_eq!(
            photo.sender.identities,
            vec![(IdentityKind::Whatsapp, "US.13491208655302741918".into())],
            "no phone for a username user"
        );
        assert_eq!((photo.remote_files[0].reference.as_str(), photo.text.as_str()), ("media-1", "чек"));
        assert_eq!(photo.thread.references, vec!["whatsapp:5:msg:wamid.OURS".to_owned()]);
        let Inbound::Message(odd) = &items[1] else { panic!() };
        assert_eq!(odd.text, "[WhatsApp: order — Message type unknown]");
        let Inbound::Status(failed) = &items[2] else { panic!() };
        assert_eq!(
            (failed.status, failed.reason.as_deref()),
            (Some(DeliveryStatus::Failed), Some("(#131047) Re-engagement message: 24 hours passed"))
        );
        let other = json!({"object": "whatsapp_business_account", "entry": [{"changes": [{"value": {"metadata": {"phone_number_id": "999"},
            "messages": [{"from": "79161234567", "id": "wamid.X", "type": "text", "text": {"body": "x"}}]}}]}]});
        assert_eq!(parse(ChannelId(5), "123456789012345", other.to_string().as_bytes()).expect("reads"), vec![], "another number's");
        assert!(parse(ChannelId(5), "1", br#"{"object": "page", "entry": []}"#).is_err());
        assert!(parse(ChannelId(5), "1", br#"{"object": "whatsapp_business_account", "entry": {}}"#).is_err());
    }
}
