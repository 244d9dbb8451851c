//! The few Bot API methods Opora calls, over `{base}/bot{token}/{method}`, and what their
//! answers mean for us. The token is part of every address, so no error we keep or show
//! carries an address.

use std::time::Duration;

use opora_domain::outbound::OutgoingFile;
use serde_json::Value;

use crate::webhook::Client;

/// The public Bot API.
pub const PUBLIC_API: &str = "https://api.telegram.org";
/// The largest file the public Bot API hands over.
pub const MAX_DOWNLOAD_BYTES: u64 = 20 << 20;
/// The longest answer read (a batch of 100 updates fits many times over).
const MAX_ANSWER_BYTES: usize = 16 << 20;

/// What a call came to, when it did not work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BotError {
    /// 401: the token was revoked or never existed. Nothing works until an admin replaces it.
    Unauthorized(String),
    /// 429: slow down for this many seconds.
    RetryAfter(u64, String),
    /// 409: a webhook is set while we poll (or another process polls the same bot).
    Conflict(String),
    /// Refused for this request (400 "chat not found", 403 "bot was blocked by the user").
    Refused(String),
    /// Worth trying again: no answer, a server error.
    Temporary(String),
}

impl BotError {
    pub fn describe(&self) -> &str {
        match self {
            BotError::Unauthorized(s)
            | BotError::RetryAfter(_, s)
            | BotError::Conflict(s)
            | BotError::Refused(s)
            | BotError::Temporary(s) => s,
        }
    }
}

/// One bot, as its settings name it.
pub struct Bot<'a> {
    pub client: &'a Client,
    pub base: &'a str,
    pub token: &'a str,
}

/// The answer's body up to `limit` bytes; `None` when it is longer.
async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// A transport error without the address (it holds the token).
fn transport(e: reqwest::Error) -> BotError {
    BotError::Temporary(e.without_url().to_string())
}

/// Reads the Bot API's envelope: `{"ok": true, "result": …}` or the error it describes.
fn envelope(status: u16, body: &[u8]) -> Result<Value, BotError> {
    let answer: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if answer["ok"] == Value::Bool(true) {
        return Ok(answer["result"].clone());
    }
    let code = answer["error_code"].as_u64().unwrap_or(u64::from(status));
    let description = answer["description"].as_str().map_or_else(|| format!("HTTP {status}"), |d| format!("{code}: {d}"));
    Err(match code {
        401 => BotError::Unauthorized(description),
        409 => BotError::Conflict(description),
        429 => BotError::RetryAfter(answer["parameters"]["retry_after"].as_u64().unwrap_or(5), description),
        400..=499 => BotError::Refused(description),
        _ => BotError::Temporary(description),
    })
}

impl Bot<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}/bot{}/{path}", self.base.trim_end_matches('/'), self.token)
    }

    /// Calls a method with JSON parameters; `wait` bounds the call (long polling waits longer).
    pub async fn call(&self, method: &str, params: &Value, wait: Option<Duration>) -> Result<Value, BotError> {
        let mut request = self.client.post(self.url(method)).json(params);
        if let Some(wait) = wait {
            request = request.timeout(wait);
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let body = read_capped(response, MAX_ANSWER_BYTES).await.map_err(transport)?;
        envelope(status, &body.unwrap_or_default())
    }

    /// Sends a file as a photo (a picture Telegram can show) or a document.
    pub async fn upload(&self, chat: &str, file: &OutgoingFile, caption: Option<&str>) -> Result<Value, BotError> {
        let photo = matches!(file.content_type.as_str(), "image/jpeg" | "image/png" | "image/webp") && file.content.len() <= 10 << 20;
        let (method, field) = if photo { ("sendPhoto", "photo") } else { ("sendDocument", "document") };
        let part = reqwest::multipart::Part::bytes(file.content.clone())
            .file_name(file.filename.clone())
            .mime_str(&file.content_type)
            .unwrap_or_else(|_| reqwest::multipart::Part::bytes(file.content.clone()).file_name(file.filename.clone()));
        let mut form = reqwest::multipart::Form::new().text("chat_id", chat.to_owned()).part(field, part);
        if let Some(caption) = caption {
            form = form.text("caption", caption.to_owned());
        }
        let response = self.client.post(self.url(method)).multipart(form).send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let body = read_capped(response, MAX_ANSWER_BYTES).await.map_err(transport)?;
        envelope(status, &body.unwrap_or_default())
    }

    /// Downloads a file by its `file_id`: `getFile`, then its path under `/file/bot{token}/`.
    /// `Ok(None)`: larger than `limit`.
    pub async fn download(&self, file_id: &str, limit: u64) -> Result<Option<Vec<u8>>, BotError> {
        let file = self.call("getFile", &serde_json::json!({"file_id": file_id}), None).await?;
        if file["file_size"].as_u64().is_some_and(|size| size > limit) {
            return Ok(None);
        }
        let Some(path) = file["file_path"].as_str() else {
            return Err(BotError::Refused("getFile gave no file_path".into()));
        };
        let url = format!("{}/file/bot{}/{}", self.base.trim_end_matches('/'), self.token, path.trim_start_matches('/'));
        let response = self.client.get(url).send().await.map_err(transport)?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            return Err(if status >= 500 {
                BotError::Temporary(format!("HTTP {status}"))
            } else {
                BotError::Refused(format!("HTTP {status}"))
            });
        }
        read_capped(response, usize::try_from(limit).unwrap_or(usize::MAX)).await.map_err(transport)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_says_what_went_wrong() {
        let ok = envelope(200, br#"{"ok":true,"result":{"message_id":7}}"#).expect("ok");
        assert_eq!(ok["message_id"], 7);
        let slow = br#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 35","parameters":{"retry_after":35}}"#;
        assert!(matches!(envelope(429, slow), Err(BotError::RetryAfter(35, _))));
        assert!(matches!(envelope(401, br#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#), Err(BotError::Unauthorized(_))));
        assert!(matches!(
            envelope(403, br#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#),
            Err(BotError::Refused(_))
        ));
        assert!(matches!(envelope(502, b"<html>Bad Gateway</html>"), Err(BotError::Temporary(_))));
        assert!(matches!(envelope(409, br#"{"ok":false,"error_code":409,"description":"Conflict"}"#), Err(BotError::Conflict(_))));
    }
}
