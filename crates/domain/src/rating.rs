//! Ratings: after an order completes or a case is solved the customer gives 1–5, may tick
//! reasons and write a comment. A 1 or 2 opens a problem case; a 4 or 5 with a comment is kudos.

use serde::Serialize;

use crate::error::FieldError;
use crate::ids::{AgentId, CaseId, CustomerId, MessageId, OrderId, PerformerId, RatingId};
use crate::time::Timestamp;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rating {
    pub id: RatingId,
    #[serde(skip)]
    pub token: String,
    pub customer_id: CustomerId,
    pub order_id: Option<OrderId>,
    pub case_id: Option<CaseId>,
    pub performer_id: Option<PerformerId>,
    pub agent_id: Option<AgentId>,
    pub score: Option<u8>,
    pub reasons: Vec<String>,
    pub comment: String,
    /// The customer marked the order's performer as a favourite.
    pub favourite: bool,
    pub asked_at: Timestamp,
    pub reminders: i64,
    pub answered_at: Option<Timestamp>,
    /// The problem case a low score opened.
    pub problem_case_id: Option<CaseId>,
    /// The agent reply rated, for a rating of one reply ("did this help?").
    pub message_id: Option<MessageId>,
}

/// A score from a form or the API: a whole number 1–5.
pub fn parse_score(text: &str) -> Result<u8, FieldError> {
    match text.trim().parse::<u8>() {
        Ok(score) if (1..=5).contains(&score) => Ok(score),
        _ => Err(FieldError::new("score", "invalid_score").with("min", 1).with("max", 5)),
    }
}

/// A 1 or a 2 gets a call back the same day.
pub fn is_low(score: u8) -> bool {
    score <= 2
}

/// A 4 or a 5 with something said is thanks worth showing the team.
pub fn is_kudos(score: u8, comment: &str) -> bool {
    score >= 4 && !comment.trim().is_empty()
}

/// A comment is kept to this many characters.
pub const COMMENT_MAX: usize = 2000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_one_to_five() {
        assert_eq!(parse_score(" 2 "), Ok(2));
        for bad in ["0", "6", "", "2.5", "-1", "five"] {
            assert_eq!(parse_score(bad).map_err(|e| e.code), Err("invalid_score"), "{bad:?}");
        }
        assert!(is_low(1) && is_low(2) && !is_low(3));
        assert!(is_kudos(5, "Спасибо!") && !is_kudos(5, "  ") && !is_kudos(3, "ok"));
    }
}
