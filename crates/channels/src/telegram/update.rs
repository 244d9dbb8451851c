//! One Telegram `Update` read into what the intake files: a customer's message (text, caption,
//! files to download, a shared contact or place, a forward, a reply) or an edit of one. Content
//! Opora does not know is described in the message, never refused: one odd message must not
//! hold a chat back.

use opora_domain::ChannelId;
use opora_domain::customer::{IdentityKind, parse_identity};
use opora_domain::error::Errors;
use opora_domain::inbound::{ChoiceMade, Inbound, InboundMessage, Party, RemoteFile, ThreadHints};
use opora_domain::{FieldError, message::clean_filename};
use serde::Deserialize;
use serde_json::Value;

use crate::driver::Unreadable;

/// The key of a chat's message, ours or the customer's: replies name one another by it.
pub fn message_key(channel: ChannelId, chat: i64, message: i64) -> String {
    format!("telegram:{channel}:msg:{chat}:{message}")
}

pub fn conversation_key(channel: ChannelId, chat: i64) -> String {
    format!("telegram:{channel}:chat:{chat}")
}

/// The chat a conversation key names.
pub fn chat_of(channel: ChannelId, key: &str) -> Option<i64> {
    key.strip_prefix(&format!("telegram:{channel}:chat:"))?.parse().ok()
}

#[derive(Debug, Deserialize)]
struct User {
    id: i64,
    #[serde(default)]
    is_bot: bool,
    #[serde(default)]
    first_name: String,
    last_name: Option<String>,
    username: Option<String>,
}

