//! Buttons customers press under our messages in the messengers: a rating's score, a survey's
//! answer, yes or no to an extra service. The button carries what it answers and the capability
//! of the page that asks the same (`r:{token}:{score}`, `s:{token}:{option}`,
//! `e:{token}:{1|0}`); a press counts only from the customer it was sent to, and only once.

use opora_domain::channel::PayloadStatus;
use opora_domain::inbound::{ChoiceMade, Party};
use opora_domain::{CaseId, CustomerId, PayloadId};
use opora_store::{cases, customers, payloads};

use super::say;
use crate::Unit;
use crate::intake::Filed;

pub(crate) fn rating_data(token: &str, score: u8) -> String {
    format!("r:{token}:{score}")
}

pub(crate) fn survey_data(token: &str, option: usize) -> String {
    format!("s:{token}:{option}")
}

pub(crate) fn extra_data(token: &str, confirm: bool) -> String {
    format!("e:{token}:{}", u8::from(confirm))
}

/// What a button said, read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pressed<'a> {
    Rating(&'a str, u8),
    Survey(&'a str, usize),
    Extra(&'a str, bool),
}

fn read(data: &str) -> Option<Pressed<'_>> {
    let mut parts = data.splitn(3, ':');
    let (kind, token, value) = (parts.next()?, parts.next()?, parts.next()?);
    match kind {
        "r" => value.parse().ok().map(|score| Pressed::Rating(token, score)),
        "s" => value.parse().ok().map(|option| Pressed::Survey(token, option)),
        "e" => match value {
            "1" => Some(Pressed::Extra(token, true)),
            "0" => Some(Pressed::Extra(token, false)),
            _ => None,
        },
        _ => None,
    }
}

/// What a press came to: the case it concerns, what the customer is shown (a text key), and
/// whether the customer was already answered in the chat.
pub(crate) struct Press {
    pub case: Option<CaseId>,
    pub customer: Option<CustomerId>,
    pub note: &'static str,
    pub told: bool,
}

impl Press {
    pub fn noted(case: Option<CaseId>, customer: CustomerId, note: &'static str) -> Self {
        Press { case, customer: Some(customer), note, told: false }
    }
}

/// Whether whoever pressed is `customer` (a button forwarded to someone else, or pressed in a
/// group, answers nothing).
pub(crate) fn pressed_by(u: &mut Unit<'_, '_>, sender: &Party, customer: CustomerId) -> opora_store::Result<bool> {
    // The customer asked may have been merged into another record since.
    let customer = customers::get(u.conn(), customer)?.id;
    for (kind, value) in &sender.identities {
        if customers::find_by_identity(u.conn(), *kind, value)? == Some(customer) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Files a press: the answer recorded where the button's token points, the payload finished.
pub(crate) fn file(u: &mut Unit<'_, '_>, payload: PayloadId, choice: ChoiceMade) -> opora_store::Result<Filed> {
    let press = match read(&choice.data) {
        Some(Pressed::Rating(token, score)) => super::ratings::press(u, token, score, &choice.sender)?,
        Some(Pressed::Survey(token, option)) => super::surveys::press(u, token, option, &choice.sender)?,
        Some(Pressed::Extra(token, confirm)) => super::extras::press(u, token, confirm, &choice.sender)?,
        None => None,
    };
    let press = press.unwrap_or(Press { case: None, customer: None, note: "choice-unknown", told: false });
    let (status, why) = match press.note {
        "choice-thanks" => (PayloadStatus::Processed, None),
        other => (PayloadStatus::Ignored, Some(other.trim_start_matches("choice-"))),
    };
    payloads::finish(u.tx(), payload, status, why, Some(&choice.key), press.case, None)?;
    let language = match press.customer {
        Some(customer) => super::language_of(u, customer)?,
        None => u.config().care.language,
    };
    let note = say(u, language, press.note, &[]);
    // A provider without a way to answer the press itself (WhatsApp) hears back in the chat.
    if let (None, Some(case), false) = (&choice.handle, press.case, press.told) {
        let case = cases::get(u.conn(), case)?;
        super::tell(u, &case, note.clone())?;
    }
    Ok(Filed::Choice { case: press.case, answer: choice.handle.map(|handle| (handle, note)) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_read_back_what_they_carry() {
        let token = "Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg";
        for data in [rating_data(token, 2), survey_data(token, 9), extra_data(token, false)] {
            assert!(data.len() <= opora_domain::outbound::Choice::MAX_DATA, "{data}");
        }
        assert_eq!(read(&rating_data(token, 2)), Some(Pressed::Rating(token, 2)));
        assert_eq!(read(&survey_data(token, 9)), Some(Pressed::Survey(token, 9)));
        assert_eq!(read(&extra_data(token, true)), Some(Pressed::Extra(token, true)));
        for bad in ["", "r:x", "r:x:six", "e:x:2", "q:x:1", "s:x:-1"] {
            assert_eq!(read(bad), None, "{bad}");
        }
    }
}
