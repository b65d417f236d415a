//! The HTTP surface: `/graphql`, health checks; one router for the binary and the tests.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::http::GraphiQLSource;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::ParseRequestError;
use async_graphql::futures_util::{StreamExt, TryStreamExt};
use async_graphql::http::{MultipartOptions, receive_body};
use async_graphql_axum::GraphQLResponse;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate, SizeAbove};
use tower_http::trace::TraceLayer;

mod admission;
pub mod compat;
mod files;
mod live;
pub mod metrics;
pub mod server;
mod trace;

use crate::AppState;
use crate::auth::Principal;
use crate::config::Limits;
use crate::error::Error;
use crate::graphql::AcceptLanguage;
use crate::graphql::request_check::ReadOnly;
use crate::session::Session;

/// The header that picks the active tenant (UUID or slug).
pub const TENANT_HEADER: &str = "x-tenant-id";

/// Builds the router of the whole service.
pub fn router(state: Arc<AppState>) -> Router {
    let body_limit = state.config.limits.body_bytes;
    // The API and the web UI's sign-in spend rate-limit budgets; files (fetched by signed
    // URL, many per page), health checks, metrics and the web UI's signed-in pages do not.
    let web = crate::web::routes(state.clone());
    let api = Router::new()
        .route("/graphql", get(graphql_get).post(graphql))
        .route("/compat/graphql", axum::routing::post(compat_graphql))
        .merge(compat::routes())
        .route("/userinfo", get(userinfo))
        .merge(web.signing_in)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            admission::admit,
        ));
    Router::new()
        .merge(api)
        .merge(web.pages)
        // A WebSocket upgrade carries no token (browsers cannot set headers on it): its
        // `connection_init` spends the principal's budget instead.
        .route("/graphql/ws", get(live::graphql_ws))
        .route("/files/{id}", get(files::serve_file))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::guarded))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .route_layer(
            TraceLayer::new_for_http()
                .make_span_with(trace::request_span)
                .on_response(trace::record_status),
        )
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(compression())
        .layer(axum::middleware::map_response(close_after_unread_body))
        .with_state(state)
}

/// A body refused before it was all received (too large, too slow) leaves the rest of it on
/// the connection, which is therefore closed: saying so keeps the client from sending its next
/// request on it.
async fn close_after_unread_body(mut response: Response) -> Response {
    if matches!(
        response.status(),
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT
    ) {
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    }
    response
}

async fn graphql(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::extract::Request,
) -> Response {
    execute(&state, &headers, body, &state.schema).await
}

/// The replaced platform's `me`, on its own schema (see [`crate::graphql::compat`]).
async fn compat_graphql(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::extract::Request,
) -> Response {
    execute(&state, &headers, body, &state.compat_schema).await
}

/// Receives a GraphQL request and runs it on `schema`.
async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    body: axum::extract::Request,
    schema: &impl async_graphql::Executor,
) -> Response {
    // Authenticate first: the body limit depends on who is calling.
    let session = match session(state, headers).await {
        Ok(session) => session,
        Err(error) => return refused(error),
    };
    match receive(state, headers, &session, body).await {
        Ok(request) => run(state, headers, session, request, schema).await,
        Err(error) => error.into_response(),
    }
}

/// `GET /graphql?query=…` or `?extensions=…` (a persisted query): a read-only request, small
/// and cacheable; without a query string, GraphiQL in development mode.
async fn graphql_get(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let Some(query_string) = uri.query().filter(|q| !q.is_empty()) else {
        return graphiql(&state);
    };
    let session = match session(&state, &headers).await {
        Ok(session) => session,
        Err(error) => return refused(error),
    };
    match async_graphql::http::parse_query_string(query_string) {
        Ok(request) => {
            let request = request.data(ReadOnly);
            run(&state, &headers, session, request, &state.schema).await
        }
        Err(error) => unreadable(error).into_response(),
    }
}

