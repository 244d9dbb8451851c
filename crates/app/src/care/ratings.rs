//! Ratings: asked for when an order completes (at once) or a case is solved (a while later, if
//! it stays solved), reminded a bounded number of times, answered once on the public page. A
//! 1 or 2 opens a problem case for the claims team with the playbook that fits its reasons.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use opora_domain::agent::Language;
use opora_domain::case::{Case, Priority, Status};
use opora_domain::channel::Channel;
use opora_domain::event::{Actor, EventData, RatingReceived};
use opora_domain::inbound::Party;
use opora_domain::message::Body;
use opora_domain::order::{Order, OrderType};
use opora_domain::outbound::Choice;
use opora_domain::rating::{self, Rating};
use opora_domain::{AgentId, CaseId, DomainError, FieldError, RatingId};
use opora_store::jobs::{Job, NewJob};
use opora_store::playbooks::{self, CaseCare};
use opora_store::ratings::{self, NewRating};
use opora_store::{agents, cases, customers, orders};
use serde::{Deserialize, Serialize};

use super::choices::Press;
use super::problems::Problem;
use super::{ask, language_of, public_link, say};
use crate::jobs::{JobHandler, JobPayload, Outcome, handler};
use crate::listeners::Listener;
use crate::{App, Result, Unit};

/// A request for a rating as the customer gets it: the text with the page's link, and the
/// scores as buttons for the messengers that show them.
pub(crate) struct Request {
    pub text: String,
    pub choices: Vec<Choice>,
}

/// The scores as buttons: a press brings back `r:{token}:{score}` (see `care::choices`).
fn score_buttons(token: &str) -> Vec<Choice> {
    (1..=5).map(|score| Choice { label: format!("{score} ⭐"), data: super::choices::rating_data(token, score), link: None }).collect()
}

/// Asks for a rating of a completed order: the request, to go out with the news of the
/// completion (one message, so the two never arrive out of order); `None` when it was asked.
pub(crate) fn ask_about_order(u: &mut Unit<'_, '_>, order: &Order) -> opora_store::Result<Option<Request>> {
    if ratings::asked_about(u.conn(), Some(order.id), None)?.is_some() {
        return Ok(None);
    }
    let new = NewRating {
        customer_id: order.customer_id,
        order_id: Some(order.id),
        case_id: None,
        performer_id: order.performer.as_ref().map(|p| p.id),
        agent_id: None,
    };
    request(u, &new, &[("order", order.external_id.clone())], "rating-ask-order").map(Some)
}

/// "Did this help?" under an agent's reply, when `[care] rate_replies` asks for it and the reply
/// goes out through a channel: the rating (its reply named once stored, `ratings::set_message`)
/// and its two answers — buttons in the messengers, links in e-mail. Not reminded.
pub(crate) fn ask_about_reply(
    u: &mut Unit<'_, '_>,
    case: &Case,
    agent: AgentId,
    route: Option<&Channel>,
) -> opora_store::Result<Option<(RatingId, Vec<Choice>)>> {
    let sends = route.is_some_and(|c| u.drivers().of(c.kind).is_some_and(|d| !d.profile(c).receive_only));
    if !u.config().care.rate_replies || !sends {
        return Ok(None);
    }
    let new =
        NewRating { customer_id: case.customer_id, order_id: None, case_id: Some(case.id), performer_id: None, agent_id: Some(agent) };
    let rating = ratings::insert(u.tx(), &new, &opora_store::auth::random_secret()?)?;
    let language = language_of(u, case.customer_id)?;
    let choices = [(5, "reply-rate-good"), (1, "reply-rate-bad")]
        .map(|(score, label)| Choice {
            label: say(u, language, label, &[]),
            data: super::choices::rating_data(&rating.token, score),
            link: Some(public_link(u, &format!("/rate/{}?score={score}", rating.token))),
        })
        .to_vec();
    Ok(Some((rating.id, choices)))
}

/// Records a rating request and schedules its reminder; returns what asks.
fn request(u: &mut Unit<'_, '_>, new: &NewRating, args: &[(&str, String)], key: &str) -> opora_store::Result<Request> {
    let rating = ratings::insert(u.tx(), new, &opora_store::auth::random_secret()?)?;
    let language = language_of(u, new.customer_id)?;
    let mut args = args.to_vec();
    args.push(("link", public_link(u, &format!("/rate/{}", rating.token))));
    let text = say(u, language, key, &args);
    let care = &u.config().care;
    if care.rating_reminders > 0 {
        u.enqueue(RatingReminder::at(rating.id, u.now().plus_minutes(care.remind_after_minutes)))?;
    }
    Ok(Request { text, choices: score_buttons(&rating.token) })
}

