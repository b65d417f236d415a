//! Admission: each API request spends one unit of its caller's request budget before any
//! work is done for it, and a request with uploads one unit of the upload budget.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::metrics::Budget;
use crate::ratelimit::Caller;

/// Refuses a request over its caller's budget with `RATE_LIMITED` (429, `Retry-After`).
pub async fn admit(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let token = super::bearer_token(request.headers())
        .ok()
        .flatten()
        .map(str::to_owned);
    let address = super::server::client_address(request.extensions())
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |address| address.ip());
    let caller = caller(&state, token.as_deref(), address).await;
    let uploads = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("multipart/form-data"));
    let admitted = state.limiter.admit(&caller).and_then(|()| match uploads {
        true => state.limiter.spend_costly(Budget::uploads, &caller),
        false => Ok(()),
    });
    match admitted {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

/// The principal of a token that verifies (usually from the cache), else the client's
/// address: a token that does not (a forged one, say) spends its address's anonymous budget,
/// so rotating made-up tokens gains an attacker nothing.
async fn caller(state: &AppState, token: Option<&str>, address: IpAddr) -> Caller {
    if let Some(token) = token
        && let Some(subject) = state.auth.subject_quietly(token).await
    {
        return Caller::Principal(subject);
    }
    Caller::Address(address)
}
