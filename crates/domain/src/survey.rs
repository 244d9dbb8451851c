//! Surveys with closed questions: "A or B", or a scale. A supervisor sends one to an audience;
//! each customer gets it on their own channel, in their language (a link to a page, and buttons
//! in the messengers when it has a single question), and answers once.

use serde::{Deserialize, Serialize};

use crate::agent::Language;
use crate::error::{Errors, FieldError};
use crate::ids::{CustomerId, SurveyId};
use crate::time::Timestamp;
use crate::validate::line;

/// A text in both of the product's languages; one left empty reads as the other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Wording {
    #[serde(default)]
    pub ru: String,
    #[serde(default)]
    pub en: String,
}

impl Wording {
    pub fn same(text: &str) -> Self {
        Self { ru: text.to_owned(), en: text.to_owned() }
    }

    pub fn get(&self, language: Language) -> &str {
        let (mine, other) = match language {
            Language::Ru => (&self.ru, &self.en),
            Language::En => (&self.en, &self.ru),
        };
        if mine.is_empty() { other } else { mine }
    }

    /// Checks both texts (`max` characters, one line) and that at least one is given.
    pub fn check(field: &str, wording: &Wording, max: usize, errors: &mut Errors) -> Wording {
        if wording.ru.trim().is_empty() && wording.en.trim().is_empty() {
            errors.push(FieldError::required(field));
            return Wording::default();
        }
        let mut one = |language: &str, value: &str| match value.trim() {
            "" => String::new(),
            value => errors.take(line(&format!("{field}.{language}"), value, 1, max)).unwrap_or_default(),
        };
        Wording { ru: one("ru", &wording.ru), en: one("en", &wording.en) }
    }
}

/// A closed question and its answers, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub text: Wording,
    pub options: Vec<Wording>,
}

/// A question has 2 to 10 answers; a scale runs from 1 to 2…10.
pub const MAX_OPTIONS: usize = 10;
pub const MAX_QUESTIONS: usize = 10;
/// An answer's label fits a messenger's button.
pub const OPTION_MAX_CHARS: usize = 40;

impl Question {
    /// A scale from 1 to `top`.
    pub fn scale(text: Wording, top: usize) -> Self {
        Self { text, options: (1..=top).map(|n| Wording::same(&n.to_string())).collect() }
    }
}

/// Who a survey goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Audience {
    /// Every customer.
    All,
    /// The "our clients" list.
    OurClients,
    /// Customers with an order made in the last `days` days.
    Ordered { days: i64 },
    /// Customers chosen by id.
    Customers { ids: Vec<CustomerId> },
}

impl Audience {
    pub const KINDS: [&str; 4] = ["all", "our_clients", "ordered", "customers"];
    /// The most customers chosen by id in one survey.
    pub const MAX_CHOSEN: usize = 10_000;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveySpec {
    pub title: String,
    pub questions: Vec<Question>,
    pub audience: Audience,
}

impl SurveySpec {
    /// Checks the parts the types cannot: how many questions and answers.
    pub fn check(&self, errors: &mut Errors) {
        if self.questions.is_empty() || self.questions.len() > MAX_QUESTIONS {
            errors.push(FieldError::new("questions", "out_of_range").with("min", 1).with("max", MAX_QUESTIONS as i64));
        }
        for (index, question) in self.questions.iter().enumerate() {
            if !(2..=MAX_OPTIONS).contains(&question.options.len()) {
                let field = format!("questions.{index}.options");
                errors.push(FieldError::new(field, "out_of_range").with("min", 2).with("max", MAX_OPTIONS as i64));
            }
        }
        match &self.audience {
            Audience::Ordered { days } if !(1..=3650).contains(days) => {
                errors.push(FieldError::new("audience.days", "out_of_range").with("min", 1).with("max", 3650));
            }
            Audience::Customers { ids } if ids.is_empty() || ids.len() > Audience::MAX_CHOSEN => {
                let error = FieldError::new("audience.ids", "out_of_range").with("min", 1).with("max", Audience::MAX_CHOSEN as i64);
                errors.push(error);
            }
            _ => {}
        }
    }
}

crate::string_enum! {
    /// Whether a survey is still going out.
    pub enum SurveyStatus {
        Sending => "sending",
        Sent => "sent",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Survey {
    pub id: SurveyId,
    pub spec: SurveySpec,
    pub status: SurveyStatus,
    pub created_at: Timestamp,
    /// Customers it went to, and how many answered.
    pub invited: i64,
    pub answered: i64,
}

/// One customer's answers: the chosen option per question.
pub type Answers = Vec<usize>;

/// Checks a customer's answers against the questions: one valid option for each.
pub fn check_answers(questions: &[Question], answers: &[Option<usize>]) -> Result<Answers, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut chosen = Vec::with_capacity(questions.len());
    for (index, question) in questions.iter().enumerate() {
        match answers.get(index).copied().flatten() {
            Some(option) if option < question.options.len() => chosen.push(option),
            Some(_) => errors.push(FieldError::new(format!("q{index}"), "invalid_choice")),
            None => errors.push(FieldError::required(format!("q{index}"))),
        }
    }
    if errors.is_empty() { Ok(chosen) } else { Err(errors) }
}

/// How many chose each option of each question.
pub fn tally(questions: &[Question], answered: &[Answers]) -> Vec<Vec<i64>> {
    let mut counts: Vec<Vec<i64>> = questions.iter().map(|q| vec![0; q.options.len()]).collect();
    for answers in answered {
        for (question, option) in answers.iter().enumerate() {
            if let Some(count) = counts.get_mut(question).and_then(|c| c.get_mut(*option)) {
                *count += 1;
            }
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yes_no() -> Question {
        Question {
            text: Wording::same("Удобно?"), options: vec![Wording::same("Да"), Wording { ru: "Нет".into(), en: String::new() }]
        }
    }

    #[test]
    fn a_missing_language_reads_as_the_other() {
        let question = yes_no();
        assert_eq!(question.options[1].get(Language::En), "Нет");
        assert_eq!(Question::scale(Wording::same("?"), 5).options[4].get(Language::Ru), "5");
    }

    #[test]
    fn answers_are_one_valid_option_per_question() {
        let questions = [yes_no(), Question::scale(Wording::same("Оценка"), 5)];
        assert_eq!(check_answers(&questions, &[Some(1), Some(4)]), Ok(vec![1, 4]));
        let errors = check_answers(&questions, &[Some(2), None]).expect_err("bad");
        assert_eq!((errors[0].field.as_str(), errors[0].code), ("q0", "invalid_choice"));
        assert_eq!((errors[1].field.as_str(), errors[1].code), ("q1", "required"));
        assert_eq!(tally(&questions, &[vec![0, 4], vec![0, 3], vec![1, 4]]), vec![vec![2, 1], vec![0, 0, 0, 1, 2]]);
    }

    #[test]
    fn a_survey_needs_questions_with_answers_and_a_sane_audience() {
        let mut errors = Errors::default();
        let lone = Question { text: Wording::same("?"), options: vec![Wording::same("Да")] };
        SurveySpec { title: "t".into(), questions: vec![lone], audience: Audience::Ordered { days: 0 } }.check(&mut errors);
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["questions.0.options", "audience.days"]);
    }
}
