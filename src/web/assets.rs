//! The UI's static files, compiled into the binary: htmx (vendored, pinned: see
//! `assets/vendor/README.md`), the stylesheet and the live-page and designer scripts. Their paths carry a
//! version, so browsers may keep them for a year.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// Where htmx is served; the version in the name makes the long cache safe.
pub const HTMX_PATH: &str = "/assets/htmx-2.0.11.min.js";
/// Where the stylesheet is served; bump the number when it changes.
pub const CSS_PATH: &str = "/assets/app-2.css";
/// Where the live-page script is served; bump the number when it changes.
pub const LIVE_PATH: &str = "/assets/live-3.js";
/// Where the designer's drag-and-drop script is served; bump the number when it changes.
pub const DESIGNER_PATH: &str = "/assets/designer-1.js";

const HTMX: &[u8] = include_bytes!("../../assets/vendor/htmx-2.0.11.min.js");
const CSS: &[u8] = include_bytes!("../../assets/app.css");
const LIVE: &[u8] = include_bytes!("../../assets/live.js");
const DESIGNER: &[u8] = include_bytes!("../../assets/designer.js");

/// A year, the longest cache browsers honour.
const FOREVER: &str = "public, max-age=31536000, immutable";

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// `GET /assets/htmx-….min.js`.
pub async fn htmx() -> Response {
    asset(JAVASCRIPT, HTMX)
}

/// `GET /assets/live-….js`.
pub async fn live() -> Response {
    asset(JAVASCRIPT, LIVE)
}

/// `GET /assets/designer-….js`.
pub async fn designer() -> Response {
    asset(JAVASCRIPT, DESIGNER)
}

/// `GET /assets/app-….css`.
pub async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

fn asset(content_type: &'static str, bytes: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, FOREVER),
        ],
        bytes,
    )
        .into_response()
}
