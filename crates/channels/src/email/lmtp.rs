//! An LMTP server (RFC 2033) for the MTA in front of us: Postfix, Exim or anything that speaks
//! LMTP hands over each message and learns per recipient whether we stored it. A reply of 250
//! is sent only after the sink has committed the message, so the MTA keeps (and retries) every
//! message we did not take.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use smtp_proto::request::receiver::{DataReceiver, RequestReceiver};
use smtp_proto::{Error as ProtoError, Request};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Semaphore, watch};

/// One message as the MTA handed it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub sender: String,
    pub recipients: Vec<String>,
    pub data: Vec<u8>,
}

/// Where accepted messages go. `Ok` carries an id for the MTA's log; `Err` is a temporary
/// failure (the MTA tries again later).
pub trait Sink: Send + Sync + 'static {
    fn deliver(&self, envelope: Envelope) -> impl Future<Output = Result<String, String>> + Send;
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub hostname: String,
    pub max_message_bytes: usize,
    pub max_recipients: usize,
    /// A client silent for this long is disconnected.
    pub idle_timeout: Duration,
    pub max_sessions: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            hostname: "opora".into(),
            max_message_bytes: 50 << 20,
            max_recipients: 100,
            idle_timeout: Duration::from_secs(300),
            max_sessions: 64,
        }
    }
}

/// A listening socket: TCP, or a Unix socket (Postfix's `lmtp:unix:`).
pub enum Listener {
    Tcp(tokio::net::TcpListener),
    Unix(tokio::net::UnixListener),
}

