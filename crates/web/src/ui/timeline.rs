//! The case thread as agents read it: messages, internal notes and the system's own lines
//! (status changes, hand-overs, compensation) in one chronological list, in the agent's words.

use opora_domain::AgentId;
use opora_domain::agent::Language;
use opora_domain::compensation::Money;
use opora_domain::event::{Event, EventData};
use opora_domain::message::Message;
use serde_json::{Value, json};

use crate::i18n::I18n;
use crate::views::Names;

/// `1 500,00 ₽` in Russian, `₽1,500.00` in English.
pub fn money(minor: i64, currency: &str, language: Language) -> String {
    opora_domain::compensation::Money::text(minor, currency, language)
}

fn label(i18n: &I18n, language: Language, prefix: &str, value: &str) -> String {
    i18n.t(language, &format!("{prefix}-{value}"))
}

/// One system line, or nothing for events the thread does not show (a message's own event).
fn event_line(i18n: &I18n, language: Language, names: &Names, event: &Event) -> Option<String> {
    let actor = names.event(event).actor.name.unwrap_or_else(|| i18n.t(language, "actor-system"));
    let agent = |id: AgentId| names.agent(id).name;
    let text = |key: &str, args: &[(&str, Value)]| {
        let borrowed: Vec<(&str, &Value)> = args.iter().map(|(k, v)| (*k, v)).collect();
        i18n.text(language, key, &borrowed)
    };
    Some(match &event.data {
        EventData::CaseCreated(_) => text("timeline-created", &[("actor", json!(actor))]),
        EventData::CaseStatusChanged(data) => text(
            "timeline-status",
            &[
                ("actor", json!(actor)),
                ("from", json!(label(i18n, language, "status", data.from.as_str()))),
                ("to", json!(label(i18n, language, "status", data.to.as_str()))),
            ],
        ),
        EventData::CaseOwnerAssigned(data) => text("timeline-assigned", &[("owner", json!(agent(data.owner_id)))]),
        EventData::CaseOwnerTransferred(data) => {
            text("timeline-transferred", &[("actor", json!(actor)), ("to", json!(agent(data.to))), ("reason", json!(data.reason))])
        }
        EventData::CaseCollaboratorAdded(data) => {
            text("timeline-pulled-in", &[("actor", json!(actor)), ("agent", json!(agent(data.agent_id)))])
        }
        EventData::CaseCollaboratorRemoved(data) => {
            text("timeline-released", &[("actor", json!(actor)), ("agent", json!(agent(data.agent_id)))])
        }
        EventData::CompensationGranted(data) => {
            let minor = Money::parse_amount("amount", &data.amount).unwrap_or(0);
            text(
                "timeline-compensation",
                &[
                    ("actor", json!(actor)),
                    ("kind", json!(label(i18n, language, "compensation", data.kind.as_str()))),
                    ("amount", json!(money(minor, &data.currency, language))),
                    ("note", json!(data.note)),
                ],
            )
        }
        EventData::CompensationRequested(data) => {
            let minor = Money::parse_amount("amount", &data.amount).unwrap_or(0);
            text("timeline-compensation-requested", &[("actor", json!(actor)), ("amount", json!(money(minor, &data.currency, language)))])
        }
        EventData::CompensationRefused(data) => {
            text("timeline-compensation-refused", &[("actor", json!(actor)), ("reason", json!(data.reason))])
        }
        EventData::CaseDeadlineMissed(_) => text("timeline-deadline-missed", &[]),
        EventData::CaseParticipantAdded(data) => text(
            "timeline-participant",
            &[
                ("name", json!(names.customer(data.customer_id).name)),
                ("role", json!(label(i18n, language, "participant", data.role.as_str()))),
            ],
        ),
        EventData::CaseParticipantRemoved(data) => {
            text("timeline-participant-removed", &[("actor", json!(actor)), ("name", json!(names.customer(data.customer_id).name))])
        }
        EventData::CaseFollowUp(data) => text("timeline-follow-up", &[("number", json!(data.previous_number))]),
        EventData::CaseLinked(data) => text("timeline-linked", &[("number", json!(data.linked_number))]),
        EventData::CasePlaybookAttached(data) => text("timeline-playbook-attached", &[("name", json!(data.name))]),
        EventData::CasePlaybookStep(data) => match &data.outcome {
            Some(outcome) => text("timeline-playbook-outcome", &[("outcome", json!(label(i18n, language, "outcome", outcome)))]),
            None if data.done => text("timeline-playbook-step", &[("text", json!(data.text))]),
            None => text("timeline-playbook-unstep", &[("text", json!(data.text))]),
        },
        EventData::OrderStageChanged(data) => {
            let key = format!("track-stage-{}", data.to);
            let stage = if i18n.has(language, &key) { i18n.t(language, &key) } else { data.to.clone() };
            text("timeline-order-stage", &[("order", json!(data.external_id)), ("stage", json!(stage))])
        }
        EventData::RatingReceived(data) => text("timeline-rating", &[("score", json!(data.score))]),
        EventData::OrderExtra(data) => {
            let minor = Money::parse_amount("amount", &data.amount).unwrap_or(0);
            let args = [
                ("order", json!(data.external_id)),
                ("extra", json!(data.description)),
                ("price", json!(money(minor, &data.currency, language))),
            ];
            text(&format!("timeline-extra-{}", data.status), &args)
        }
        EventData::OrderDelayed(data) => text(
            "timeline-order-trouble",
            &[("order", json!(data.external_id)), ("kind", json!(label(i18n, language, "trouble", &data.kind)))],
        ),
        EventData::CaseUpdated(data) => {
            let mut parts = Vec::new();
            for (field, change) in &data.changes {
                if field == "status" {
                    continue;
                }
                let shown = match field.as_str() {
                    "priority" => format!(
                        "{}: {} → {}",
                        i18n.t(language, "prop-priority"),
                        label(i18n, language, "priority", change.from.as_str().unwrap_or("")),
                        label(i18n, language, "priority", change.to.as_str().unwrap_or(""))
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
        // Our own reasons are codes, shown in the agent's words; providers' reasons as they
        // wrote them.
        let delivery_error = view.delivery_error.as_deref().map(|error| {
            let key = format!("delivery-error-{error}");
            if i18n.has(language, &key) { i18n.t(language, &key) } else { error.to_owned() }
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
                   "sender_doubt": view.sender_doubt,
                   "remote_images": view.body_html.as_deref().is_some_and(opora_domain::text::has_remote_images)}),
        ));
    }
    for event in events {
        if let Some(line) = event_line(i18n, language, names, event) {
            items.push((
                event.created_at.millis(),
                event.id.0 * 2 + 1,
                json!({"type": "event", "kind": event.kind().as_str(), "text": line, "created_at": event.created_at.to_rfc3339()}),
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
