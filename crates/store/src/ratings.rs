//! Ratings as rows: asked for (a token in a link, no score yet) and given.

use opora_domain::rating::Rating;
use opora_domain::{AgentId, CaseId, CustomerId, OrderId, PerformerId, RatingId, Timestamp};

use crate::db::{Conn, DbError, Row};
use crate::{Result, StoreError, Tx};

const COLUMNS: &str = "id, token, customer_id, order_id, case_id, performer_id, agent_id, score, reasons, comment, favourite, asked_at, \
     reminders, answered_at, problem_case_id, message_id";

fn from_row(r: &Row<'_>) -> Result<Rating, DbError> {
    let reasons: String = r.get(8)?;
    let score: Option<i64> = r.get(7)?;
    Ok(Rating {
        id: r.get(0)?,
        token: r.get(1)?,
        customer_id: r.get(2)?,
        order_id: r.get(3)?,
        case_id: r.get(4)?,
        performer_id: r.get(5)?,
        agent_id: r.get(6)?,
        score: score.and_then(|s| u8::try_from(s).ok()),
        reasons: serde_json::from_str(&reasons).map_err(|e| DbError::new(format!("rating reasons: {e}")))?,
        comment: r.get(9)?,
        favourite: r.get(10)?,
        asked_at: r.get(11)?,
        reminders: r.get(12)?,
        answered_at: r.get(13)?,
        problem_case_id: r.get(14)?,
        message_id: r.get(15)?,
    })
}

/// A rating to ask for.
#[derive(Debug, Clone)]
pub struct NewRating {
    pub customer_id: CustomerId,
    pub order_id: Option<OrderId>,
    pub case_id: Option<CaseId>,
    pub performer_id: Option<PerformerId>,
    pub agent_id: Option<AgentId>,
}

pub fn insert(tx: &mut Tx<'_>, new: &NewRating, token: &str) -> Result<Rating> {
    let now = tx.now;
    let id = RatingId(tx.int(
        "insert into ratings (token, customer_id, order_id, case_id, performer_id, agent_id, asked_at) values ($1, $2, $3, $4, $5, $6, $7) returning id",
        &[
            token.into(),
            new.customer_id.into(),
            new.order_id.into(),
            new.case_id.into(),
            new.performer_id.into(),
            new.agent_id.into(),
            now.into(),
        ],
    )?);
    get(&mut **tx, id)
}

pub fn get(conn: &mut dyn Conn, id: RatingId) -> Result<Rating> {
    let found = conn.opt(&format!("select {COLUMNS} from ratings where id = $1"), &[id.into()], from_row)?;
    found.ok_or_else(|| opora_domain::DomainError::NotFound("rating").into())
}

pub fn by_token(conn: &mut dyn Conn, token: &str) -> Result<Option<Rating>> {
    Ok(conn.opt(&format!("select {COLUMNS} from ratings where token = $1"), &[token.into()], from_row)?)
}

/// The rating asked for about an order, or about a case, if any (not one of a single reply).
pub fn asked_about(conn: &mut dyn Conn, order: Option<OrderId>, case: Option<CaseId>) -> Result<Option<Rating>> {
    let sql = format!(
        "select {COLUMNS} from ratings where message_id is null
         and ((order_id = $1 and $1 is not null) or (case_id = $2 and order_id is null and $2 is not null))
         order by id desc limit 1"
    );
    Ok(conn.opt(&sql, &[order.into(), case.into()], from_row)?)
}

/// Records the customer's answer; only the first counts. Returns whether this one did.
pub fn answer(tx: &mut Tx<'_>, id: RatingId, score: u8, reasons: &[String], comment: &str, favourite: bool) -> Result<bool> {
    let now = tx.now;
    let reasons = serde_json::to_string(reasons).map_err(|e| StoreError::Io(e.to_string()))?;
    let changed = tx.execute(
        "update ratings set score = $2, reasons = $3, comment = $4, favourite = $5, answered_at = $6 where id = $1 and score is null",
        &[id.into(), i64::from(score).into(), reasons.as_str().into(), comment.into(), favourite.into(), now.into()],
    )?;
    Ok(changed == 1)
}

/// The reply a rating of one reply is about.
pub fn set_message(tx: &mut Tx<'_>, id: RatingId, message: opora_domain::MessageId) -> Result<()> {
    tx.execute("update ratings set message_id = $2 where id = $1", &[id.into(), message.into()])?;
    Ok(())
}

pub fn set_problem_case(tx: &mut Tx<'_>, id: RatingId, case: CaseId) -> Result<()> {
    tx.execute("update ratings set problem_case_id = $2 where id = $1", &[id.into(), case.into()])?;
    Ok(())
}

/// Counts a reminder sent.
pub fn reminded(tx: &mut Tx<'_>, id: RatingId) -> Result<()> {
    tx.execute("update ratings set reminders = reminders + 1 where id = $1", &[id.into()])?;
    Ok(())
}

/// Ratings of services asked for since `since` (not of single replies): how many, and how many
/// were answered (the response rate).
pub fn response(conn: &mut dyn Conn, since: Timestamp) -> Result<(i64, i64)> {
    let sql = "select count(*), count(score) from ratings where asked_at >= $1 and message_id is null";
    Ok(conn.one(sql, &[since.into()], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

/// A customer's answered ratings, newest first (the customer panel).
pub fn of_customer(conn: &mut dyn Conn, customer: CustomerId, limit: i64) -> Result<Vec<Rating>> {
    let sql =
        format!("select {COLUMNS} from ratings where customer_id = $1 and score is not null order by answered_at desc, id desc limit $2");
    Ok(conn.all(&sql, &[customer.into(), limit.into()], from_row)?)
}

/// Thanks worth showing the team: answered ratings of at least `min_score` with a comment,
/// newest first, with the order's external id and the performer's and agent's names.
pub fn kudos(conn: &mut dyn Conn, min_score: i64, limit: i64) -> Result<Vec<Kudos>> {
    let sql = "select r.score, r.comment, r.answered_at, o.external_id, p.name, a.name, c.name from ratings r
         left join orders o on o.id = r.order_id left join performers p on p.id = r.performer_id
         left join agents a on a.id = r.agent_id join customers c on c.id = r.customer_id
         where r.score >= $1 and r.comment <> '' order by r.answered_at desc, r.id desc limit $2";
    Ok(conn.all(sql, &[min_score.into(), limit.into()], |r| {
        Ok(Kudos {
            score: r.get(0)?,
            comment: r.get(1)?,
            at: r.get(2)?,
            order: r.get(3)?,
            performer: r.get(4)?,
            agent: r.get(5)?,
            customer: r.get(6)?,
        })
    })?)
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Kudos {
    pub score: i64,
    pub comment: String,
    pub at: Timestamp,
    pub order: Option<String>,
    pub performer: Option<String>,
    pub agent: Option<String>,
    pub customer: String,
}
