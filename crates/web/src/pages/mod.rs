//! Server-rendered pages (maud templates, compiled in).

pub mod accounts;
pub mod audit;
pub mod inventory;
pub mod layout;
pub mod okta;
pub mod tokens;

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// `GET /static/style.css`.
pub async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        layout::STYLE_CSS,
    )
        .into_response()
}

/// `GET /healthz` (no authentication).
pub async fn healthz() -> &'static str {
    "ok"
}
