//! `/api/v1/surveys`: closed questions sent to an audience of customers over their own
//! channels, and the results (how many chose each answer).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use opora_app::care::surveys::Results;
use opora_domain::agent::Action;
use opora_domain::error::Errors;
use opora_domain::survey::{Audience, MAX_OPTIONS, OPTION_MAX_CHARS, Question, Survey, SurveySpec, Wording};
use opora_domain::validate::line;
use opora_domain::{CustomerId, FieldError, SurveyId, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{ApiJson, PathId};

/// A text for customers: one string for both languages, or each language's own.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(untagged)]
pub enum WordingInput {
    Same(String),
    Both {
        #[serde(default)]
        ru: String,
        #[serde(default)]
        en: String,
    },
}

impl WordingInput {
    fn check(&self, field: &str, max: usize, errors: &mut Errors) -> Wording {
        let wording = match self {
            WordingInput::Same(text) => Wording::same(text),
            WordingInput::Both { ru, en } => Wording { ru: ru.clone(), en: en.clone() },
        };
        Wording::check(field, &wording, max, errors)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionInput {
    #[schema(required)]
    pub text: Option<WordingInput>,
    /// The answers, in order (2–10); or give `scale`.
    #[schema(max_items = 10)]
    pub options: Option<Vec<WordingInput>>,
    /// A scale from 1 to this (2–10), instead of `options`.
    #[schema(minimum = 2, maximum = 10)]
    pub scale: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AudienceInput {
    /// `all`, `our_clients`, `ordered` (customers with an order in the last `days` days) or
    /// `customers` (by `ids`).
    #[schema(required, value_type = crate::docs::AudienceChoice)]
    pub kind: Option<String>,
    #[schema(minimum = 1, maximum = 3650)]
    pub days: Option<i64>,
    #[schema(max_items = 10000)]
    pub ids: Option<Vec<i64>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyInput {
    #[schema(required, min_length = 1, max_length = 200)]
    pub title: Option<String>,
    /// 1–10 closed questions.
    #[schema(required, min_items = 1, max_items = 10)]
    pub questions: Option<Vec<QuestionInput>>,
    #[schema(required)]
    pub audience: Option<AudienceInput>,
}

fn question(index: usize, input: &QuestionInput, errors: &mut Errors) -> Question {
    let at = |name: &str| format!("questions.{index}.{name}");
    let text = match &input.text {
        Some(text) => text.check(&at("text"), 500, errors),
        None => {
            errors.push(FieldError::required(at("text")));
            Wording::default()
        }
    };
    match (&input.options, input.scale) {
        (Some(_), Some(_)) | (None, None) => {
            errors.push(FieldError::new(at("options"), "options_or_scale"));
            Question { text, options: Vec::new() }
        }
        (None, Some(top)) if !(2..=MAX_OPTIONS as i64).contains(&top) => {
            errors.push(FieldError::new(at("scale"), "out_of_range").with("min", 2).with("max", MAX_OPTIONS as i64));
            Question { text, options: Vec::new() }
        }
        (None, Some(top)) => Question::scale(text, top as usize),
        (Some(options), None) => {
            let options =
                options.iter().enumerate().map(|(i, o)| o.check(&format!("{}.{i}", at("options")), OPTION_MAX_CHARS, errors)).collect();
            Question { text, options }
        }
    }
}

fn audience(input: Option<&AudienceInput>, errors: &mut Errors) -> Audience {
    let Some(input) = input else {
        errors.push(FieldError::required("audience"));
        return Audience::All;
    };
    match input.kind.as_deref() {
        Some("all") => Audience::All,
        Some("our_clients") => Audience::OurClients,
        Some("ordered") => Audience::Ordered { days: input.days.unwrap_or(30) },
        Some("customers") => Audience::Customers { ids: input.ids.iter().flatten().map(|id| CustomerId(*id)).collect() },
        None => {
            errors.push(FieldError::required("audience.kind"));
            Audience::All
        }
        Some(_) => {
            errors.push(FieldError::new("audience.kind", "invalid_choice").with("allowed", Audience::KINDS.join(", ")));
            Audience::All
        }
    }
}

/// A text in both languages.
#[derive(Debug, Serialize, ToSchema)]
pub struct WordingView {
    pub ru: String,
    pub en: String,
}

impl From<&Wording> for WordingView {
    fn from(w: &Wording) -> Self {
        Self { ru: w.ru.clone(), en: w.en.clone() }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyOptionView {
    pub label: WordingView,
    /// How many chose it.
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyQuestionView {
    pub text: WordingView,
    pub options: Vec<SurveyOptionView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyView {
    pub id: i64,
    pub title: String,
    /// `sending` while it goes out, then `sent`.
    pub status: String,
    #[schema(value_type = Object)]
    pub audience: serde_json::Value,
    /// Customers it went to, and how many answered.
    pub invited: i64,
    pub answered: i64,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    /// With the counts in `GET /api/v1/surveys/{id}`; the list gives each answer's count as 0.
    pub questions: Vec<SurveyQuestionView>,
}

/// The audience as shown: chosen customers by their number, not the whole list of ids.
fn audience_view(audience: &Audience) -> serde_json::Value {
    match audience {
        Audience::Customers { ids } => serde_json::json!({"kind": "customers", "count": ids.len()}),
        other => serde_json::to_value(other).unwrap_or_default(),
    }
}

fn view(survey: &Survey, counts: Option<&[Vec<i64>]>) -> SurveyView {
    let questions = survey
        .spec
        .questions
        .iter()
        .enumerate()
        .map(|(q, question)| SurveyQuestionView {
            text: WordingView::from(&question.text),
            options: question
                .options
                .iter()
                .enumerate()
                .map(|(o, label)| SurveyOptionView {
                    label: WordingView::from(label),
                    count: counts.and_then(|c| c.get(q)?.get(o).copied()).unwrap_or(0),
                })
                .collect(),
        })
        .collect();
    SurveyView {
        id: survey.id.0,
        title: survey.spec.title.clone(),
        status: survey.status.as_str().to_owned(),
        audience: audience_view(&survey.spec.audience),
        invited: survey.invited,
        answered: survey.answered,
        created_at: survey.created_at,
        questions,
    }
}

impl From<&Results> for SurveyView {
    fn from(results: &Results) -> Self {
        view(&results.survey, Some(&results.counts))
    }
}

/// Send a survey (supervisors and admins): each customer of the audience gets it on their own
/// channel, in their language — a link to its page, and the answers as buttons in Telegram and
/// WhatsApp when it has one question. It goes out in the background; `invited` grows.
#[utoipa::path(post, path = "/api/v1/surveys", tag = "surveys", request_body = SurveyInput,
    responses((status = 201, body = SurveyView), (status = 403, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<SurveyInput>,
) -> ApiResult<(StatusCode, Json<SurveyView>)> {
    caller.require(Action::RunSurveys)?;
    let mut errors = Errors::default();
    let title = errors.take(line("title", input.title.as_deref().unwrap_or(""), 1, 200)).unwrap_or_default();
    let questions: Vec<Question> = input.questions.iter().flatten().enumerate().map(|(i, q)| question(i, q, &mut errors)).collect();
    let spec = SurveySpec { title, questions, audience: audience(input.audience.as_ref(), &mut errors) };
    spec.check(&mut errors);
    errors.finish()?;
    let survey = state.app.surveys().create(caller.acting(), spec).await?;
    Ok((StatusCode::CREATED, Json(view(&survey, None))))
}

/// Surveys, newest first.
#[utoipa::path(get, path = "/api/v1/surveys", tag = "surveys", responses((status = 200, body = Vec<SurveyView>)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<SurveyView>>> {
    caller.require(Action::ReadCases)?;
    Ok(Json(state.app.surveys().list().await?.iter().map(|s| view(s, None)).collect()))
}

/// A survey with its results: how many chose each answer of each question.
#[utoipa::path(get, path = "/api/v1/surveys/{id}", tag = "surveys", params(("id" = i64, Path)),
    responses((status = 200, body = SurveyView), (status = 404, body = crate::docs::Problem)))]
pub async fn get(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<SurveyView>> {
    caller.require(Action::ReadCases)?;
    Ok(Json(SurveyView::from(&state.app.surveys().results(SurveyId(id)).await?)))
}
