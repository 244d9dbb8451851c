//! Real mail servers for the tests, each a private instance on loopback in a temporary folder:
//! Debian's dovecot for IMAP (plain, STARTTLS and implicit TLS with a fresh self-signed
//! certificate) and an aiosmtpd sink for SMTP (`scripts/smtp-sink.py`). `scripts/test`
//! installs both; a test that cannot find them fails and says how to get them.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::StreamExt;
use opora_app::channels::Security;
use opora_channels::email::imap::{self, Account, Session};
use serde_json::Value;
use tempfile::TempDir;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the workspace")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("address").port()
}

/// A self-signed certificate for `localhost`, made with the openssl command.
pub struct Certificate {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Certificate {
    pub fn create(dir: &Path) -> Self {
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        let status = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "2", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl is installed");
        assert!(status.success(), "openssl made a certificate");
        Self { cert, key }
    }
}

pub const PASSWORD: &str = "secret-password";

/// A private dovecot with the given users (password [`PASSWORD`]).
pub struct Dovecot {
    pub imap_port: u16,
    pub imaps_port: u16,
    config: PathBuf,
    child: Child,
    _dir: TempDir,
}

impl Dovecot {
    pub fn start(users: &[&str]) -> Self {
        assert!(Path::new("/usr/sbin/dovecot").exists(), "dovecot is missing: `apt-get install dovecot-imapd` (scripts/test does it)");
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().to_owned();
        let root = root.as_path();
        for sub in ["run", "state", "home"] {
            std::fs::create_dir_all(root.join(sub)).expect("folders");
        }
        let certificate = Certificate::create(root);
        let passwd: String = users.iter().map(|u| format!("{u}:{{PLAIN}}{PASSWORD}\n")).collect();
        std::fs::write(root.join("users"), passwd).expect("users");
        let (imap_port, imaps_port) = (free_port(), free_port());
        // As root, mail is kept by the dovecot user; as anyone else, dovecot runs as that user.
        let root_user = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
        let owner = if root_user { "dovecot".to_owned() } else { std::env::var("USER").unwrap_or_else(|_| "nobody".into()) };
        if root_user {
            let _ = Command::new("chown").args(["-R", "dovecot:dovecot"]).arg(root.join("home")).status();
        }
        let login_user = if root_user { "dovenull" } else { owner.as_str() };
        let config = format!(
            "base_dir = {r}/run\nstate_dir = {r}/state\nlog_path = {r}/dovecot.log\nprotocols = imap\nlisten = 127.0.0.1\n\
             ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}\ndisable_plaintext_auth = no\nauth_mechanisms = plain login\n\
             first_valid_uid = 1\ndefault_login_user = {login_user}\ndefault_internal_user = {owner}\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {r}/users\n}}\n\
             userdb {{\n  driver = static\n  args = uid={owner} gid={owner} home={r}/home/%u\n}}\n\
             mail_location = maildir:~/Maildir\n\
             service imap-login {{\n  chroot =\n  inet_listener imap {{\n    port = {imap_port}\n  }}\n  inet_listener imaps {{\n    port = {imaps_port}\n    ssl = yes\n  }}\n}}\n\
             service anvil {{\n  chroot =\n}}\n",
            r = root.display(),
            cert = certificate.cert.display(),
            key = certificate.key.display(),
        );
        let config_path = root.join("dovecot.conf");
        std::fs::write(&config_path, config).expect("config");
        let child = Command::new("/usr/sbin/dovecot").arg("-F").arg("-c").arg(&config_path).spawn().expect("start dovecot");
        let dovecot = Self { imap_port, imaps_port, config: config_path, child, _dir: dir };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", imap_port)).is_ok() {
                return dovecot;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("dovecot did not start: {}", std::fs::read_to_string(root.join("dovecot.log")).unwrap_or_default());
    }

    pub fn account(&self, user: &str) -> Account {
        Account {
            host: "127.0.0.1".into(),
            port: self.imap_port,
            security: Security::Plain,
            user: user.into(),
            password: PASSWORD.into(),
            accept_invalid_certs: true,
            timeout: Duration::from_secs(10),
        }
    }

    pub async fn session(&self, user: &str) -> Session {
        imap::connect(&self.account(user)).await.expect("log in to dovecot")
    }

    /// Puts a message into a folder, as a mail server delivering it would.
    pub async fn append(&self, user: &str, folder: &str, raw: &[u8], seen: bool) {
        let mut session = self.session(user).await;
        let _ = session.create(folder).await;
        session.append(folder, seen.then_some("(\\Seen)"), None, raw).await.expect("append");
        imap::logout(session, Duration::from_secs(5)).await;
    }

    /// UIDs and whether each is \Seen, in a folder.
    pub async fn seen(&self, user: &str, folder: &str) -> Vec<(u32, bool)> {
        let mut session = self.session(user).await;
        let _ = session.create(folder).await;
        session.select(folder).await.expect("select");
        let mut flags = Vec::new();
        {
            let mut fetches = session.uid_fetch("1:*", "FLAGS").await.expect("fetch flags");
            while let Some(fetch) = fetches.next().await {
                let fetch = fetch.expect("a fetch");
                let seen = fetch.flags().any(|f| matches!(f, imap::Flag::Seen));
                flags.push((fetch.uid.unwrap_or(0), seen));
            }
        }
        imap::logout(session, Duration::from_secs(5)).await;
        flags
    }

    /// Drops every connection of a user, as a server restart or a network cut would.
    pub fn kick(&self, user: &str) {
        let status =
            Command::new("doveadm").arg("-c").arg(&self.config).args(["kick", user]).stdout(Stdio::null()).status().expect("doveadm");
        assert!(status.success(), "doveadm kick found the user's connections");
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = Command::new("doveadm").arg("-c").arg(&self.config).arg("stop").status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How the sink protects connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkTls {
    None,
    Starttls,
    Implicit,
}

/// The aiosmtpd sink: what it accepted, as files.
pub struct SmtpSink {
    pub port: u16,
    dir: TempDir,
    child: Child,
}

impl SmtpSink {
    pub fn start(tls: SinkTls) -> Self {
        let python = workspace_root().join("target/pyvenv/bin/python");
        assert!(python.exists(), "the Python test tools are missing: run scripts/test (it makes target/pyvenv with aiosmtpd)");
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut command = Command::new(python);
        command.arg(workspace_root().join("scripts/smtp-sink.py")).args(["--port", &port.to_string(), "--dir"]).arg(dir.path());
        if tls != SinkTls::None {
            let certificate = Certificate::create(dir.path());
            command.arg("--cert").arg(&certificate.cert).arg("--key").arg(&certificate.key);
            if tls == SinkTls::Implicit {
                command.arg("--implicit-tls");
            }
        }
        let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("start the SMTP sink");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line).expect("the sink says it is ready");
        assert!(line.starts_with("ready"), "sink: {line}");
        Self { port, dir, child }
    }

    /// Messages accepted so far, oldest first: envelope and raw bytes.
    pub fn messages(&self) -> Vec<(Value, Vec<u8>)> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("sink folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|eml| {
                let envelope = std::fs::read_to_string(eml.with_extension("json")).expect("envelope");
                (serde_json::from_str(&envelope).expect("json"), std::fs::read(&eml).expect("message"))
            })
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
