//! Reading an inbound e-mail: who wrote it, to whom, what it answers, its text and HTML, its
//! attachments and inline images, and whether it is an automatic reply or a bounce. Built on
//! mail-parser (decoding, charsets, RFC 2047/2231), with our own fallbacks for mail that
//! declares no charset and for the report formats bounces use.

use mail_parser::{Address, Encoding, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType};
use opora_domain::text::html_to_text;

/// An address with its display name (may be empty).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Person {
    pub name: String,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub filename: String,
    pub content_type: String,
    pub content: Vec<u8>,
    /// `Content-ID` without angle brackets, for `cid:` references from the HTML.
    pub content_id: Option<String>,
    pub inline: bool,
}

/// What a delivery report says about a message we sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bounce {
    /// The Message-ID of the message that could not be delivered, when the report names it.
    pub original_message_id: Option<String>,
    pub recipient: Option<String>,
    pub status: Option<String>,
    pub diagnostic: Option<String>,
    /// A final failure (5.x.x) rather than a delay (4.x.x).
    pub permanent: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedEmail {
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub subject: String,
    pub from: Option<Person>,
    pub reply_to: Option<Person>,
    pub to: Vec<Person>,
    pub cc: Vec<Person>,
    /// `Delivered-To` / `X-Original-To`: the address the MTA delivered to (plus addresses).
    pub delivered_to: Vec<String>,
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<Part>,
    /// Why the message is automatic (`auto-submitted`, `precedence: bulk` …): never answered.
    pub automatic: Option<String>,
    pub bounce: Option<Bounce>,
    /// What our receiving server found wrong with the sender (`spf=fail, dmarc=fail`): the
    /// From address may be forged.
    pub sender_doubt: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("not an e-mail: no headers could be read")]
    NotAMessage,
}

fn clean_id(id: &str) -> Option<String> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>').trim();
    (!id.is_empty() && !id.contains(char::is_whitespace)).then(|| id.to_owned())
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(text) => text.split_whitespace().filter_map(clean_id).collect(),
        HeaderValue::TextList(list) => list.iter().flat_map(|t| t.split_whitespace()).filter_map(clean_id).collect(),
        _ => Vec::new(),
    }
}

/// RFC 5322 comments (`MAILER-DAEMON (Mail Delivery System)`) are not part of a display name.
fn without_comments(name: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for c in name.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.is_empty() { name.trim().to_owned() } else { out }
}

