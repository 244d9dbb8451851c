//! The case thread as agents read it: messages, internal notes and the system's own lines
//! (status changes, hand-overs, compensation) in one chronological list, in the agent's words.

use opora_domain::AgentId;
use opora_domain::agent::Language;
use opora_domain::compensation::Money;
use opora_domain::event::{Event, EventKind};
use opora_domain::message::Message;
use serde_json::{Value, json};

use crate::i18n::I18n;
use crate::views::Names;

/// `1 500,00 ₽` in Russian, `₽1,500.00` in English.
pub fn money(minor: i64, currency: &str, language: Language) -> String {
    let symbol = match currency {
        "RUB" => "₽",
        "USD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        "KZT" => "₸",
        other => other,
    };
    let whole = (minor / 100).abs().to_string();
    let (group, decimal) = match language {
        Language::Ru => ('\u{a0}', ','),
        Language::En => (',', '.'),
    };
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(group);
        }
        grouped.push(digit);
    }
    let sign = if minor < 0 { "-" } else { "" };
    let amount = format!("{sign}{grouped}{decimal}{:02}", (minor % 100).abs());
    match language {
        Language::Ru => format!("{amount}\u{a0}{symbol}"),
        Language::En => format!("{symbol}{amount}"),
    }
}

fn label(i18n: &I18n, language: Language, prefix: &str, value: &Value) -> String {
    value.as_str().map(|v| i18n.t(language, &format!("{prefix}-{v}"))).unwrap_or_default()
}

/// One system line, or nothing for events the thread does not show (a message's own event).
fn event_line(i18n: &I18n, language: Language, names: &Names, event: &Event) -> Option<String> {
    let data = &event.data;
    let actor = names.event(event).actor.name.unwrap_or_else(|| i18n.t(language, "actor-system"));
    let agent = |key: &str| data[key].as_i64().map(|id| names.agent(AgentId(id)).name).unwrap_or_default();
    let text = |key: &str, args: &[(&str, Value)]| {
        let borrowed: Vec<(&str, &Value)> = args.iter().map(|(k, v)| (*k, v)).collect();
        i18n.text(language, key, &borrowed)
    };
    Some(match event.kind {
        EventKind::CaseCreated => text("timeline-created", &[("actor", json!(actor))]),
        EventKind::CaseStatusChanged => text(
            "timeline-status",
            &[
                ("actor", json!(actor)),
                ("from", json!(label(i18n, language, "status", &data["from"]))),
                ("to", json!(label(i18n, language, "status", &data["to"]))),
            ],
        ),
        EventKind::CaseOwnerAssigned => text("timeline-assigned", &[("owner", json!(agent("owner_id")))]),
        EventKind::CaseOwnerTransferred => text(
            "timeline-transferred",
            &[("actor", json!(actor)), ("to", json!(agent("to"))), ("reason", json!(data["reason"].as_str().unwrap_or("")))],
        ),
        EventKind::CaseCollaboratorAdded => text("timeline-pulled-in", &[("actor", json!(actor)), ("agent", json!(agent("agent_id")))]),
        EventKind::CaseCollaboratorRemoved => text("timeline-released", &[("actor", json!(actor)), ("agent", json!(agent("agent_id")))]),
        EventKind::CompensationGranted => {
            let minor = data["amount"].as_str().and_then(|a| Money::parse_amount("amount", a).ok()).unwrap_or(0);
            let amount = money(minor, data["currency"].as_str().unwrap_or(""), language);
            text(
                "timeline-compensation",
                &[
                    ("actor", json!(actor)),
                    ("kind", json!(label(i18n, language, "compensation", &data["kind"]))),
                    ("amount", json!(amount)),
                    ("note", json!(data["note"].as_str().unwrap_or(""))),
                ],
            )
        }
        EventKind::CaseDeadlineMissed => text("timeline-deadline-missed", &[]),
        EventKind::CaseParticipantAdded => {
            let person = data["customer_id"].as_i64().map(|id| names.customer(opora_domain::CustomerId(id)).name).unwrap_or_default();
            text("timeline-participant", &[("name", json!(person)), ("role", json!(label(i18n, language, "participant", &data["role"])))])
        }
        EventKind::CaseFollowUp => text("timeline-follow-up", &[("number", json!(data["previous_number"]))]),
        EventKind::CaseUpdated => {
            let changes = data["changes"].as_object()?;
            let mut parts = Vec::new();
            for (field, change) in changes {
                if field == "status" {
                    continue;
                }
                let shown = match field.as_str() {
                    "priority" => format!(
                        "{}: {} → {}",
                        i18n.t(language, "prop-priority"),
                        label(i18n, language, "priority", &change["from"]),
                        label(i18n, language, "priority", &change["to"])
                    ),
                    other => i18n.t(language, &format!("prop-{other}")),
                };
                parts.push(shown);
            }
            if parts.is_empty() {
                return None;
            }
            text("timeline-updated", &[("actor", json!(actor)), ("changes", json!(parts.join(", ")))])
        }
        _ => return None,
    })
}

/// Messages and system lines merged by time.
pub fn thread(i18n: &I18n, language: Language, names: &Names, messages: &[Message], events: &[Event]) -> Vec<Value> {
    let mut items: Vec<(i64, i64, Value)> = Vec::new();
    for message in messages {
        let view = names.message(message);
        let delivery_error = view.delivery_error.as_deref().map(|error| match error {
            opora_domain::mail::NO_SMTP_SERVER => i18n.t(language, "delivery-error-mailbox_without_smtp"),
            server_words => server_words.to_owned(),
        });
        let attachments: Vec<Value> = view
            .attachments
            .iter()
            .map(|a| json!({"url": a.url, "filename": a.filename, "size": a.size, "image": a.content_type.starts_with("image/")}))
            .collect();
        items.push((
            message.created_at.millis(),
            message.id.0 * 2,
            json!({"type": "message", "id": view.id, "direction": view.direction, "channel": view.channel, "author": view.author,
                   "body_text": view.body_text, "body_html": view.body_html, "attachments": attachments,
                   "delivery_status": view.delivery_status, "delivery_error": delivery_error, "created_at": view.created_at,
                   "remote_images": view.body_html.as_deref().is_some_and(opora_domain::text::has_remote_images)}),
        ));
    }
    for event in events {
        if let Some(line) = event_line(i18n, language, names, event) {
            items.push((
                event.created_at.millis(),
                event.id.0 * 2 + 1,
                json!({"type": "event", "kind": event.kind.as_str(), "text": line, "created_at": event.created_at.to_rfc3339()}),
            ));
        }
    }
    items.sort_by_key(|(at, order, _)| (*at, *order));
    items.into_iter().map(|(_, _, item)| item).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_naturally() {
        assert_eq!(money(150_050, "RUB", Language::Ru), "1\u{a0}500,50\u{a0}₽");
        assert_eq!(money(150_050, "RUB", Language::En), "₽1,500.50");
        assert_eq!(money(99, "USD", Language::En), "$0.99");
        assert_eq!(money(123_456_789, "EUR", Language::En), "€1,234,567.89");
    }
}
