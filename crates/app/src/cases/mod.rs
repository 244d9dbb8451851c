//! Cases: opening one, changing its properties, ownership and collaboration, compensation,
//! the deadline check, and the reads the API and the workspace show.

mod compensation;
mod conversation;
pub(crate) mod deadline;
mod open;
mod ownership;
mod page;
mod properties;

use opora_domain::case::Case;
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
    names::load(conn, &agents, &customers, true)
}

pub struct Cases<'a>(pub(crate) &'a App);

impl App {
    pub fn cases(&self) -> Cases<'_> {
        Cases(self)
    }
}

impl Cases<'_> {
    /// One case with the names it refers to.
    pub async fn get(&self, id: CaseId) -> Result<(Case, Names)> {
        self.0
            .read(move |conn| {
                let case = cases::get(conn, id)?;
                let names = names_for(conn, std::slice::from_ref(&case))?;
                Ok((case, names))
            })
            .await
    }

    /// The human numbers of these cases (lists that only link to cases).
    pub async fn numbers(&self, ids: Vec<CaseId>) -> Result<std::collections::HashMap<CaseId, i64>> {
        self.0.read(move |conn| cases::numbers(conn, &ids)).await
    }

    pub async fn by_number(&self, number: i64) -> Result<Option<Case>> {
        self.0.read(move |conn| cases::by_number(conn, number)).await
    }

    /// A page of cases (at most `filter.limit`), whether more follow, and their names.
    pub async fn list(&self, filter: CaseFilter) -> Result<(Vec<Case>, bool, Names)> {
        self.0
            .read(move |conn| {
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

    /// How many cases match, counted up to `cap`.
    pub async fn count(&self, filter: CaseFilter, cap: i64) -> Result<i64> {
        self.0.read(move |conn| case_list::count(conn, &filter, cap)).await
    }

    /// Several counts in one read (the inbox's view counters).
    pub async fn counts(&self, filters: Vec<(String, CaseFilter)>, cap: i64) -> Result<Vec<(String, i64)>> {
        self.0.read(move |conn| filters.into_iter().map(|(name, filter)| Ok((name, case_list::count(conn, &filter, cap)?))).collect()).await
    }

    /// A case's compensation ledger with the names of who granted what.
    pub async fn compensations(&self, id: CaseId) -> Result<(Vec<Compensation>, Names)> {
        self.0
            .read(move |conn| {
                cases::get(conn, id)?;
                let ledger = compensations::for_case(conn, id)?;
                let agents: Vec<AgentId> = ledger.iter().map(|c| c.granted_by).collect();
                let names = names::load(conn, &agents, &[], false)?;
                Ok((ledger, names))
            })
            .await
    }
}
