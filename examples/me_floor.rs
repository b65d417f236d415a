//! The floor of `me` for `scripts/bench-me-floor.sh`: a bare axum handler that answers the
//! JSON of `me` (identity and the card's values) from one SQL round trip that builds it, with
//! no token verification, no access rules and no GraphQL. What the service cannot beat on the
//! same machine and database; the benchmark reports the service as a share of it. Its pools
//! are the service's readers' (on SQLite four connections, not pinged before each use), so
//! that both make the same round trips.
//!
//! `POST /me` with the user's id in `X-User-Id`.

use std::net::SocketAddr;

use anyhow::Context;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clap::Parser;
use sea_orm::sqlx::{self, PgPool, SqlitePool};
use uuid::Uuid;

#[derive(Parser)]
struct Args {
    /// The service's database (PostgreSQL or SQLite URL).
    #[arg(long)]
    database_url: String,
    /// Where to listen.
    #[arg(long)]
    listen: SocketAddr,
    /// The tenant whose cards are read.
    #[arg(long)]
    tenant: Uuid,
}

/// PostgreSQL builds the whole answer.
const POSTGRES: &str = "SELECT json_build_object(
    'username', u.username, 'email', u.email,
    'firstName', u.claims->>'given_name', 'lastName', u.claims->>'family_name',
    'profile', json_build_object('values', COALESCE((
        SELECT json_agg(json_build_object('key', d.key, 'json', v.value) ORDER BY d.position)
        FROM field_values v JOIN field_definitions d ON d.id = v.field_id
        WHERE v.tenant_id = $2 AND v.user_id = u.id), '[]'::json)))::text
    FROM users u WHERE u.id = $1";

/// SQLite builds the same answer.
const SQLITE: &str = "SELECT json_object(
    'username', u.username, 'email', u.email,
    'firstName', json_extract(u.claims, '$.given_name'),
    'lastName', json_extract(u.claims, '$.family_name'),
    'profile', json_object('values', (
        SELECT json_group_array(json_object('key', d.key, 'json', json(v.value)))
        FROM field_values v JOIN field_definitions d ON d.id = v.field_id
        WHERE v.tenant_id = ?2 AND v.user_id = u.id)))
    FROM users u WHERE u.id = ?1";

#[derive(Clone)]
enum Database {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

#[derive(Clone)]
struct Floor {
    database: Database,
    tenant: Uuid,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // The service's pool sizes: 10 connections to PostgreSQL, one to SQLite.
    let database = if args.database_url.starts_with("sqlite:") {
        Database::Sqlite(
            sqlx::sqlite::SqlitePoolOptions::new()
                .test_before_acquire(false)
                .max_connections(4)
                .connect(&args.database_url)
                .await?,
        )
    } else {
        Database::Postgres(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(10)
                .connect(&args.database_url)
                .await?,
        )
    };
    let floor = Floor {
        database,
        tenant: args.tenant,
    };
    let app = axum::Router::new()
        .route("/me", axum::routing::post(me))
        .with_state(floor);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    axum::serve(listener, app).await?;
    Ok(())
}

async fn me(State(floor): State<Floor>, headers: HeaderMap) -> Response {
    let Some(id) = headers
        .get("x-user-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|text| Uuid::parse_str(text).ok())
    else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let card: Result<Option<String>, sqlx::Error> = match &floor.database {
        Database::Postgres(pool) => {
            sqlx::query_scalar(POSTGRES)
                .bind(id)
                .bind(floor.tenant)
                .fetch_optional(pool)
                .await
        }
        Database::Sqlite(pool) => {
            sqlx::query_scalar(SQLITE)
                .bind(id)
                .bind(floor.tenant)
                .fetch_optional(pool)
                .await
        }
    };
    match card {
        Ok(Some(card)) => {
            let rest = card.strip_prefix('{').unwrap_or(&card);
            let body = format!(r#"{{"data":{{"me":{{"id":"{id}",{rest}}}}}"#);
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}
