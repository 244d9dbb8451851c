//! Inbound mail throughput: a corpus from `../shared/bench/gen_mail.py` handed to the release
//! binary over LMTP (4 connections) and through `opora mail ingest` (2 pipes, one process per
//! message, as an MTA runs it). Prints intake and end-to-end (filed into cases) messages per
//! second, then `check_threading.py`'s verdict on where every message was filed.
//!
//! `cargo bench -p opora --bench mail_ingest [-- MESSAGES]` (OPORA_BENCH_ENGINE=postgres for
//! PostgreSQL). Conversations keep their order per connection, as one MTA queue per thread would.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use opora_domain::channel::ChannelKind;
use opora_store::{Store, payloads};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

struct Corpus {
    dir: PathBuf,
    /// Raw messages with the thread each belongs to, in corpus order.
    mails: Vec<(Vec<u8>, String)>,
}

fn shared_bench() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench")
}

fn generate(count: usize, dir: &Path) -> Corpus {
    let status = Command::new("python3")
        .arg(shared_bench().join("gen_mail.py"))
        .args(["-n", &count.to_string(), "--seed", "42", "-o"])
        .arg(dir)
        .status()
        .expect("python3 runs gen_mail.py");
    assert!(status.success(), "gen_mail.py made the corpus");
    let manifest = std::fs::read_to_string(dir.join("manifest.jsonl")).expect("manifest");
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    names.sort();
    let mails = names
        .iter()
        .zip(manifest.lines())
        .map(|(path, line)| {
            let entry: Value = serde_json::from_str(line).expect("manifest line");
            (std::fs::read(path).expect("mail"), entry["thread_root"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    Corpus { dir: dir.to_owned(), mails }
}

/// Splits the corpus over `senders`, each conversation on one sender, in corpus order.
fn shares(corpus: &Corpus, senders: usize) -> Vec<Vec<Vec<u8>>> {
    let mut shares = vec![Vec::new(); senders];
    for (raw, thread) in &corpus.mails {
        let hash = thread.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        shares[(hash % senders as u64) as usize].push(raw.clone());
    }
    shares
}

/// A message as LMTP DATA: CRLF lines, leading dots doubled, the final dot. Bytes, not text:
/// 8-bit KOI8-R and windows-1251 bodies must arrive as they are.
fn lmtp_data(raw: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(raw.len() + 64);
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    for line in raw.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first() == Some(&b'.') {
            data.push(b'.');
        }
        data.extend_from_slice(line);
        data.extend_from_slice(b"\r\n");
    }
    data.extend_from_slice(b".\r\n");
    data
}

/// One LMTP session delivering its share; returns each message's latency.
async fn lmtp_sender(addr: String, share: Vec<Vec<u8>>) -> Vec<Duration> {
    let stream = tokio::net::TcpStream::connect(&addr).await.expect("connect to LMTP");
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut reply = async || lines.next_line().await.expect("read").expect("a reply");
    assert!(reply().await.starts_with("220"));
    write.write_all(b"LHLO bench\r\n").await.expect("write");
    while !reply().await.starts_with("250 ") {}
    let mut latencies = Vec::with_capacity(share.len());
    for raw in share {
        let data = lmtp_data(&raw);
        let started = Instant::now();
        write.write_all(b"MAIL FROM:<mta@bench.test>\r\nRCPT TO:<support@bench.test>\r\nDATA\r\n").await.expect("write");
        for expected in ["250", "250", "354"] {
            let line = reply().await;
            assert!(line.starts_with(expected), "{line}");
        }
        write.write_all(&data).await.expect("write");
        let stored = reply().await;
        assert!(stored.starts_with("250"), "{stored}");
        latencies.push(started.elapsed());
    }
    let _ = write.write_all(b"QUIT\r\n").await;
    latencies
}

/// Pipes each message of the share into a fresh `opora mail ingest`.
fn pipe_sender(db_url: String, data_dir: PathBuf, config: PathBuf, share: Vec<Vec<u8>>) -> Vec<Duration> {
    share
        .into_iter()
        .map(|raw| {
            let started = Instant::now();
            let mut child = Command::new(env!("CARGO_BIN_EXE_opora"))
                .args(["mail", "ingest", "--recipient", "support@bench.test"])
                .env("OPORA_CONFIG", &config)
                .env("OPORA_DATABASE_URL", &db_url)
                .env("OPORA_DATA_DIR", &data_dir)
                .env("OPORA_LOG", "warn")
                .stdin(Stdio::piped())
                .spawn()
                .expect("run opora mail ingest");
            child.stdin.take().expect("stdin").write_all(&raw).expect("pipe the message");
            assert!(child.wait().expect("ingest ends").success(), "ingest stored the message");
            started.elapsed()
        })
        .collect()
}

/// Waits until every message is stored and none waits for filing.
async fn filed(store: &Store, expected: i64) {
    loop {
        let (total, waiting) = store
            .read(|conn| {
                Ok((payloads::counts(conn, ChannelKind::Email)?.iter().map(|(_, n)| n).sum::<i64>(), payloads::waiting_count(conn)?))
            })
            .await
            .expect("counts");
        if total >= expected && waiting == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Where each message went, as `check_threading.py` reads it, and its verdict.
async fn check_threading(store: &Store, corpus: &Corpus) {
    let rows = store
        .read(|conn| {
            Ok(conn.all("select external_id, case_id from inbound_payloads where external_id is not null", &[], |r| {
                Ok((r.get::<String>(0)?, r.get::<Option<i64>>(1)?))
            })?)
        })
        .await
        .expect("export");
    let cases = store.read(|conn| Ok(conn.int("select count(*) from cases", &[])?)).await.expect("cases");
    let statuses = store.read(|conn| payloads::counts(conn, ChannelKind::Email)).await.expect("counts");
    println!("  cases created: {cases}; messages by status: {statuses:?}");
    let map = corpus.dir.join("map.tsv");
    let text: String = rows.iter().map(|(id, case)| format!("{id}\t{}\n", case.map(|c| c.to_string()).unwrap_or_default())).collect();
    std::fs::write(&map, text).expect("write map");
    let output = Command::new("python3")
        .arg(shared_bench().join("check_threading.py"))
        .arg("--corpus")
        .arg(&corpus.dir)
        .arg("--map")
        .arg(&map)
        .args(["--tickets-in-db", &cases.to_string()])
        .output()
        .expect("check_threading.py");
    println!("  check_threading: {}", String::from_utf8_lossy(&output.stdout).trim());
}

fn config_file(dir: &Path) -> PathBuf {
    let path = dir.join("bench.toml");
    // No acknowledgements: there is no SMTP server here, and the figure is about intake and filing.
    std::fs::write(
        &path,
        "[[mail.mailboxes]]\nname = \"default\"\naddress = \"support@bench.test\"\ndefault = true\nacknowledge = false\n",
    )
    .expect("config");
    path
}

async fn run(mode: &str, corpus: &Corpus) {
    let db = common::Database::new(None);
    let config = config_file(&db.data_dir);
    let lmtp_port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let lmtp = format!("127.0.0.1:{lmtp_port}");
    let config_path = config.display().to_string();
    let server = common::Server::start(&db, &[("OPORA_CONFIG", &config_path), ("OPORA_MAIL_LMTP_LISTEN", &lmtp)]).await;
    let store = db.store().await;
    let count = corpus.mails.len();
    let started = Instant::now();
    let latencies: Vec<Duration> = if mode == "lmtp" {
        let tasks: Vec<_> = shares(corpus, 4).into_iter().map(|share| tokio::spawn(lmtp_sender(lmtp.clone(), share))).collect();
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.expect("sender"));
        }
        all
    } else {
        let threads: Vec<_> = shares(corpus, 2)
            .into_iter()
            .map(|share| {
                let (url, dir, config) = (db.url.clone(), db.data_dir.clone(), config.clone());
                std::thread::spawn(move || pipe_sender(url, dir, config, share))
            })
            .collect();
        threads.into_iter().flat_map(|t| t.join().expect("sender")).collect()
    };
    let intake = started.elapsed();
    filed(&store, count as i64).await;
    let total = started.elapsed();
    println!("{mode} ({} senders):", if mode == "lmtp" { 4 } else { 2 });
    common::summary("  per message (handed over → stored)", latencies);
    println!(
        "  intake {:.0} msg/s ({:.2} s); stored and filed into cases {:.0} msg/s ({:.2} s); server RSS {:.1} MiB",
        count as f64 / intake.as_secs_f64(),
        intake.as_secs_f64(),
        count as f64 / total.as_secs_f64(),
        total.as_secs_f64(),
        server.rss_mib()
    );
    check_threading(&store, corpus).await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let count: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(2000);
    opora::server::install_crypto();
    let dir = tempfile::tempdir().expect("temp dir");
    let corpus = generate(count, dir.path());
    let bytes: usize = corpus.mails.iter().map(|(raw, _)| raw.len()).sum();
    println!("engine: {}  messages: {count}  ({:.1} MiB)", common::engine(), bytes as f64 / 1048576.0);
    for mode in ["lmtp", "pipe"] {
        run(mode, &corpus).await;
    }
}
