//! One VK Callback API event read into what the intake files: a customer's new message (text,
//! photos, documents, voice messages to download, forwards, a place) or an edit of one. Events
//! that are no customer's message (our own outgoing copies, permission changes) are kept and
//! filed nowhere; attachments Opora does not know are named in the text.

use opora_domain::ChannelId;
use opora_domain::FieldError;
use opora_domain::customer::IdentityKind;
use opora_domain::inbound::{Inbound, InboundMessage, Party, RemoteFile, ThreadHints};
use opora_domain::message::clean_filename;
use serde_json::Value;

use crate::driver::Unreadable;

pub fn message_key(channel: ChannelId, peer: i64, id: i64) -> String {
    format!("vk:{channel}:msg:{peer}:{id}")
}

pub fn conversation_key(channel: ChannelId, peer: i64) -> String {
    format!("vk:{channel}:chat:{peer}")
}

pub fn peer_of(channel: ChannelId, key: &str) -> Option<i64> {
    key.strip_prefix(&format!("vk:{channel}:chat:"))?.parse().ok()
}

fn refused(reason: &str, field: &str) -> Unreadable {
    Unreadable { reason: reason.into(), fields: vec![FieldError::required(field)] }
}

/// Reads an event already known to be for our community.
pub fn parse(channel: ChannelId, event: &Value) -> Result<Vec<Inbound>, Unreadable> {
    let kind = event["type"].as_str().ok_or_else(|| refused("a VK event without a type", "type"))?;
    let message = match kind {
        // Since API 5.103 a new message comes wrapped with what the client can show.
        "message_new" => &event["object"]["message"],
        "message_edit" => &event["object"],
        _ => return Ok(Vec::new()),
    };
    if !message.is_object() {
        return Err(refused("a VK message event without its message", "object.message"));
    }
    Ok(vec![Inbound::Message(Box::new(read(channel, message, kind == "message_edit")?))])
}

/// The largest size of a photo.
fn photo(photo: &Value) -> Option<RemoteFile> {
    let sizes = photo["sizes"].as_array()?;
    let largest = sizes.iter().max_by_key(|s| s["width"].as_i64().unwrap_or(0) * s["height"].as_i64().unwrap_or(0))?;
    Some(RemoteFile {
        filename: format!("photo_{}.jpg", photo["id"].as_i64().unwrap_or(0)),
        content_type: "image/jpeg".into(),
        reference: largest["url"].as_str()?.to_owned(),
        size: None,
    })
}

fn attachment(item: &Value, lines: &mut Vec<String>, files: &mut Vec<RemoteFile>) {
    let kind = item["type"].as_str().unwrap_or("");
    let object = &item[kind];
    match kind {
        "photo" => files.extend(photo(object)),
        "doc" => {
            if let Some(url) = object["url"].as_str() {
                let title = object["title"].as_str().unwrap_or("document");
                files.push(RemoteFile {
                    filename: clean_filename(title),
                    content_type: "application/octet-stream".into(),
                    reference: url.to_owned(),
                    size: object["size"].as_u64(),
                });
            }
        }
        "audio_message" => {
            if let Some(url) = object["link_ogg"].as_str().or(object["link_mp3"].as_str()) {
                let ogg = object["link_ogg"].is_string();
                files.push(RemoteFile {
                    filename: format!("voice_{}.{}", object["id"].as_i64().unwrap_or(0), if ogg { "ogg" } else { "mp3" }),
                    content_type: if ogg { "audio/ogg" } else { "audio/mpeg" }.into(),
                    reference: url.to_owned(),
                    size: None,
                });
            }
        }
        "sticker" => lines.push("[sticker]".into()),
        "link" => lines.push(format!("🔗 {}", object["url"].as_str().unwrap_or(""))),
        "wall" => {
            let (owner, id) = (object["owner_id"].as_i64().or(object["from_id"].as_i64()).unwrap_or(0), object["id"].as_i64().unwrap_or(0));
            lines.push(format!("🔗 https://vk.com/wall{owner}_{id}"));
        }
        other => lines.push(format!("[VK: {other}]")),
    }
}

