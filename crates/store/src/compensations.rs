//! The compensation ledger: what each case granted, by whom, and whether it went over budget.

use opora_domain::compensation::{Compensation, CompensationKind, CompensationStatus, Money};
use opora_domain::{AgentId, CaseId, CompensationId, DomainError};

use crate::db::{Conn, DbError, Row};
use crate::{Result, Tx};

const COLUMNS: &str = "id, case_id, kind, amount_minor, currency, note, granted_by, over_budget, created_at, status, decided_by";

fn from_row(r: &Row<'_>) -> Result<Compensation, DbError> {
    Ok(Compensation {
        id: r.get(0)?,
        case_id: r.get(1)?,
        kind: r.parse(2, CompensationKind::parse)?,
        amount: Money { minor: r.get(3)?, currency: r.get(4)? },
        note: r.get(5)?,
        granted_by: r.get(6)?,
        over_budget: r.get(7)?,
        created_at: r.get(8)?,
        status: r.parse(9, CompensationStatus::parse)?,
        decided_by: r.get(10)?,
    })
}

/// A grant to record, already decided.
#[derive(Debug, Clone)]
pub struct NewCompensation {
    pub case_id: CaseId,
    pub kind: CompensationKind,
    pub amount: Money,
    pub note: String,
    pub granted_by: AgentId,
    pub over_budget: bool,
    pub status: CompensationStatus,
}

pub fn insert(tx: &mut Tx<'_>, new: &NewCompensation) -> Result<Compensation> {
    let now = tx.now;
    let id = CompensationId(tx.int(
        "insert into compensations (case_id, kind, amount_minor, currency, note, granted_by, over_budget, created_at, status)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
        &[
            new.case_id.into(),
            new.kind.as_str().into(),
            new.amount.minor.into(),
            new.amount.currency.as_str().into(),
            new.note.as_str().into(),
            new.granted_by.into(),
            new.over_budget.into(),
            now.into(),
            new.status.as_str().into(),
        ],
    )?);
    Ok(tx.one(&format!("select {COLUMNS} from compensations where id = $1"), &[id.into()], from_row)?)
}

/// A case's ledger, oldest first.
pub fn for_case(conn: &mut dyn Conn, case: CaseId) -> Result<Vec<Compensation>> {
    Ok(conn.all(&format!("select {COLUMNS} from compensations where case_id = $1 order by id"), &[case.into()], from_row)?)
}

pub fn get(conn: &mut dyn Conn, id: CompensationId) -> Result<Compensation> {
    let found = conn.opt(&format!("select {COLUMNS} from compensations where id = $1"), &[id.into()], from_row)?;
    found.ok_or_else(|| DomainError::NotFound("compensation").into())
}

/// Records a supervisor's decision on a request still waiting; returns false when another
/// decision came first.
pub fn decide(tx: &mut Tx<'_>, id: CompensationId, status: CompensationStatus, by: AgentId) -> Result<bool> {
    let now = tx.now;
    let changed = tx.execute(
        "update compensations set status = $2, decided_by = $3, decided_at = $4, over_budget = $5 where id = $1 and status = 'requested'",
        &[id.into(), status.as_str().into(), by.into(), now.into(), (status == CompensationStatus::Granted).into()],
    )?;
    Ok(changed == 1)
}

/// Requests waiting for a supervisor, oldest first.
pub fn requested(conn: &mut dyn Conn, limit: i64) -> Result<Vec<Compensation>> {
    let sql = format!("select {COLUMNS} from compensations where status = 'requested' order by created_at, id limit $1");
    Ok(conn.all(&sql, &[limit.into()], from_row)?)
}
