//! The care loop: orders told to the customer stage by stage, a rating after each service, a
//! low rating opening a problem case worked by a playbook. What ties it together: the settings,
//! the customer's language, and how a message to the customer leaves (`tell`).

pub(crate) mod choices;
pub(crate) mod complaints;
pub mod delays;
pub mod director;
pub mod extras;
pub mod orders;
pub mod playbooks;
mod problems;
pub mod ratings;
pub mod surveys;
pub mod when;

use std::collections::BTreeMap;

use opora_domain::agent::Language;
use opora_domain::case::{Case, CaseKind, Priority, Status};
use opora_domain::channel::ChannelKind;
use opora_domain::event::Actor;
use opora_domain::message::{Body, Message};
use opora_domain::order::{Order, OrderType};
use opora_domain::outbound::Choice;
use opora_domain::{CustomerId, FieldError};
use opora_store::customers;
use opora_store::db::Conn;

use crate::Unit;
use crate::cases::{NewCaseSpec, open_case};

/// What an installation sets for orders, ratings and playbooks (`[care]` in the configuration).
#[derive(Debug, Clone)]
pub struct CareSettings {
    /// The language of customers who never said theirs, and of the starter playbooks.
    pub language: Language,
    /// The business's offset from UTC in minutes, for the times customers are told (+180: Moscow).
    pub utc_offset_minutes: i32,
    /// Order types by name; `default` is always there.
    pub order_types: BTreeMap<String, OrderType>,
    /// The team problem cases opened by low ratings go to (by name; none: no team).
    pub claims_team: String,
    /// Minutes after a case is solved its customer is asked to rate it; none: never.
    pub rate_cases_after_minutes: Option<i64>,
    /// Reminders sent when a rating request goes unanswered, at most.
    pub rating_reminders: i64,
    /// Minutes between a rating request and each reminder.
    pub remind_after_minutes: i64,
    /// Each agent reply asks whether it helped.
    pub rate_replies: bool,
    /// Complaints within the window that put a customer on the "our clients" list (0: never
    /// by itself).
    pub our_clients_after_complaints: i64,
    pub complaint_window_days: i64,
    /// The manager letters from the "write to the director" form go to (their e-mail; empty:
    /// the form is closed), and the minutes they have to answer.
    pub director_email: String,
    pub director_minutes: i64,
}

impl Default for CareSettings {
    fn default() -> Self {
        Self {
            language: Language::Ru,
            utc_offset_minutes: 180,
            order_types: BTreeMap::from([("default".to_owned(), OrderType::default())]),
            claims_team: String::new(),
            rate_cases_after_minutes: Some(60),
            rating_reminders: 1,
            remind_after_minutes: 24 * 60,
            rate_replies: false,
            our_clients_after_complaints: 2,
            complaint_window_days: 90,
            director_email: String::new(),
            director_minutes: 24 * 60,
        }
    }
}

impl CareSettings {
    /// The type of a stored order (one removed from the configuration since reads as the default).
    pub fn type_of(&self, name: &str) -> OrderType {
        self.order_types.get(name).cloned().unwrap_or_default()
    }

    /// An order type by name; an unknown one is the caller's mistake.
    pub fn order_type(&self, name: &str) -> Result<&OrderType, FieldError> {
        self.order_types.get(name).ok_or_else(|| {
            FieldError::new("order_type", "invalid_choice").with("allowed", self.order_types.keys().cloned().collect::<Vec<_>>().join(", "))
        })
    }
}

/// The language a customer is written to in.
pub(crate) fn language_of(u: &mut Unit<'_, '_>, customer: CustomerId) -> opora_store::Result<Language> {
    let default = u.config().care.language;
    customer_language(u.conn(), customer, default)
}

/// The same, where a page reads without a unit: theirs, else `default`.
pub(crate) fn customer_language(conn: &mut dyn Conn, customer: CustomerId, default: Language) -> opora_store::Result<Language> {
    Ok(customers::get(conn, customer)?.language.unwrap_or(default))
}

/// A customer-facing text in `language`.
pub(crate) fn say(u: &Unit<'_, '_>, language: Language, key: &str, args: &[(&str, String)]) -> String {
    u.texts().say(language, key, args)
}

/// Sends the customer a message from the team (no agent's name) on `case`, through the channel
/// they wrote through last or another that reaches them; recorded on the case when none does.
pub(crate) fn tell(u: &mut Unit<'_, '_>, case: &Case, text: String) -> opora_store::Result<Message> {
    ask(u, case, text, Vec::new())
}

/// `tell` with buttons under the message where the channel shows them; the text itself must
/// say how to answer without them.
pub(crate) fn ask(u: &mut Unit<'_, '_>, case: &Case, text: String, choices: Vec<Choice>) -> opora_store::Result<Message> {
    let drivers = u.drivers();
    let route = crate::outbound::pick(u.conn(), drivers, case, None)?;
    crate::messages::send(u, case, None, Body { text, html: None }, Vec::new(), route, choices)
}

/// A case that records what the customer was told (an order's news, a survey), not work for the
/// team: it starts solved, and the customer's answer reopens it like any solved case.
pub(crate) fn record_case(u: &mut Unit<'_, '_>, customer: CustomerId, subject: String) -> opora_store::Result<Case> {
    let spec = NewCaseSpec {
        subject,
        customer_id: customer,
        kind: CaseKind::Question,
        priority: Priority::Normal,
        channel_kind: ChannelKind::Api,
        channel_id: None,
        team_id: None,
        owner_id: None,
        category: None,
        tags: Vec::new(),
        custom_fields: Default::default(),
        deadline_at: None,
        budget: None,
    };
    let case = open_case(u, spec, Actor::SYSTEM)?;
    let mut solved = case.clone();
    solved.status = Status::Solved;
    crate::cases::save(u, &case, solved, Actor::SYSTEM)
}

/// A finished order (completed or cancelled) takes nothing more: no extras, no trouble reports.
pub(crate) fn unfinished(u: &Unit<'_, '_>, order: &Order) -> opora_store::Result<()> {
    if u.config().care.type_of(&order.order_type).is_final(&order.stage) {
        let finished = FieldError::new("stage", "order_finished").with("stage", order.stage.clone());
        return Err(opora_domain::DomainError::Validation(vec![finished]).into());
    }
    Ok(())
}

/// A care job's result: done, also when what it was about is gone; else tried again.
pub(crate) fn job_outcome(result: crate::Result<()>) -> crate::jobs::Outcome {
    match result {
        Ok(()) | Err(crate::Error::Domain(opora_domain::DomainError::NotFound(_))) => crate::jobs::Outcome::Done,
        Err(e) => crate::jobs::Outcome::Retry(e.to_string()),
    }
}

/// The address of a public page of this instance (`/rate/…`, `/track/…`).
pub(crate) fn public_link(u: &Unit<'_, '_>, path: &str) -> String {
    format!("{}{path}", u.config().channels.public_url.trim_end_matches('/'))
}
