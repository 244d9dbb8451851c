//! Threading rules every channel shares: the case token we put in outgoing subjects, and a
//! subject stripped of reply and forward prefixes in the languages our customers write.

/// `[#1042]` as we put it in outgoing subjects.
pub fn case_token(subject: &str) -> Option<i64> {
    let mut rest = subject;
    while let Some(start) = rest.find("[#") {
        let after = &rest[start + 2..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() && after[digits.len()..].starts_with(']') {
            return digits.parse().ok();
        }
        rest = after;
    }
    None
}

const PREFIXES: &[&str] = &[
    "re",
    "fw",
    "fwd",
    "aw",
    "wg",
    "sv",
    "vs",
    "tr",
    "antw",
    "antwort",
    "rif",
    "r",
    "odp",
    "отв",
    "ответ",
    "пересл",
    "переслано",
    "пер",
    "отв.",
    "ha",
];

/// Strips reply and forward prefixes (with counters like `Re[2]:` or `Re(3):`) and our case
/// token; says whether any prefix was there.
fn strip_prefixes(subject: &str) -> (String, bool) {
    let mut text = subject.trim().to_owned();
    if let Some(number) = case_token(&text) {
        text = text.replace(&format!("[#{number}]"), " ");
    }
    let mut stripped = false;
    loop {
        let trimmed = text.trim_start();
        // The colon is found in the original text: lower-casing may change byte offsets.
        let Some(colon) = trimmed.find(':') else { break };
        let label = trimmed[..colon].trim().to_lowercase();
        let head = label.split(['[', '(']).next().unwrap_or(&label).trim();
        let counter = label[head.len()..].trim();
        let counter_ok = counter.is_empty()
            || ((counter.starts_with('[') && counter.ends_with(']')) || (counter.starts_with('(') && counter.ends_with(')')))
                && counter.len() >= 2
                && counter[1..counter.len() - 1].chars().all(|c| c.is_ascii_digit());
        if PREFIXES.contains(&head) && counter_ok {
            text = trimmed[colon + 1..].to_owned();
            stripped = true;
        } else {
            break;
        }
    }
    (text, stripped)
}

/// A subject without `Re:`, `Fwd:`, `Отв:`, `Ответ:`, `Пересл:`, `AW:`, `SV:` and counters,
/// without our case token, lower-cased with whitespace collapsed.
pub fn normalize_subject(subject: &str) -> String {
    strip_prefixes(subject).0.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Whether the subject says the message answers or forwards another.
pub fn is_reply_subject(subject: &str) -> bool {
    strip_prefixes(subject).1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found() {
        assert_eq!(case_token("Re: Не приехал курьер [#1042]"), Some(1042));
        assert_eq!(case_token("Order [#12a] [#7]"), Some(7));
        assert_eq!(case_token("#1042 without brackets"), None);
    }

    #[test]
    fn prefixes_in_many_languages_are_stripped() {
        for subject in [
            "Re: Заказ 5512",
            "RE: Re: Заказ 5512",
            "Отв: Заказ 5512",
            "Ответ: Заказ  5512",
            "Пересл: Заказ 5512",
            "AW: Заказ 5512",
            "SV: Заказ 5512",
            "Re[2]: Заказ 5512",
            "Fwd: Re(3): Заказ 5512",
            "Re: Заказ 5512 [#1042]",
        ] {
            assert_eq!(normalize_subject(subject), "заказ 5512", "{subject}");
        }
        assert_eq!(normalize_subject("Reason: broken"), "reason: broken", "a word is not a prefix");
        assert_eq!(normalize_subject("Refund: please"), "refund: please");
        assert_eq!(normalize_subject("İİ: x"), "i̇i̇: x", "lower-casing that changes lengths does not panic");
        assert!(is_reply_subject("Отв: Заказ"));
        assert!(!is_reply_subject("Заказ: доставка"));
    }
}
