//! The app-profile REST API of the platform this service replaces, served as its document
//! shows it (shared/seeds/001-app-profiles-api.txt; `openapi/app-profiles.json`), so its clients
//! keep working unchanged. Thin handlers over the app-profile domain: the same session and
//! active tenant, capabilities, limits, JSON Schema checks, all-or-nothing bulk and audit as
//! the GraphQL API.
//!
//! App ids may be numbers or strings: the number `7` names the app with id `"7"`, and an app id
//! of digits only is answered as a number again. User ids are the service's user ids.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use entity::{app, app_profile};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{BodyLimit, body_limit, read_body, session};
use crate::AppState;
use crate::apps::problems::{self, Problem};
use crate::apps::{BulkItem, OnExisting, OwnProfiles};
use crate::error::Error;
use crate::metrics::Budget;

/// The OpenAPI document of these endpoints, as checked in.
pub const OPENAPI: &str = include_str!("../../openapi/app-profiles.json");

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/compat/openapi.json";

/// Every endpoint (method, path in OpenAPI form): the router is built from this list and a test
/// checks it against the OpenAPI document, so neither drifts from the other.
pub const ENDPOINTS: [(&str, &str); 5] = [
    ("post", "/operator/profile/create-bulk"),
    ("get", "/operator/users/profile/{userid}/{appid}"),
    ("get", "/user/profiles/{appid}"),
    ("post", "/user/profiles/create"),
    ("get", "/apps"),
];

/// The compatibility routes.
pub fn routes() -> Router<Arc<AppState>> {
    let [bulk, operator_read, own_read, own_create, apps] = ENDPOINTS.map(|(_, path)| path);
    Router::new()
        .route(bulk, post(create_bulk))
        .route(operator_read, get(operator_profile))
        .route(own_read, get(own_profiles))
        .route(own_create, post(create_own))
        .route(apps, get(list_apps))
        .route(OPENAPI_PATH, get(openapi))
}

/// An app id as clients send it.
#[derive(Deserialize)]
#[serde(untagged)]
enum AppId {
    Number(u64),
    Text(String),
}

impl AppId {
    fn into_id(self) -> String {
        match self {
            AppId::Number(number) => number.to_string(),
            AppId::Text(text) => text,
        }
    }
}

/// An app id as answered: digits only (without a leading zero) as a number, else text.
fn app_id_out(id: &str) -> Value {
    let canonical = id == "0" || !id.starts_with('0');
    match id.parse::<u64>() {
        Ok(number) if canonical => json!(number),
        _ => json!(id),
    }
}

#[derive(Deserialize)]
struct BulkBody {
    profiles: Vec<BulkEntry>,
}

#[derive(Deserialize)]
struct BulkEntry {
    app_id: AppId,
    profile_data: Value,
    user_id: String,
}

#[derive(Deserialize)]
struct CreateBody {
    app_id: AppId,
    profile_data: Value,
}

/// `POST /operator/profile/create-bulk`: any number of (user, app) profiles, all or nothing.
async fn create_bulk(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::extract::Request,
) -> Response {
    let outcome = async {
        let session = session(&state, &headers).await?;
        let operator = session.operator()?;
        state
            .limiter
            .spend_costly(Budget::bulk, &session.caller()?)?;
        let limit = body_limit(&state.config.limits, &session);
        let body: BulkBody = json_body(body, limit, &headers).await?;
        let items = bulk_items(body.profiles)?;
        let outcome = state
            .apps
            .create_many(&operator, items, OnExisting::Fail)
            .await?;
        state.metrics.bulk_rows_written(outcome.created);
        Ok(outcome)
    };
    match outcome.await {
        Ok(outcome) => (
            StatusCode::CREATED,
            Json(json!({"created": outcome.created})),
        )
            .into_response(),
        Err(error) => refusal(error),
    }
}

/// `GET /operator/users/profile/:userid/:appid`: one member's profile for one app.
async fn operator_profile(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((user_id, app_id)): Path<(String, String)>,
) -> Response {
    let found = async {
        let session = session(&state, &headers).await?;
        let operator = session.operator()?;
        let user_id = Uuid::parse_str(&user_id)
            .map_err(|_| Error::NotFound(format!("no user {user_id:?}")))?;
        let row = state
            .apps
            .member_profile(&operator, user_id, &app_id)
            .await?;
        row.ok_or_else(|| {
            Error::NotFound(format!("user {user_id} has no profile for app {app_id}"))
        })
    };
    match found.await {
        Ok(row) => Json(profile_out(row)).into_response(),
        Err(error) => refusal(error),
    }
}

