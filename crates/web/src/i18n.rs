//! Translations: Fluent bundles for Russian and English, loaded from the binary. Every
//! user-facing string — error titles, field messages, UI — comes from here.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use opora_domain::agent::Language;
use serde_json::Value;

const RU: &[&str] = &[
    include_str!("../locales/ru/errors.ftl"),
    include_str!("../locales/ru/ui.ftl"),
    include_str!("../locales/ru/mail.ftl"),
    include_str!("../locales/ru/care.ftl"),
];
const EN: &[&str] = &[
    include_str!("../locales/en/errors.ftl"),
    include_str!("../locales/en/ui.ftl"),
    include_str!("../locales/en/mail.ftl"),
    include_str!("../locales/en/care.ftl"),
];

pub struct I18n {
    ru: FluentBundle<FluentResource>,
    en: FluentBundle<FluentResource>,
}

fn bundle(language: &str, sources: &[&str]) -> Result<FluentBundle<FluentResource>, String> {
    let id = language.parse().map_err(|e| format!("{language}: {e}"))?;
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // Isolation marks (U+2068/U+2069) would leak into HTML, e-mails and API messages.
    bundle.set_use_isolating(false);
    for source in sources {
        let resource = FluentResource::try_new((*source).to_owned()).map_err(|(_, errors)| format!("{language}: {errors:?}"))?;
        bundle.add_resource(resource).map_err(|errors| format!("{language}: {errors:?}"))?;
    }
    Ok(bundle)
}

impl I18n {
    pub fn load() -> Result<Self, String> {
        Ok(Self { ru: bundle("ru", RU)?, en: bundle("en", EN)? })
    }

    fn bundle(&self, language: Language) -> &FluentBundle<FluentResource> {
        match language {
            Language::Ru => &self.ru,
            Language::En => &self.en,
        }
    }

    pub fn has(&self, language: Language, key: &str) -> bool {
        self.bundle(language).has_message(key)
    }

    /// The message `key` in `language`, falling back to the other language, then to the key.
    pub fn text(&self, language: Language, key: &str, args: &[(&str, &Value)]) -> String {
        let fallback = if language == Language::Ru { Language::En } else { Language::Ru };
        for bundle in [self.bundle(language), self.bundle(fallback)] {
            let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
                continue;
            };
            let mut fluent_args = FluentArgs::new();
            for (name, value) in args {
                fluent_args.set(*name, to_fluent(value));
            }
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
            if !errors.is_empty() {
                tracing::warn!(key, ?errors, "translation has errors");
            }
            return text.into_owned();
        }
        key.to_owned()
    }

    pub fn t(&self, language: Language, key: &str) -> String {
        self.text(language, key, &[])
    }
}

fn to_fluent(value: &Value) -> FluentValue<'static> {
    match value {
        Value::Number(n) => n.as_f64().map_or_else(|| FluentValue::from(n.to_string()), FluentValue::from),
        Value::String(s) => FluentValue::from(s.clone()),
        other => FluentValue::from(other.to_string()),
    }
}

/// The preferred supported language of an `Accept-Language` header, by q-value.
pub fn from_accept_language(header: &str) -> Option<Language> {
    let mut best: Option<(f32, Language)> = None;
    for part in header.split(',') {
        let mut pieces = part.trim().split(';');
        let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = pieces.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or("");
        let Some(language) = Language::parse(primary) else {
            continue;
        };
        if q > 0.0 && best.is_none_or(|(best_q, _)| q > best_q) {
            best = Some((q, language));
        }
    }
    best.map(|(_, language)| language)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn russian_plurals_are_correct() {
        let i18n = I18n::load().expect("translations parse");
        let too_long = |n: i64| i18n.text(Language::Ru, "field-too_long", &[("max", &json!(n))]);
        assert_eq!(too_long(1), "Не длиннее 1 символа");
        assert_eq!(too_long(21), "Не длиннее 21 символа");
        assert_eq!(too_long(2), "Не длиннее 2 символов");
        assert_eq!(too_long(300), "Не длиннее 300 символов");
        assert_eq!(i18n.text(Language::En, "field-too_long", &[("max", &json!(300))]), "At most 300 characters");
    }

    #[test]
    fn both_languages_have_the_same_keys() {
        let keys = |source: &str| -> Vec<String> {
            source
                .lines()
                .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim().to_owned()))
                .filter(|k| !k.starts_with('#') && !k.starts_with(' '))
                .collect()
        };
        for (ru, en) in RU.iter().zip(EN) {
            assert_eq!(keys(ru), keys(en));
        }
    }

    #[test]
    fn accept_language_picks_the_best_supported() {
        assert_eq!(from_accept_language("en-US,en;q=0.9,ru;q=0.8"), Some(Language::En));
        assert_eq!(from_accept_language("de-DE, ru;q=0.5, en;q=0.4"), Some(Language::Ru));
        assert_eq!(from_accept_language("de"), None);
        assert_eq!(from_accept_language("ru;q=0, en;q=0.1"), Some(Language::En));
    }
}
