//! Configuration, layered: built-in defaults → `opora.toml` → `OPORA_*` environment → command-line
//! flags. Every option has an environment name made from its path: `sla.urgent_hours` is
//! `OPORA_SLA_URGENT_HOURS`. The result is passed explicitly, never kept in a global.

use opora_domain::access::{AccessRules, EditPolicy};
use std::path::{Path, PathBuf};

use opora_app::channels::{MailboxInput, MailboxSpec, ServerInput};
use opora_domain::agent::Language;
use opora_domain::case::SlaPolicy;
use opora_domain::error::Errors;
use serde::{Deserialize, Serialize};
use toml::Value;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: String,
    /// `sqlite://PATH` (relative to `data_dir`) or `postgres://user:pass@host/db`.
    pub database_url: String,
    /// Where the SQLite database, attachments and backups live.
    pub data_dir: PathBuf,
    /// The address people open; used in links, in the addresses given to providers (an API
    /// channel's inbound URL) and to decide whether cookies are `Secure`.
    pub public_url: String,
    /// Language for people whose browser asks for neither Russian nor English.
    pub default_language: String,
    /// Currency of compensation budgets when none is given.
    pub currency: String,
    /// Log filter, e.g. `info` or `opora=debug,info`.
    pub log: String,
    /// A folder whose templates override the built-in ones, file by file (empty: none).
    pub templates_dir: String,
    pub database: DatabaseConfig,
    pub sessions: SessionConfig,
    pub attachments: AttachmentConfig,
    pub sla: SlaConfig,
    pub workers: WorkerConfig,
    pub webhooks: WebhookConfig,
    pub metrics: MetricsConfig,
    pub security: SecurityConfig,
    pub mail: MailConfig,
    pub conversations: ConversationsConfig,
    pub access: AccessConfig,
    pub care: CareConfig,
}

/// Orders, ratings and playbooks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CareConfig {
    /// The business's time zone as an offset from UTC (`+03:00`), for the times customers are told.
    pub utc_offset: String,
    /// The team that problem cases opened by low ratings go to (its name; empty: none).
    pub claims_team: String,
    /// Ask the customer to rate a case once it has stayed solved this long.
    pub rate_solved_cases: bool,
    pub rate_after_minutes: i64,
    /// Reminders of an unanswered rating request, at most, and the hours between them.
    pub rating_reminders: i64,
    pub remind_after_hours: i64,
    /// Every agent reply asks "did this help?" (👍/👎 buttons in the messengers, two links in
    /// e-mail): ratings of single replies, for the agent.
    pub rate_replies: bool,
    /// A customer with this many complaints within `complaint_window_days` joins "our clients"
    /// (0: only by hand); their cases start at high priority.
    pub our_clients_after_complaints: i64,
    pub complaint_window_days: i64,
    /// "Write to the director" (`/director`): the agent (by e-mail) who receives the letters, as
    /// complaints due within `director_hours`. Empty: the form is closed.
    pub director_email: String,
    pub director_hours: i64,
    /// Order types besides `default`: `[care.order_types.cleaning]` with `stages` (in order, the
    /// last one the completion; `cancelled` is always there) and the rating `reasons`.
    pub order_types: std::collections::BTreeMap<String, opora_domain::order::OrderType>,
}

impl Default for CareConfig {
    fn default() -> Self {
        Self {
            utc_offset: "+03:00".into(),
            claims_team: String::new(),
            rate_solved_cases: true,
            rate_after_minutes: 60,
            rating_reminders: 1,
            remind_after_hours: 24,
            rate_replies: false,
            our_clients_after_complaints: 2,
            complaint_window_days: 90,
            director_email: String::new(),
            director_hours: 24,
            order_types: Default::default(),
        }
    }
}

impl CareConfig {
    /// `+03:00`, `-05:30` or `Z` in minutes.
    fn offset_minutes(&self) -> Option<i32> {
        let text = self.utc_offset.trim();
        if text == "Z" || text == "+00:00" {
            return Some(0);
        }
        let (sign, rest) = match text.as_bytes().first() {
            Some(b'+') => (1, &text[1..]),
            Some(b'-') => (-1, &text[1..]),
            _ => return None,
        };
        let (hours, minutes) = rest.split_once(':')?;
        let (hours, minutes): (i32, i32) = (hours.parse().ok()?, minutes.parse().ok()?);
        ((0..=14).contains(&hours) && (0..60).contains(&minutes) && hours * 60 + minutes <= 14 * 60)
            .then_some(sign * (hours * 60 + minutes))
    }

