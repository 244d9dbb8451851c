//! Attachment downloads, authorised like the case they belong to.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use opora_domain::AttachmentId;
use opora_domain::agent::Action;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::PathId;

/// Types a browser may show inline; anything else (HTML, SVG, scripts) is always a download.
const INLINE: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"];

/// `filename*=UTF-8''…` (RFC 6266/5987) so Cyrillic names survive, with an ASCII fallback.
pub fn content_disposition(disposition: &str, filename: &str) -> String {
    let ascii: String = filename.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_ ".contains(c) { c } else { '_' }).collect();
    let encoded: String = filename
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b".-_".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    format!("{disposition}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// Download an attachment.
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "messages", params(("id" = i64, Path)),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"), (status = 404, body = crate::docs::Problem)))]
pub async fn download(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Response> {
    caller.require(Action::ReadCases)?;
    let (attachment, _, content) = state.app.messages().attachment(caller.acting(), AttachmentId(id)).await?;
    // Text is shown only when it is UTF-8, and then says so: a browser would guess Latin-1.
    let text = attachment.content_type == "text/plain";
    let inline = INLINE.contains(&attachment.content_type.as_str()) && (!text || std::str::from_utf8(&content).is_ok());
    let content_type = match (inline, text) {
        (true, true) => "text/plain; charset=utf-8",
        (true, false) => attachment.content_type.as_str(),
        (false, _) => "application/octet-stream",
    };
    let mut response = Response::new(Body::from(content));
    let headers = response.headers_mut();
    headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")));
    let disposition = content_disposition(if inline { "inline" } else { "attachment" }, &attachment.filename);
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    Ok(response)
}

/// The download answers in every type it serves; the derive can name only one.
pub fn document_download_types(spec: &mut serde_json::Value) {
    let binary = serde_json::json!({"schema": {"type": "string", "format": "binary"}});
    let content: serde_json::Map<String, serde_json::Value> =
        INLINE.iter().chain(&["application/octet-stream"]).map(|kind| ((*kind).to_owned(), binary.clone())).collect();
    if let Some(ok) = spec.pointer_mut("/paths/~1api~1v1~1attachments~1{id}/get/responses/200") {
        ok["content"] = serde_json::Value::Object(content);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cyrillic_names_are_encoded() {
        assert_eq!(
            super::content_disposition("attachment", "Акт 1.pdf"),
            "attachment; filename=\"___ 1.pdf\"; filename*=UTF-8''%D0%90%D0%BA%D1%82%201.pdf"
        );
    }
}