/// The case a rating's messages go out on: the rated case, else its order's conversation.
fn case_of(u: &mut Unit<'_, '_>, rating: &Rating) -> opora_store::Result<Case> {
    match (rating.case_id, rating.order_id) {
        (Some(case), _) => cases::get(u.conn(), case),
        (None, Some(order)) => {
            let order = orders::get(u.conn(), order)?;
            super::orders::conversation(u, &order)
        }
        (None, None) => Err(DomainError::NotFound("case").into()),
    }
}

/// The customer's answer from the rating page.
#[derive(Debug, Clone)]
pub struct Answer {
    pub score: u8,
    pub reasons: Vec<String>,
    pub comment: String,
    pub favourite: bool,
}

/// What the page needs to ask: whom it is about and what may be ticked.
#[derive(Debug, Clone)]
pub struct RatingPage {
    pub rating: Rating,
    pub language: Language,
    pub reasons: Vec<String>,
    pub order: Option<String>,
    pub performer: Option<String>,
    pub agent: Option<String>,
    pub case_number: Option<i64>,
}

/// What an answer did.
#[derive(Debug, Clone, PartialEq)]
pub enum Answered {
    Recorded {
        problem_case: Option<CaseId>,
    },
    /// Only the first answer counts; this one changed nothing.
    AlreadyAnswered,
}

pub struct Ratings<'a>(&'a App);

impl App {
    pub fn ratings(&self) -> Ratings<'_> {
        Ratings(self)
    }
}

fn order_type_of(u: &mut dyn opora_store::db::Conn, types: &super::CareSettings, rating: &Rating) -> opora_store::Result<OrderType> {
    let name = match rating.order_id {
        Some(order) => orders::get(u, order)?.order_type,
        None => "default".into(),
    };
    Ok(types.type_of(&name))
}

impl Ratings<'_> {
    /// The rating behind a page address; `None` for a token nobody was given.
    pub async fn page(&self, token: String) -> Result<Option<RatingPage>> {
        let care = self.0.config().care.clone();
        self.0
            .read(move |conn| {
                let Some(rating) = ratings::by_token(conn, &token)? else { return Ok(None) };
                let customer = customers::get(conn, rating.customer_id)?;
                let order = rating.order_id.map(|o| orders::get(conn, o)).transpose()?;
                let agent = rating.agent_id.map(|a| agents::get(conn, a)).transpose()?;
                let case_number = rating.case_id.map(|c| cases::get(conn, c)).transpose()?.map(|c| c.number);
                // A single reply is rated without the service's reasons.
                let reasons = if rating.message_id.is_some() { Vec::new() } else { order_type_of(conn, &care, &rating)?.reasons };
                Ok(Some(RatingPage {
                    language: customer.language.unwrap_or(care.language),
                    reasons,
                    order: order.as_ref().map(|o| o.external_id.clone()),
                    performer: order.and_then(|o| o.performer.map(|p| p.name)),
                    agent: agent.map(|a| a.name),
                    case_number,
                    rating,
                }))
            })
            .await
    }

    /// Records the customer's answer; a low score opens a problem case.
    pub async fn answer(&self, token: String, answer: Answer) -> Result<Answered> {
        self.0.write(move |u| answer_rating(u, &token, answer)).await
    }

    /// A customer's answered ratings, newest first.
    pub async fn of_customer(&self, customer: opora_domain::CustomerId) -> Result<Vec<Rating>> {
        self.0.read(move |conn| ratings::of_customer(conn, customer, 10)).await
    }

    /// The kudos wall: 4s and 5s with a comment, newest first.
    pub async fn kudos(&self, limit: i64) -> Result<Vec<opora_store::ratings::Kudos>> {
        self.0.read(move |conn| ratings::kudos(conn, 4, limit)).await
    }

    /// Ratings asked since `since`: (asked, answered).
    pub async fn response(&self, since: opora_domain::Timestamp) -> Result<(i64, i64)> {
        self.0.read(move |conn| ratings::response(conn, since)).await
    }
}