    fn settings(&self, language: Language) -> opora_app::care::CareSettings {
        let mut order_types = self.order_types.clone();
        order_types.entry("default".into()).or_default();
        opora_app::care::CareSettings {
            language,
            utc_offset_minutes: self.offset_minutes().unwrap_or(180),
            order_types,
            claims_team: self.claims_team.clone(),
            rate_cases_after_minutes: self.rate_solved_cases.then_some(self.rate_after_minutes.max(0)),
            rating_reminders: self.rating_reminders.max(0),
            remind_after_minutes: self.remind_after_hours.max(1) * 60,
            rate_replies: self.rate_replies,
            our_clients_after_complaints: self.our_clients_after_complaints.max(0),
            complaint_window_days: self.complaint_window_days.max(1),
            director_email: self.director_email.trim().to_owned(),
            director_minutes: self.director_hours.max(1) * 60,
        }
    }

    fn check(&self) -> Result<(), String> {
        self.offset_minutes().ok_or_else(|| format!("care.utc_offset: {:?} is not like +03:00", self.utc_offset))?;
        for (name, order_type) in &self.order_types {
            order_type.check().map_err(|e| format!("care.order_types.{name}: {e}"))?;
        }
        Ok(())
    }
}

/// Who sees which cases and who may change them (each agent's own access, all cases or their
/// teams', is set on the agent).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessConfig {
    /// Who may change a case someone else owns: `anyone` (every agent who sees it) or
    /// `involved` (its owner, its collaborators, supervisors and admins).
    pub edit: EditPolicy,
    /// Whether agents limited to their teams also see cases given to no team yet.
    pub teams_see_unsorted: bool,
}

impl Default for AccessConfig {
    fn default() -> Self {
        let rules = AccessRules::default();
        Self { edit: rules.edit, teams_see_unsorted: rules.unsorted_visible }
    }
}

/// Who replies go to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConversationsConfig {
    /// People a case's conversation holds besides the customer, at most: past it, people copied
    /// on new mail are not added (replies go to everyone in the conversation).
    pub max_participants: usize,
    /// A reply to more people than this is sent only when the agent confirms it.
    pub confirm_recipients_over: usize,
}

