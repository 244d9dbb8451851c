//! Surveys: a supervisor sends closed questions to an audience; a job goes through it in
//! batches, each customer getting the survey on a record case over their own channel, in their
//! language (the page's link, and the answers as buttons when there is one question). Each
//! customer answers once; the results are counts per answer.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use opora_domain::agent::Language;
use opora_domain::case::ActingAgent;
use opora_domain::inbound::Party;
use opora_domain::outbound::Choice;
use opora_domain::survey::{Question, Survey, SurveySpec, check_answers, tally};
use opora_domain::{CustomerId, DomainError, SurveyId};
use opora_store::StoreError;
use opora_store::jobs::{Job, NewJob};
use opora_store::surveys::{self, Invitation};
use serde::{Deserialize, Serialize};

use super::choices::Press;
use super::{ask, language_of, public_link, say};
use crate::jobs::{JobHandler, JobPayload, Outcome, handler};
use crate::{App, Result, Unit};

/// Customers invited per run of the sending job (one transaction).
const BATCH: i64 = 100;

/// A survey with how many chose each answer of each question.
#[derive(Debug, Clone)]
pub struct Results {
    pub survey: Survey,
    pub counts: Vec<Vec<i64>>,
}

/// What the public page needs: the questions, in the customer's language.
#[derive(Debug, Clone)]
pub struct SurveyPage {
    pub title: String,
    pub questions: Vec<Question>,
    pub language: Language,
    pub answered: bool,
}

/// What an answer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    Recorded,
    /// Only the first answer counts.
    AlreadyAnswered,
}

pub struct Surveys<'a>(&'a App);

impl App {
    pub fn surveys(&self) -> Surveys<'_> {
        Surveys(self)
    }
}

impl Surveys<'_> {
    /// Creates a survey and starts sending it.
    pub async fn create(&self, acting: ActingAgent, spec: SurveySpec) -> Result<Survey> {
        self.0
            .write(move |u| {
                let id = surveys::insert(u.tx(), &spec, Some(acting.id))?;
                u.enqueue(SurveySend::next(id, CustomerId(0)))?;
                surveys::get(u.conn(), id)
            })
            .await
    }

    pub async fn list(&self) -> Result<Vec<Survey>> {
        self.0.read(|conn| surveys::list(conn, 200)).await
    }

    pub async fn results(&self, id: SurveyId) -> Result<Results> {
        self.0
            .read(move |conn| {
                let survey = surveys::get(conn, id)?;
                let counts = tally(&survey.spec.questions, &surveys::answers(conn, id)?);
                Ok(Results { survey, counts })
            })
            .await
    }

    /// The survey behind a page address; `None` for a token nobody was given.
    pub async fn page(&self, token: String) -> Result<Option<SurveyPage>> {
        let default = self.0.config().care.language;
        self.0
            .read(move |conn| {
                let Some(invitation) = surveys::invitation_by_token(conn, &token)? else { return Ok(None) };
                let survey = surveys::get(conn, invitation.survey_id)?;
                let language = super::customer_language(conn, invitation.customer_id, default)?;
                Ok(Some(SurveyPage {
                    title: survey.spec.title,
                    questions: survey.spec.questions,
                    language,
                    answered: invitation.answers.is_some(),
                }))
            })
            .await
    }

    /// Records the answers from the page: one option per question.
    pub async fn answer(&self, token: String, answers: Vec<Option<usize>>) -> Result<Answered> {
        self.0
            .write(move |u| {
                let invitation = surveys::invitation_by_token(u.conn(), &token)?.ok_or(DomainError::NotFound("survey"))?;
                answer(u, &invitation, &answers)
            })
            .await
    }
}

/// Records an invitation's answers, checked against its questions; the first answer counts.
pub(crate) fn answer(u: &mut Unit<'_, '_>, invitation: &Invitation, answers: &[Option<usize>]) -> opora_store::Result<Answered> {
    if invitation.answers.is_some() {
        return Ok(Answered::AlreadyAnswered);
    }
    let survey = surveys::get(u.conn(), invitation.survey_id)?;
    let chosen = check_answers(&survey.spec.questions, answers).map_err(DomainError::Validation)?;
    Ok(if surveys::answer(u.tx(), invitation.id, &chosen)? { Answered::Recorded } else { Answered::AlreadyAnswered })
}

