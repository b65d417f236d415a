//! The error kinds a client can cause, and their one mapping to GraphQL `extensions.code` and HTTP.
//!
//! [`Error`] deliberately does not implement `Display`: async-graphql converts any `Display`
//! type into an error without a code, so without it `?` in a resolver must go through the
//! [`From`] impl below, which always sets `extensions.code`.

use std::sync::Arc;

use async_graphql::ErrorExtensions;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Result of a domain operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One invalid input value, named by the field key or argument it belongs to.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct InputProblem {
    /// The field key or argument name.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// Everything that can go wrong, sorted by who is to blame.
#[derive(Clone, Debug)]
pub enum Error {
    /// No valid credentials; the message names the check that failed.
    Unauthenticated(String),
    /// Credentials are fine but do not grant this.
    Forbidden(String),
    /// The thing does not exist, or the caller may not know that it does.
    NotFound(String),
    /// The input is invalid; `problems` lists every invalid value at once.
    BadUserInput {
        /// Summary.
        message: String,
        /// Per-field details.
        problems: Vec<InputProblem>,
    },
    /// The write conflicts with the current state (stale version, duplicate, last owner).
    Conflict(String),
    /// The request or upload exceeds a limit.
    PayloadTooLarge(String),
    /// The database cannot be reached just now; the client should retry shortly.
    Unavailable(String),
    /// The request ran longer than allowed and was stopped; nothing of it was written.
    Timeout(String),
    /// The client sent its request too slowly; it was not read to the end.
    SlowClient(String),
    /// The caller spent a rate-limit budget; it may retry after `retry_after_seconds`.
    RateLimited {
        /// What was limited, and when to retry.
        message: String,
        /// Seconds until the budget allows the request.
        retry_after_seconds: u64,
    },
    /// Anything else: logged with detail, answered with a generic message.
    Internal(Arc<anyhow::Error>),
}

impl Error {
    /// An invalid input without per-field details.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Error::BadUserInput {
            message: message.into(),
            problems: Vec::new(),
        }
    }

    /// An unexpected failure; logged with detail when shown to a client.
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Error::Internal(Arc::new(error.into()))
    }

    /// The stable `extensions.code` of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthenticated(_) => "UNAUTHENTICATED",
            Error::Forbidden(_) => "FORBIDDEN",
            Error::NotFound(_) => "NOT_FOUND",
            Error::BadUserInput { .. } => "BAD_USER_INPUT",
            Error::Conflict(_) => "CONFLICT",
            Error::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            Error::Unavailable(_) => "UNAVAILABLE",
            Error::Timeout(_) | Error::SlowClient(_) => "TIMEOUT",
            Error::RateLimited { .. } => "RATE_LIMITED",
            Error::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The HTTP status for plain HTTP endpoints.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::BadUserInput { .. } => StatusCode::BAD_REQUEST,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Unavailable(_) | Error::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::SlowClient(_) => StatusCode::REQUEST_TIMEOUT,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message shown to the client; internal details are logged, never shown.
    pub fn message(&self) -> String {
        match self {
            Error::Unauthenticated(m)
            | Error::Forbidden(m)
            | Error::NotFound(m)
            | Error::Conflict(m)
            | Error::PayloadTooLarge(m)
            | Error::Unavailable(m)
            | Error::Timeout(m)
            | Error::SlowClient(m) => m.clone(),
            Error::BadUserInput { message, .. } | Error::RateLimited { message, .. } => {
                message.clone()
            }
            Error::Internal(error) => {
                tracing::error!(error = ?error, "internal error");
                "internal error; the details are in the server log".to_owned()
            }
        }
    }
}

