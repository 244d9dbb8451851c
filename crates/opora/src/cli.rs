//! The `opora` command line: serve, migrate, agents, tokens, demo data, backups, configuration.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use opora_app::App;
use opora_app::staff::NewAgent;
use opora_domain::access::CaseAccess;
use opora_domain::agent::{Language, Role};
use opora_domain::validate::{EmailAddress, line};
use opora_store::migrate;
use opora_store::secrets::{KEY_FILE, RETIRED_FILE};

use crate::config::{Config, Overrides};
use crate::server;

#[derive(Debug, Parser)]
#[command(name = "opora", version, about = "Opora — customer care for service businesses")]
pub struct Cli {
    /// Configuration file (default: ./opora.toml when present). Also OPORA_CONFIG.
    #[arg(long, global = true, env = "OPORA_CONFIG")]
    pub config: Option<PathBuf>,
    /// HOST:PORT to listen on (overrides OPORA_LISTEN and the file).
    #[arg(long, global = true)]
    pub listen: Option<String>,
    /// sqlite://PATH or postgres://… (overrides OPORA_DATABASE_URL and the file).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Folder for the SQLite database, attachments and backups.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server and its background workers.
    Serve {
        /// Load the demo data first when the database has no agents yet.
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Manage agents.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Load the demo data (customers, cases in every state, agents, teams) into an empty database.
    Demo {
        /// Load even if the database already has agents.
        #[arg(long)]
        force: bool,
    },
    /// Copy the SQLite database to a file while the server keeps running.
    Backup {
        /// Target file (default: DATA_DIR/backups/opora-YYYYMMDD-HHMMSS.db).
        #[arg(long)]
        to: Option<PathBuf>,
    },
    /// Print the effective configuration and check it.
    CheckConfig,
    /// E-mail: take a message from an MTA's pipe.
    #[command(subcommand)]
    Mail(MailCommand),
    /// The key stored secrets (mailbox passwords, signing secrets) are sealed with.
    #[command(subcommand)]
    Secrets(SecretsCommand),
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Make a new key and seal every stored secret with it. Stop the server first (a running
    /// server knows only the key it started with). The old key moves to `secret.key.retired`,
    /// which still opens backups made before.
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Store one message read from standard input (as an MTA's pipe transport delivers it); the
    /// server files it within a second. Exit status 75 (EX_TEMPFAIL) tells the MTA to try again
    /// later; nothing is lost.
    Ingest {
        /// The mailbox it arrived at (default: the one owning a --recipient, else the default).
        #[arg(long)]
        mailbox: Option<String>,
        /// The envelope recipient (Postfix: ${recipient}); repeatable. Plus addresses thread replies.
        #[arg(long)]
        recipient: Vec<String>,
    },
}

/// A failure with the exit status an MTA understands (sysexits.h).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ExitStatus {
    pub code: u8,
    pub message: String,
}

const EX_DATAERR: u8 = 65;
const EX_TEMPFAIL: u8 = 75;

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Add an agent; prints the generated password unless one is given.
    Add(AgentAdd),
}

#[derive(Debug, Args)]
pub struct AgentAdd {
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub name: String,
    /// viewer, agent, supervisor or admin.
    #[arg(long, default_value = "agent")]
    pub role: String,
    /// ru or en.
    #[arg(long, default_value = "ru")]
    pub language: String,
    /// Use this password instead of a generated one.
    #[arg(long)]
    pub password: Option<String>,
    /// Which cases the agent sees: all, or teams (their teams' and their own).
    #[arg(long, default_value = "all")]
    pub case_access: String,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for an agent; prints the token.
    Create {
        /// The agent's e-mail.
        #[arg(long)]
        agent: String,
        /// What the token is for.
        #[arg(long)]
        name: String,
        /// A lower role than the agent's (e.g. viewer).
        #[arg(long)]
        role: Option<String>,
    },
}

impl Cli {
    pub fn config(&self) -> anyhow::Result<Config> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let overrides = Overrides { listen: self.listen.clone(), database_url: self.database_url.clone(), data_dir: self.data_dir.clone() };
        Config::load(self.config.as_deref(), &env, &overrides).map_err(|e| anyhow::anyhow!(e))
    }
}

pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { demo } => serve(&config, demo).await,
        Command::Migrate => {
            let store = server::open_store(&config).await?;
            let version = store.read(|conn| Ok(conn.int("select coalesce(max(version), 0) from schema_migrations", &[])?)).await?;
            println!("database schema at version {version} (this binary knows {})", migrate::latest_version());
            Ok(())
        }
        Command::Agent(AgentCommand::Add(add)) => add_agent(&config, add).await,
        Command::Token(TokenCommand::Create { agent, name, role }) => create_token(&config, &agent, &name, role.as_deref()).await,
        Command::Demo { force } => {
            let app = use_cases(&config).await?;
            load_demo(&app, force).await
        }
        Command::Backup { to } => backup(&config, to).await,
        Command::Mail(MailCommand::Ingest { mailbox, recipient }) => ingest(&config, mailbox.as_deref(), recipient).await,
        Command::Secrets(SecretsCommand::Rotate) => rotate_key(&config).await,
        Command::CheckConfig => {
            print!("{}", config.describe());
            println!("# configuration is valid");
            Ok(())
        }
    }
}

/// The use cases over the configured database, with the configured mailboxes in place.
async fn use_cases(config: &Config) -> anyhow::Result<App> {
    let store = server::open_store(config).await?;
    let app = server::use_cases(config, store);
    server::sync_mailboxes(&app, config).await?;
    Ok(app)
}

async fn serve(config: &Config, demo: bool) -> anyhow::Result<()> {
    let store = server::open_store(config).await?;
    if demo {
        let app = server::use_cases(config, store.clone());
        server::sync_mailboxes(&app, config).await?;
        if app.staff().agent_count().await? == 0 {
            load_demo(&app, false).await?;
        }
    }
    let running = server::start(config, store).await?;
    let url = if config.public_url.contains("127.0.0.1:8080") { format!("http://{}", running.addr) } else { config.public_url.clone() };
    println!("Opora {} is running at {url}", env!("CARGO_PKG_VERSION"));
    println!("API documentation: {url}/api/docs");
    if demo {
        println!("Demo accounts (password {}):", opora_app::demo::PASSWORD);
        for (email, name, role) in opora_app::demo::accounts() {
            println!("  {email:<28} {name} ({role})");
        }
        println!("The website chat from a customer's side: {url}/demo/site");
    }
    tracing::info!(addr = %running.addr, database = %config.database_url, "serving");
    shutdown_signal().await;
    println!("Stopping…");
    running.stop().await;
    Ok(())
}

