//! Cases: opening one, changing its properties, ownership and collaboration, compensation,
//! the deadline check, and the reads the API and the workspace show.

pub(crate) mod access;
mod compensation;
mod conversation;
pub(crate) mod deadline;
mod open;
mod ownership;
mod page;
mod properties;

use opora_domain::case::{ActingAgent, Case};
use opora_domain::compensation::Compensation;
use opora_domain::{AgentId, CaseId, CustomerId};
use opora_store::{case_list, cases, compensations, names};

pub use compensation::Grant;
pub use open::{FirstMessage, Idempotency, OpenCase, Opened};
pub use opora_store::case_list::{CaseFilter, CaseSort, OwnerFilter};
pub use page::{COUNT_CAP, CasePage, InboxPage, VIEWS, view_filter};
pub use properties::CaseChange;

use crate::{App, Names, Result};

pub(crate) use compensation::grant;
pub(crate) use open::{NewCaseSpec, open as open_case};
pub(crate) use ownership::{assign, pull_in, take, transfer};
pub(crate) use properties::apply;
pub(crate) use properties::save;

/// The names a set of cases refers to: owners, collaborators, customers, every team.
pub(crate) fn names_for(conn: &mut dyn opora_store::db::Conn, cases: &[Case]) -> opora_store::Result<Names> {
    let agents: Vec<AgentId> = cases.iter().flat_map(|c| c.owner_id.into_iter().chain(c.collaborators.iter().copied())).collect();
    let customers: Vec<CustomerId> = cases.iter().map(|c| c.customer_id).collect();
    let mut names = names::load(conn, &agents, &customers, true)?;
    names.load_care(conn, &cases.iter().map(|c| c.id).collect::<Vec<_>>())?;
    Ok(names)
}

pub struct Cases<'a>(pub(crate) &'a App);

impl App {
    pub fn cases(&self) -> Cases<'_> {
        Cases(self)
    }
}

impl Cases<'_> {
    /// One case with the names it refers to.
    pub async fn get(&self, reader: ActingAgent, id: CaseId) -> Result<(Case, Names)> {
        let rules = self.0.config().access;
        self.0
            .read(move |conn| {
                let case = access::seen(conn, reader, id, rules)?;
                let names = names_for(conn, std::slice::from_ref(&case))?;
                Ok((case, names))
            })
            .await
    }

    /// The human numbers of these cases (lists that only link to cases).
    pub async fn numbers(&self, ids: Vec<CaseId>) -> Result<std::collections::HashMap<CaseId, i64>> {
        self.0.read(move |conn| cases::numbers(conn, &ids)).await
    }

    /// The case with this number, when `reader` may see it.
    pub async fn by_number(&self, reader: ActingAgent, number: i64) -> Result<Option<Case>> {
        let rules = self.0.config().access;
        self.0
            .read(move |conn| match cases::by_number(conn, number)? {
                Some(case) if access::sees(conn, reader, &case, rules)? => Ok(Some(case)),
                _ => Ok(None),
            })
            .await
    }

    /// A page of the cases `reader` sees (at most `filter.limit`), whether more follow, and
    /// their names.
    pub async fn list(&self, reader: ActingAgent, mut filter: CaseFilter) -> Result<(Vec<Case>, bool, Names)> {
        let rules = self.0.config().access;
        self.0
            .read(move |conn| {
                access::limit(conn, reader, rules, &mut filter)?;
                let limit = filter.limit;
                let mut probe = filter;
                probe.limit = limit + 1;
                let mut found = case_list::list(conn, &probe)?;
                let more = found.len() as i64 > limit;
                found.truncate(limit as usize);
                let names = names_for(conn, &found)?;
                Ok((found, more, names))
            })
            .await
    }

    /// A case's compensation ledger with the names of who granted what.
    pub async fn compensations(&self, reader: ActingAgent, id: CaseId) -> Result<(Vec<Compensation>, Names)> {
        let rules = self.0.config().access;
        self.0
            .read(move |conn| {
                access::seen(conn, reader, id, rules)?;
                let ledger = compensations::for_case(conn, id)?;
                let agents: Vec<AgentId> = ledger.iter().map(|c| c.granted_by).collect();
                let names = names::load(conn, &agents, &[], false)?;
                Ok((ledger, names))
            })
            .await
    }
}
