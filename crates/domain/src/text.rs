//! Text and HTML handling shared by every channel: sanitising HTML for display and deriving plain
//! text from it.

use std::collections::HashSet;

/// Where inline images live once a channel has rewritten `cid:` references: the only relative
/// address message HTML may point to.
pub const ATTACHMENT_PATH: &str = "/api/v1/attachments/";

/// Sanitises HTML for the agent UI: no scripts, styles, forms or event handlers; links open
/// safely; relative addresses are dropped except our own attachments (inline images the channel
/// rewrote from `cid:`). Remote images keep their http(s) address: the workspace's content
/// policy blocks them until an agent asks to see them, so tracking pixels stay silent.
pub fn sanitize_html(html: &str) -> String {
    let mut builder = ammonia::Builder::default();
    builder
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_relative(ammonia::UrlRelative::PassThrough)
        .add_tag_attributes("td", ["colspan", "rowspan", "align"])
        .add_tag_attributes("th", ["colspan", "rowspan", "align"])
        .add_tag_attributes("p", ["align"])
        .add_tag_attributes("span", ["lang"])
        .clean_content_tags(HashSet::from(["script", "style", "title", "head"]))
        .attribute_filter(|element, attribute, value| {
            let ours = is_our_attachment(value);
            let remote = value.starts_with("https://") || value.starts_with("http://");
            let image = element == "img" && attribute == "src" && !remote;
            let relative = matches!(attribute, "src" | "href") && is_relative(value);
            if (image || relative) && !ours { None } else { Some(value.into()) }
        });
    builder.clean(html).to_string()
}

/// Whether sanitised HTML shows images from other sites (the workspace blocks them by default).
pub fn has_remote_images(html: &str) -> bool {
    html.contains("src=\"https://") || html.contains("src=\"http://")
}

/// Russian when Cyrillic letters make up at least a third of the letters, else English: enough
/// to answer a first message in the customer's language.
pub fn guess_language(text: &str) -> crate::agent::Language {
    let (mut cyrillic, mut letters) = (0usize, 0usize);
    for c in text.chars().filter(|c| c.is_alphabetic()).take(2000) {
        letters += 1;
        if ('\u{400}'..='\u{4ff}').contains(&c) {
            cyrillic += 1;
        }
    }
    if letters > 0 && cyrillic * 3 >= letters { crate::agent::Language::Ru } else { crate::agent::Language::En }
}

/// Exactly an address the intake itself writes: `/api/v1/attachments/42`, or `…/cid-3` before
/// the files are stored. Anything more (`…/../../lang/en`) could make the agent's browser do
/// something when the message is shown.
fn is_our_attachment(url: &str) -> bool {
    url.strip_prefix(ATTACHMENT_PATH).is_some_and(|rest| {
        let id = rest.strip_prefix("cid-").unwrap_or(rest);
        !id.is_empty() && id.len() <= 18 && id.bytes().all(|b| b.is_ascii_digit())
    })
}

/// No scheme before the first slash: `x`, `/path`, `../up`, `//host` (protocol-relative).
fn is_relative(url: &str) -> bool {
    let url = url.trim_start();
    match (url.find(':'), url.find('/')) {
        (Some(colon), Some(slash)) => slash < colon,
        (Some(_), None) => false,
        _ => true,
    }
}

/// Plain text from HTML: block elements become line breaks, entities are decoded, whitespace is
/// collapsed the way a browser would show it.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    let mut skip_until: Option<&'static str> = None;
    while let Some(start) = rest.find('<') {
        if skip_until.is_none() {
            push_text(&mut out, &rest[..start]);
        }
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else {
            rest = "";
            break;
        };
        let tag = after[..end].trim().to_ascii_lowercase();
        rest = &after[end + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        if let Some(wanted) = skip_until {
            if closing && name == wanted {
                skip_until = None;
            }
            continue;
        }
        match name.as_str() {
            "script" | "style" | "head" | "title" if !closing => {
                skip_until = Some(match name.as_str() {
                    "script" => "script",
                    "style" => "style",
                    "head" => "head",
                    _ => "title",
                })
            }
            "br" => out.push('\n'),
            "li" if !closing => {
                break_line(&mut out);
                out.push_str("- ");
            }
            "p" | "div" | "tr" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "blockquote" | "ul" | "ol" | "table" | "li" | "pre" | "hr" => {
                break_line(&mut out)
            }
            "td" | "th" if closing => out.push(' '),
            _ => {}
        }
    }
    if skip_until.is_none() {
        push_text(&mut out, rest);
    }
    tidy(&out)
}