impl User {
    fn name(&self) -> String {
        match &self.last_name {
            Some(last) => format!("{} {last}", self.first_name).trim().to_owned(),
            None => self.first_name.trim().to_owned(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct Chat {
    id: i64,
    title: Option<String>,
}

#[derive(Debug, Deserialize)]
struct FileRef {
    file_id: String,
    file_name: Option<String>,
    mime_type: Option<String>,
    file_size: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct Contact {
    phone_number: String,
    #[serde(default)]
    first_name: String,
    last_name: Option<String>,
    user_id: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct Location {
    latitude: f64,
    longitude: f64,
}

#[derive(Debug, Deserialize)]
struct Venue {
    title: String,
    address: String,
}

#[derive(Debug, Deserialize)]
struct Replied {
    message_id: i64,
}

#[derive(Debug, Deserialize)]
struct Sticker {
    emoji: Option<String>,
}

/// A message as far as Opora reads it; whatever else it carries is named by its field.
#[derive(Debug, Deserialize)]
struct Message {
    message_id: i64,
    edit_date: Option<i64>,
    from: Option<User>,
    sender_chat: Option<Chat>,
    chat: Chat,
    text: Option<String>,
    caption: Option<String>,
    #[serde(default)]
    photo: Vec<FileRef>,
    document: Option<FileRef>,
    voice: Option<FileRef>,
    video: Option<FileRef>,
    video_note: Option<FileRef>,
    audio: Option<FileRef>,
    animation: Option<FileRef>,
    sticker: Option<Sticker>,
    contact: Option<Contact>,
    location: Option<Location>,
    venue: Option<Venue>,
    reply_to_message: Option<Replied>,
    forward_origin: Option<Value>,
}

/// Fields of a message that carry no content of their own (or content read above).
const READ: &[&str] = &[
    "message_id",
    "message_thread_id",
    "date",
    "edit_date",
    "from",
    "sender_chat",
    "chat",
    "text",
    "entities",
    "caption",
    "caption_entities",
    "photo",
    "document",
    "voice",
    "video",
    "video_note",
    "audio",
    "animation",
    "sticker",
    "contact",
    "location",
    "venue",
    "reply_to_message",
    "forward_origin",
    "forward_from",
    "forward_from_chat",
    "forward_sender_name",
    "forward_date",
    "forward_signature",
    "forward_from_message_id",
    "is_automatic_forward",
    "has_protected_content",
    "link_preview_options",
    "author_signature",
    "media_group_id",
    "has_media_spoiler",
    "is_topic_message",
    "quote",
    "external_reply",
    "reply_markup",
    "via_bot",
    "sender_boost_count",
    "business_connection_id",
    "show_caption_above_media",
];

/// Who a forwarded message first came from, as Bot API 7+ describes it.
fn forwarded_from(origin: &Value) -> String {
    let user = &origin["sender_user"];
    let from_user = user["first_name"].as_str().map(|first| match user["last_name"].as_str() {
        Some(last) => format!("{first} {last}"),
        None => first.to_owned(),
    });
    from_user
        .or_else(|| origin["sender_user_name"].as_str().map(str::to_owned))
        .or_else(|| origin["sender_chat"]["title"].as_str().map(str::to_owned))
        .or_else(|| origin["chat"]["title"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

fn remote(file: &FileRef, fallback_name: String, fallback_type: &str) -> RemoteFile {
    RemoteFile {
        filename: clean_filename(file.file_name.as_deref().unwrap_or(&fallback_name)),
        content_type: file.mime_type.clone().unwrap_or_else(|| fallback_type.to_owned()),
        reference: file.file_id.clone(),
        size: file.file_size,
    }
}

/// A button of ours pressed (`callback_query`): who pressed it and the data it carried.
#[derive(Debug, Deserialize)]
struct CallbackQuery {
    id: String,
    from: User,
    data: Option<String>,
}

fn pressed(channel: ChannelId, raw: &Value) -> Result<Vec<Inbound>, Unreadable> {
    let query: CallbackQuery = serde_path_to_error::deserialize(raw).map_err(|e| Unreadable {
        reason: format!("a Telegram button press that does not read: {e}"),
        fields: vec![FieldError::new(format!("callback_query.{}", e.path()), "invalid_value")],
    })?;
    // A game's button carries no data: nothing of ours.
    let Some(data) = query.data else { return Ok(Vec::new()) };
    let identity = parse_identity("callback_query.from.id", IdentityKind::Telegram, &query.from.id.to_string())
        .map_err(|e| Unreadable { reason: "a button press without a usable sender".into(), fields: vec![e] })?;
    Ok(vec![Inbound::Choice(ChoiceMade {
        key: format!("telegram:{channel}:press:{}", query.id),
        sender: Party { identities: vec![(IdentityKind::Telegram, identity)], name: query.from.name() },
        data,
        handle: Some(query.id),
    })])
}

/// Reads one update. `Ok(vec![])`: an update that is no customer's message or press of our
/// buttons (a member change): kept as received, filed nowhere.
pub fn parse(channel: ChannelId, bytes: &[u8]) -> Result<Vec<Inbound>, Unreadable> {
    let update: Value = serde_json::from_slice(bytes).map_err(|e| Unreadable::new(format!("not JSON: {e}")))?;
    if !update.is_object() || update["update_id"].as_i64().is_none() {
        let fields = vec![FieldError::required("update_id")];
        return Err(Unreadable { reason: "not a Telegram update: no update_id".into(), fields });
    }
    if update["callback_query"].is_object() {
        return pressed(channel, &update["callback_query"]);
    }
    let (field, edited) = match ["message", "edited_message", "business_message", "edited_business_message"]
        .into_iter()
        .find(|f| update.get(*f).is_some_and(Value::is_object))
    {
        Some(field) => (field, field.starts_with("edited")),
        None => return Ok(Vec::new()),
    };
    let raw = &update[field];
    let message: Message = serde_path_to_error::deserialize(raw).map_err(|e| {
        let at = format!("{field}.{}", e.path());
        Unreadable { reason: format!("a Telegram message that does not read: {e}"), fields: vec![FieldError::new(at, "invalid_value")] }
    })?;
    let unknown: Vec<&str> =
        raw.as_object().map(|o| o.keys().map(String::as_str).filter(|k| !READ.contains(k)).collect()).unwrap_or_default();
    Ok(vec![Inbound::Message(Box::new(read(channel, message, edited, &unknown)?))])
}

fn read(channel: ChannelId, message: Message, edited: bool, unknown: &[&str]) -> Result<InboundMessage, Unreadable> {
    let chat = message.chat.id;
    let mut errors = Errors::default();
    let mut identities = Vec::new();
    // A person writes as themselves; a channel or an anonymous admin as the chat.
    let (sender_id, name) = match (&message.from, &message.sender_chat) {
        (Some(user), None) => (user.id, user.name()),
        (_, Some(sender)) => (sender.id, sender.title.clone().unwrap_or_default()),
        (None, None) => (chat, message.chat.title.clone().unwrap_or_default()),
    };
    identities.extend(
        errors.take(parse_identity("from.id", IdentityKind::Telegram, &sender_id.to_string())).map(|v| (IdentityKind::Telegram, v)),
    );
    let mut lines: Vec<String> = Vec::new();
    if let Some(origin) = &message.forward_origin {
        lines.push(format!("↪ {}", forwarded_from(origin)));
    }
    lines.extend(message.text.clone().or(message.caption.clone()));
    let mut remote_files = Vec::new();
    let id = message.message_id;
    if let Some(largest) = message.photo.iter().max_by_key(|p| p.file_size.unwrap_or(0)) {
        remote_files.push(remote(largest, format!("photo_{id}.jpg"), "image/jpeg"));
    }
    let typed = [
        (&message.document, "document", "bin", "application/octet-stream"),
        (&message.voice, "voice", "ogg", "audio/ogg"),
        (&message.video, "video", "mp4", "video/mp4"),
        (&message.video_note, "video_note", "mp4", "video/mp4"),
        (&message.audio, "audio", "mp3", "audio/mpeg"),
        (&message.animation, "animation", "mp4", "video/mp4"),
    ];
    for (file, kind, extension, content_type) in typed {
        if let Some(file) = file {
            remote_files.push(remote(file, format!("{kind}_{id}.{extension}"), content_type));
        }
    }
    if let Some(sticker) = &message.sticker {
        lines.push(format!("[sticker {}]", sticker.emoji.as_deref().unwrap_or("")).replace(" ]", "]"));
    }
    if let Some(contact) = &message.contact {
        let name = [contact.first_name.as_str(), contact.last_name.as_deref().unwrap_or("")].join(" ").trim().to_owned();
        lines.push(format!("📇 {name} {}", contact.phone_number).trim().to_owned());
        // Their own number, shared by themselves: the way a Telegram user is matched to the
        // customer who wrote by phone or e-mail before.
        if contact.user_id == Some(sender_id)
            && let Ok(phone) = parse_identity("contact.phone_number", IdentityKind::Phone, &contact.phone_number)
        {
            identities.push((IdentityKind::Phone, phone));
        }
    }
    if let Some(venue) = &message.venue {
        lines.push(format!("📍 {}, {}", venue.title, venue.address));
    }
    if let Some(place) = &message.location {
        let (lat, lon) = (place.latitude, place.longitude);
        lines.push(format!("📍 {lat:.6}, {lon:.6} https://www.openstreetmap.org/?mlat={lat:.6}&mlon={lon:.6}#map=17/{lat:.6}/{lon:.6}"));
    }
    if !unknown.is_empty() && lines.is_empty() && remote_files.is_empty() {
        lines.push(format!("[Telegram: {}]", unknown.join(", ")));
    }
    if !errors.is_empty() {
        return Err(Unreadable { reason: "a Telegram message without a usable sender".into(), fields: errors.0 });
    }
    let original = message_key(channel, chat, id);
    let mut references: Vec<String> = message.reply_to_message.iter().map(|r| message_key(channel, chat, r.message_id)).collect();
    let (key, edit_of) = if edited {
        references.insert(0, original.clone());
        (format!("telegram:{channel}:edit:{chat}:{id}:{}", message.edit_date.unwrap_or(0)), Some(original))
    } else {
        (original, None)
    };
    let automatic =
        message.from.as_ref().filter(|u| u.is_bot).map(|u| format!("sent by the bot @{}", u.username.as_deref().unwrap_or("?")));
    Ok(InboundMessage {
        key,
        sender: Party { identities, name },
        text: lines.join("\n"),
        remote_files,
        thread: ThreadHints { references, case_number: None, conversation: Some(conversation_key(channel, chat)) },
        edit_of,
        automatic,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(update: Value) -> InboundMessage {
        match parse(ChannelId(3), update.to_string().as_bytes()).expect("reads").pop() {
            Some(Inbound::Message(m)) => *m,
            other => panic!("not a message: {other:?}"),
        }
    }

    #[test]
    fn a_text_message_is_its_sender_and_chat() {
        let m = one(
            json!({"update_id": 1, "message": {"message_id": 42, "date": 1, "from": {"id": 111, "is_bot": false, "first_name": "Иван", "last_name": "Петров"},
            "chat": {"id": 111, "type": "private"}, "text": "Здравствуйте, не работает вход"}}),
        );
        assert_eq!(m.key, "telegram:3:msg:111:42");
        assert_eq!(m.sender.identities, vec![(IdentityKind::Telegram, "111".into())]);
        assert_eq!(m.sender.name, "Иван Петров");
        assert_eq!(m.text, "Здравствуйте, не работает вход");
        assert_eq!(m.thread.conversation.as_deref(), Some("telegram:3:chat:111"));
        assert_eq!(chat_of(ChannelId(3), "telegram:3:chat:-100"), Some(-100));
        assert_eq!(chat_of(ChannelId(3), "telegram:31:chat:5"), None);
    }

    #[test]
    fn media_contacts_places_forwards_and_edits() {
        let m =
            one(json!({"update_id": 2, "message": {"message_id": 5, "date": 1, "from": {"id": 7, "first_name": "A"}, "chat": {"id": 7},
            "caption": "чек", "photo": [{"file_id": "small", "file_size": 10}, {"file_id": "big", "file_size": 900}],
            "contact": {"phone_number": "+7 916 123-45-67", "first_name": "A", "user_id": 7},
            "location": {"latitude": 55.75, "longitude": 37.61}, "forward_origin": {"type": "hidden_user", "sender_user_name": "Мария"},
            "reply_to_message": {"message_id": 4, "date": 1, "chat": {"id": 7}}}}));
        assert_eq!(m.remote_files.len(), 1);
        assert_eq!(m.remote_files[0].reference, "big");
        assert!(m.text.starts_with("↪ Мария\nчек\n📇 A +7 916 123-45-67\n📍 55.750000, 37.610000"), "{}", m.text);
        assert!(m.sender.identities.contains(&(IdentityKind::Phone, "+79161234567".into())), "their own number matches them");
        assert_eq!(m.thread.references, vec!["telegram:3:msg:7:4".to_owned()]);
        let e = one(
            json!({"update_id": 3, "edited_message": {"message_id": 5, "date": 1, "edit_date": 9, "from": {"id": 7, "first_name": "A"},
            "chat": {"id": 7}, "text": "исправил"}}),
        );
        assert_eq!((e.key.as_str(), e.edit_of.as_deref()), ("telegram:3:edit:7:5:9", Some("telegram:3:msg:7:5")));
        assert_eq!(e.thread.references[0], "telegram:3:msg:7:5");
    }

    #[test]
    fn a_button_press_is_its_presser_and_the_data() {
        let update = json!({"update_id": 9, "callback_query": {"id": "4382", "chat_instance": "-1",
            "from": {"id": 111, "is_bot": false, "first_name": "Иван"}, "data": "r:abc:2",
            "message": {"message_id": 5, "date": 1, "chat": {"id": 111, "type": "private"}}}});
        let items = parse(ChannelId(3), update.to_string().as_bytes()).expect("parsed");
        let [Inbound::Choice(choice)] = items.as_slice() else { panic!("{items:?}") };
        assert_eq!(
            (choice.key.as_str(), choice.data.as_str(), choice.handle.as_deref()),
            ("telegram:3:press:4382", "r:abc:2", Some("4382"))
        );
        assert_eq!(choice.sender.identities, [(IdentityKind::Telegram, "111".to_owned())]);
        let game = json!({"update_id": 10, "callback_query": {"id": "1", "from": {"id": 111, "first_name": "И"}, "game_short_name": "g"}});
        assert!(parse(ChannelId(3), game.to_string().as_bytes()).expect("kept").is_empty());
        let nobody = json!({"update_id": 11, "callback_query": {"id": "2", "data": "r:abc:2"}});
        assert!(parse(ChannelId(3), nobody.to_string().as_bytes()).expect_err("refused").reason.contains("button press"));
    }

    #[test]
    fn unknown_content_is_shown_and_odd_updates_refused_or_kept() {
        let m =
            one(json!({"update_id": 4, "message": {"message_id": 1, "date": 1, "from": {"id": 7, "first_name": "A"}, "chat": {"id": 7},
            "poll": {"question": "?"}}}));
        assert_eq!(m.text, "[Telegram: poll]");
        assert_eq!(parse(ChannelId(3), br#"{"update_id": 5, "my_chat_member": {}}"#).expect("kept"), vec![]);
        let refused = parse(ChannelId(3), br#"{"message": {}}"#).expect_err("no update_id");
        assert_eq!(refused.fields[0].field, "update_id");
        let refused = parse(ChannelId(3), br#"{"update_id": 6, "message": {"message_id": "x", "chat": {"id": 1}}}"#).expect_err("bad id");
        assert_eq!(refused.fields[0].field, "message.message_id");
        assert!(parse(ChannelId(3), b"[1,2").is_err());
    }
}