impl Default for ConversationsConfig {
    fn default() -> Self {
        Self { max_participants: 20, confirm_recipients_over: 10 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// LMTP listener for the MTA in front of Opora: `127.0.0.1:2424`, `unix:/run/opora/lmtp.sock`,
    /// or empty for none.
    pub lmtp_listen: String,
    /// Our name in LMTP greetings and the default EHLO name.
    pub hostname: String,
    /// Largest message taken, in MiB; larger ones are refused (LMTP) or kept as headers only (IMAP).
    pub max_message_mb: usize,
    /// A reply without threading headers or a case token joins the same sender's case with the same
    /// subject when that case was active within this many days.
    pub subject_window_days: i64,
    /// Automatic acknowledgements per sender address per hour, at most.
    pub acknowledgements_per_hour: i64,
    /// How long an IMAP IDLE waits before it is renewed (servers drop it after 30 minutes).
    pub idle_minutes: u64,
    /// How often a server without IDLE is polled.
    pub poll_seconds: u64,
    /// Limit for each network step with a mail server.
    pub timeout_seconds: u64,
    /// Mailboxes kept as configured here (created or updated at start, by name).
    pub mailboxes: Vec<MailboxConfig>,
}

/// A mailbox described in the configuration file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailboxConfig {
    pub name: String,
    pub address: String,
    pub sender_name: String,
    pub imap_host: Option<String>,
    pub imap_port: Option<i64>,
    pub imap_security: Option<String>,
    pub imap_user: Option<String>,
    pub imap_password: Option<String>,
    pub imap_folder: Option<String>,
    pub imap_archive_folder: Option<String>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<i64>,
    pub smtp_security: Option<String>,
    pub smtp_user: Option<String>,
    pub smtp_password: Option<String>,
    pub accept_invalid_certs: bool,
    pub acknowledge: Option<bool>,
    pub plus_addressing: bool,
    pub default: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Connections: SQLite readers (there is one writer), or PostgreSQL connections per node.
    pub pool_size: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// A session ends after this many hours without activity.
    pub idle_hours: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttachmentConfig {
    pub max_size_mb: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlaConfig {
    /// Resolution targets per priority, in hours: a new case's default deadline.
    pub low_hours: f64,
    pub normal_hours: f64,
    pub high_hours: f64,
    pub urgent_hours: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerConfig {
    /// Jobs run at the same time.
    pub concurrency: usize,
    /// How often idle workers look for due jobs (they are also woken on commit).
    pub poll_interval_ms: u64,
    /// First retry delay; each further attempt waits four times longer, up to `retry_cap_ms`.
    pub retry_base_ms: i64,
    pub retry_cap_ms: i64,
    /// A claimed job whose worker vanished is picked up again after this long.
    pub lease_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// Allow webhook URLs on loopback and private networks (off: protects against SSRF).
    pub allow_internal: bool,
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve `/metrics` without credentials (for a Prometheus on a trusted network).
    pub public: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Sign-in attempts allowed per minute from one address.
    pub login_attempts_per_minute: u32,
    /// The keys stored secrets are sealed with (base64, comma-separated, the first seals); empty:
    /// the key file `secret.key` in the data folder, made on first start. Set it (the same on
    /// every node) when several nodes share a PostgreSQL database.
    pub secret_key: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://opora.db".into(),
            data_dir: PathBuf::from("data"),
            public_url: "http://127.0.0.1:8080".into(),
            default_language: "ru".into(),
            currency: "RUB".into(),
            log: "info".into(),
            templates_dir: String::new(),
            database: DatabaseConfig::default(),
            sessions: SessionConfig::default(),
            attachments: AttachmentConfig::default(),
            sla: SlaConfig::default(),
            workers: WorkerConfig::default(),
            webhooks: WebhookConfig::default(),
            metrics: MetricsConfig::default(),
            security: SecurityConfig::default(),
            mail: MailConfig::default(),
            conversations: ConversationsConfig::default(),
            access: AccessConfig::default(),
            care: CareConfig::default(),
        }
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            lmtp_listen: String::new(),
            hostname: "opora.localhost".into(),
            max_message_mb: 50,
            subject_window_days: 14,
            acknowledgements_per_hour: 3,
            idle_minutes: 25,
            poll_seconds: 60,
            timeout_seconds: 60,
            mailboxes: Vec::new(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self { pool_size: 8 }
    }
}
impl Default for SessionConfig {
    fn default() -> Self {
        Self { idle_hours: 12 }
    }
}
impl Default for AttachmentConfig {
    fn default() -> Self {
        Self { max_size_mb: 25 }
    }
}
impl Default for SlaConfig {
    fn default() -> Self {
        Self { low_hours: 72.0, normal_hours: 24.0, high_hours: 8.0, urgent_hours: 4.0 }
    }
}
impl Default for WorkerConfig {
    fn default() -> Self {
        Self { concurrency: 4, poll_interval_ms: 1000, retry_base_ms: 5000, retry_cap_ms: 3_600_000, lease_ms: 300_000 }
    }
}
impl Default for WebhookConfig {
    fn default() -> Self {
        Self { allow_internal: false, timeout_ms: 15_000 }
    }
}
impl Default for SecurityConfig {
    fn default() -> Self {
        Self { login_attempts_per_minute: 10, secret_key: String::new() }
    }
}

/// Values given on the command line; they win over everything else.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub data_dir: Option<PathBuf>,
}

impl Config {
    /// Builds the configuration from the layers. `file` is the explicit `--config`; without it
    /// `opora.toml` in the working directory is used when present.
    pub fn load(file: Option<&Path>, env: &[(String, String)], overrides: &Overrides) -> Result<Config, String> {
        let mut merged = Value::try_from(Config::default()).map_err(|e| e.to_string())?;
        let path = file.map(Path::to_owned).or_else(|| Some(PathBuf::from("opora.toml")).filter(|p| p.exists()));
        if let Some(path) = path {
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let layer: Value = text.parse::<toml::Table>().map(Value::Table).map_err(|e| format!("{}: {e}", path.display()))?;
            merge(&mut merged, layer);
        }
        apply_env(&mut merged, &mut Vec::new(), env)?;
        let config: Config = merged.try_into().map_err(|e: toml::de::Error| format!("configuration: {e}"))?;
        let config = Config {
            listen: overrides.listen.clone().unwrap_or(config.listen),
            database_url: overrides.database_url.clone().unwrap_or(config.database_url),
            data_dir: overrides.data_dir.clone().unwrap_or(config.data_dir),
            ..config
        };
        config.check()?;
        Ok(config)
    }

    /// Problems a running server would hit later, reported at start instead.
    pub fn check(&self) -> Result<(), String> {
        self.listen.parse::<std::net::SocketAddr>().map_err(|_| format!("listen: {:?} is not HOST:PORT", self.listen))?;
        opora_store::Location::parse(&self.database_url, &self.data_dir).map_err(|e| format!("database_url: {e}"))?;
        Language::parse(&self.default_language).ok_or_else(|| format!("default_language: {:?} is not ru or en", self.default_language))?;
        opora_domain::compensation::Money::parse_currency("currency", &self.currency)
            .map_err(|_| format!("currency: {:?} is not an ISO code", self.currency))?;
        let sla = [self.sla.low_hours, self.sla.normal_hours, self.sla.high_hours, self.sla.urgent_hours];
        if sla.iter().any(|h| !h.is_finite() || *h <= 0.0) {
            return Err("sla: every target must be a positive number of hours".into());
        }
        if self.workers.concurrency == 0 || self.database.pool_size == 0 {
            return Err("workers.concurrency and database.pool_size must be at least 1".into());
        }
        if self.mail.idle_minutes == 0 || self.mail.idle_minutes > 29 {
            return Err("mail.idle_minutes: between 1 and 29 (servers end IDLE after 30 minutes)".into());
        }
        if self.mail.max_message_mb == 0 || self.mail.poll_seconds == 0 || self.mail.timeout_seconds == 0 {
            return Err("mail.max_message_mb, mail.poll_seconds and mail.timeout_seconds must be at least 1".into());
        }
        for (index, mailbox) in self.mail.mailboxes.iter().enumerate() {
            mailbox_spec(mailbox).map_err(|e| format!("mail.mailboxes[{index}] ({}): {e}", mailbox.name))?;
        }
        self.care.check()
    }

    pub fn language(&self) -> Language {
        Language::parse(&self.default_language).unwrap_or_default()
    }

    pub fn sla(&self) -> SlaPolicy {
        let minutes = |hours: f64| (hours * 60.0).round() as i64;
        SlaPolicy {
            low_minutes: minutes(self.sla.low_hours),
            normal_minutes: minutes(self.sla.normal_hours),
            high_minutes: minutes(self.sla.high_hours),
            urgent_minutes: minutes(self.sla.urgent_hours),
        }
    }

    pub fn store(&self) -> opora_store::StoreConfig {
        opora_store::StoreConfig {
            url: self.database_url.clone(),
            data_dir: self.data_dir.clone(),
            pool_size: self.database.pool_size,
            secret_key: Some(self.security.secret_key.clone()).filter(|k| !k.trim().is_empty()),
        }
    }

    pub fn web(&self) -> opora_web::WebConfig {
        opora_web::WebConfig {
            default_language: self.language(),
            currency: self.currency.to_uppercase(),
            session_ttl_ms: self.sessions.idle_hours * 3_600_000,
            secure_cookies: self.public_url.starts_with("https://"),
            max_attachment_bytes: self.attachments.max_size_mb * 1024 * 1024,
            metrics_public: self.metrics.public,
            login_attempts_per_minute: self.security.login_attempts_per_minute,
            templates_dir: Some(PathBuf::from(&self.templates_dir)).filter(|p| !p.as_os_str().is_empty()),
            public_url: self.public_url.clone(),
        }
    }

    pub fn app(&self) -> opora_app::AppConfig {
        let workers = &self.workers;
        opora_app::AppConfig {
            sla: self.sla(),
            currency: self.currency.to_uppercase(),
            workers: opora_app::WorkerSettings {
                concurrency: workers.concurrency,
                poll_interval_ms: workers.poll_interval_ms,
                retry_base_ms: workers.retry_base_ms,
                retry_cap_ms: workers.retry_cap_ms,
                lease_ms: workers.lease_ms,
            },
            webhooks_allow_internal: self.webhooks.allow_internal,
            webhook_timeout_ms: self.webhooks.timeout_ms,
            channels: opora_channels::Settings {
                email: opora_channels::email::Config {
                    hostname: self.mail.hostname.clone(),
                    max_message_bytes: self.mail.max_message_mb << 20,
                    subject_window_ms: self.mail.subject_window_days * 86_400_000,
                    idle_minutes: self.mail.idle_minutes,
                    poll_seconds: self.mail.poll_seconds,
                    timeout_seconds: self.mail.timeout_seconds,
                },
                http_timeout: std::time::Duration::from_millis(self.webhooks.timeout_ms),
                allow_internal: self.webhooks.allow_internal,
                max_file_bytes: self.attachments.max_size_mb * 1024 * 1024,
                public_url: self.public_url.clone(),
            },
            acknowledgements_per_hour: self.mail.acknowledgements_per_hour,
            max_participants: self.conversations.max_participants,
            confirm_recipients_over: self.conversations.confirm_recipients_over,
            access: AccessRules { edit: self.access.edit, unsorted_visible: self.access.teams_see_unsorted },
            care: self.care.settings(self.language()),
        }
    }

    /// The effective configuration as TOML, with the database password hidden.
    pub fn describe(&self) -> String {
        let mut shown = self.clone();
        if let Some((scheme, rest)) = shown.database_url.split_once("://")
            && let Some((credentials, host)) = rest.split_once('@')
            && let Some((user, _)) = credentials.split_once(':')
        {
            shown.database_url = format!("{scheme}://{user}:***@{host}");
        }
        let hide = |secret: &mut String| {
            if !secret.is_empty() {
                *secret = "***".into();
            }
        };
        hide(&mut shown.security.secret_key);
        for mailbox in &mut shown.mail.mailboxes {
            for password in [&mut mailbox.imap_password, &mut mailbox.smtp_password].into_iter().flatten() {
                hide(password);
            }
        }
        toml::to_string_pretty(&shown).unwrap_or_default()
    }
}

fn server<'a>(
    host: &'a Option<String>,
    port: Option<i64>,
    security: &'a Option<String>,
    user: &'a Option<String>,
    password: &'a Option<String>,
) -> ServerInput<'a> {
    ServerInput { host: host.as_deref(), port, security: security.as_deref(), user: user.as_deref(), password: password.as_deref() }
}