async fn ingest(config: &Config, mailbox: Option<&str>, recipients: Vec<String>) -> anyhow::Result<()> {
    use std::io::Read;
    let temporary = |message: String| ExitStatus { code: EX_TEMPFAIL, message };
    let max = config.mail.max_message_mb << 20;
    let mut raw = Vec::new();
    std::io::stdin().lock().take(max as u64 + 1).read_to_end(&mut raw).map_err(|e| temporary(format!("reading the message: {e}")))?;
    if raw.is_empty() {
        return Err(ExitStatus { code: EX_DATAERR, message: "no message on standard input".into() }.into());
    }
    if raw.len() > max {
        return Err(
            ExitStatus { code: EX_DATAERR, message: format!("the message is larger than {} MiB", config.mail.max_message_mb) }.into()
        );
    }
    let store = server::open_store(config).await.map_err(|e| temporary(e.to_string()))?;
    let app = server::use_cases(config, store);
    let recipients: Vec<String> = recipients.iter().map(|r| r.trim().to_ascii_lowercase()).collect();
    let chosen = app.mail().choose_mailbox(mailbox.map(str::to_owned), recipients.clone()).await.map_err(|e| match e {
        opora_app::Error::Domain(_) => temporary(format!("no mailbox named {:?}", mailbox.unwrap_or_default())),
        other => temporary(other.to_string()),
    })?;
    let id = app
        .mail()
        .receive(chosen, opora_domain::channel::PayloadSource::Pipe, recipients, raw)
        .await
        .map_err(|e| temporary(e.to_string()))?;
    tracing::info!(raw = id.0, "message stored");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

async fn load_demo(app: &App, force: bool) -> anyhow::Result<()> {
    let agents = app.staff().agent_count().await?;
    if agents > 0 && !force {
        anyhow::bail!("the database already has {agents} agents; pass --force to add the demo anyway");
    }
    let hash = opora_web::auth::hash_password(opora_app::demo::PASSWORD.to_owned()).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let admin = opora_app::demo::load(app, hash).await?;
    crate::demo_mail::load(app).await?;
    println!("Demo data loaded. Sign in as {admin} with password {}", opora_app::demo::PASSWORD);
    Ok(())
}

async fn add_agent(config: &Config, add: AgentAdd) -> anyhow::Result<()> {
    let email =
        EmailAddress::parse("email", &add.email).map_err(|_| anyhow::anyhow!("--email: {:?} is not a valid e-mail address", add.email))?;
    let name = line("name", &add.name, 1, 200).map_err(|_| anyhow::anyhow!("--name: give a name of 1 to 200 characters"))?;
    let role =
        Role::parse(&add.role).ok_or_else(|| anyhow::anyhow!("--role: {:?} is not one of viewer, agent, supervisor, admin", add.role))?;
    let language = Language::parse(&add.language).ok_or_else(|| anyhow::anyhow!("--language: use ru or en"))?;
    let case_access = CaseAccess::parse(&add.case_access).ok_or_else(|| anyhow::anyhow!("--case-access: use all or teams"))?;
    if let Some(password) = &add.password
        && password.chars().count() < opora_web::auth::MIN_PASSWORD_CHARS
    {
        anyhow::bail!("--password: at least {} characters", opora_web::auth::MIN_PASSWORD_CHARS);
    }
    let generated = add.password.is_none();
    let password = match add.password {
        Some(password) => password,
        None => opora_web::auth::generate_password().map_err(|e| anyhow::anyhow!("{e:?}"))?,
    };
    let hash = opora_web::auth::hash_password(password.clone()).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let app = use_cases(config).await?;
    let new = NewAgent { email: email.into_string(), name, role, language, password_hash: Some(hash), case_access };
    let agent = app.staff().create_agent(opora_domain::event::Actor::SYSTEM, new).await.map_err(|e| match e {
        opora_app::Error::Domain(d) if d.code() == "agent_email_taken" => {
            anyhow::anyhow!("an agent with this e-mail already exists")
        }
        other => other.into(),
    })?;
    eprintln!("Added {} <{}> as {}.", agent.name, agent.email, agent.role);
    if generated {
        println!("{password}");
    }
    Ok(())
}

async fn create_token(config: &Config, email: &str, name: &str, role: Option<&str>) -> anyhow::Result<()> {
    let role = role
        .map(|r| Role::parse(r).ok_or_else(|| anyhow::anyhow!("--role: {r:?} is not one of viewer, agent, supervisor, admin")))
        .transpose()?;
    let email = EmailAddress::parse("agent", email).map_err(|_| anyhow::anyhow!("--agent: give the agent's e-mail"))?.into_string();
    let name = line("name", name, 1, 100).map_err(|_| anyhow::anyhow!("--name: give a label of 1 to 100 characters"))?;
    let app = use_cases(config).await?;
    let (agent, _) = app.auth().credentials(email).await?.ok_or_else(|| anyhow::anyhow!("no agent with this e-mail"))?;
    let token = app.auth().create_token(agent.id, name, role, None).await?;
    println!("{}", token.1);
    Ok(())
}

async fn rotate_key(config: &Config) -> anyhow::Result<()> {
    use opora_store::secrets::{new_key, write_private};
    let new = new_key().map_err(|e| anyhow::anyhow!(e))?;
    if !config.security.secret_key.trim().is_empty() {
        println!(
            "The keys come from security.secret_key. Put this new key first, the current one after it, and restart every node\n\
             (each seals the stored secrets anew at start); then remove the old key:\n{new}"
        );
        return Ok(());
    }
    let path = config.data_dir.join(KEY_FILE);
    let old = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let old = old.trim();
    // The old key is kept before anything changes: it opens older backups, and it opens what is
    // still sealed with it should this stop half-way.
    let retired = config.data_dir.join(RETIRED_FILE);
    let earlier = std::fs::read_to_string(&retired).unwrap_or_default();
    write_private(&retired, format!("{}\n{old}\n", earlier.trim_end()).trim_start())?;
    // The new key seals; opening the store seals every secret anew with it.
    write_private(&path, &format!("{new}\n"))?;
    let store = server::open_store(config).await?;
    drop(store);
    println!("Stored secrets are sealed with a new key in {}; the old one is in {}.", path.display(), retired.display());
    Ok(())
}

async fn backup(config: &Config, to: Option<PathBuf>) -> anyhow::Result<()> {
    let store = server::open_store(config).await?;
    let target = match to {
        Some(path) => path,
        None => {
            let now = opora_domain::Timestamp::now().to_datetime();
            let name = format!(
                "opora-{:04}{:02}{:02}-{:02}{:02}{:02}.db",
                now.year(),
                u8::from(now.month()),
                now.day(),
                now.hour(),
                now.minute(),
                now.second()
            );
            config.data_dir.join("backups").join(name)
        }
    };
    if target.exists() {
        anyhow::bail!("{} already exists", target.display());
    }
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let absolute = std::path::absolute(&target)?;
    store.backup(absolute.clone()).await?;
    println!("{}", absolute.display());
    eprintln!(
        "Keep {} with your backups (apart from them): the stored secrets open only with it.",
        config.data_dir.join(KEY_FILE).display()
    );
    Ok(())
}
