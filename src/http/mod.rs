//! The HTTP surface: `/graphql`, health checks; one router for the binary and the tests.

use std::sync::Arc;

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::auth::Session;
use crate::error::Error;
use crate::graphql::AcceptLanguage;

/// The header that picks the active tenant (UUID or slug).
pub const TENANT_HEADER: &str = "x-tenant-id";

/// Builds the router of the whole service.
pub fn router(state: Arc<AppState>) -> Router {
    let body_limit = state.config.limits.body_bytes;
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/userinfo", get(userinfo))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn graphql(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> Response {
    match session(&state, &headers).await {
        Ok(session) => {
            let mut request = request.into_inner().data(session);
            if let Some(accept) = headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
            {
                request = request.data(AcceptLanguage(accept.to_owned()));
            }
            let mut response = state.schema.execute(request).await;
            crate::graphql::ensure_error_codes(&mut response);
            GraphQLResponse::from(response).into_response()
        }
        Err(error) => refused(error),
    }
}

/// A refused token fails the whole request, so no field answers to forged credentials.
fn refused(error: Error) -> Response {
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

/// OIDC-style userinfo of the caller's card in the active tenant, with the same access rules
/// as every other path.
async fn userinfo(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let session = match session(&state, &headers).await {
        Ok(session) => session,
        Err(error) => return refused(error),
    };
    let card = async {
        let user = session.user()?;
        let scope = session.active()?;
        crate::profiles::read(&state.db, &state.fields, scope, user.user.id).await
    };
    match card.await {
        Ok(card) => Json(crate::profiles::userinfo(&card)).into_response(),
        Err(error) => error.into_response(),
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