/// Accepts sessions until `shutdown` turns true; sessions under way finish their message.
pub async fn serve<S: Sink>(listener: Listener, sink: Arc<S>, settings: Settings, mut shutdown: watch::Receiver<bool>) {
    let settings = Arc::new(settings);
    let slots = Arc::new(Semaphore::new(settings.max_sessions));
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit { Ok(p) => p, Err(_) => break },
            _ = shutdown.changed() => break,
        };
        let accepted = tokio::select! {
            accepted = accept(&listener) => accepted,
            _ = shutdown.changed() => break,
        };
        match accepted {
            Ok(stream) => {
                let (sink, settings) = (sink.clone(), settings.clone());
                tokio::spawn(async move {
                    if let Err(e) = session(stream, sink.as_ref(), &settings).await {
                        tracing::debug!(error = %e, "LMTP session ended with an error");
                    }
                    drop(permit);
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "LMTP accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

async fn accept(listener: &Listener) -> std::io::Result<Box<dyn Stream>> {
    Ok(match listener {
        Listener::Tcp(l) => {
            let (stream, _) = l.accept().await?;
            let _ = stream.set_nodelay(true);
            Box::new(stream)
        }
        Listener::Unix(l) => Box::new(l.accept().await?.0),
    })
}

#[derive(Default)]
struct Transaction {
    sender: Option<String>,
    recipients: Vec<String>,
}

/// One LMTP conversation. Commands may be pipelined: replies to everything read in one go are
/// written together.
pub async fn session<S: Sink>(mut stream: impl AsyncRead + AsyncWrite + Unpin, sink: &S, settings: &Settings) -> std::io::Result<()> {
    stream.write_all(format!("220 {} LMTP Opora ready\r\n", settings.hostname).as_bytes()).await?;
    let mut requests = RequestReceiver::default();
    let mut greeted = false;
    let mut transaction = Transaction::default();
    let mut data: Option<(DataReceiver, Vec<u8>, bool)> = None;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = tokio::time::timeout(settings.idle_timeout, stream.read(&mut buffer)).await;
        let count = match read {
            Ok(result) => result?,
            Err(_) => {
                stream.write_all(b"421 4.4.2 idle for too long, closing\r\n").await?;
                return Ok(());
            }
        };
        if count == 0 {
            return Ok(());
        }
        let mut bytes = buffer[..count].iter();
        let mut out = String::new();
        loop {
            if let Some((receiver, message, too_big)) = data.as_mut() {
                let complete = receiver.ingest(&mut bytes, message);
                if message.len() > settings.max_message_bytes {
                    // Keep reading to the end of the data, but stop keeping it.
                    *too_big = true;
                    message.clear();
                }
                if !complete {
                    break;
                }
                let (_, message, too_big) = data.take().expect("data is being received");
                let recipients = std::mem::take(&mut transaction.recipients);
                let sender = transaction.sender.take().unwrap_or_default();
                let reply = if too_big {
                    format!("552 5.3.4 message larger than {} bytes\r\n", settings.max_message_bytes)
                } else {
                    match sink.deliver(Envelope { sender, recipients: recipients.clone(), data: message }).await {
                        Ok(id) => format!("250 2.0.0 stored as {id}\r\n"),
                        Err(e) => format!("451 4.3.0 not stored, try again later: {}\r\n", one_line(&e)),
                    }
                };
                // LMTP answers DATA once per recipient.
                for _ in &recipients {
                    out.push_str(&reply);
                }
                continue;
            }
            match requests.ingest(&mut bytes) {
                Ok(request) => {
                    let (reply, next) = command(request, &mut greeted, &mut transaction, settings);
                    out.push_str(&reply);
                    match next {
                        Next::Continue => {}
                        Next::Data => data = Some((DataReceiver::new(), Vec::new(), false)),
                        Next::Quit => {
                            stream.write_all(out.as_bytes()).await?;
                            return Ok(());
                        }
                    }
                }
                Err(ProtoError::NeedsMoreData { .. }) => break,
                Err(ProtoError::ResponseTooLong) => out.push_str("500 5.5.2 line too long\r\n"),
                Err(ProtoError::UnknownCommand) => out.push_str("500 5.5.1 unknown command\r\n"),
                Err(ProtoError::InvalidSenderAddress) => out.push_str("501 5.1.7 bad sender address\r\n"),
                Err(ProtoError::InvalidRecipientAddress) => out.push_str("501 5.1.3 bad recipient address\r\n"),
                Err(_) => out.push_str("501 5.5.4 syntax error\r\n"),
            }
        }
        if !out.is_empty() {
            stream.write_all(out.as_bytes()).await?;
        }
    }
}

enum Next {
    Continue,
    Data,
    Quit,
}

fn command(
    request: Request<std::borrow::Cow<'_, str>>,
    greeted: &mut bool,
    transaction: &mut Transaction,
    settings: &Settings,
) -> (String, Next) {
    let reply = |text: &str| (format!("{text}\r\n"), Next::Continue);
    match request {
        Request::Lhlo { .. } => {
            *greeted = true;
            *transaction = Transaction::default();
            let text = format!(
                "250-{}\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE {}\r\n",
                settings.hostname, settings.max_message_bytes
            );
            (text, Next::Continue)
        }
        Request::Ehlo { .. } | Request::Helo { .. } => reply("500 5.5.1 this is an LMTP server: say LHLO"),
        Request::Mail { from } => {
            if !*greeted {
                reply("503 5.5.1 say LHLO first")
            } else if transaction.sender.is_some() {
                reply("503 5.5.1 a transaction is already open")
            } else if from.size > settings.max_message_bytes {
                reply(&format!("552 5.3.4 message larger than {} bytes", settings.max_message_bytes))
            } else {
                transaction.sender = Some(from.address.into_owned());
                reply("250 2.1.0 sender OK")
            }
        }
        Request::Rcpt { to } => {
            if transaction.sender.is_none() {
                reply("503 5.5.1 MAIL first")
            } else if transaction.recipients.len() >= settings.max_recipients {
                reply("452 4.5.3 too many recipients")
            } else {
                transaction.recipients.push(to.address.to_ascii_lowercase());
                reply("250 2.1.5 recipient OK")
            }
        }
        Request::Data => {
            if transaction.recipients.is_empty() {
                reply("503 5.5.1 no valid recipients")
            } else {
                ("354 2.0.0 send the message, end with <CRLF>.<CRLF>\r\n".to_owned(), Next::Data)
            }
        }
        Request::Rset => {
            *transaction = Transaction::default();
            reply("250 2.0.0 reset")
        }
        Request::Noop { .. } => reply("250 2.0.0 OK"),
        Request::Vrfy { .. } => reply("252 2.5.0 cannot verify, send it anyway"),
        Request::Quit => ("221 2.0.0 bye\r\n".to_owned(), Next::Quit),
        _ => reply("502 5.5.1 not implemented"),
    }
}

fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(200).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Memory {
        stored: Mutex<Vec<Envelope>>,
        fail: bool,
    }

    impl Sink for Memory {
        async fn deliver(&self, envelope: Envelope) -> Result<String, String> {
            if self.fail {
                return Err("database unavailable".into());
            }
            let mut stored = self.stored.lock().expect("lock");
            stored.push(envelope);
            Ok(stored.len().to_string())
        }
    }

    async fn talk(sink: &Memory, script: &str, settings: &Settings) -> String {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let (session, transcript) = tokio::join!(session(server, sink, settings), async move {
            client.write_all(script.as_bytes()).await.expect("write");
            let mut text = String::new();
            client.read_to_string(&mut text).await.expect("read");
            text
        });
        session.expect("session");
        transcript
    }

    const SCRIPT: &str = "LHLO mta\r\nMAIL FROM:<ivan@example.ru>\r\nRCPT TO:<Support@Opora.test>\r\nRCPT TO:<sales@opora.test>\r\nDATA\r\nSubject: hi\r\n\r\n..dot-stuffed line\r\n.\r\nQUIT\r\n";

    #[tokio::test]
    async fn pipelined_session_stores_once_and_answers_per_recipient() {
        let sink = Memory::default();
        let transcript = talk(&sink, SCRIPT, &Settings::default()).await;
        let stored = sink.stored.lock().expect("lock");
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].recipients, ["support@opora.test", "sales@opora.test"]);
        assert_eq!(stored[0].sender, "ivan@example.ru");
        assert_eq!(stored[0].data, b"Subject: hi\r\n\r\n.dot-stuffed line\r\n");
        assert_eq!(transcript.matches("250 2.0.0 stored as 1").count(), 2, "{transcript}");
        assert!(transcript.ends_with("221 2.0.0 bye\r\n"));
    }

    #[tokio::test]
    async fn failures_are_temporary_and_limits_are_enforced() {
        let failing = Memory { fail: true, ..Default::default() };
        let transcript = talk(&failing, SCRIPT, &Settings::default()).await;
        assert_eq!(transcript.matches("451 4.3.0").count(), 2, "{transcript}");

        let small = Settings { max_message_bytes: 10, ..Default::default() };
        let sink = Memory::default();
        let transcript = talk(&sink, SCRIPT, &small).await;
        assert!(transcript.contains("552 5.3.4"), "{transcript}");
        assert!(sink.stored.lock().expect("lock").is_empty());

        let transcript = talk(&sink, "MAIL FROM:<a@b.c>\r\nEHLO x\r\nLHLO x\r\nDATA\r\nQUIT\r\n", &Settings::default()).await;
        assert!(transcript.contains("503 5.5.1 say LHLO first"), "{transcript}");
        assert!(transcript.contains("500 5.5.1 this is an LMTP server"), "{transcript}");
        assert!(transcript.contains("503 5.5.1 no valid recipients"), "{transcript}");
    }
}