fn read(channel: ChannelId, message: &Value, edited: bool) -> Result<InboundMessage, Unreadable> {
    let id = message["id"].as_i64().filter(|id| *id > 0).or(message["conversation_message_id"].as_i64());
    let id = id.ok_or_else(|| refused("a VK message without an id", "object.message.id"))?;
    let peer = message["peer_id"].as_i64().ok_or_else(|| refused("a VK message without a peer", "object.message.peer_id"))?;
    let from = message["from_id"].as_i64().ok_or_else(|| refused("a VK message without a sender", "object.message.from_id"))?;
    let mut lines = Vec::new();
    let mut remote_files = Vec::new();
    let forwarded = message["fwd_messages"].as_array().map_or(0, Vec::len);
    if forwarded > 0 {
        lines.push(format!("↪ {forwarded}"));
        for earlier in message["fwd_messages"].as_array().into_iter().flatten() {
            lines.extend(earlier["text"].as_str().filter(|t| !t.is_empty()).map(|t| format!("> {t}")));
        }
    }
    lines.extend(message["text"].as_str().filter(|t| !t.is_empty()).map(str::to_owned));
    for item in message["attachments"].as_array().into_iter().flatten() {
        attachment(item, &mut lines, &mut remote_files);
    }
    if let Some(place) = message["geo"]["coordinates"].as_object() {
        let (lat, lon) =
            (place.get("latitude").and_then(Value::as_f64).unwrap_or(0.0), place.get("longitude").and_then(Value::as_f64).unwrap_or(0.0));
        lines.push(format!("📍 {lat:.6}, {lon:.6} https://www.openstreetmap.org/?mlat={lat:.6}&mlon={lon:.6}"));
    }
    let original = message_key(channel, peer, id);
    let mut references: Vec<String> = message["reply_message"]["id"].as_i64().map(|r| message_key(channel, peer, r)).into_iter().collect();
    let (key, edit_of) = if edited {
        references.insert(0, original.clone());
        (format!("vk:{channel}:edit:{peer}:{id}:{}", message["update_time"].as_i64().unwrap_or(0)), Some(original))
    } else {
        (original, None)
    };
    Ok(InboundMessage {
        key,
        // A community writing to us (a negative id) is a sender like any other.
        sender: Party { identities: vec![(IdentityKind::Vk, from.unsigned_abs().to_string())], name: String::new() },
        text: lines.join("\n"),
        remote_files,
        thread: ThreadHints { references, case_number: None, conversation: Some(conversation_key(channel, peer)) },
        edit_of,
        automatic: (from < 0).then(|| "sent by a community".to_owned()),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_photos_documents_and_edits() {
        let event = json!({"type": "message_new", "event_id": "e1", "v": "5.199", "group_id": 7, "object": {"message": {
            "id": 1543, "date": 1, "peer_id": 111, "from_id": 111, "out": 0, "conversation_message_id": 87, "text": "Не работает вход",
            "attachments": [{"type": "photo", "photo": {"id": 45, "owner_id": 111, "sizes": [
                {"type": "s", "url": "https://sun9.userapi.com/s.jpg", "width": 75, "height": 56},
                {"type": "x", "url": "https://sun9.userapi.com/x.jpg", "width": 604, "height": 453}]}},
                {"type": "doc", "doc": {"id": 9, "owner_id": 111, "title": "чек.pdf", "size": 1200, "ext": "pdf", "url": "https://vk.com/doc111_9"}},
                {"type": "poll", "poll": {}}],
            "reply_message": {"id": 1540, "from_id": -7, "text": "…"}}, "client_info": {}}});
        let Inbound::Message(m) = parse(ChannelId(4), &event).expect("reads").remove(0) else { panic!() };
        assert_eq!(m.key, "vk:4:msg:111:1543");
        assert_eq!(m.sender.identities, vec![(IdentityKind::Vk, "111".into())]);
        assert_eq!(m.text, "Не работает вход\n[VK: poll]");
        let refs: Vec<&str> = m.remote_files.iter().map(|f| f.reference.as_str()).collect();
        assert_eq!(refs, ["https://sun9.userapi.com/x.jpg", "https://vk.com/doc111_9"]);
        assert_eq!(m.remote_files[1].filename, "чек.pdf");
        assert_eq!(m.thread.references, ["vk:4:msg:111:1540"]);
        let edit = json!({"type": "message_edit", "object": {"id": 1543, "peer_id": 111, "from_id": 111, "text": "Вход через VK ID", "update_time": 5}});
        let Inbound::Message(e) = parse(ChannelId(4), &edit).expect("reads").remove(0) else { panic!() };
        assert_eq!((e.key.as_str(), e.edit_of.as_deref()), ("vk:4:edit:111:1543:5", Some("vk:4:msg:111:1543")));
        assert_eq!(parse(ChannelId(4), &json!({"type": "message_reply", "object": {}})).expect("kept"), vec![]);
        assert!(parse(ChannelId(4), &json!({"type": "message_new", "object": {}})).is_err());
        assert_eq!(peer_of(ChannelId(4), "vk:4:chat:2000000001"), Some(2_000_000_001));
    }
}
