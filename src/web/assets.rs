//! The UI's static files, compiled into the binary: htmx (vendored, pinned: see
//! `assets/vendor/README.md`) and the stylesheet. Their paths carry a version, so browsers may
//! keep them for a year.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// Where htmx is served; the version in the name makes the long cache safe.
pub const HTMX_PATH: &str = "/assets/htmx-2.0.11.min.js";
/// Where the stylesheet is served; bump the number when it changes.
pub const CSS_PATH: &str = "/assets/app-1.css";

const HTMX: &[u8] = include_bytes!("../../assets/vendor/htmx-2.0.11.min.js");
const CSS: &[u8] = include_bytes!("../../assets/app.css");

/// A year, the longest cache browsers honour.
const FOREVER: &str = "public, max-age=31536000, immutable";

/// `GET /assets/htmx-….min.js`.
pub async fn htmx() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, FOREVER),
        ],
        HTMX,
    )
        .into_response()
}

/// `GET /assets/app-….css`.
pub async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, FOREVER),
        ],
        CSS,
    )
        .into_response()
}