impl From<sea_orm::DbErr> for Error {
    /// Writes check what they refer to, and what must be unique, before they write, so a
    /// write that still breaks a reference or a unique key lost a race with a concurrent
    /// request (an app deleted while a profile was written, a field created twice at once):
    /// the client's retry will get the plain answer.
    fn from(error: sea_orm::DbErr) -> Self {
        if is_outage(&error) {
            tracing::warn!(%error, "database unavailable");
            return Error::Unavailable(
                "the database is unavailable just now: retry in a moment".into(),
            );
        }
        if is_statement_timeout(&error) {
            return Error::Timeout(
                "a database statement ran too long and was cancelled; nothing of the request was saved"
                    .into(),
            );
        }
        match error.sql_err() {
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => Error::Conflict(
                "something this change refers to was deleted meanwhile: read it again and retry"
                    .into(),
            ),
            Some(sea_orm::SqlErr::UniqueConstraintViolation(detail)) => {
                // The database's text names tables and constraints: log it, don't show it.
                tracing::debug!(detail, "unique violation answered as CONFLICT");
                Error::Conflict(
                    "something with the same key (or name) was created meanwhile, probably by a \
                     concurrent request: read the current state and retry"
                        .into(),
                )
            }
            _ => Error::internal(error),
        }
    }
}

/// Whether PostgreSQL cancelled a statement that ran past `statement_timeout` (57014).
fn is_statement_timeout(error: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx};
    match error {
        DbErr::Exec(RuntimeErr::SqlxError(inner)) | DbErr::Query(RuntimeErr::SqlxError(inner)) => {
            matches!(inner.as_ref(), sqlx::Error::Database(db) if db.code().as_deref() == Some("57014"))
        }
        _ => false,
    }
}

/// Whether a database error means the database cannot be reached (a full pool, a refused or
/// broken connection, a server shutting down), rather than something about this request.
fn is_outage(error: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx};
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(inner)) | DbErr::Query(RuntimeErr::SqlxError(inner)) => {
            match inner.as_ref() {
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                // Class 08: connection exceptions; 57P01-57P03: shutdown, crash, not yet up.
                sqlx::Error::Database(db) => db
                    .code()
                    .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
                _ => false,
            }
        }
        _ => false,
    }
}

impl From<sea_orm::TransactionError<Error>> for Error {
    fn from(error: sea_orm::TransactionError<Error>) -> Self {
        match error {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(inner) => inner,
        }
    }
}

impl From<Error> for async_graphql::Error {
    fn from(error: Error) -> Self {
        let code = error.code();
        let problems = match &error {
            Error::BadUserInput { problems, .. } if !problems.is_empty() => Some(problems.clone()),
            _ => None,
        };
        let retry_after = error.retry_after();
        async_graphql::Error::new(error.message()).extend_with(|_, extensions| {
            extensions.set("code", code);
            if let Some(seconds) = retry_after {
                extensions.set("retryAfter", seconds);
            }
            if let Some(problems) = &problems {
                let list: Vec<async_graphql::Value> = problems
                    .iter()
                    .map(|p| {
                        async_graphql::Value::from_json(serde_json::json!({
                            "field": p.field, "message": p.message
                        }))
                        .unwrap_or_default()
                    })
                    .collect();
                extensions.set("problems", list);
            }
        })
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut extensions = serde_json::json!({ "code": self.code() });
        if let Some(seconds) = self.retry_after() {
            extensions["retryAfter"] = seconds.into();
        }
        let body = serde_json::json!({
            "errors": [{ "message": self.message(), "extensions": extensions }]
        });
        let response = (status, axum::Json(body)).into_response();
        match self.retry_after() {
            Some(seconds) => retry_after(response, seconds),
            None => response,
        }
    }
}

impl Error {
    /// Seconds after which a retry may succeed, for errors that say "later".
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::Unavailable(_) | Error::Timeout(_) => Some(RETRY_AFTER_SECONDS),
            Error::RateLimited {
                retry_after_seconds,
                ..
            } => Some(*retry_after_seconds),
            _ => None,
        }
    }
}

/// Adds `Retry-After: seconds`.
pub fn retry_after(mut response: Response, seconds: u64) -> Response {
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(seconds),
    );
    response
}

/// Seconds a client should wait before retrying after `UNAVAILABLE`.
pub const RETRY_AFTER_SECONDS: u64 = 1;