pub(crate) fn answer_rating(u: &mut Unit<'_, '_>, token: &str, answer: Answer) -> opora_store::Result<Answered> {
    let rating = ratings::by_token(u.conn(), token)?.ok_or(DomainError::NotFound("rating"))?;
    if rating.score.is_some() {
        return Ok(Answered::AlreadyAnswered);
    }
    let care = u.config().care.clone();
    order_type_of(u.conn(), &care, &rating)?.check_reasons(&answer.reasons).map_err(|e| DomainError::Validation(vec![e]))?;
    if !(1..=5).contains(&answer.score) {
        return Err(DomainError::Validation(vec![FieldError::new("score", "invalid_score")]).into());
    }
    let comment: String = answer.comment.trim().chars().take(rating::COMMENT_MAX).collect();
    let favourite = answer.favourite && rating.performer_id.is_some();
    if !ratings::answer(u.tx(), rating.id, answer.score, &answer.reasons, &comment, favourite)? {
        return Ok(Answered::AlreadyAnswered);
    }
    if let (true, Some(performer)) = (favourite, rating.performer_id) {
        orders::add_favourite(u.tx(), rating.customer_id, performer)?;
    }
    let rated = ratings::get(u.conn(), rating.id)?;
    // A low rating of a service calls for a call back; of a single reply, it is the agent's
    // lesson (it shows on the case and in their figures).
    let problem = if rating::is_low(answer.score) && rated.message_id.is_none() { Some(open_problem(u, &rated)?) } else { None };
    let case = case_of(u, &rated)?;
    let order = rated.order_id.map(|o| orders::get(u.conn(), o)).transpose()?;
    let data = RatingReceived {
        rating_id: rated.id,
        score: answer.score,
        reasons: answer.reasons,
        comment,
        order: order.map(|o| o.external_id),
        performer_id: rated.performer_id,
        agent_id: rated.agent_id,
        problem_case_id: problem,
    };
    u.emit(Some(case.id), Some(rated.customer_id), Actor::customer(rated.customer_id), EventData::RatingReceived(data))?;
    Ok(Answered::Recorded { problem_case: problem })
}

/// A score pressed in a messenger: recorded like an answer from the page (without reasons),
/// and answered in the chat, where the customer can go on in their own words.
pub(crate) fn press(u: &mut Unit<'_, '_>, token: &str, score: u8, sender: &Party) -> opora_store::Result<Option<Press>> {
    let Some(rating) = ratings::by_token(u.conn(), token)?.filter(|_| (1..=5).contains(&score)) else { return Ok(None) };
    let customer = rating.customer_id;
    if !super::choices::pressed_by(u, sender, customer)? {
        return Ok(Some(Press::noted(None, customer, "choice-not-yours")));
    }
    let answer = Answer { score, reasons: Vec::new(), comment: String::new(), favourite: false };
    if answer_rating(u, token, answer)? == Answered::AlreadyAnswered {
        return Ok(Some(Press::noted(None, customer, "choice-already")));
    }
    let case = case_of(u, &rating)?;
    let language = language_of(u, customer)?;
    let key = match (rating.message_id, rating::is_low(score)) {
        (Some(_), _) => "reply-rate-thanks",
        (None, true) => "rating-sorry-chat",
        (None, false) => "rating-thanks-chat",
    };
    let text = say(u, language, key, &[("score", score.to_string())]);
    super::tell(u, &case, text)?;
    Ok(Some(Press { told: true, ..Press::noted(Some(case.id), customer, "choice-thanks") }))
}

/// Opens the problem case a low rating calls for: the claims team's, urgent for one of "our
/// clients", with the playbook that fits the ticked reasons (its deadline and compensation
/// limit), and the customer's own words as its first message.
fn open_problem(u: &mut Unit<'_, '_>, rating: &Rating) -> opora_store::Result<CaseId> {
    let score = rating.score.unwrap_or(1);
    let customer = customers::get(u.conn(), rating.customer_id)?;
    let language = customer.language.unwrap_or(u.config().care.language);
    let order = rating.order_id.map(|o| orders::get(u.conn(), o)).transpose()?;
    let rated = case_of(u, rating)?;
    let subject_key = if order.is_some() { "rating-problem-order" } else { "rating-problem-case" };
    let subject_args = [
        ("score", score.to_string()),
        ("order", order.as_ref().map(|o| o.external_id.clone()).unwrap_or_default()),
        ("number", rated.number.to_string()),
    ];
    let problem = Problem {
        subject: say(u, language, subject_key, &subject_args),
        customer_id: customer.id,
        priority: if customer.our_client { Priority::Urgent } else { Priority::High },
        about: &rated,
        category: None,
        reasons: &rating.reasons,
        assign: false,
        care: CaseCare { order_id: rating.order_id, rating_id: Some(rating.id), ..Default::default() },
        actor: Actor::customer(customer.id),
    };
    let case = super::problems::open(u, problem)?;
    ratings::set_problem_case(u.tx(), rating.id, case.id)?;
    let mut words = vec![say(u, language, "rating-problem-score", &[("score", score.to_string())])];
    if !rating.reasons.is_empty() {
        let reasons: Vec<String> = rating.reasons.iter().map(|r| say(u, language, &format!("rating-reason-{r}"), &[])).collect();
        words.push(say(u, language, "rating-problem-reasons", &[("reasons", reasons.join(", "))]));
    }
    if !rating.comment.is_empty() {
        words.push(say(u, language, "rating-problem-comment", &[("comment", rating.comment.clone())]));
    }
    let words = words.join("\n");
    crate::messages::relay_inbound(u, case.id, Body { text: words, html: None }, Vec::new(), None)?;
    Ok(case.id)
}

