//! Prometheus on the HTTP side: every routed request counted by its route's pattern, and
//! `/metrics`, readable only with the configured secret or on its own address.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::AppState;

/// Counts one request under its route (the pattern, such as `/files/{id}`).
pub async fn track(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    state.metrics.http_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// `/metrics` on the service's address, for a caller with the configured bearer secret.
pub async fn guarded(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let allowed = state
        .config
        .metrics
        .bearer_token
        .as_deref()
        .is_some_and(|secret| presents(&headers, secret));
    if !allowed {
        return StatusCode::NOT_FOUND.into_response();
    }
    exposition(&state)
}

/// The router of the separate metrics address: `/metrics` only, without credentials.
pub fn internal_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(state): State<Arc<AppState>>| async move { exposition(&state) }),
        )
        .with_state(state)
}

fn exposition(state: &AppState) -> Response {
    let text = state.metrics.render(&state.db);
    ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response()
}

/// Whether the request carries `Bearer <secret>`; compared as digests, so the time taken says
/// nothing about how much of the secret matched.
fn presents(headers: &HeaderMap, secret: &str) -> bool {
    let Some(sent) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    Sha256::digest(sent.trim().as_bytes()) == Sha256::digest(secret.as_bytes())
}
