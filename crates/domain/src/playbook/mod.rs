//! Playbooks: how the team handles a kind of problem — when one applies, the checklist the owner
//! works through, the reply to start from, the compensation allowed and the deadline. A problem
//! case gets the playbook that fits it best; which one it was and how it ended are recorded.

mod starter;

use serde::Serialize;

use crate::case::CaseKind;
use crate::compensation::{CompensationKind, Money};
use crate::error::FieldError;
use crate::ids::PlaybookId;
use crate::string_enum;

pub use starter::starter;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Playbook {
    pub id: PlaybookId,
    pub spec: PlaybookSpec,
}

/// A playbook as an admin writes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaybookSpec {
    pub name: String,
    /// Case kinds it applies to; empty: any.
    pub kinds: Vec<CaseKind>,
    /// Rating reasons that call for it; empty: it does not depend on them.
    pub reasons: Vec<String>,
    /// Case categories that call for it; empty: any.
    pub categories: Vec<String>,
    pub checklist: Vec<String>,
    /// The reply the owner starts from.
    pub reply: String,
    pub compensation_kind: Option<CompensationKind>,
    /// The most the owner may grant without a supervisor.
    pub compensation_limit: Option<Money>,
    /// Minutes from opening to the deadline of a case it is attached to.
    pub deadline_minutes: i64,
    pub active: bool,
}

string_enum! {
    /// How a case worked by a playbook ended.
    pub enum Outcome {
        /// The customer accepted what was offered.
        Resolved => "resolved",
        /// Compensated without the customer confirming.
        Compensated => "compensated",
        /// The customer could not be reached.
        Unreachable => "unreachable",
        /// The complaint was not confirmed.
        Rejected => "rejected",
    }
}

impl PlaybookSpec {
    /// How well this playbook fits a case: `None` when it does not apply; more is better. A
    /// match on a rating reason weighs most, then on the category.
    pub fn fit(&self, kind: CaseKind, category: Option<&str>, reasons: &[String]) -> Option<u32> {
        if !self.active || (!self.kinds.is_empty() && !self.kinds.contains(&kind)) {
            return None;
        }
        let mut score = 1;
        if !self.reasons.is_empty() {
            if !reasons.iter().any(|r| self.reasons.contains(r)) {
                return None;
            }
            score += 4;
        }
        if !self.categories.is_empty() {
            if !category.is_some_and(|c| self.categories.iter().any(|k| k.eq_ignore_ascii_case(c))) {
                return None;
            }
            score += 2;
        }
        Some(score)
    }

    /// Checks what an admin wrote: a name, at least one step, a positive deadline.
    pub fn check(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.name.trim().is_empty() {
            errors.push(FieldError::required("name"));
        }
        if self.checklist.is_empty() || self.checklist.iter().any(|s| s.trim().is_empty()) {
            errors.push(FieldError::required("checklist"));
        }
        if !(1..=60 * 24 * 90).contains(&self.deadline_minutes) {
            errors.push(FieldError::new("deadline_minutes", "out_of_range").with("min", 1).with("max", 60 * 24 * 90));
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

/// The playbook that fits a case best; on a tie the older one.
pub fn choose<'a>(playbooks: &'a [Playbook], kind: CaseKind, category: Option<&str>, reasons: &[String]) -> Option<&'a Playbook> {
    playbooks
        .iter()
        .filter_map(|p| p.spec.fit(kind, category, reasons).map(|score| (score, p)))
        .max_by(|(a, p), (b, q)| a.cmp(b).then(q.id.cmp(&p.id)))
        .map(|(_, p)| p)
}

/// A step of a checklist, by its position; one past the end is not a step. (Errors name steps
/// from 1, as people count them.)
pub fn check_step(checklist_len: usize, step: usize) -> Result<(), FieldError> {
    if step < checklist_len {
        Ok(())
    } else {
        Err(FieldError::new("step", "out_of_range").with("min", 1).with("max", checklist_len as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::Language;
    use crate::ids::PlaybookId;

    fn set() -> Vec<Playbook> {
        starter(Language::Ru, "RUB").into_iter().enumerate().map(|(i, spec)| Playbook { id: PlaybookId(i as i64 + 1), spec }).collect()
    }

    #[test]
    fn the_starter_set_covers_the_usual_problems_in_both_languages() {
        for language in [Language::Ru, Language::En] {
            let specs = starter(language, "RUB");
            assert!(specs.len() >= 10);
            for spec in &specs {
                assert_eq!(spec.check(), Ok(()), "{}", spec.name);
                assert!(spec.checklist.len() >= 3, "{}", spec.name);
            }
        }
        assert_eq!(starter(Language::Ru, "RUB").len(), starter(Language::En, "RUB").len());
    }

    #[test]
    fn a_low_rating_gets_the_playbook_of_its_reason() {
        let set = set();
        let late = choose(&set, CaseKind::Problem, None, &["late".into()]).expect("one fits");
        assert_eq!(late.spec.reasons, vec!["late".to_owned()]);
        let damage = choose(&set, CaseKind::Problem, None, &["damage".into(), "late".into()]).expect("one fits");
        assert!(damage.spec.reasons.contains(&"damage".to_owned()) || damage.spec.reasons.contains(&"late".to_owned()));
        let general = choose(&set, CaseKind::Problem, None, &[]).expect("a general one");
        assert!(general.spec.reasons.is_empty() && general.spec.categories.is_empty());
        let complaint = choose(&set, CaseKind::Complaint, None, &[]).expect("the complaint flow");
        assert_eq!(complaint.spec.kinds, vec![CaseKind::Complaint]);
        assert!(choose(&set, CaseKind::Question, None, &[]).is_none(), "questions need no playbook");
    }

    #[test]
    fn switched_off_playbooks_are_never_chosen() {
        let mut set = set();
        for p in &mut set {
            p.spec.active = false;
        }
        assert!(choose(&set, CaseKind::Problem, None, &["late".into()]).is_none());
        assert!(check_step(3, 2).is_ok() && check_step(3, 3).is_err());
    }
}
