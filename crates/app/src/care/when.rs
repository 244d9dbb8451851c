//! Times as a customer reads them: "в 14:30" today, "8 декабря в 14:30" another day, in the
//! business's time zone.

use opora_domain::Timestamp;
use opora_domain::agent::Language;
use time::UtcOffset;

const MONTHS_RU: [&str; 12] =
    ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"];
const MONTHS_EN: [&str; 12] =
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/// `at` in the business's zone, and the name of its month in `language`.
fn local(at: Timestamp, offset_minutes: i32, language: Language) -> (time::OffsetDateTime, &'static str) {
    let offset = UtcOffset::from_whole_seconds(offset_minutes * 60).unwrap_or(UtcOffset::UTC);
    let at = at.to_datetime().to_offset(offset);
    let months = if language == Language::Ru { MONTHS_RU } else { MONTHS_EN };
    (at, months[usize::from(u8::from(at.month())) - 1])
}

/// `at` as the customer should read it, seen from `now`.
pub fn customer_time(at: Timestamp, now: Timestamp, offset_minutes: i32, language: Language) -> String {
    let (at, month) = local(at, offset_minutes, language);
    let (today, _) = local(now, offset_minutes, language);
    let clock = format!("{:02}:{:02}", at.hour(), at.minute());
    match (language, at.date() == today.date()) {
        (Language::Ru, true) => format!("в {clock}"),
        (Language::En, true) => format!("at {clock}"),
        (Language::Ru, false) => format!("{} {month} в {clock}", at.day()),
        (Language::En, false) => format!("on {} {month} at {clock}", at.day()),
    }
}

/// When something happened, as a customer reads it: "8 декабря, 14:30".
pub fn customer_stamp(at: Timestamp, offset_minutes: i32, language: Language) -> String {
    let (at, month) = local(at, offset_minutes, language);
    format!("{} {month}, {:02}:{:02}", at.day(), at.hour(), at.minute())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_the_clock_alone_another_day_names_the_date() {
        let now = Timestamp::parse("2026-12-07T08:00:00Z").expect("time");
        let eta = Timestamp::parse("2026-12-07T11:30:00Z").expect("time");
        assert_eq!(customer_time(eta, now, 180, Language::Ru), "в 14:30");
        let tomorrow = Timestamp::parse("2026-12-08T06:05:00Z").expect("time");
        assert_eq!(customer_time(tomorrow, now, 180, Language::Ru), "8 декабря в 09:05");
        assert_eq!(customer_time(tomorrow, now, 180, Language::En), "on 8 December at 09:05");
        // Past midnight in Moscow, still the same day in UTC.
        let late = Timestamp::parse("2026-12-07T21:30:00Z").expect("time");
        assert_eq!(customer_time(late, now, 180, Language::Ru), "8 декабря в 00:30");
        assert_eq!(customer_stamp(late, 180, Language::En), "8 December, 00:30");
    }
}