fn break_line(out: &mut String) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

fn push_text(out: &mut String, text: &str) {
    let decoded = decode_entities(text);
    for c in decoded.chars() {
        if c.is_whitespace() && c != '\u{a0}' {
            if !out.ends_with([' ', '\n']) && !out.is_empty() {
                out.push(' ');
            }
        } else {
            out.push(if c == '\u{a0}' { ' ' } else { c });
        }
    }
}

fn tidy(text: &str) -> String {
    let mut lines: Vec<&str> = Vec::new();
    let mut blank = 0;
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        lines.push(line);
    }
    lines.join("\n").trim().to_owned()
}

/// Decodes the HTML entities mail and editors actually produce.
pub fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let end = after.find(';').filter(|&e| e <= 10);
        let decoded = end.and_then(|e| entity(&after[..e]));
        match (end, decoded) {
            (Some(e), Some(c)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            _ => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(code);
    }
    if name == "apos" {
        return Some('\'');
    }
    crate::entities::lookup(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_is_guessed_from_the_script() {
        use crate::agent::Language;
        assert_eq!(guess_language("Здравствуйте, заказ 5512 не приехал"), Language::Ru);
        assert_eq!(guess_language("Hello, order 5512 (Заказ) did not arrive"), Language::En);
        assert_eq!(guess_language("12345"), Language::En);
    }

    #[test]
    fn sanitizer_strips_scripts_and_keeps_only_addressable_images() {
        let html = r#"<p onclick="x()">Привет<script>alert(1)</script></p><img src="https://t.example/p.gif"><img src="x"><img src="//t.example/p"><img src="/api/v1/attachments/7"><a href="/logout">out</a><a href="https://ok.example">ok</a>"#;
        let clean = sanitize_html(html);
        assert!(!clean.contains("script") && !clean.contains("onclick") && !clean.contains("alert"), "{clean}");
        assert!(clean.contains(r#"<img src="https://t.example/p.gif">"#), "remote images keep their address: {clean}");
        assert!(!clean.contains("//t.example/p\"") && !clean.contains("src=\"x\"") && !clean.contains("/logout"), "{clean}");
        assert!(clean.contains(r#"<img src="/api/v1/attachments/7">"#), "inline images stay: {clean}");
        assert!(clean.contains(r#"rel="noopener noreferrer nofollow""#), "{clean}");
        assert!(clean.contains("Привет"));
        for hostile in [
            r#"<img src="/api/v1/attachments&#47;../../../lang/en">"#,
            r#"<img src="/api/v1/attachments/7/../../../cases/5">"#,
            r#"<a href="/api/v1/attachments/?x">a</a>"#,
        ] {
            let clean = sanitize_html(hostile);
            assert!(!clean.contains("src=") && !clean.contains("href="), "only exact attachment addresses stay: {clean}");
        }
    }

    #[test]
    fn text_from_html_keeps_structure() {
        let html = "<html><head><title>T</title><style>p{}</style></head><body><p>Здравствуйте,&nbsp;Иван!</p><p>Заказ &#8470;5 &amp; <b>доставка</b></p><ul><li>один</li><li>два</li></ul>конец<br>строка</body></html>";
        assert_eq!(html_to_text(html), "Здравствуйте, Иван!\nЗаказ №5 & доставка\n- один\n- два\nконец\nстрока");
    }

    #[test]
    fn broken_entities_stay_as_they_are() {
        assert_eq!(decode_entities("A & B &unknown; &#xZZ; &lt;"), "A & B &unknown; &#xZZ; <");
    }
}
