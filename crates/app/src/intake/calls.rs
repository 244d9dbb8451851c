//! Phone calls, whatever the provider: a ringing call tells the workspace who calls and their
//! open cases; a call that ended after a conversation is logged on the customer's active case
//! (or a new one); a missed call opens a call-back case, urgent, for the agent who carries the
//! customer's latest case (else for the team to take). The customer is found by number.

use opora_domain::PayloadId;
use opora_domain::case::{CaseKind, Priority};
use opora_domain::channel::{Channel, KeyKind, PayloadStatus};
use opora_domain::event::{Actor, CallRinging, EventData};
use opora_domain::inbound::{CallEvent, CallState};
use opora_domain::message::{Body, DeliveryStatus, Direction};
use opora_store::messages::NewMessage;
use opora_store::{agents, cases, customers, payloads, thread_keys};

use super::file::Filed;
use crate::Unit;
use crate::customers::CustomerRef;

type Result<T> = opora_store::Result<T>;

/// How far back a customer's case counts as the one a call is about.
const RECENT_MS: i64 = 90 * 86_400_000;

fn minutes(seconds: i64) -> String {
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// The line the case's timeline shows for the call, in the customer's direction.
fn summary(call: &CallEvent) -> String {
    let who =
        if call.incoming { "Входящий звонок / Incoming call" } else { "Исходящий звонок / Outgoing call" };
    let mut line = match (call.state, call.duration_secs) {
        (CallState::Missed, _) => format!("Пропущенный звонок / Missed call: {}", call.customer_number),
        (_, Some(seconds)) => format!("{who}: {}, {}", call.customer_number, minutes(seconds)),
        _ => format!("{who}: {}", call.customer_number),
    };
    if let Some(extension) = &call.agent_extension {
        line.push_str(&format!(" (ext. {extension})"));
    }
    if let Some(url) = &call.recording_url {
        line.push_str(&format!("\n{url}"));
    }
    line
}

pub(crate) fn file_call(u: &mut Unit<'_, '_>, payload: PayloadId, channel: &Channel, call: CallEvent) -> Result<Filed> {
    let reference = CustomerRef::Identities {
        identities: vec![(opora_domain::customer::IdentityKind::Phone, call.customer_number.clone())],
        name: None,
    };
    let (customer, _) = crate::customers::identify(u, reference, None, Actor::SYSTEM)?;
    let since = u.now().plus_millis(-RECENT_MS);
    let recent = cases::recent_of_customer(u.conn(), customer, since, 20)?;
    let active = recent.iter().find(|c| c.status.is_active()).cloned();
    if call.state == CallState::Ringing || call.state == CallState::Answered {
        if call.state == CallState::Ringing && call.incoming {
            let name = customers::get(u.conn(), customer)?.name;
            let open_cases = recent.iter().filter(|c| c.status.is_active()).map(|c| (c.id, c.number, c.subject.clone())).collect();
            let data = CallRinging { number: call.customer_number.clone(), name, open_cases };
            u.emit(None, Some(customer), Actor::SYSTEM, EventData::CallRinging(data))?;
        }
        payloads::finish(u.tx(), payload, PayloadStatus::Processed, None, Some(&call.key), None, None)?;
        return Ok(Filed::Ignored("ringing"));
    }
    let case = match active.filter(|_| call.state != CallState::Missed || !call.incoming) {
        Some(case) => case,
        None => {
            let missed = call.state == CallState::Missed && call.incoming;
            // A call back is made by the agent who carries the customer's latest case, while active.
            let carrier = recent.iter().find_map(|c| c.owner_id).filter(|_| missed);
            let owner = match carrier {
                Some(agent) => agents::get(u.conn(), agent).ok().filter(|a| a.active).map(|a| a.id),
                None => None,
            };
            let spec = crate::cases::NewCaseSpec {
                subject: if missed {
                    format!("Перезвонить / Call back: {}", call.customer_number)
                } else {
                    format!("Звонок / Call: {}", call.customer_number)
                },
                customer_id: customer,
                kind: if missed { CaseKind::Callback } else { CaseKind::Question },
                priority: if missed { Priority::High } else { Priority::Normal },
                channel_kind: channel.kind,
                channel_id: Some(channel.id),
                team_id: recent.first().and_then(|c| c.team_id).filter(|_| missed),
                owner_id: owner,
                category: None,
                tags: if missed { vec!["callback".into()] } else { Vec::new() },
                custom_fields: Default::default(),
                deadline_at: None,
                budget: None,
            };
            crate::cases::open_case(u, spec, Actor::customer(customer))?
        }
    };
    let new = NewMessage {
        direction: Direction::System,
        channel_kind: channel.kind,
        channel_id: Some(channel.id),
        author_agent_id: None,
        author_customer_id: None,
        subject: None,
        body: Body { text: summary(&call), html: None },
        attachments: Vec::new(),
        external_id: Some(call.key.clone()),
        delivery_status: DeliveryStatus::NotApplicable,
    };
    let stored = crate::messages::add(u, &case, new, Actor::SYSTEM)?;
    cases::touch(u.tx(), case.id)?;
    thread_keys::remember(u.tx(), &call.key, case.id, Some(stored.id), KeyKind::Inbound)?;
    payloads::finish(u.tx(), payload, PayloadStatus::Processed, None, Some(&call.key), Some(case.id), Some(stored.id))?;
    Ok(Filed::Call { case: case.id, message: stored.id })
}