/// Checks a configured mailbox the way the admin form does.
pub fn mailbox_spec(mailbox: &MailboxConfig) -> Result<MailboxSpec, String> {
    let input = MailboxInput {
        name: &mailbox.name,
        address: &mailbox.address,
        sender_name: &mailbox.sender_name,
        imap: server(&mailbox.imap_host, mailbox.imap_port, &mailbox.imap_security, &mailbox.imap_user, &mailbox.imap_password),
        imap_folder: mailbox.imap_folder.as_deref(),
        imap_archive_folder: mailbox.imap_archive_folder.as_deref(),
        smtp: server(&mailbox.smtp_host, mailbox.smtp_port, &mailbox.smtp_security, &mailbox.smtp_user, &mailbox.smtp_password),
        accept_invalid_certs: mailbox.accept_invalid_certs,
        acknowledge: mailbox.acknowledge.unwrap_or(true),
        plus_addressing: mailbox.plus_addressing,
        active: true,
        is_default: mailbox.default,
    };
    let mut errors = Errors::default();
    let spec = input.parse(&mut errors);
    match spec {
        Some(spec) if errors.is_empty() => Ok(spec),
        _ => Err(errors.0.iter().map(|e| format!("{}: {}", e.field, e.code)).collect::<Vec<_>>().join(", ")),
    }
}