/// Runs a GraphQL request on `schema` with the request's session, loaders and language.
async fn run(
    state: &AppState,
    headers: &HeaderMap,
    session: Session,
    request: async_graphql::Request,
    schema: &impl async_graphql::Executor,
) -> Response {
    let loaders = crate::graphql::loaders::for_session(&state.db, &state.fields, &session);
    let mut request = request.data(session);
    if let Some(loaders) = loaders {
        request = request.data(loaders);
    }
    if let Some(accept) = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
    {
        request = request.data(AcceptLanguage(accept.to_owned()));
    }
    let allowed = Duration::from_secs(state.config.limits.request_seconds);
    // Past the limit the execution is dropped, and with it any open transaction, which rolls
    // back: a stopped request has written nothing.
    let Ok(response) = tokio::time::timeout(allowed, schema.execute(request)).await else {
        let seconds = allowed.as_secs();
        return Error::Timeout(format!(
            "the request ran longer than {seconds} s and was stopped; nothing of it was saved"
        ))
        .into_response();
    };
    let status = retry_status(&response);
    let wait = crate::graphql::retry_after(&response);
    let mut http = GraphQLResponse::from(response).into_response();
    if let Some(status) = status {
        *http.status_mut() = status;
    }
    match wait {
        Some(seconds) => crate::error::retry_after(http, seconds),
        None => http,
    }
}

/// The HTTP status of a GraphQL answer whose errors say "retry later" (the database away, a
/// request or statement stopped, a rate limit): said at the HTTP level too, so that clients and load
/// balancers retry rather than show an error.
fn retry_status(response: &async_graphql::Response) -> Option<StatusCode> {
    let has = |code| crate::graphql::has_error_code(response, code);
    if has("UNAVAILABLE") || has("TIMEOUT") {
        Some(StatusCode::SERVICE_UNAVAILABLE)
    } else {
        has("RATE_LIMITED").then_some(StatusCode::TOO_MANY_REQUESTS)
    }
}

/// Reads a GraphQL request (JSON, or a multipart request with uploads), enforcing the body
/// limit while streaming: an oversized body is PAYLOAD_TOO_LARGE before it is all received.
async fn receive(
    state: &AppState,
    headers: &HeaderMap,
    session: &Session,
    body: axum::extract::Request,
) -> Result<async_graphql::Request, Error> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let multipart = content_type
        .as_deref()
        .is_some_and(|t| t.starts_with("multipart/form-data"));
    let limit = body_limit(&state.config.limits, session);
    if !multipart {
        let announced = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
        return receive_json(body, limit, announced.unwrap_or(0).min(limit.bytes)).await;
    }
    let limit = BodyLimit {
        bytes: limit.bytes + state.files.upload_bytes,
        ..limit
    };
    let stopped = Arc::new(Stopped::default());
    let stream = limited(body, limit, stopped.clone());
    let options = MultipartOptions::default()
        .max_file_size(state.files.upload_bytes)
        .max_num_files(4);
    let parsed = receive_body(content_type, stream.into_async_read(), options).await;
    match parsed {
        Ok(request) => Ok(request),
        Err(error) if stopped.early() => Err(stopped.error(limit, error)),
        Err(ParseRequestError::PayloadTooLarge) => Err(Error::PayloadTooLarge(format!(
            "uploads are limited to {} bytes",
            state.files.upload_bytes
        ))),
        Err(error) => Err(unreadable(error)),
    }
}

/// Bodies above this size are parsed on a blocking thread, keeping the async threads free.
const PARSE_INLINE_BYTES: usize = 64 * 1024;

/// Reads a JSON request body of at most `limit` bytes and parses it straight into a
/// [`async_graphql::Request`]: async-graphql's own reader would first buffer the whole document
/// to tell a batch from a single request, which doubles the work for a bulk mutation.
/// `announced` (the Content-Length, within the limit) sizes the buffer up front.
async fn receive_json(
    body: axum::extract::Request,
    limit: BodyLimit,
    announced: usize,
) -> Result<async_graphql::Request, Error> {
    let bytes = read_body(body, limit, announced).await?;
    if bytes.len() <= PARSE_INLINE_BYTES {
        return parse_json(&bytes);
    }
    tokio::task::spawn_blocking(move || parse_json(&bytes))
        .await
        .map_err(Error::internal)?
}

/// Reads a whole body of at most `limit` bytes: PAYLOAD_TOO_LARGE as soon as it grows past it.
/// `announced` (the Content-Length, within the limit) sizes the buffer up front.
async fn read_body(
    body: axum::extract::Request,
    limit: BodyLimit,
    announced: usize,
) -> Result<Vec<u8>, Error> {
    let stopped = Arc::new(Stopped::default());
    let mut stream = std::pin::pin!(limited(body, limit, stopped.clone()));
    let mut bytes = Vec::with_capacity(announced.min(limit.bytes));
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(error) if stopped.early() => return Err(stopped.error(limit, error)),
            Err(error) => return Err(unreadable(error)),
        }
    }
    Ok(bytes)
}

