//! The few Graph API calls the WhatsApp channel makes (`{base}/{version}/…`, bearer token):
//! send a message, upload a file for one, look up and download a customer's media, read the
//! number and its approved templates. Errors are read by their `code`, never their wording.

use serde_json::Value;

use crate::webhook::Client;

/// The public Graph API.
pub const PUBLIC_GRAPH: &str = "https://graph.facebook.com";
pub const DEFAULT_VERSION: &str = "v23.0";
const MAX_ANSWER_BYTES: usize = 4 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphError {
    /// The token expired or was revoked (HTTP 401, code 190): an admin must replace it.
    Unauthorized(String),
    /// Too many messages for now (codes 4, 80007, 130429, 131048, 131056; HTTP 429).
    Throttled(String),
    /// More than 24 hours since the customer last wrote: only a template may go (131047).
    WindowClosed(String),
    /// Refused for this message (a bad number, a media type WhatsApp does not take).
    Refused(String),
    /// No answer, or Meta's trouble (5xx, codes 1, 2, 131000, 133004).
    Temporary(String),
}

impl GraphError {
    pub fn describe(&self) -> &str {
        match self {
            GraphError::Unauthorized(s)
            | GraphError::Throttled(s)
            | GraphError::WindowClosed(s)
            | GraphError::Refused(s)
            | GraphError::Temporary(s) => s,
        }
    }
}

/// `(#131047) Re-engagement message: details`.
fn describe(error: &Value, status: u16) -> String {
    let code = error["code"].as_i64();
    let message = error["message"].as_str().unwrap_or("");
    let details = error["error_data"]["details"].as_str().filter(|d| !d.is_empty());
    let head = match (code, message.is_empty()) {
        (Some(_), false) if message.starts_with("(#") => message.to_owned(),
        (Some(code), false) => format!("(#{code}) {message}"),
        (Some(code), true) => format!("(#{code})"),
        (None, _) => format!("HTTP {status}"),
    };
    match details {
        Some(details) => format!("{head}: {details}"),
        None => head,
    }
}

/// What an error answer means.
pub fn classify(status: u16, body: &Value) -> GraphError {
    let error = &body["error"];
    let text = describe(error, status);
    match (status, error["code"].as_i64()) {
        (401, _) | (_, Some(190)) => GraphError::Unauthorized(text),
        (_, Some(131_047)) => GraphError::WindowClosed(text),
        (429, _) | (_, Some(4 | 80_007 | 130_429 | 131_048 | 131_056)) => GraphError::Throttled(text),
        (500.., _) | (_, Some(1 | 2 | 131_000 | 133_004)) => GraphError::Temporary(text),
        _ => GraphError::Refused(text),
    }
}

pub struct Graph<'a> {
    pub client: &'a Client,
    pub base: &'a str,
    pub version: &'a str,
    pub token: &'a str,
}

async fn read(response: reqwest::Response) -> Result<(u16, Value), GraphError> {
    let status = response.status().as_u16();
    let mut body = Vec::new();
    let mut response = response;
    while let Some(chunk) = response.chunk().await.map_err(|e| GraphError::Temporary(e.without_url().to_string()))? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(GraphError::Temporary("the answer is too long".into()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

fn sent(result: Result<reqwest::Response, reqwest::Error>) -> Result<reqwest::Response, GraphError> {
    result.map_err(|e| GraphError::Temporary(e.without_url().to_string()))
}

impl Graph<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}/{}/{}", self.base.trim_end_matches('/'), self.version, path.trim_start_matches('/'))
    }

    async fn answer(&self, request: reqwest::RequestBuilder) -> Result<Value, GraphError> {
        let (status, body) = read(sent(request.bearer_auth(self.token).send().await)?).await?;
        if (200..300).contains(&status) { Ok(body) } else { Err(classify(status, &body)) }
    }

    pub async fn get(&self, path: &str) -> Result<Value, GraphError> {
        self.answer(self.client.get(self.url(path))).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, GraphError> {
        self.answer(self.client.post(self.url(path)).json(body)).await
    }

    /// Uploads a file for a message; returns its media id.
    pub async fn upload(&self, phone_number_id: &str, filename: &str, content_type: &str, content: &[u8]) -> Result<String, GraphError> {
        let part = reqwest::multipart::Part::bytes(content.to_vec()).file_name(filename.to_owned());
        let part = part.mime_str(content_type).map_err(|e| GraphError::Refused(format!("{content_type}: {e}")))?;
        let form =
            reqwest::multipart::Form::new().text("messaging_product", "whatsapp").text("type", content_type.to_owned()).part("file", part);
        let answer = self.answer(self.client.post(self.url(&format!("{phone_number_id}/media"))).multipart(form)).await?;
        answer["id"].as_str().map(str::to_owned).ok_or_else(|| GraphError::Temporary("the upload gave no media id".into()))
    }

    /// A customer's media: its address (short-lived), then the bytes, with the same token.
    /// `Ok(None)`: larger than `limit`.
    pub async fn download(&self, media_id: &str, limit: usize) -> Result<Option<Vec<u8>>, GraphError> {
        let media = self.get(media_id).await?;
        let size = media["file_size"].as_u64().or_else(|| media["file_size"].as_str()?.parse().ok());
        if size.is_some_and(|s| s > limit as u64) {
            return Ok(None);
        }
        let Some(url) = media["url"].as_str() else { return Err(GraphError::Refused("the media has no address".into())) };
        let mut response = sent(self.client.get(url).bearer_auth(self.token).send().await)?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            return Err(classify(status, &Value::Null));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| GraphError::Temporary(e.without_url().to_string()))? {
            if body.len() + chunk.len() > limit {
                return Ok(None);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Some(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_are_read_by_code() {
        let window = json!({"error": {"message": "(#131047) Re-engagement message", "type": "OAuthException", "code": 131047,
            "error_data": {"messaging_product": "whatsapp", "details": "Message failed to send because more than 24 hours have passed."}}});
        let read = classify(400, &window);
        assert_eq!(
            read,
            GraphError::WindowClosed(
                "(#131047) Re-engagement message: Message failed to send because more than 24 hours have passed.".into()
            )
        );
        assert!(matches!(classify(400, &json!({"error": {"message": "Expired", "code": 190}})), GraphError::Unauthorized(_)));
        assert!(matches!(classify(400, &json!({"error": {"message": "Rate", "code": 130429}})), GraphError::Throttled(_)));
        assert!(matches!(classify(503, &Value::Null), GraphError::Temporary(_)));
        assert!(matches!(classify(400, &json!({"error": {"message": "Invalid parameter", "code": 100}})), GraphError::Refused(_)));
    }
}
