//! Who else has a case open, and whether they are typing: the collision notice. Kept in the
//! database (not in memory) so that agents on different nodes see each other.

use opora_domain::{AgentId, CaseId, Timestamp};
use serde::Serialize;

use crate::{Result, Tx};

/// A viewer is gone when their page has not reported for this long.
pub const STALE_MS: i64 = 30_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Viewer {
    pub agent_id: AgentId,
    pub name: String,
    pub typing: bool,
    pub seen_at: Timestamp,
}

/// Records that `agent` is on the case (typing or not) and returns the others there now.
pub fn report(tx: &mut Tx<'_>, case: CaseId, agent: AgentId, typing: bool) -> Result<Vec<Viewer>> {
    let now = tx.now;
    tx.execute(
        "insert into case_presence (case_id, agent_id, typing, seen_at) values ($1, $2, $3, $4)
         on conflict (case_id, agent_id) do update set typing = excluded.typing, seen_at = excluded.seen_at",
        &[case.into(), agent.into(), typing.into(), now.into()],
    )?;
    tx.execute("delete from case_presence where seen_at < $1", &[now.plus_millis(-STALE_MS * 4).into()])?;
    Ok(tx.all(
        "select p.agent_id, a.name, p.typing, p.seen_at from case_presence p join agents a on a.id = p.agent_id
         where p.case_id = $1 and p.agent_id <> $2 and p.seen_at >= $3 order by a.name",
        &[case.into(), agent.into(), now.plus_millis(-STALE_MS).into()],
        |r| Ok(Viewer { agent_id: r.get(0)?, name: r.get(1)?, typing: r.get(2)?, seen_at: r.get(3)? }),
    )?)
}

/// The agent left the case page.
pub fn leave(tx: &mut Tx<'_>, case: CaseId, agent: AgentId) -> Result<()> {
    tx.execute("delete from case_presence where case_id = $1 and agent_id = $2", &[case.into(), agent.into()])?;
    Ok(())
}
