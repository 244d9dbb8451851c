//! Compensation: what a customer got to make things right, and the budget a case may spend.

use serde::Serialize;

use crate::agent::{Action, Language, Role};
use crate::error::{DomainError, FieldError};
use crate::ids::{AgentId, CaseId, CompensationId};
use crate::string_enum;
use crate::time::Timestamp;

string_enum! {
    pub enum CompensationKind {
        Discount => "discount",
        Credit => "credit",
        Refund => "refund",
        FreeService => "free_service",
        Gift => "gift",
    }
}

string_enum! {
    /// Where a grant stands: given, or waiting for a supervisor because it goes over the budget.
    pub enum CompensationStatus {
        Granted => "granted",
        Requested => "requested",
        Refused => "refused",
    }
}

/// An amount in minor units (kopecks, cents) of a three-letter currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    pub minor: i64,
    pub currency: String,
}

impl Money {
    /// Parses `"1500"`, `"1500.5"`, `"1 500,50"` or a JSON number into minor units; at most two
    /// decimals, never negative, at most 10^12 major units.
    pub fn parse_amount(field: &str, text: &str) -> Result<i64, FieldError> {
        let cleaned: String = text.trim().chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')).collect();
        let cleaned = cleaned.replace(',', ".");
        let invalid = || FieldError::new(field, "invalid_amount");
        let (whole, fraction) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
        if whole.is_empty() || whole.len() > 12 || fraction.len() > 2 {
            return Err(invalid());
        }
        if !whole.chars().all(|c| c.is_ascii_digit()) || !fraction.chars().all(|c| c.is_ascii_digit()) {
            return Err(invalid());
        }
        let whole: i64 = whole.parse().map_err(|_| invalid())?;
        let fraction: i64 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
        Ok(whole * 100 + fraction)
    }

    pub fn parse_currency(field: &str, text: &str) -> Result<String, FieldError> {
        let code = text.trim().to_uppercase();
        if code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase()) {
            Ok(code)
        } else {
            Err(FieldError::new(field, "invalid_currency"))
        }
    }

    /// `1 500,00 ₽` in Russian, `₽1,500.00` in English: an amount as people read it.
    pub fn text(minor: i64, currency: &str, language: Language) -> String {
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

    /// `1500.00` — the API's representation of an amount.
    pub fn format_minor(minor: i64) -> String {
        format!("{}.{:02}", minor / 100, (minor % 100).abs())
    }
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = s.serialize_struct("Money", 2)?;
        out.serialize_field("amount", &Money::format_minor(self.minor))?;
        out.serialize_field("currency", &self.currency)?;
        out.end()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Compensation {
    pub id: CompensationId,
    pub case_id: CaseId,
    pub kind: CompensationKind,
    #[serde(flatten)]
    pub amount: Money,
    pub note: String,
    pub granted_by: AgentId,
    pub over_budget: bool,
    pub status: CompensationStatus,
    /// The supervisor who approved or refused a request.
    pub decided_by: Option<AgentId>,
    pub created_at: Timestamp,
}

/// What a grant does: given at once (and whether it goes over the budget), or asked of a
/// supervisor because it goes over an agent's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Grant { over_budget: bool },
    AskSupervisor,
}

/// Decides a grant, where an agent over the budget may ask a supervisor instead of being refused.
pub fn decide_grant(budget: Option<&Money>, spent_minor: i64, grant: &Money, role: Role, may_ask: bool) -> Result<Decision, DomainError> {
    match check_grant(budget, spent_minor, grant, role) {
        Ok(over_budget) => Ok(Decision::Grant { over_budget }),
        Err(DomainError::OverBudget { .. }) if may_ask => Ok(Decision::AskSupervisor),
        Err(other) => Err(other),
    }
}

/// A supervisor decides a request; only a request waits for a decision.
pub fn check_decision(status: CompensationStatus, role: Role) -> Result<(), DomainError> {
    if !role.may(Action::GrantOverBudget) {
        return Err(DomainError::Forbidden);
    }
    if status != CompensationStatus::Requested {
        return Err(DomainError::Conflict("compensation_decided"));
    }
    Ok(())
}

/// Decides whether a grant fits the case's budget. Agents stay within the budget; supervisors
/// may go over it, and the ledger records that they did. Returns whether the grant is over budget.
pub fn check_grant(budget: Option<&Money>, spent_minor: i64, grant: &Money, role: Role) -> Result<bool, DomainError> {
    if let Some(budget) = budget
        && budget.currency != grant.currency
    {
        return Err(DomainError::field("currency", "currency_mismatch"));
    }
    let budget_minor = budget.map_or(0, |b| b.minor);
    let remaining = budget_minor - spent_minor;
    let over = grant.minor > remaining;
    if over && !role.may(Action::GrantOverBudget) {
        return Err(DomainError::OverBudget {
            remaining_minor: remaining.max(0),
            currency: budget.map_or_else(|| grant.currency.clone(), |b| b.currency.clone()),
        });
    }
    Ok(over)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rub(minor: i64) -> Money {
        Money { minor, currency: "RUB".into() }
    }

    #[test]
    fn amounts_parse_in_minor_units() {
        assert_eq!(Money::parse_amount("a", "1500"), Ok(150_000));
        assert_eq!(Money::parse_amount("a", "1 500,5"), Ok(150_050));
        assert_eq!(Money::parse_amount("a", "0.07"), Ok(7));
        for bad in ["-1", "1.234", "abc", "", "1e5", "9999999999999"] {
            assert!(Money::parse_amount("a", bad).is_err(), "{bad}");
        }
        assert_eq!(Money::format_minor(150_050), "1500.50");
    }

    #[test]
    fn agents_stay_within_budget_supervisors_may_exceed() {
        let budget = rub(100_000);
        assert_eq!(check_grant(Some(&budget), 60_000, &rub(40_000), Role::Agent), Ok(false));
        assert_eq!(
            check_grant(Some(&budget), 60_000, &rub(40_001), Role::Agent),
            Err(DomainError::OverBudget { remaining_minor: 40_000, currency: "RUB".into() })
        );
        assert_eq!(check_grant(Some(&budget), 60_000, &rub(40_001), Role::Supervisor), Ok(true));
        assert!(check_grant(None, 0, &rub(1), Role::Agent).is_err(), "no budget means nothing to grant");
        let usd = Money { minor: 1, currency: "USD".into() };
        assert_eq!(check_grant(Some(&budget), 0, &usd, Role::Admin), Err(DomainError::field("currency", "currency_mismatch")));
    }

    #[test]
    fn an_agent_over_the_limit_asks_a_supervisor() {
        let budget = rub(50_000);
        assert_eq!(decide_grant(Some(&budget), 50_000, &rub(10_000), Role::Agent, true), Ok(Decision::AskSupervisor));
        assert!(decide_grant(Some(&budget), 50_000, &rub(10_000), Role::Agent, false).is_err());
        assert_eq!(decide_grant(Some(&budget), 0, &rub(10_000), Role::Agent, true), Ok(Decision::Grant { over_budget: false }));
        assert_eq!(decide_grant(Some(&budget), 50_000, &rub(1), Role::Supervisor, true), Ok(Decision::Grant { over_budget: true }));
        assert_eq!(check_decision(CompensationStatus::Requested, Role::Agent), Err(DomainError::Forbidden));
        assert_eq!(check_decision(CompensationStatus::Granted, Role::Supervisor), Err(DomainError::Conflict("compensation_decided")));
        assert_eq!(check_decision(CompensationStatus::Requested, Role::Supervisor), Ok(()));
    }
}