fn mailboxes(address: Option<&Address<'_>>) -> Vec<Person> {
    address
        .map(|a| {
            a.iter()
                .filter_map(|addr| {
                    let mut address = addr.address()?.trim().to_owned();
                    let mut name = addr.name().map(|n| without_comments(n.trim().trim_matches('"'))).unwrap_or_default();
                    // `=?utf-8?Q?agent?=@example.com`: an encoded word as the local part is read
                    // literally, so nobody can pose as `agent` from another domain's sender.
                    if address.starts_with('@') && !name.is_empty() {
                        address = format!("{name}{address}");
                        name.clear();
                    }
                    Some(Person { name: if name == address { String::new() } else { name }, address })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Text stored in an unknown 8-bit charset, guessed the way browsers guess (chardetng). The
/// sender's top-level domain is the hint, as a site's is for a browser (`.ru` → Cyrillic).
fn decode_guessing(bytes: &[u8], tld: Option<&str>) -> String {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return text.to_owned();
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Allow);
    detector.feed(bytes, true);
    let hint = tld.filter(|t| t.len() == 2 && t.is_ascii()).map(str::as_bytes);
    let encoding = detector.guess(hint, chardetng::Utf8Detection::Allow);
    encoding.decode(bytes).0.into_owned()
}

/// The sender's top-level domain, read from the raw From header (decoding may be what failed).
fn sender_tld(raw: &[u8]) -> Option<String> {
    let line = raw.split(|b| *b == b'\n').find(|line| line.len() > 5 && line[..5].eq_ignore_ascii_case(b"from:"))?;
    let text = String::from_utf8_lossy(line);
    let domain = text.rsplit('@').next()?;
    let tld: String = domain.split('.').next_back()?.chars().take_while(char::is_ascii_alphabetic).collect();
    (!tld.is_empty()).then(|| tld.to_ascii_lowercase())
}

/// A text part's content. Parts declaring no charset but carrying 8-bit bytes are re-decoded
/// by guessing instead of being read as Latin-1.
fn part_text(raw: &[u8], part: &MessagePart<'_>, decoded: &str, tld: Option<&str>) -> String {
    let declared = part.content_type().and_then(|c| c.attribute("charset")).is_some();
    let start = part.offset_body as usize;
    let end = (part.offset_end as usize).min(raw.len());
    if !declared && part.encoding == Encoding::None && start < end {
        let bytes = &raw[start..end];
        if bytes.iter().any(|b| *b >= 0x80) {
            return decode_guessing(bytes, tld);
        }
    }
    decoded.to_owned()
}

fn header_text<'a>(message: &'a Message<'_>, name: &'static str) -> Option<&'a str> {
    message.header_raw(name).map(str::trim).filter(|v| !v.is_empty())
}

/// The receiving server's verdict on the sender (RFC 8601 `Authentication-Results`), when it is
/// a failure: DMARC failed, or SPF failed with no passing DKIM signature. Only the topmost header
/// counts: our own MTA adds it last, anything below came with the message and may be forged.
fn sender_doubt(message: &Message<'_>, from: Option<&Person>) -> Option<String> {
    // `header_raw` would give the last one; the first is the one written last, on our side.
    let header = message.headers().iter().find(|h| h.name().eq_ignore_ascii_case("Authentication-Results"))?;
    let raw = message.raw_message().get(header.offset_start() as usize..header.offset_end() as usize)?;
    let results = std::str::from_utf8(raw).ok()?;
    let from_domain = from.and_then(|p| p.address.rsplit_once('@')).map(|(_, d)| d.to_ascii_lowercase());
    // The first part is the server that checked; then `method=result (comment) property=value`.
    let mut verdicts: Vec<(String, String, String)> = Vec::new();
    for part in results.split(';').skip(1) {
        let Some((method, rest)) = part.trim().split_once('=') else { continue };
        let result: String = rest.trim_start().chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        verdicts.push((method.trim().to_ascii_lowercase(), result.to_ascii_lowercase(), part.to_ascii_lowercase()));
    }
    let said = |method: &str, results: &[&str]| verdicts.iter().any(|(m, r, _)| m == method && results.contains(&r.as_str()));
    // A DKIM signature vouches for the sender only when it is the From address's own domain's.
    let aligned_dkim = verdicts.iter().any(|(m, r, part)| {
        let signer = part.split_whitespace().find_map(|p| p.strip_prefix("header.d="));
        m == "dkim"
            && r == "pass"
            && signer.zip(from_domain.as_deref()).is_some_and(|(d, from)| from == d || from.ends_with(&format!(".{d}")))
    });
    let doubtful = said("dmarc", &["fail"]) || (said("spf", &["fail", "softfail"]) && !aligned_dkim);
    let failures: Vec<String> = verdicts
        .iter()
        .filter(|(m, r, _)| ["spf", "dkim", "dmarc"].contains(&m.as_str()) && ["fail", "softfail"].contains(&r.as_str()))
        .map(|(m, r, _)| format!("{m}={r}"))
        .collect();
    doubtful.then(|| failures.join(", "))
}

/// RFC 3834 and the conventions mail systems actually use for automatic mail.
fn automatic(message: &Message<'_>, from: Option<&Person>, subject: &str) -> Option<String> {
    if let Some(value) = header_text(message, "Auto-Submitted")
        && !value.eq_ignore_ascii_case("no")
    {
        return Some(format!("auto-submitted: {value}"));
    }
    for header in ["X-Autoreply", "X-Autorespond", "X-Autogenerated", "X-Auto-Reply-From"] {
        if header_text(message, header).is_some() {
            return Some(header.to_ascii_lowercase());
        }
    }
    if let Some(precedence) = header_text(message, "Precedence")
        && ["bulk", "junk", "list", "auto_reply"].contains(&precedence.to_ascii_lowercase().as_str())
    {
        return Some(format!("precedence: {precedence}"));
    }
    if header_text(message, "List-Id").is_some() || header_text(message, "List-Unsubscribe").is_some() {
        return Some("mailing list".into());
    }
    if header_text(message, "Return-Path").is_some_and(|r| r.trim() == "<>") {
        return Some("empty return path".into());
    }
    let sender = from.map(|f| f.address.to_ascii_lowercase()).unwrap_or_default();
    if sender.starts_with("mailer-daemon@") || sender.starts_with("postmaster@") {
        return Some("mailer-daemon".into());
    }
    let lower = subject.to_lowercase();
    let vacation =
        ["out of office", "automatic reply", "autoreply", "auto:", "автоответ", "автоматический ответ", "я в отпуске", "abwesenheitsnotiz"];
    vacation.iter().any(|v| lower.starts_with(v)).then(|| "vacation notice".to_owned())
}

fn field<'a>(block: &'a str, name: &str) -> Option<&'a str> {
    block.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// A delivery report: `multipart/report` with a `message/delivery-status` part, or an old-style
/// non-MIME bounce from MAILER-DAEMON that quotes the original.
fn bounce(message: &Message<'_>, raw: &[u8], from: Option<&Person>, automatic: Option<&str>) -> Option<Bounce> {
    let is_report = message
        .content_type()
        .is_some_and(|c| c.ctype().eq_ignore_ascii_case("multipart") && c.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report")));
    let from_daemon = automatic == Some("mailer-daemon");
    if !is_report && !from_daemon {
        return None;
    }
    let mut found = Bounce::default();
    for part in &message.parts {
        let Some(content_type) = part.content_type() else { continue };
        let kind = format!("{}/{}", content_type.ctype(), content_type.subtype().unwrap_or("")).to_ascii_lowercase();
        let start = part.offset_body as usize;
        let end = (part.offset_end as usize).min(raw.len());
        let body = String::from_utf8_lossy(raw.get(start..end).unwrap_or_default());
        match kind.as_str() {
            "message/delivery-status" => {
                let text = match &part.body {
                    PartType::Text(t) => t.to_string(),
                    _ => body.to_string(),
                };
                found.recipient = field(&text, "Final-Recipient")
                    .or(field(&text, "Original-Recipient"))
                    .map(|r| r.rsplit(';').next().unwrap_or(r).trim().to_owned());
                found.status = field(&text, "Status").map(str::to_owned);
                found.diagnostic = field(&text, "Diagnostic-Code").map(|d| d.rsplit(';').next().unwrap_or(d).trim().to_owned());
                found.permanent = found.status.as_deref().is_some_and(|s| s.starts_with('5'))
                    || field(&text, "Action").is_some_and(|a| a.eq_ignore_ascii_case("failed"));
            }
            "message/rfc822" | "text/rfc822-headers" => {
                let original = match &part.body {
                    PartType::Message(inner) => inner.message_id().map(str::to_owned),
                    _ => field(&body, "Message-ID").and_then(clean_id),
                };
                found.original_message_id = found.original_message_id.or(original.and_then(|id| clean_id(&id)));
            }
            _ => {}
        }
    }
    if found.original_message_id.is_none() {
        // Old-style bounces quote the original's headers in the text.
        let text = String::from_utf8_lossy(raw);
        found.original_message_id = text
            .lines()
            .skip_while(|l| !l.trim().is_empty())
            .find_map(|l| l.trim().strip_prefix("Message-ID:").or_else(|| l.trim().strip_prefix("Message-Id:")))
            .and_then(clean_id);
    }
    if found.original_message_id.is_none() {
        found.original_message_id = ids(message.in_reply_to()).into_iter().next();
    }
    if !is_report {
        found.permanent = true;
    }
    let _ = from;
    Some(found)
}

fn filename_for(part: &MessagePart<'_>, subject: &str, index: usize) -> String {
    if let Some(name) = part.attachment_name().map(str::trim).filter(|n| !n.is_empty()) {
        return name.to_owned();
    }
    let content_type = part.content_type();
    let kind = content_type.map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or(""))).unwrap_or_default().to_ascii_lowercase();
    if kind == "message/rfc822" {
        let base: String = subject.chars().filter(|c| !"/\\:*?\"<>|".contains(*c)).take(80).collect();
        return format!("{}.eml", if base.trim().is_empty() { "message" } else { base.trim() });
    }
    let extension = match kind.as_str() {
        "message/delivery-status" => "txt",
        "text/plain" => "txt",
        "text/html" => "html",
        "text/calendar" => "ics",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "application/pdf" => "pdf",
        _ => "bin",
    };
    format!("attachment-{}.{extension}", index + 1)
}

