//! Surveys and their invitations as rows: what was asked of whom, and the answers.

use opora_domain::survey::{Answers, Audience, Survey, SurveySpec, SurveyStatus};
use opora_domain::{CaseId, CustomerId, SurveyId, Timestamp};

use crate::db::{Conn, DbError, Row};
use crate::{Result, StoreError, Tx};

const COLUMNS: &str = "s.id, s.spec, s.status, s.created_at, \
     (select count(*) from survey_invitations i where i.survey_id = s.id), \
     (select count(answered_at) from survey_invitations i where i.survey_id = s.id)";

fn json_error(e: serde_json::Error) -> DbError {
    DbError::new(format!("survey: {e}"))
}

fn from_row(r: &Row<'_>) -> Result<Survey, DbError> {
    let spec: String = r.get(1)?;
    let status: String = r.get(2)?;
    Ok(Survey {
        id: r.get(0)?,
        spec: serde_json::from_str(&spec).map_err(json_error)?,
        status: SurveyStatus::parse(&status).ok_or_else(|| DbError::new(format!("survey status {status}")))?,
        created_at: r.get(3)?,
        invited: r.get(4)?,
        answered: r.get(5)?,
    })
}

pub fn insert(tx: &mut Tx<'_>, spec: &SurveySpec, created_by: Option<opora_domain::AgentId>) -> Result<SurveyId> {
    let json = serde_json::to_string(spec).map_err(|e| StoreError::Io(e.to_string()))?;
    let now = tx.now;
    Ok(SurveyId(tx.int(
        "insert into surveys (title, spec, status, created_by, created_at) values ($1, $2, $3, $4, $5) returning id",
        &[spec.title.as_str().into(), json.as_str().into(), SurveyStatus::Sending.as_str().into(), created_by.into(), now.into()],
    )?))
}

pub fn get(conn: &mut dyn Conn, id: SurveyId) -> Result<Survey> {
    let found = conn.opt(&format!("select {COLUMNS} from surveys s where s.id = $1"), &[id.into()], from_row)?;
    found.ok_or_else(|| opora_domain::DomainError::NotFound("survey").into())
}

/// Surveys, newest first.
pub fn list(conn: &mut dyn Conn, limit: i64) -> Result<Vec<Survey>> {
    Ok(conn.all(&format!("select {COLUMNS} from surveys s order by s.id desc limit $1"), &[limit.into()], from_row)?)
}

/// The last customer sending reached.
pub fn sent_through(conn: &mut dyn Conn, id: SurveyId) -> Result<CustomerId> {
    Ok(conn.one("select sent_through from surveys where id = $1", &[id.into()], |r| r.get(0))?)
}

/// Records how far sending got; `done` when the audience is exhausted.
pub fn advance(tx: &mut Tx<'_>, id: SurveyId, through: CustomerId, done: bool) -> Result<()> {
    let now = tx.now;
    let (status, finished) = if done { (SurveyStatus::Sent, Some(now)) } else { (SurveyStatus::Sending, None) };
    tx.execute(
        "update surveys set sent_through = $2, status = $3, finished_at = $4 where id = $1",
        &[id.into(), through.into(), status.as_str().into(), finished.into()],
    )?;
    Ok(())
}

/// A step through an audience: the customers to invite, and where the next step starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub customers: Vec<CustomerId>,
    /// The last id looked at; `None` when the audience is exhausted.
    pub next: Option<CustomerId>,
}

