//! Orders: what the business system sold a customer (a cleaning, a delivery), pushed to Opora by
//! its own id and told to the customer stage by stage. A stage never goes back; an order that
//! is completed or cancelled stays so.

use serde::Serialize;

use crate::compensation::Money;
use crate::error::FieldError;
use crate::ids::{CaseId, CustomerId, ExtraId, OrderId, PerformerId};
use crate::string_enum;
use crate::time::Timestamp;

pub const CREATED: &str = "created";
pub const COMPLETED: &str = "completed";
pub const CANCELLED: &str = "cancelled";

/// The stages every order type has unless it names its own: created → accepted → in progress →
/// on the way → completed; `cancelled` may end any unfinished order.
pub const DEFAULT_STAGES: &[&str] = &[CREATED, "accepted", "in_progress", "on_the_way", COMPLETED];

/// The stages whose names Opora knows how to say in both languages (the default pipeline and the
/// cancellation); other types' own stages are shown by their names.
pub const KNOWN_STAGES: &[&str] = &[CREATED, "accepted", "in_progress", "on_the_way", COMPLETED, CANCELLED];

/// What a customer may tick when they rate an order of a type that names no reasons of its own.
pub const DEFAULT_REASONS: &[&str] = &["late", "no_show", "quality", "rude", "damage", "incomplete", "wrong_amount", "other"];

/// An order type: its stages in order (the last is the completion) and the reasons a rating
/// may give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrderType {
    pub stages: Vec<String>,
    pub reasons: Vec<String>,
}