/// Asks for a rating of a solved case a while after it was solved (`rating.ask`), unless it was
/// reopened, already asked about, or is an order's conversation (the order is rated instead).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RatingAsk {
    pub case_id: CaseId,
}

impl JobPayload for RatingAsk {
    const KIND: &'static str = "rating.ask";
}

/// Schedules the request when a case is solved.
pub(crate) struct AskWhenSolved;

impl Listener for AskWhenSolved {
    fn name(&self) -> &'static str {
        "ratings"
    }

    fn on_event(&self, u: &mut Unit<'_, '_>, event: &opora_domain::event::Event) -> opora_store::Result<()> {
        let (EventData::CaseStatusChanged(change), Some(case), Some(after)) =
            (&event.data, event.case_id, u.config().care.rate_cases_after_minutes)
        else {
            return Ok(());
        };
        if change.to == Status::Solved && event.actor.kind != opora_domain::event::ActorKind::System {
            let job = RatingAsk { case_id: case }.job().unique(format!("rating.ask:{case}")).at(u.now().plus_minutes(after)).attempts(5);
            u.enqueue(job)?;
        }
        Ok(())
    }
}

fn ask_about_case(u: &mut Unit<'_, '_>, id: CaseId) -> opora_store::Result<()> {
    let case = cases::get(u.conn(), id)?;
    let care = playbooks::care(u.conn(), id)?;
    let order_conversation = match care.order_id {
        Some(order) => orders::get(u.conn(), order)?.case_id == Some(id),
        None => false,
    };
    if case.status != Status::Solved || order_conversation || ratings::asked_about(u.conn(), None, Some(id))?.is_some() {
        return Ok(());
    }
    let new = NewRating { customer_id: case.customer_id, order_id: None, case_id: Some(id), performer_id: None, agent_id: case.owner_id };
    let request = request(u, &new, &[("subject", case.subject.clone())], "rating-ask-case")?;
    ask(u, &case, request.text, request.choices)?;
    Ok(())
}

/// A reminder of an unanswered rating request (`rating.remind`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RatingReminder {
    pub rating_id: RatingId,
}

impl JobPayload for RatingReminder {
    const KIND: &'static str = "rating.remind";
}

impl RatingReminder {
    fn at(rating: RatingId, at: opora_domain::Timestamp) -> NewJob {
        RatingReminder { rating_id: rating }.job().unique(format!("rating.remind:{rating}:{}", at.millis())).at(at).attempts(5)
    }
}

fn remind(u: &mut Unit<'_, '_>, id: RatingId) -> opora_store::Result<()> {
    let rating = ratings::get(u.conn(), id)?;
    let care = u.config().care.clone();
    if rating.score.is_some() || rating.reminders >= care.rating_reminders {
        return Ok(());
    }
    let case = case_of(u, &rating)?;
    let language = language_of(u, rating.customer_id)?;
    let text = say(u, language, "rating-remind", &[("link", public_link(u, &format!("/rate/{}", rating.token)))]);
    ask(u, &case, text, score_buttons(&rating.token))?;
    ratings::reminded(u.tx(), id)?;
    if rating.reminders + 1 < care.rating_reminders {
        u.enqueue(RatingReminder::at(id, u.now().plus_minutes(care.remind_after_minutes)))?;
    }
    Ok(())
}

pub(crate) fn jobs() -> [Arc<dyn JobHandler>; 2] {
    fn run_ask<'a>(app: &'a App, ask: RatingAsk, _: &'a Job) -> BoxFuture<'a, Outcome> {
        Box::pin(async move { super::job_outcome(app.write(move |u| ask_about_case(u, ask.case_id)).await) })
    }
    fn run_remind<'a>(app: &'a App, reminder: RatingReminder, _: &'a Job) -> BoxFuture<'a, Outcome> {
        Box::pin(async move { super::job_outcome(app.write(move |u| remind(u, reminder.rating_id)).await) })
    }
    [handler(run_ask), handler(run_remind)]
}