/// The next customers of an audience after `after` (by id), looking at `limit` ids. Chosen ids
/// of merged-away records invite the record they were merged into; ids of nobody are passed.
pub fn audience_after(conn: &mut dyn Conn, audience: &Audience, after: CustomerId, limit: i64, now: Timestamp) -> Result<Step> {
    let base = "select id from customers where id > $1 and merged_into is null";
    let tail = "order by id limit $2";
    let found: Vec<CustomerId> = match audience {
        Audience::All => conn.all(&format!("{base} {tail}"), &[after.into(), limit.into()], |r| r.get(0))?,
        Audience::OurClients => conn.all(&format!("{base} and our_client {tail}"), &[after.into(), limit.into()], |r| r.get(0))?,
        Audience::Ordered { days } => {
            let since = now.plus_minutes(-days * 24 * 60);
            let sql =
                format!("{base} and exists (select 1 from orders o where o.customer_id = customers.id and o.created_at >= $3) {tail}");
            conn.all(&sql, &[after.into(), limit.into(), since.into()], |r| r.get(0))?
        }
        Audience::Customers { ids } => {
            let mut chosen: Vec<CustomerId> = ids.iter().copied().filter(|id| *id > after).collect();
            chosen.sort_unstable();
            chosen.dedup();
            chosen.truncate(usize::try_from(limit).unwrap_or(0));
            let next = (chosen.len() as i64 == limit).then(|| chosen.last().copied()).flatten();
            let mut live = Vec::with_capacity(chosen.len());
            for id in chosen {
                match crate::customers::get(conn, id) {
                    Ok(customer) => live.push(customer.id),
                    Err(StoreError::Domain(opora_domain::DomainError::NotFound(_))) => {}
                    Err(other) => return Err(other),
                }
            }
            return Ok(Step { customers: live, next });
        }
    };
    let next = (found.len() as i64 == limit).then(|| found.last().copied()).flatten();
    Ok(Step { customers: found, next })
}

/// One customer's invitation to a survey.
#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    pub id: i64,
    pub survey_id: SurveyId,
    pub customer_id: CustomerId,
    pub case_id: Option<CaseId>,
    pub token: String,
    pub answers: Option<Answers>,
}

const INVITATION: &str = "id, survey_id, customer_id, case_id, token, answers";

fn invitation(r: &Row<'_>) -> Result<Invitation, DbError> {
    let answers: Option<String> = r.get(5)?;
    Ok(Invitation {
        id: r.get(0)?,
        survey_id: r.get(1)?,
        customer_id: r.get(2)?,
        case_id: r.get(3)?,
        token: r.get(4)?,
        answers: answers.map(|a| serde_json::from_str(&a)).transpose().map_err(json_error)?,
    })
}

/// Invites a customer once; `false` when they were invited before.
pub fn invite(tx: &mut Tx<'_>, survey: SurveyId, customer: CustomerId, token: &str) -> Result<bool> {
    let now = tx.now;
    let added = tx.execute(
        "insert into survey_invitations (survey_id, customer_id, token, sent_at) values ($1, $2, $3, $4) on conflict do nothing",
        &[survey.into(), customer.into(), token.into(), now.into()],
    )?;
    Ok(added == 1)
}

/// The case an invitation went out on.
pub fn set_case(tx: &mut Tx<'_>, token: &str, case: CaseId) -> Result<()> {
    tx.execute("update survey_invitations set case_id = $2 where token = $1", &[token.into(), case.into()])?;
    Ok(())
}

pub fn invitation_by_token(conn: &mut dyn Conn, token: &str) -> Result<Option<Invitation>> {
    Ok(conn.opt(&format!("select {INVITATION} from survey_invitations where token = $1"), &[token.into()], invitation)?)
}

/// Records a customer's answers; only the first counts. Returns whether this one did.
pub fn answer(tx: &mut Tx<'_>, invitation: i64, answers: &Answers) -> Result<bool> {
    let json = serde_json::to_string(answers).map_err(|e| StoreError::Io(e.to_string()))?;
    let now = tx.now;
    let changed = tx.execute(
        "update survey_invitations set answers = $2, answered_at = $3 where id = $1 and answered_at is null",
        &[invitation.into(), json.as_str().into(), now.into()],
    )?;
    Ok(changed == 1)
}

/// Every answer given to a survey, for the tally.
pub fn answers(conn: &mut dyn Conn, survey: SurveyId) -> Result<Vec<Answers>> {
    let rows: Vec<String> =
        conn.all("select answers from survey_invitations where survey_id = $1 and answers is not null", &[survey.into()], |r| r.get(0))?;
    rows.iter().map(|a| serde_json::from_str(a).map_err(|e| StoreError::Db(json_error(e)))).collect()
}
