//! HTML templates (minijinja): built into the binary, each overridable by a file of the same
//! name in the configured templates folder. Names ending in `.html` are auto-escaped.

use std::path::PathBuf;
use std::sync::Arc;

use minijinja::value::Kwargs;
use minijinja::{Environment, State};
use opora_domain::agent::Language;
use serde::Serialize;

use crate::error::ApiError;
use crate::i18n::I18n;

const EMBEDDED: &[(&str, &str)] = &[
    ("docs.html", include_str!("../templates/docs.html")),
    ("base.html", include_str!("../templates/ui/base.html")),
    ("macros.html", include_str!("../templates/ui/macros.html")),
    ("login.html", include_str!("../templates/ui/login.html")),
    ("inbox.html", include_str!("../templates/ui/inbox.html")),
    ("inbox_rows.html", include_str!("../templates/ui/inbox_rows.html")),
    ("case.html", include_str!("../templates/ui/case.html")),
    ("case_head.html", include_str!("../templates/ui/case_head.html")),
    ("case_thread.html", include_str!("../templates/ui/case_thread.html")),
    ("case_side.html", include_str!("../templates/ui/case_side.html")),
    ("admin.html", include_str!("../templates/ui/admin.html")),
    ("admin_mail.html", include_str!("../templates/ui/admin_mail.html")),
    ("admin_channels.html", include_str!("../templates/ui/admin_channels.html")),
    ("profile.html", include_str!("../templates/ui/profile.html")),
    ("approvals.html", include_str!("../templates/ui/approvals.html")),
    ("kudos.html", include_str!("../templates/ui/kudos.html")),
    ("surveys.html", include_str!("../templates/ui/surveys.html")),
    ("error.html", include_str!("../templates/ui/error.html")),
    ("demo_site.html", include_str!("../templates/ui/demo_site.html")),
    ("public_base.html", include_str!("../templates/public/public_base.html")),
    ("rate.html", include_str!("../templates/public/rate.html")),
    ("track.html", include_str!("../templates/public/track.html")),
    ("extra.html", include_str!("../templates/public/extra.html")),
    ("director.html", include_str!("../templates/public/director.html")),
    ("survey.html", include_str!("../templates/public/survey.html")),
];

pub struct Templates {
    env: Environment<'static>,
}

/// The language of the page being rendered: the `lang` variable every UI page sets.
fn page_language(state: &State) -> Language {
    state.lookup("lang").and_then(|v| v.as_str().and_then(Language::parse)).unwrap_or_default()
}

impl Templates {
    pub fn new(override_dir: Option<PathBuf>, i18n: Arc<I18n>) -> Self {
        let mut env = Environment::new();
        // `t("key", name=value)`: a Fluent message in the page's language.
        env.add_function("t", move |state: &State, key: &str, kwargs: Kwargs| -> Result<String, minijinja::Error> {
            let mut args = Vec::new();
            for name in kwargs.args() {
                let value: minijinja::Value = kwargs.get(name)?;
                let json = if let Some(n) = value.as_i64() { serde_json::json!(n) } else { serde_json::json!(value.to_string()) };
                args.push((name.to_owned(), json));
            }
            let borrowed: Vec<(&str, &serde_json::Value)> = args.iter().map(|(k, v)| (k.as_str(), v)).collect();
            Ok(i18n.text(page_language(state), key, &borrowed))
        });
        env.set_loader(move |name| {
            if let Some(dir) = &override_dir {
                let safe = !name.contains("..") && !name.starts_with('/');
                let path = dir.join(name);
                if safe && path.is_file() {
                    return std::fs::read_to_string(&path)
                        .map(Some)
                        .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, format!("{}: {e}", path.display())));
                }
            }
            Ok(EMBEDDED.iter().find(|(n, _)| *n == name).map(|(_, source)| (*source).to_owned()))
        });
        Self { env }
    }

    pub fn render<S: Serialize>(&self, name: &str, context: &S) -> Result<String, ApiError> {
        let template = self.env.get_template(name).map_err(|e| ApiError::internal(format!("template {name}: {e}")))?;
        template
            .render(minijinja::Value::from(minijinja::value::Serde(context)))
            .map_err(|e| ApiError::internal(format!("template {name}: {e:#}")))
    }
}
