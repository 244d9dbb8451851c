//! Playbooks: the starter set installed once, admins' own, and a case worked by one — its
//! checklist ticked step by step and its outcome recorded, each in the timeline.

use opora_domain::case::{ActingAgent, Case};
use opora_domain::event::{Actor, EventData, PlaybookAttached, PlaybookStep};
use opora_domain::playbook::{Outcome, Playbook, PlaybookSpec, check_step, starter};
use opora_domain::{CaseId, DomainError, PlaybookId};
use opora_store::StoreError;
use opora_store::playbooks::{self, CaseCare};

use crate::cases::access::{editable, seen};
use crate::{App, Result, Unit};

/// A case's playbook and how far its owner got.
#[derive(Debug, Clone, PartialEq)]
pub struct CasePlaybook {
    pub playbook: Playbook,
    pub steps_done: Vec<usize>,
    pub outcome: Option<Outcome>,
}

pub struct Playbooks<'a>(&'a App);

/// Puts a playbook on a case, its checklist afresh, keeping the rest of what `care` records
/// (order, rating); the timeline says so.
pub(crate) fn put_on(u: &mut Unit<'_, '_>, case: &Case, playbook: &Playbook, mut care: CaseCare, actor: Actor) -> opora_store::Result<()> {
    care.playbook_id = Some(playbook.id);
    care.steps_done.clear();
    care.outcome = None;
    playbooks::save_care(u.tx(), case.id, &care)?;
    let data = PlaybookAttached { number: case.number, playbook_id: playbook.id, name: playbook.spec.name.clone() };
    u.emit(Some(case.id), Some(case.customer_id), actor, EventData::CasePlaybookAttached(data)).map(|_| ())
}

/// Installs the starter playbooks unless they were installed before; returns how many.
pub(crate) fn install_starter(u: &mut Unit<'_, '_>) -> opora_store::Result<usize> {
    if !playbooks::seed_once(u.tx(), "starter_playbooks")? {
        return Ok(0);
    }
    let specs = starter(u.config().care.language, &u.config().currency);
    for spec in &specs {
        playbooks::insert(u.tx(), spec)?;
    }
    Ok(specs.len())
}

impl App {
    pub fn playbooks(&self) -> Playbooks<'_> {
        Playbooks(self)
    }
}

fn of_case(conn: &mut dyn opora_store::db::Conn, case: CaseId) -> opora_store::Result<Option<CasePlaybook>> {
    let care = playbooks::care(conn, case)?;
    let Some(id) = care.playbook_id else { return Ok(None) };
    Ok(Some(CasePlaybook { playbook: playbooks::get(conn, id)?, steps_done: care.steps_done, outcome: care.outcome }))
}

/// Records a change of a case's checklist and says so in the timeline; a change that changes
/// nothing (a step ticked again) records nothing.
fn record(
    u: &mut Unit<'_, '_>,
    acting: ActingAgent,
    id: CaseId,
    change: impl FnOnce(&mut CaseCare, &Playbook) -> Result<PlaybookStep, DomainError>,
) -> opora_store::Result<CasePlaybook> {
    let case = editable(u, acting, id)?;
    let mut care = playbooks::care(u.conn(), id)?;
    let playbook = match care.playbook_id {
        Some(p) => playbooks::get(u.conn(), p)?,
        None => return Err(DomainError::Conflict("no_playbook").into()),
    };
    let before = care.clone();
    let mut data = change(&mut care, &playbook)?;
    if care != before {
        data.number = case.number;
        playbooks::save_care(u.tx(), id, &care)?;
        u.emit(Some(id), Some(case.customer_id), Actor::agent(acting.id), EventData::CasePlaybookStep(data))?;
    }
    Ok(CasePlaybook { playbook, steps_done: care.steps_done, outcome: care.outcome })
}

impl Playbooks<'_> {
    /// Installs the starter playbooks once, in the instance's language (a later start, or an
    /// admin who deleted them, gets none again).
    pub async fn install_starter(&self) -> Result<usize> {
        self.0.write(install_starter).await
    }

    pub async fn list(&self) -> Result<Vec<Playbook>> {
        self.0.read(playbooks::list).await
    }

    pub async fn create(&self, spec: PlaybookSpec) -> Result<Playbook> {
        spec.check().map_err(DomainError::Validation)?;
        self.0
            .write(move |u| {
                let id = playbooks::insert(u.tx(), &spec)?;
                playbooks::get(u.conn(), id)
            })
            .await
    }

    /// The playbook a case is worked by, if any.
    pub async fn of_case(&self, reader: ActingAgent, case: CaseId) -> Result<Option<CasePlaybook>> {
        let rules = self.0.config().access;
        self.0
            .read(move |conn| {
                seen(conn, reader, case, rules)?;
                of_case(conn, case)
            })
            .await
    }

    /// Puts a playbook on a case by hand (one a rating did not choose, or another one); the
    /// checklist starts afresh.
    pub async fn attach(&self, acting: ActingAgent, id: CaseId, playbook: PlaybookId) -> Result<CasePlaybook> {
        self.0
            .write(move |u| {
                let case = editable(u, acting, id)?;
                // The playbook named in the request must exist and be in use.
                let chosen = match playbooks::get(u.conn(), playbook) {
                    Ok(found) if found.spec.active => found,
                    Ok(_) | Err(StoreError::Domain(DomainError::NotFound(_))) => {
                        return Err(DomainError::field("playbook_id", "not_found").into());
                    }
                    Err(other) => return Err(other),
                };
                let care = playbooks::care(u.conn(), id)?;
                put_on(u, &case, &chosen, care, Actor::agent(acting.id))?;
                Ok(CasePlaybook { playbook: chosen, steps_done: Vec::new(), outcome: None })
            })
            .await
    }

    /// Ticks (or unticks) a step of the case's checklist.
    pub async fn step(&self, acting: ActingAgent, id: CaseId, step: usize, done: bool) -> Result<CasePlaybook> {
        self.0
            .write(move |u| {
                record(u, acting, id, |care, playbook| {
                    check_step(playbook.spec.checklist.len(), step).map_err(|e| DomainError::Validation(vec![e]))?;
                    care.steps_done.retain(|s| *s != step);
                    if done {
                        care.steps_done.push(step);
                        care.steps_done.sort_unstable();
                    }
                    let text = playbook.spec.checklist[step].clone();
                    Ok(PlaybookStep { number: 0, playbook_id: playbook.id, step: Some(step), text, done, outcome: None })
                })
            })
            .await
    }

    /// Records how the case worked by the playbook ended.
    pub async fn finish(&self, acting: ActingAgent, id: CaseId, outcome: Outcome) -> Result<CasePlaybook> {
        self.0
            .write(move |u| {
                record(u, acting, id, |care, playbook| {
                    care.outcome = Some(outcome);
                    let done = true;
                    Ok(PlaybookStep {
                        number: 0,
                        playbook_id: playbook.id,
                        step: None,
                        text: String::new(),
                        done,
                        outcome: Some(outcome.as_str().into()),
                    })
                })
            })
            .await
    }
}