fn merge(base: &mut Value, layer: Value) {
    match (base, layer) {
        (Value::Table(base), Value::Table(layer)) => {
            for (key, value) in layer {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, layer) => *base = layer,
    }
}

/// Overrides each known option from `OPORA_<PATH>`; unknown `OPORA_*` names are errors, so a
/// typo does not go unnoticed.
fn apply_env(value: &mut Value, path: &mut Vec<String>, env: &[(String, String)]) -> Result<(), String> {
    if path.is_empty() {
        let known = env_names(value, &mut Vec::new());
        // OPORA_CONFIG names the file; OPORA_TEST_* and OPORA_BENCH_* belong to the test tools.
        let ignored = |name: &str| name == "OPORA_CONFIG" || name.starts_with("OPORA_TEST_") || name.starts_with("OPORA_BENCH_");
        if let Some((name, _)) = env.iter().find(|(name, _)| name.starts_with("OPORA_") && !known.contains(name) && !ignored(name)) {
            return Err(format!("unknown setting {name} (known: {})", known.join(", ")));
        }
    }
    if let Value::Table(table) = value {
        for (key, child) in table.iter_mut() {
            path.push(key.clone());
            apply_env(child, path, env)?;
            path.pop();
        }
        return Ok(());
    }
    let name = env_name(path);
    if let Some((_, raw)) = env.iter().find(|(n, _)| *n == name) {
        *value = typed_like(value, raw).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

fn env_name(path: &[String]) -> String {
    format!("OPORA_{}", path.join("_").to_uppercase())
}

fn env_names(value: &Value, path: &mut Vec<String>) -> Vec<String> {
    match value {
        Value::Table(table) => table
            .iter()
            .flat_map(|(key, child)| {
                path.push(key.clone());
                let names = env_names(child, path);
                path.pop();
                names
            })
            .collect(),
        _ => vec![env_name(path)],
    }
}

/// Parses an environment value as the type the option already has.
fn typed_like(current: &Value, raw: &str) -> Result<Value, String> {
    Ok(match current {
        Value::Boolean(_) => Value::Boolean(matches!(raw.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")),
        Value::Integer(_) => Value::Integer(raw.trim().parse().map_err(|_| format!("{raw:?} is not an integer"))?),
        Value::Float(_) => Value::Float(raw.trim().parse().map_err(|_| format!("{raw:?} is not a number"))?),
        _ => Value::String(raw.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("opora.toml");
        std::fs::write(&file, "listen = \"0.0.0.0:9000\"\n[sla]\nurgent_hours = 2\n[workers]\nconcurrency = 2\n").expect("write");
        let config = Config::load(
            Some(&file),
            &env(&[("OPORA_WORKERS_CONCURRENCY", "6"), ("OPORA_METRICS_PUBLIC", "true"), ("PATH", "/bin")]),
            &Overrides { database_url: Some("postgres://u:secret@db/opora".into()), ..Default::default() },
        )
        .expect("valid");
        assert_eq!(config.listen, "0.0.0.0:9000", "file over default");
        assert_eq!(config.workers.concurrency, 6, "environment over file");
        assert!(config.metrics.public);
        assert_eq!(config.sla().urgent_minutes, 120);
        assert_eq!(config.database_url, "postgres://u:secret@db/opora", "flag over everything");
        assert!(config.describe().contains("postgres://u:***@db/opora"));
    }

    #[test]
    fn mistakes_are_reported() {
        assert!(Config::load(None, &env(&[("OPORA_LISTN", "x")]), &Overrides::default()).is_err_and(|e| e.contains("OPORA_LISTN")));
        assert!(
            Config::load(None, &env(&[("OPORA_DATABASE_URL", "mysql://x")]), &Overrides::default()).is_err_and(|e| e.contains("mysql"))
        );
        assert!(Config::load(None, &env(&[("OPORA_WORKERS_CONCURRENCY", "many")]), &Overrides::default()).is_err());
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "colour = 1\n").expect("write");
        assert!(Config::load(Some(&file), &[], &Overrides::default()).is_err_and(|e| e.contains("colour")));
    }
}