fn parse_json(bytes: &[u8]) -> Result<async_graphql::Request, Error> {
    if bytes.trim_ascii_start().starts_with(b"[") {
        return Err(Error::bad_input(
            "batched requests are not supported: send one operation per request",
        ));
    }
    serde_json::from_slice(bytes).map_err(unreadable)
}

/// How much body a caller may send, and how long it may take to send it.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit {
    /// Most bytes.
    pub bytes: usize,
    /// Most time from the handler's start to the body's last byte.
    pub within: Duration,
}

/// Why a body stream was cut short, if it was.
#[derive(Default)]
struct Stopped {
    too_large: AtomicBool,
    too_slow: AtomicBool,
}

impl Stopped {
    fn early(&self) -> bool {
        self.too_large.load(Ordering::Relaxed) || self.too_slow.load(Ordering::Relaxed)
    }

    fn error(&self, limit: BodyLimit, cause: impl std::fmt::Display) -> Error {
        if self.too_large.load(Ordering::Relaxed) {
            return Error::PayloadTooLarge(format!(
                "the request body exceeds {} bytes",
                limit.bytes
            ));
        }
        tracing::debug!(%cause, "request body cut off");
        Error::SlowClient(format!(
            "the request body did not arrive within {} s",
            limit.within.as_secs()
        ))
    }
}

/// The body as a stream that fails once more than `limit.bytes` arrived, or once
/// `limit.within` has passed (a client trickling its body cannot hold a connection), saying
/// which in `stopped`.
fn limited(
    body: axum::extract::Request,
    limit: BodyLimit,
    stopped: Arc<Stopped>,
) -> impl async_graphql::futures_util::Stream<Item = std::io::Result<bytes::Bytes>> {
    use async_graphql::futures_util::stream;
    let deadline = tokio::time::Instant::now() + limit.within;
    let mut received = 0usize;
    let too_large = stopped.clone();
    let bytes = body.into_body().into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        received += chunk.len();
        if received > limit.bytes {
            too_large.too_large.store(true, Ordering::Relaxed);
            return Err(std::io::Error::other("request body too large"));
        }
        Ok(chunk)
    });
    let late = stream::once(async move {
        let late = tokio::time::Instant::now() >= deadline;
        stopped.too_slow.store(late, Ordering::Relaxed);
        late.then(|| Err(std::io::Error::from(std::io::ErrorKind::TimedOut)))
    });
    bytes
        .take_until(tokio::time::sleep_until(deadline))
        .chain(late.filter_map(std::future::ready))
}

fn unreadable(error: impl std::fmt::Display) -> Error {
    Error::bad_input(format!("the request cannot be read: {error}"))
}

/// The largest body (besides uploads) a caller may send: operators are trusted service
/// accounts whose bulk mutations carry many items; everybody else gets the ordinary limit.
pub fn body_limit(limits: &Limits, session: &Session) -> BodyLimit {
    let bytes = match session.principal() {
        Ok(Principal::Operator(_)) => limits.bulk_body_bytes,
        _ => limits.body_bytes,
    };
    BodyLimit {
        bytes,
        within: Duration::from_secs(limits.body_seconds),
    }
}

/// Responses above 1 KiB are compressed (gzip, br or zstd, as the client accepts): a small
/// `me` pays nothing, a page of cards a fraction of its size. Images and files are never
/// compressed (the default predicate leaves images out; files are served with their type).
fn compression() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new().compress_when(DefaultPredicate::new().and(SizeAbove::new(1024)))
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
    let principal = state
        .signin
        .principal(state.databases(), &state.auth, token)
        .await?;
    let tenant = headers
        .get(TENANT_HEADER)
        .map(|v| v.to_str())
        .transpose()
        .map_err(|_| Error::bad_input("the X-Tenant-Id header is not valid text"))?;
    Session::resolve(&state.db, principal, tenant).await
}

pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, Error> {
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
        let member = session.member()?;
        crate::profiles::read(&state.db, &state.fields, &member, user.user.id).await
    };
    match card.await {
        Ok(card) => Json(crate::profiles::userinfo(&card)).into_response(),
        Err(error) => error.into_response(),
    }
}

fn graphiql(state: &AppState) -> Response {
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
            crate::error::retry_after(
                (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response(),
                crate::error::RETRY_AFTER_SECONDS,
            )
        }
    }
}
