//! The problem cases the care loop opens by itself — after a low rating, or trouble with an
//! order: for the claims team, with the playbook that fits (its deadline and compensation
//! limit), recorded in `case_care` and in the timeline.

use opora_domain::case::{Case, CaseKind, Priority, Status};
use opora_domain::event::Actor;
use opora_domain::playbook::choose;
use opora_domain::{CustomerId, TeamId};
use opora_store::agents;
use opora_store::playbooks::{self, CaseCare};

use crate::Unit;
use crate::cases::{NewCaseSpec, open_case};

/// What a problem case is about; the rest is decided here.
pub(crate) struct Problem<'a> {
    pub subject: String,
    pub customer_id: CustomerId,
    pub priority: Priority,
    /// The conversation it continues: replies leave through its channel.
    pub about: &'a Case,
    /// Chooses the playbook with `reasons`; also the case's category.
    pub category: Option<&'static str>,
    pub reasons: &'a [String],
    /// Give it to the least busy member of the claims team, not only to the team.
    pub assign: bool,
    /// The order and rating it comes from.
    pub care: CaseCare,
    pub actor: Actor,
}

/// The team named `[care] claims_team`, if it exists.
fn claims_team(u: &mut Unit<'_, '_>) -> opora_store::Result<Option<TeamId>> {
    let claims = u.config().care.claims_team.trim().to_lowercase();
    if claims.is_empty() {
        return Ok(None);
    }
    Ok(agents::list_teams(u.conn())?.into_iter().find(|t| t.name.to_lowercase() == claims).map(|t| t.id))
}

pub(crate) fn open(u: &mut Unit<'_, '_>, problem: Problem<'_>) -> opora_store::Result<Case> {
    let all = playbooks::list(u.conn())?;
    let playbook = choose(&all, CaseKind::Problem, problem.category, problem.reasons).cloned();
    let team = claims_team(u)?;
    let owner = match team.filter(|_| problem.assign) {
        Some(team) => {
            let active: Vec<&str> = Status::ALL.iter().filter(|s| s.is_active()).map(|s| s.as_str()).collect();
            agents::least_busy_member(u.conn(), team, &active)?
        }
        None => None,
    };
    let spec = NewCaseSpec {
        subject: problem.subject,
        customer_id: problem.customer_id,
        kind: CaseKind::Problem,
        priority: problem.priority,
        channel_kind: problem.about.channel_kind,
        channel_id: problem.about.channel_id,
        team_id: team,
        owner_id: owner,
        category: problem.category.map(str::to_owned),
        tags: Vec::new(),
        custom_fields: Default::default(),
        deadline_at: playbook.as_ref().map(|p| u.now().plus_minutes(p.spec.deadline_minutes)),
        budget: playbook.as_ref().and_then(|p| p.spec.compensation_limit.clone()),
    };
    let case = open_case(u, spec, problem.actor)?;
    match &playbook {
        Some(playbook) => super::playbooks::put_on(u, &case, playbook, problem.care, Actor::SYSTEM)?,
        None => playbooks::save_care(u.tx(), case.id, &problem.care)?,
    }
    Ok(case)
}