/// Decodes `begin 644 name` … `end` uuencoded content (Content-Transfer-Encoding: x-uuencode).
fn uudecode(text: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(text);
    // Some mailers send the encoded lines without the `begin` line.
    let has_begin = text.lines().any(|l| l.starts_with("begin "));
    let lines = text.lines().skip_while(|l| has_begin && !l.starts_with("begin ")).skip(usize::from(has_begin));
    let mut out = Vec::new();
    for line in lines {
        let line = line.trim_end_matches('\r').as_bytes();
        if line == b"end" || line.is_empty() {
            break;
        }
        let count = usize::from((line[0].wrapping_sub(b' ')) & 0x3f);
        let values: Vec<u8> = line[1..].iter().map(|c| (c.wrapping_sub(b' ')) & 0x3f).collect();
        let mut decoded = Vec::with_capacity(count + 3);
        for group in values.chunks(4) {
            let get = |i: usize| u32::from(*group.get(i).unwrap_or(&0));
            let word = (get(0) << 18) | (get(1) << 12) | (get(2) << 6) | get(3);
            decoded.extend_from_slice(&[(word >> 16) as u8, (word >> 8) as u8, word as u8]);
        }
        decoded.truncate(count);
        out.extend(decoded);
    }
    Some(out)
}

fn attachment(raw: &[u8], part: &MessagePart<'_>, subject: &str, index: usize) -> Part {
    let uuencoded = part
        .content_transfer_encoding()
        .is_some_and(|e| ["x-uuencode", "uuencode", "x-uue"].contains(&e.trim().to_ascii_lowercase().as_str()));
    let content: Vec<u8> = match &part.body {
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) if uuencoded => uudecode(bytes).unwrap_or_else(|| bytes.to_vec()),
        PartType::Message(_) => {
            let start = part.offset_body as usize;
            let end = (part.offset_end as usize).min(raw.len());
            raw.get(start..end).unwrap_or_default().to_vec()
        }
        PartType::Text(text) | PartType::Html(text) => text.as_bytes().to_vec(),
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => bytes.to_vec(),
        PartType::Multipart(_) => Vec::new(),
    };
    let content_type = part
        .content_type()
        .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("octet-stream")).to_ascii_lowercase())
        .unwrap_or_else(|| "application/octet-stream".into());
    Part {
        filename: filename_for(part, subject, index),
        content_type,
        content,
        content_id: part.content_id().and_then(clean_id),
        inline: matches!(part.body, PartType::InlineBinary(_))
            || part.content_disposition().is_some_and(|d| d.ctype().eq_ignore_ascii_case("inline")),
    }
}

