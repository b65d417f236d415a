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
            | Error::PayloadTooLarge(m) => m.clone(),
            Error::BadUserInput { message, .. } => message.clone(),
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
        async_graphql::Error::new(error.message()).extend_with(|_, extensions| {
            extensions.set("code", code);
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
        let body = serde_json::json!({
            "errors": [{ "message": self.message(), "extensions": { "code": self.code() } }]
        });
        (status, axum::Json(body)).into_response()
    }
}
