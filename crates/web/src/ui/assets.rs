//! Our CSS and JavaScript, built into the binary and served with a content-hash version so
//! browsers cache them until they change. Nothing is loaded from a CDN.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &str)] = &[
    ("app.css", "text/css; charset=utf-8", include_str!("../../static/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../../static/app.js")),
    ("icon.svg", "image/svg+xml", include_str!("../../static/icon.svg")),
    ("public.css", "text/css; charset=utf-8", include_str!("../../static/public.css")),
];

/// A short hash of every asset, appended as `?v=` so a new release is fetched at once.
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let all: String = FILES.iter().map(|(_, _, body)| *body).collect();
        crate::auth::sha256_hex(all.as_bytes())[..10].to_owned()
    })
}

pub async fn serve(Path(file): Path<String>) -> Response {
    let Some((_, mime, body)) = FILES.iter().find(|(name, ..)| *name == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = (*body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}