/// The raw value of a header in the message's own header block.
fn raw_header<'a>(raw: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").or_else(|| raw.windows(2).position(|w| w == b"\n\n")).unwrap_or(raw.len());
    raw[..end]
        .split(|b| *b == b'\n')
        .find(|line| line.len() > name.len() && line[..name.len()].eq_ignore_ascii_case(name))
        .map(|line| &line[name.len()..])
}

/// Re-reads a header whose declared charset did not fit its bytes (raw 8-bit, or an encoded
/// word claiming ISO-2022-JP while carrying Shift_JIS): each encoded word's bytes and any raw
/// bytes are decoded by guessing.
fn redecode(value: &[u8], tld: Option<&str>) -> String {
    let text = String::from_utf8_lossy(value).into_owned();
    let bytes = value;
    let mut out = Vec::new();
    let mut rest = if text.contains("=?") { text.as_bytes() } else { bytes };
    while let Some(start) = find(rest, b"=?") {
        out.extend_from_slice(&rest[..start]);
        let word = &rest[start + 2..];
        let parts: Vec<&[u8]> = word.splitn(3, |b| *b == b'?').collect();
        let Some(end) = parts.get(2).and_then(|p| find(p, b"?=")) else {
            out.extend_from_slice(&rest[start..]);
            rest = &[];
            break;
        };
        let payload = &parts[2][..end];
        let decoded = match parts[1] {
            b"B" | b"b" => base64::Engine::decode(&base64::engine::general_purpose::STANDARD, payload).unwrap_or_default(),
            _ => q_decode(payload),
        };
        out.extend_from_slice(&decoded);
        rest = &parts[2][end + 2..];
    }
    out.extend_from_slice(rest);
    decode_guessing(&out, tld).trim().to_owned()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn q_decode(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len());
    let mut i = 0;
    while i < payload.len() {
        match payload[i] {
            b'_' => out.push(b' '),
            b'=' if i + 2 < payload.len() => {
                match std::str::from_utf8(&payload[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'='),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    out
}

/// The subject, decoded; re-read by guessing when its declared charset did not fit.
fn subject(message: &Message<'_>, raw: &[u8]) -> String {
    let parsed = message.subject().unwrap_or("").trim_start_matches(['\r', '\n']).to_owned();
    if !parsed.contains('\u{fffd}') {
        return parsed;
    }
    raw_header(raw, b"subject:").map(|value| redecode(value, sender_tld(raw).as_deref())).unwrap_or(parsed)
}

/// Parses raw RFC 5322 bytes. Broken mail is read as far as possible; only bytes that have no
/// header at all are refused (and then quarantined by the caller, never dropped).
pub fn parse(raw: &[u8]) -> Result<ParsedEmail, ParseError> {
    let message = MessageParser::default().parse(raw).ok_or(ParseError::NotAMessage)?;
    if message.headers().is_empty() {
        return Err(ParseError::NotAMessage);
    }
    let subject = subject(&message, raw);
    let mut from = mailboxes(message.from()).into_iter().next();
    if let Some(sender) = from.as_mut()
        && sender.name.contains('\u{fffd}')
        && let Some(value) = raw_header(raw, b"from:")
    {
        let text = redecode(value, sender_tld(raw).as_deref());
        sender.name = without_comments(text.split('<').next().unwrap_or(&text).trim().trim_matches('"'));
    }
    let reply_to = mailboxes(message.reply_to()).into_iter().next();
    let automatic = automatic(&message, from.as_ref(), &subject);
    let bounce = bounce(&message, raw, from.as_ref(), automatic.as_deref());
    let sender_doubt = sender_doubt(&message, from.as_ref());

    let tld = sender_tld(raw);
    let mut texts = Vec::new();
    for part in message.text_bodies() {
        match &part.body {
            PartType::Text(text) => texts.push(part_text(raw, part, text, tld.as_deref())),
            PartType::Html(html) => texts.push(html_to_text(html)),
            _ => {}
        }
    }
    // A message may carry several HTML parts in a row (Apple Mail puts a signature in its own):
    // all of them are the body.
    let html_parts: Vec<String> = message
        .html_bodies()
        .filter_map(|p| match &p.body {
            PartType::Html(html) => Some(part_text(raw, p, html, tld.as_deref())),
            _ => None,
        })
        .collect();
    let html = (!html_parts.is_empty()).then(|| html_parts.join("\n"));
    let mut text = texts.join("\n\n").trim().to_owned();
    if text.is_empty()
        && let Some(html) = &html
    {
        text = html_to_text(html);
    }
    let attachments = message.attachments().enumerate().map(|(index, part)| attachment(raw, part, &subject, index)).collect();
    let delivered_to = ["Delivered-To", "X-Original-To", "Envelope-To"]
        .iter()
        .flat_map(|h| message.header_values(*h).filter_map(|v| v.as_text().map(|t| t.trim().to_ascii_lowercase())).collect::<Vec<_>>())
        .collect();
    Ok(ParsedEmail {
        message_id: message.message_id().and_then(clean_id),
        in_reply_to: ids(message.in_reply_to()),
        references: ids(message.references()),
        subject,
        from,
        reply_to,
        to: mailboxes(message.to()),
        cc: mailboxes(message.cc()),
        delivered_to,
        text,
        html,
        attachments,
        automatic,
        bounce,
        sender_doubt,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn koi8_and_windows_1251_are_decoded() {
        let raw = b"From: =?koi8-r?B?6dfBzg==?= <ivan@example.ru>\r\nSubject: =?windows-1251?B?x+Dq4Oc=?=\r\nContent-Type: text/plain; charset=windows-1251\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xcf\xf0\xe8\xe2\xe5\xf2\r\n";
        let parsed = parse(raw).expect("parses");
        assert_eq!(parsed.from, Some(Person { name: "Иван".into(), address: "ivan@example.ru".into() }));
        assert_eq!(parsed.subject, "Заказ");
        assert_eq!(parsed.text, "Привет");
    }

    #[test]
    fn undeclared_8bit_is_guessed() {
        let raw = b"From: a@example.ru\r\nSubject: x\r\n\r\n\xcf\xf0\xe8\xe2\xe5\xf2, \xec\xe8\xf0\r\n";
        assert_eq!(parse(raw).expect("parses").text, "Привет, мир");
    }

    #[test]
    fn a_sender_our_server_could_not_verify_is_in_doubt() {
        let mail = |results: &[&str]| {
            let headers: String = results.iter().map(|r| format!("Authentication-Results: {r}\r\n")).collect();
            parse(format!("{headers}From: ivan@example.ru\r\nSubject: x\r\n\r\nhi\r\n").as_bytes()).expect("parses").sender_doubt
        };
        assert_eq!(
            mail(&["mx.opora.test; spf=fail smtp.mailfrom=example.ru; dkim=none; dmarc=fail (p=reject) header.from=example.ru"]).as_deref(),
            Some("spf=fail, dmarc=fail")
        );
        assert_eq!(mail(&["mx.opora.test; spf=softfail smtp.mailfrom=example.ru"]).as_deref(), Some("spf=softfail"));
        assert_eq!(
            mail(&["mx.opora.test; spf=fail smtp.mailfrom=example.ru; dkim=pass header.d=example.ru; dmarc=pass"]),
            None,
            "DKIM vouches for a forwarded message"
        );
        assert_eq!(mail(&["mx.opora.test; spf=pass; dkim=pass; dmarc=pass"]), None);
        let foreign = mail(&["mx.opora.test; spf=fail; dkim=pass header.d=mallory.example"]);
        assert_eq!(foreign.as_deref(), Some("spf=fail"), "another domain's signature vouches for nothing");
        assert_eq!(
            mail(&["mx.opora.test; spf = fail; dmarc = fail"]).as_deref(),
            Some("spf=fail, dmarc=fail"),
            "spaces around = are allowed"
        );
        assert_eq!(mail(&[]), None);
        // Only the topmost header is our server's; one the sender wrote further down counts for nothing.
        assert_eq!(mail(&["mx.opora.test; spf=pass; dmarc=pass", "forged.example; spf=fail; dmarc=fail"]), None);
    }

    #[test]
    fn automatic_mail_is_recognised() {
        let base = "From: robot@example.com\r\nSubject: Re: x\r\n";
        for header in ["Auto-Submitted: auto-replied", "Precedence: bulk", "X-Autoreply: yes", "List-Id: <news.example.com>"] {
            let raw = format!("{base}{header}\r\n\r\nhi\r\n");
            assert!(parse(raw.as_bytes()).expect("parses").automatic.is_some(), "{header}");
        }
        let human = format!("{base}Auto-Submitted: no\r\n\r\nhi\r\n");
        assert_eq!(parse(human.as_bytes()).expect("parses").automatic, None);
        let vacation = "From: a@example.ru\r\nSubject: Автоответ: в отпуске\r\n\r\nhi\r\n";
        assert!(parse(vacation.as_bytes()).expect("parses").automatic.is_some());
    }

    #[test]
    fn references_are_lists_of_ids() {
        let raw = "From: a@b.ru\r\nMessage-ID: <m3@x>\r\nIn-Reply-To: <m2@x>\r\nReferences: <m1@x>\r\n <m2@x>\r\n\r\nhi\r\n";
        let parsed = parse(raw.as_bytes()).expect("parses");
        assert_eq!(parsed.message_id.as_deref(), Some("m3@x"));
        assert_eq!(parsed.in_reply_to, ["m2@x"]);
        assert_eq!(parsed.references, ["m1@x", "m2@x"]);
    }

    #[test]
    fn garbage_is_refused_not_panicked_on() {
        assert!(parse(b"").is_err());
        for input in [&b"\x00\x01\x02"[..], b"no headers here at all", b"From:\r\n\r\n"] {
            let _ = parse(input);
        }
    }
}