/// `GET /user/profiles/:appid`: the signed-in user's own profiles for an app.
async fn own_profiles(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(app_id): Path<String>,
) -> Response {
    let found = async {
        let session = session(&state, &headers).await?;
        let own = OwnProfiles::of(session.user()?);
        crate::apps::registry::get(&state.db, &app_id).await?;
        state.apps.mine(&own, Some(&app_id)).await
    };
    match found.await {
        Ok(rows) => Json(rows.into_iter().map(profile_out).collect::<Vec<_>>()).into_response(),
        Err(error) => refusal(error),
    }
}

/// `POST /user/profiles/create`: the signed-in user creates their own profile for an app.
async fn create_own(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::extract::Request,
) -> Response {
    let created = async {
        let session = session(&state, &headers).await?;
        let own = OwnProfiles::of(session.user()?);
        let limit = body_limit(&state.config.limits, &session);
        let body: CreateBody = json_body(body, limit, &headers).await?;
        let app_id = body.app_id.into_id();
        state
            .apps
            .create_mine(&own, &app_id, body.profile_data)
            .await
    };
    match created.await {
        Ok(row) => (StatusCode::CREATED, Json(profile_out(row))).into_response(),
        Err(error) => refusal(error),
    }
}

/// `GET /apps`: every registered app with its id, name, domain and description.
async fn list_apps(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let listed = async {
        session(&state, &headers).await?.principal()?;
        state.apps.list().await
    };
    match listed.await {
        Ok(apps) => Json(apps.into_iter().map(app_out).collect::<Vec<_>>()).into_response(),
        Err(error) => refusal(error),
    }
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// Reads and parses a JSON body of at most `limit` bytes.
async fn json_body<T: serde::de::DeserializeOwned>(
    body: axum::extract::Request,
    limit: BodyLimit,
    headers: &HeaderMap,
) -> Result<T, Error> {
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .unwrap_or(0);
    let bytes = read_body(body, limit, announced).await?;
    serde_json::from_slice(&bytes).map_err(|error| {
        Error::bad_input(format!("the request body is not as documented: {error}"))
    })
}

/// Parses every entry's user id, reporting every malformed one by JSON pointer.
fn bulk_items(entries: Vec<BulkEntry>) -> Result<Vec<BulkItem>, Error> {
    let mut items = Vec::with_capacity(entries.len());
    let mut bad = Vec::new();
    for (index, entry) in entries.into_iter().enumerate() {
        match Uuid::parse_str(&entry.user_id) {
            Ok(user_id) => items.push(BulkItem {
                user_id,
                app_id: entry.app_id.into_id(),
                data: entry.profile_data,
            }),
            Err(_) => bad.push(Problem::invalid(
                format!("/profiles/{index}/user_id"),
                format!("{:?} is not a user id", entry.user_id),
            )),
        }
    }
    match bad.is_empty() {
        true => Ok(items),
        false => Err(problems::into_error(bad)),
    }
}

fn profile_out(row: app_profile::Model) -> Value {
    json!({
        "user_id": row.user_id,
        "app_id": app_id_out(&row.app_id),
        "profile_data": row.data,
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })
}

fn app_out(app: app::Model) -> Value {
    json!({
        "app_id": app_id_out(&app.id),
        "name": app.name,
        "domain": app.domain,
        "description": app.description,
    })
}

/// An error as these endpoints answer it: the HTTP status of its code and
/// `{"error": {"code", "message", "problems"}}`.
fn refusal(error: Error) -> Response {
    let problems = match &error {
        Error::BadUserInput { problems, .. } => problems
            .iter()
            .map(|p| json!({"field": p.field, "message": p.message}))
            .collect(),
        _ => Vec::new(),
    };
    let body = json!({"error": {
        "code": error.code(),
        "message": error.message(),
        "problems": problems,
    }});
    let mut response = (error.status(), Json(body)).into_response();
    if let Some(seconds) = error.retry_after() {
        response = crate::error::retry_after(response, seconds);
    }
    if error.status() == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    response
}
