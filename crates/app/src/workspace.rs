//! What the agent workspace needs beyond cases: notifications ("concerns me"), presence on a
//! case (collision notices) and reply templates filled in for a case.

use opora_domain::case::ActingAgent;
use opora_domain::template::fill;
use opora_domain::{AgentId, CaseId};
use opora_store::customers;
use opora_store::notifications::{self, Notification};
use opora_store::presence::{self, Viewer};
use opora_store::templates::{self, ReplyTemplate};

use crate::{App, Result};

/// A notification with the case it is about, as far as the case still exists.
pub struct NotificationItem {
    pub notification: Notification,
    pub case_number: Option<i64>,
    pub case_subject: Option<String>,
}

pub struct Workspace<'a>(&'a App);

impl App {
    pub fn workspace(&self) -> Workspace<'_> {
        Workspace(self)
    }
}

impl Workspace<'_> {
    /// The unread count and the latest notifications of an agent; a case they no longer see is
    /// not named.
    pub async fn notifications(&self, agent: ActingAgent, limit: i64) -> Result<(i64, Vec<NotificationItem>)> {
        let rules = self.0.config().access;
        self.0
            .read(move |conn| {
                let unread = notifications::unread_count(conn, agent.id)?;
                let mut items = Vec::new();
                for notification in notifications::recent(conn, agent.id, limit)? {
                    let case = match notification.case_id {
                        Some(id) => crate::cases::access::seen_or_none(conn, agent, id, rules)?,
                        None => None,
                    };
                    let (case_number, case_subject) = (case.as_ref().map(|c| c.number), case.map(|c| c.subject));
                    items.push(NotificationItem { notification, case_number, case_subject });
                }
                Ok((unread, items))
            })
            .await
    }

    /// Marks the given notifications (or all of them) read.
    pub async fn mark_read(&self, agent: AgentId, ids: Option<Vec<i64>>) -> Result<()> {
        self.0.write(move |u| notifications::mark_read(u.tx(), agent, ids.as_deref()).map(|_| ())).await
    }

    /// Records that `agent` is on the case (typing or not) and returns the others there now. What
    /// concerned them about the case is read now: they have it open. (Opening the page itself, a
    /// GET, changes nothing: a link or an image elsewhere could make it.)
    pub async fn report_presence(&self, agent: ActingAgent, case: CaseId, typing: bool) -> Result<Vec<Viewer>> {
        let rules = self.0.config().access;
        self.0
            .write(move |u| {
                crate::cases::access::seen(u.conn(), agent, case, rules)?;
                notifications::mark_case_read(u.tx(), agent.id, case)?;
                presence::report(u.tx(), case, agent.id, typing)
            })
            .await
    }

    pub async fn leave(&self, agent: AgentId, case: CaseId) -> Result<()> {
        self.0.write(move |u| presence::leave(u.tx(), case, agent)).await
    }

    /// The reply templates with their variables filled in for this case and agent.
    pub async fn templates_for(&self, reader: ActingAgent, case: CaseId, agent_name: String) -> Result<Vec<ReplyTemplate>> {
        let rules = self.0.config().access;
        self.0
            .read(move |conn| {
                let case = crate::cases::access::seen(conn, reader, case, rules)?;
                let customer = customers::get(conn, case.customer_id)?;
                let values = [
                    ("customer.name", customer.name),
                    ("case.number", case.number.to_string()),
                    ("case.subject", case.subject),
                    ("agent.name", agent_name),
                ];
                Ok(templates::list(conn)?.into_iter().map(|t| ReplyTemplate { body: fill(&t.body, &values), ..t }).collect())
            })
            .await
    }
}
