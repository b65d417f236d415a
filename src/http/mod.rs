//! The HTTP surface: `/graphql`, health checks; one router for the binary and the tests.

use std::sync::Arc;

use async_graphql::futures_util::StreamExt;
use async_graphql::http::{GraphiQLSource, MultipartOptions};
use async_graphql::{ParseRequestError, ServerError};
use async_graphql_axum::GraphQLResponse;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::auth::{Principal, Session};
use crate::config::Limits;
use crate::error::Error;

/// The header that picks the active tenant (UUID or slug).
pub const TENANT_HEADER: &str = "x-tenant-id";

/// Builds the router of the whole service. `/graphql` reads its body itself, with a limit that
/// depends on the caller ([`body_limit`]); the default limit covers every other route.
pub fn router(state: Arc<AppState>) -> Router {
    let body_limit = state.config.limits.body_bytes;
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn graphql(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let session = match session(&state, &parts.headers).await {
        Ok(session) => session,
        Err(error) => return unauthenticated(error),
    };
    let limit = body_limit(&state.config.limits, &session);
    let request = match read_request(&parts.headers, body, limit).await {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let mut response = state.schema.execute(request.data(session)).await;
    response.errors.iter_mut().for_each(ensure_code);
    GraphQLResponse::from(response).into_response()
}

/// The largest body a caller may send: operators are trusted service accounts whose bulk
/// mutations carry many items; everybody else gets the ordinary limit, checked before the
/// body is read.
pub fn body_limit(limits: &Limits, session: &Session) -> usize {
    match session.principal() {
        Ok(Principal::Operator(_)) => limits.bulk_body_bytes,
        _ => limits.body_bytes,
    }
}

/// Reads a GraphQL request (JSON or multipart) of at most `limit` bytes.
async fn read_request(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<async_graphql::Request, Error> {
    let bytes = read_body(headers, body, limit).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    let reader = async_graphql::futures_util::io::Cursor::new(bytes);
    async_graphql::http::receive_body(content_type, reader, MultipartOptions::default())
        .await
        .map_err(|error| match error {
            ParseRequestError::PayloadTooLarge => too_large(limit),
            other => Error::bad_input(format!("the body is not a GraphQL request: {other}")),
        })
}

/// How much of a body over the limit is still read (and dropped) before answering, so that a
/// client still sending gets to read the PAYLOAD_TOO_LARGE answer instead of a reset connection.
const DRAIN_ALLOWANCE: usize = 16 << 20;

/// Reads the body, refusing it with PAYLOAD_TOO_LARGE when it exceeds `limit`; nothing past the
/// limit is kept in memory.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Vec<u8>, Error> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit.saturating_add(DRAIN_ALLOWANCE)) {
        return Err(too_large(limit));
    }
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    let mut seen = 0usize;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|error| Error::bad_input(format!("reading the body failed: {error}")))?;
        seen = seen.saturating_add(chunk.len());
        if seen > limit.saturating_add(DRAIN_ALLOWANCE) {
            break;
        }
        if seen <= limit {
            bytes.extend_from_slice(&chunk);
        }
    }
    if seen > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

fn too_large(limit: usize) -> Error {
    Error::PayloadTooLarge(format!(
        "the request body exceeds the limit of {limit} bytes"
    ))
}

/// Errors our resolvers raise carry a code already; the others come from parsing and validating
/// the query against the schema (unknown fields, wrong argument types, depth and complexity
/// limits), all the client's doing.
fn ensure_code(error: &mut ServerError) {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", "BAD_USER_INPUT");
    }
}

/// A refused token fails the whole request, so no field answers to forged credentials.
fn unauthenticated(error: Error) -> Response {
    let mut response = error.into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer error=\"invalid_token\""),
    );
    response
}

/// Builds the request's session from its `Authorization` and `X-Tenant-Id` headers.
pub async fn session(state: &AppState, headers: &HeaderMap) -> Result<Session, Error> {
    let Some(token) = bearer_token(headers)? else {
        return Ok(Session::anonymous());
    };
    let principal = state.auth.authenticate(&state.db, token).await?;
    let tenant = headers
        .get(TENANT_HEADER)
        .map(|v| v.to_str())
        .transpose()
        .map_err(|_| Error::bad_input("the X-Tenant-Id header is not valid text"))?;
    Session::resolve(&state.db, principal, tenant).await
}

fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, Error> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| Error::Unauthenticated("the Authorization header is not valid text".into()))?;
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(Error::Unauthenticated(
            "the Authorization header must be `Bearer <token>`".into(),
        )),
    }
}

async fn graphiql(State(state): State<Arc<AppState>>) -> Response {
    if !state.config.dev_mode {
        return (
            StatusCode::NOT_FOUND,
            "GraphiQL is only served in development mode",
        )
            .into_response();
    }
    Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response()
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match state.db.ping().await {
        Ok(()) => "ready".into_response(),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}