impl Default for OrderType {
    fn default() -> Self {
        Self {
            stages: DEFAULT_STAGES.iter().map(|s| (*s).to_owned()).collect(),
            reasons: DEFAULT_REASONS.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

/// What a stage change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// The order is already at that stage.
    Stay,
    /// A step forward (possibly skipping stages).
    Forward,
}

impl OrderType {
    /// Checks a type from the configuration: at least two stages, names a stage key may hold,
    /// no repeats, and `cancelled` is not one of them (it is always there).
    pub fn check(&self) -> Result<(), String> {
        if self.stages.len() < 2 {
            return Err("an order type needs at least two stages".into());
        }
        for (i, stage) in self.stages.iter().enumerate() {
            if !is_key(stage) {
                return Err(format!("stage {stage:?}: lower-case letters, digits and _ only"));
            }
            if stage == CANCELLED || self.stages[..i].contains(stage) {
                return Err(format!("stage {stage:?} is repeated or reserved"));
            }
        }
        match self.reasons.iter().find(|r| !is_key(r)) {
            Some(bad) => Err(format!("reason {bad:?}: lower-case letters, digits and _ only")),
            None => Ok(()),
        }
    }

    pub fn is_stage(&self, stage: &str) -> bool {
        stage == CANCELLED || self.stages.iter().any(|s| s == stage)
    }

    /// Completed (the last stage) or cancelled.
    pub fn is_final(&self, stage: &str) -> bool {
        stage == CANCELLED || self.stages.last().is_some_and(|s| s == stage)
    }

    pub fn is_completion(&self, stage: &str) -> bool {
        self.stages.last().is_some_and(|s| s == stage)
    }

    /// Decides a stage change from `from` (none for a new order) to `to`.
    pub fn step(&self, from: Option<&str>, to: &str) -> Result<Move, FieldError> {
        if !self.is_stage(to) {
            let allowed = self.stages.iter().map(String::as_str).chain([CANCELLED]).collect::<Vec<_>>().join(", ");
            return Err(FieldError::new("stage", "unknown_stage").with("allowed", allowed));
        }
        let Some(from) = from else { return Ok(Move::Forward) };
        if from == to {
            return Ok(Move::Stay);
        }
        if self.is_final(from) {
            return Err(FieldError::new("stage", "order_finished").with("stage", from));
        }
        if to == CANCELLED {
            return Ok(Move::Forward);
        }
        let position = |stage: &str| self.stages.iter().position(|s| s == stage);
        match (position(from), position(to)) {
            (Some(a), Some(b)) if b > a => Ok(Move::Forward),
            _ => Err(FieldError::new("stage", "stage_backwards").with("stage", from)),
        }
    }

    /// Checks the reasons a rating ticked against this type's list.
    pub fn check_reasons(&self, reasons: &[String]) -> Result<(), FieldError> {
        match reasons.iter().find(|r| !self.reasons.contains(r)) {
            Some(_) => Err(FieldError::new("reasons", "invalid_choice").with("allowed", self.reasons.join(", "))),
            None => Ok(()),
        }
    }
}

fn is_key(text: &str) -> bool {
    (1..=40).contains(&text.len()) && text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Who does the work: a cleaner, a courier. Known by the business system's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Performer {
    pub id: PerformerId,
    pub external_id: String,
    pub name: String,
}

/// One stage an order reached, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageReached {
    pub stage: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Order {
    pub id: OrderId,
    pub external_id: String,
    pub order_type: String,
    pub customer_id: CustomerId,
    pub performer: Option<Performer>,
    pub stage: String,
    pub description: String,
    pub address: Option<String>,
    pub amount: Option<Money>,
    pub eta_at: Option<Timestamp>,
    pub tracking_url: Option<String>,
    /// The capability in the customer's order page address (`/track/{token}`).
    #[serde(skip)]
    pub public_token: String,
    /// The case the order's notifications went out on; the customer's answers to them land there.
    pub case_id: Option<CaseId>,
    pub stages: Vec<StageReached>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

string_enum! {
    /// Where an extra service offered during an order stands.
    pub enum ExtraStatus {
        Proposed => "proposed",
        Confirmed => "confirmed",
        Declined => "declined",
    }
}

/// An extra service at an agreed price ("выведение пятен, 500 ₽"), done only once the customer
/// confirms it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Extra {
    pub id: ExtraId,
    pub order_id: OrderId,
    pub description: String,
    pub amount: Money,
    pub status: ExtraStatus,
    #[serde(skip)]
    pub token: String,
    pub proposed_at: Timestamp,
    pub answered_at: Option<Timestamp>,
}

string_enum! {
    /// What went wrong with an order that the customer must hear of before they ask.
    pub enum DelayKind {
        /// It will be late.
        Delay => "delay",
        /// Something ordered is missing.
        Shortage => "shortage",
        /// Something is broken or not as ordered.
        Defect => "defect",
        /// The expected time passed without the next stage.
        EtaPassed => "eta_passed",
    }
}

/// An order's external id: what the business system calls it, 1–100 visible characters.
pub fn parse_external_id(text: &str) -> Result<String, FieldError> {
    let text = text.trim();
    let valid = (1..=100).contains(&text.chars().count())
        && !text.chars().any(|c| c.is_control() || c.is_whitespace() || crate::validate::is_invisible(c) || c == '/');
    if valid { Ok(text.to_owned()) } else { Err(FieldError::new("external_id", "invalid_external_id")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_go_forward_only() {
        let default = OrderType::default();
        assert_eq!(default.step(None, "created"), Ok(Move::Forward));
        assert_eq!(default.step(Some("created"), "on_the_way"), Ok(Move::Forward), "a stage may be skipped");
        assert_eq!(default.step(Some("accepted"), "accepted"), Ok(Move::Stay));
        assert_eq!(default.step(Some("on_the_way"), "accepted").map_err(|e| e.code), Err("stage_backwards"));
        assert_eq!(default.step(Some("in_progress"), "cancelled"), Ok(Move::Forward));
        assert_eq!(default.step(Some("completed"), "cancelled").map_err(|e| e.code), Err("order_finished"));
        assert_eq!(default.step(Some("cancelled"), "accepted").map_err(|e| e.code), Err("order_finished"));
        let unknown = default.step(Some("created"), "teleported").expect_err("unknown");
        assert_eq!((unknown.field.as_str(), unknown.code), ("stage", "unknown_stage"));
        assert!(default.is_completion("completed") && !default.is_completion("cancelled"));
    }

    #[test]
    fn configured_types_are_checked() {
        assert!(OrderType::default().check().is_ok());
        let bad = |stages: &[&str]| OrderType { stages: stages.iter().map(|s| (*s).to_owned()).collect(), reasons: vec![] }.check();
        assert!(bad(&["created"]).is_err());
        assert!(bad(&["created", "created"]).is_err());
        assert!(bad(&["created", "cancelled"]).is_err());
        assert!(bad(&["created", "Done"]).is_err());
        assert!(bad(&["placed", "delivered"]).is_ok());
    }

    #[test]
    fn external_ids_are_visible_text() {
        assert_eq!(parse_external_id(" CL-20481 "), Ok("CL-20481".into()));
        for bad in ["", "a b", "a/b", "x\u{202e}y", &"x".repeat(101)] {
            assert!(parse_external_id(bad).is_err(), "{bad:?}");
        }
    }
}