/// An answer pressed in a messenger (a survey of one question).
pub(crate) fn press(u: &mut Unit<'_, '_>, token: &str, option: usize, sender: &Party) -> opora_store::Result<Option<Press>> {
    let Some(invitation) = surveys::invitation_by_token(u.conn(), token)? else { return Ok(None) };
    let customer = invitation.customer_id;
    if !super::choices::pressed_by(u, sender, customer)? {
        return Ok(Some(Press::noted(None, customer, "choice-not-yours")));
    }
    let note = match answer(u, &invitation, &[Some(option)]) {
        Ok(Answered::Recorded) => "choice-thanks",
        Ok(Answered::AlreadyAnswered) => "choice-already",
        Err(StoreError::Domain(DomainError::Validation(_))) => return Ok(None),
        Err(other) => return Err(other),
    };
    Ok(Some(Press::noted(invitation.case_id, customer, note)))
}

/// Sends a survey to one customer: a record case, the invitation, the message.
fn invite(u: &mut Unit<'_, '_>, survey: &Survey, customer: CustomerId) -> opora_store::Result<()> {
    let token = opora_store::auth::random_secret()?;
    if !surveys::invite(u.tx(), survey.id, customer, &token)? {
        return Ok(());
    }
    let language = language_of(u, customer)?;
    let subject = say(u, language, "survey-subject", &[("title", survey.spec.title.clone())]);
    let case = super::record_case(u, customer, subject)?;
    surveys::set_case(u.tx(), &token, case.id)?;
    let link = public_link(u, &format!("/survey/{token}"));
    let (text, choices) = match survey.spec.questions.as_slice() {
        // One question goes in the message itself, its answers as buttons where the channel
        // shows them.
        [question] => {
            let args = [("title", survey.spec.title.clone()), ("question", question.text.get(language).to_owned()), ("link", link)];
            let choices = question
                .options
                .iter()
                .enumerate()
                .map(|(index, option)| Choice {
                    label: option.get(language).to_owned(),
                    data: super::choices::survey_data(&token, index),
                    link: None,
                })
                .collect();
            (say(u, language, "survey-ask-one", &args), choices)
        }
        _ => (say(u, language, "survey-ask", &[("title", survey.spec.title.clone()), ("link", link)]), Vec::new()),
    };
    ask(u, &case, text, choices)?;
    Ok(())
}

/// Sends a survey to the next customers of its audience (`survey.send`), then queues itself
/// for the rest, so a large audience goes out in bounded transactions and a restart resumes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SurveySend {
    pub survey_id: SurveyId,
    pub after: CustomerId,
}

impl JobPayload for SurveySend {
    const KIND: &'static str = "survey.send";
}

impl SurveySend {
    fn next(survey: SurveyId, after: CustomerId) -> NewJob {
        SurveySend { survey_id: survey, after }.job().unique(format!("survey.send:{survey}:{after}")).attempts(8)
    }
}

fn send_batch(u: &mut Unit<'_, '_>, send: &SurveySend) -> opora_store::Result<()> {
    // One batch of a survey at a time: a run repeated on another node waits, then resumes.
    u.tx().serialize(&[format!("survey:{}", send.survey_id)])?;
    let survey = surveys::get(u.conn(), send.survey_id)?;
    // A run repeated after a crash starts where the last one that committed stopped.
    let after = surveys::sent_through(u.conn(), survey.id)?.max(send.after);
    let now = u.now();
    let step = surveys::audience_after(u.conn(), &survey.spec.audience, after, BATCH, now)?;
    for customer in &step.customers {
        invite(u, &survey, *customer)?;
    }
    surveys::advance(u.tx(), survey.id, step.next.unwrap_or(after), step.next.is_none())?;
    if let Some(next) = step.next {
        u.enqueue(SurveySend::next(survey.id, next))?;
    }
    Ok(())
}

pub(crate) fn job() -> Arc<dyn JobHandler> {
    fn run<'a>(app: &'a App, send: SurveySend, _: &'a Job) -> BoxFuture<'a, Outcome> {
        Box::pin(async move { super::job_outcome(app.write(move |u| send_batch(u, &send)).await) })
    }
    handler(run)
}
