//! Playbooks as rows, and what the care loop records on a case (`case_care`): its order, its
//! playbook, the checklist steps done and the outcome.

use std::collections::HashMap;

use opora_domain::case::CaseKind;
use opora_domain::compensation::{CompensationKind, Money};
use opora_domain::playbook::{Outcome, Playbook, PlaybookSpec};
use opora_domain::{CaseId, DomainError, OrderId, PlaybookId, RatingId};

use crate::db::{Conn, DbError, Row, Value, placeholders};
use crate::{Result, StoreError, Tx};

const COLUMNS: &str = "id, name, kinds, reasons, categories, checklist, reply, compensation_kind, compensation_minor, compensation_currency, \
     deadline_minutes, active";

fn list_of(r: &Row<'_>, index: usize) -> Result<Vec<String>, DbError> {
    let text: String = r.get(index)?;
    serde_json::from_str(&text).map_err(|e| DbError::new(format!("playbook list: {e}")))
}

fn from_row(r: &Row<'_>) -> Result<Playbook, DbError> {
    let limit: Option<i64> = r.get(8)?;
    let currency: Option<String> = r.get(9)?;
    let kind: Option<String> = r.get(7)?;
    Ok(Playbook {
        id: r.get(0)?,
        spec: PlaybookSpec {
            name: r.get(1)?,
            kinds: list_of(r, 2)?.iter().filter_map(|k| CaseKind::parse(k)).collect(),
            reasons: list_of(r, 3)?,
            categories: list_of(r, 4)?,
            checklist: list_of(r, 5)?,
            reply: r.get(6)?,
            compensation_kind: kind.as_deref().and_then(CompensationKind::parse),
            compensation_limit: limit.zip(currency).map(|(minor, currency)| Money { minor, currency }),
            deadline_minutes: r.get(10)?,
            active: r.get(11)?,
        },
    })
}

fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Io(e.to_string()))
}

pub fn list(conn: &mut dyn Conn) -> Result<Vec<Playbook>> {
    Ok(conn.all(&format!("select {COLUMNS} from playbooks order by id"), &[], from_row)?)
}

pub fn get(conn: &mut dyn Conn, id: PlaybookId) -> Result<Playbook> {
    let found = conn.opt(&format!("select {COLUMNS} from playbooks where id = $1"), &[id.into()], from_row)?;
    found.ok_or_else(|| DomainError::NotFound("playbook").into())
}

pub fn insert(tx: &mut Tx<'_>, spec: &PlaybookSpec) -> Result<PlaybookId> {
    let now = tx.now;
    let kinds: Vec<&str> = spec.kinds.iter().map(|k| k.as_str()).collect();
    let (kinds, reasons, categories, checklist) = (json(&kinds)?, json(&spec.reasons)?, json(&spec.categories)?, json(&spec.checklist)?);
    Ok(PlaybookId(tx.int(
        "insert into playbooks (name, kinds, reasons, categories, checklist, reply, compensation_kind, compensation_minor, compensation_currency,
                                deadline_minutes, active, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) returning id",
        &[
            spec.name.as_str().into(),
            kinds.as_str().into(),
            reasons.as_str().into(),
            categories.as_str().into(),
            checklist.as_str().into(),
            spec.reply.as_str().into(),
            spec.compensation_kind.map(|k| k.as_str()).into(),
            spec.compensation_limit.as_ref().map(|m| m.minor).into(),
            spec.compensation_limit.as_ref().map(|m| m.currency.as_str()).into(),
            spec.deadline_minutes.into(),
            spec.active.into(),
            now.into(),
        ],
    )?))
}

/// Marks data installed once; returns false when it already was.
pub fn seed_once(tx: &mut Tx<'_>, name: &str) -> Result<bool> {
    let now = tx.now;
    Ok(tx.execute("insert into seeds (name, applied_at) values ($1, $2) on conflict do nothing", &[name.into(), now.into()])? == 1)
}

/// What the care loop knows about a case.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseCare {
    pub order_id: Option<OrderId>,
    pub playbook_id: Option<PlaybookId>,
    pub steps_done: Vec<usize>,
    pub outcome: Option<Outcome>,
    pub rating_id: Option<RatingId>,
}

pub fn care(conn: &mut dyn Conn, case: CaseId) -> Result<CaseCare> {
    let found =
        conn.opt("select order_id, playbook_id, steps_done, outcome, rating_id from case_care where case_id = $1", &[case.into()], |r| {
            let steps: String = r.get(2)?;
            let outcome: Option<String> = r.get(3)?;
            Ok(CaseCare {
                order_id: r.get(0)?,
                playbook_id: r.get(1)?,
                steps_done: serde_json::from_str(&steps).map_err(|e| DbError::new(format!("steps done: {e}")))?,
                outcome: outcome.as_deref().and_then(Outcome::parse),
                rating_id: r.get(4)?,
            })
        })?;
    Ok(found.unwrap_or_default())
}

pub fn save_care(tx: &mut Tx<'_>, case: CaseId, care: &CaseCare) -> Result<()> {
    let steps = json(&care.steps_done)?;
    tx.execute(
        "insert into case_care (case_id, order_id, playbook_id, steps_done, outcome, rating_id) values ($1, $2, $3, $4, $5, $6)
         on conflict (case_id) do update set order_id = excluded.order_id, playbook_id = excluded.playbook_id,
         steps_done = excluded.steps_done, outcome = excluded.outcome, rating_id = excluded.rating_id",
        &[
            case.into(),
            care.order_id.into(),
            care.playbook_id.into(),
            steps.as_str().into(),
            care.outcome.map(|o| o.as_str()).into(),
            care.rating_id.into(),
        ],
    )?;
    Ok(())
}

/// A case's order (its external id) and playbook (its name).
pub type CareLabels = (Option<String>, Option<String>);

/// The order and playbook of each of these cases that has them.
pub fn labels(conn: &mut dyn Conn, cases: &[CaseId]) -> Result<HashMap<CaseId, CareLabels>> {
    if cases.is_empty() {
        return Ok(HashMap::new());
    }
    let params: Vec<Value<'_>> = cases.iter().map(|c| (*c).into()).collect();
    let sql = format!(
        "select c.case_id, o.external_id, p.name from case_care c left join orders o on o.id = c.order_id
         left join playbooks p on p.id = c.playbook_id where c.case_id in ({})",
        placeholders(1, params.len())
    );
    Ok(conn.all(&sql, &params, |r| Ok((r.get::<CaseId>(0)?, (r.get(1)?, r.get(2)?))))?.into_iter().collect())
}
