//! Benchmark of the operator bulk create (`createAppProfiles`): seeds a tenant with users and
//! apps straight into the database, starts the service (release build, in this process, on a
//! loopback port), then POSTs one GraphQL request with all profiles and reports rows/s.
//! Measured, never asserted. `scripts/bench-app-profiles.sh` runs it on PostgreSQL and SQLite.
//!
//! ```sh
//! cargo run --release --example bench_app_profiles -- --database-url postgres://postgres@127.0.0.1:5432/bench
//! ```

use std::time::{Duration, Instant};

use anyhow::ensure;
use chrono::Utc;
use clap::Parser;
use entity::{app, app_profile, membership, user};
use sea_orm::{ActiveValue::Set, EntityTrait, PaginatorTrait};
use serde_json::{Map, Value, json};
use userprofile::auth::Actor;
use userprofile::auth::dev::{DevKey, DevTenant, DevTokenRequest};
use userprofile::config::Config;
use uuid::Uuid;

/// Bulk create benchmark.
#[derive(Parser)]
struct Args {
    /// URL of an empty database (the script creates one): tables are created, users and apps
    /// seeded, and its app profiles deleted before each run.
    #[arg(long)]
    database_url: String,
    /// Profiles per request.
    #[arg(long, default_value_t = 100_000)]
    profiles: usize,
    /// Apps the profiles are spread over (users = profiles / apps).
    #[arg(long, default_value_t = 4)]
    apps: usize,
    /// Timed runs (each on an empty app_profiles table), plus one REPLACE run over the last.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Experiment, not the shipped schema: put back the per-row foreign keys of app_profiles
    /// that the shipped set-wise reference checks replace (PostgreSQL only), to compare them.
    #[arg(long)]
    with_foreign_keys: bool,
}

const TENANT: &str = "bench";

/// The same allocator as the `userprofile` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    userprofile::install_crypto_provider();
    // The service logs each bulk's time from its first check to its commit.
    tracing_subscriber::fmt()
        .with_env_filter("warn,userprofile::apps=info")
        .with_target(false)
        .with_ansi(false)
        .without_time()
        .init();
    let args = Args::parse();
    ensure!(
        args.apps > 0 && args.profiles % args.apps == 0,
        "profiles must divide by apps"
    );
    let data_dir = tempfile::tempdir()?;
    let config = Config {
        dev_mode: true,
        data_dir: data_dir.path().to_owned(),
        database_url: args.database_url.clone(),
        ..Config::default()
    };
    let state = userprofile::AppState::new(config).await?;
    let (users, apps) = seed(&state.db, args.profiles / args.apps, args.apps).await?;
    if args.with_foreign_keys {
        ensure!(
            args.database_url.starts_with("postgres"),
            "--with-foreign-keys is a PostgreSQL experiment"
        );
        use sea_orm::ConnectionTrait;
        state
            .db
            .execute_unprepared(include_str!(
                "../migration/src/sql/app_profile_references_down.sql"
            ))
            .await?;
        println!("EXPERIMENT: app_profiles with per-row foreign keys instead of set-wise checks");
    }
    let base_url = serve(state.clone()).await?;
    let token = operator_token(&DevKey::load_or_create(data_dir.path())?)?;
    let body = request_body(&users, &apps, "FAIL")?;
    println!(
        "database: {}\nprofiles per request: {} ({} users x {} apps), body {:.1} MiB",
        backend_name(&args.database_url),
        args.profiles,
        users.len(),
        apps.len(),
        body.len() as f64 / (1024.0 * 1024.0)
    );
    let client = reqwest::Client::new();
    let mut rates = Vec::new();
    for run in 1..=args.runs {
        empty_profiles(&state.db).await?;
        let elapsed = post(&client, &base_url, &token, body.clone(), args.profiles, 0).await?;
        let rate = report(&format!("create run {run}"), args.profiles, elapsed);
        rates.push(rate);
    }
    let replace = request_body(&users, &apps, "REPLACE")?;
    let elapsed = post(&client, &base_url, &token, replace, 0, args.profiles).await?;
    report("replace (upsert over existing)", args.profiles, elapsed);
    let stored = app_profile::Entity::find().count(&state.db).await?;
    ensure!(
        stored == args.profiles as u64,
        "expected {} rows, found {stored}",
        args.profiles
    );
    rates.sort_by(f64::total_cmp);
    println!("median create: {:.0} rows/s", rates[rates.len() / 2]);
    Ok(())
}

/// Empties app_profiles: TRUNCATE on PostgreSQL, so no run inherits dead rows of the last.
async fn empty_profiles(db: &sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    use sea_orm::ConnectionTrait;
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            db.execute_unprepared("TRUNCATE app_profiles").await?;
        }
        _ => {
            app_profile::Entity::delete_many().exec(db).await?;
        }
    }
    Ok(())
}

/// Inserts the tenant, `users` members and `apps` apps; returns their ids.
async fn seed(
    db: &sea_orm::DatabaseConnection,
    users: usize,
    apps: usize,
) -> anyhow::Result<(Vec<Uuid>, Vec<String>)> {
    let existing = user::Entity::find().count(db).await?;
    ensure!(
        existing == 0,
        "the database has {existing} users: give an empty database"
    );
    let tenant = userprofile::tenants::ensure(db, &Actor::Operator("bench".into()), TENANT, None)
        .await
        .map_err(|error| anyhow::anyhow!("cannot create the tenant: {}", error.message()))?;
    let now = Utc::now();
    let ids: Vec<Uuid> = (0..users).map(|_| Uuid::new_v4()).collect();
    for chunk in ids.chunks(1_000) {
        let rows = chunk.iter().enumerate().map(|(i, id)| user::ActiveModel {
            id: Set(*id),
            issuer: Set("urn:bench".into()),
            subject: Set(format!("{id}-{i}")),
            username: Set(None),
            email: Set(None),
            email_verified: Set(false),
            claims: Set(json!({})),
            claimed_tenants: Set(None),
            folded_identity: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            last_sign_in_at: Set(now),
        });
        user::Entity::insert_many(rows).exec(db).await?;
        let members = chunk.iter().map(|id| membership::ActiveModel {
            user_id: Set(*id),
            tenant_id: Set(tenant.id),
            role: Set(membership::Role::Member),
            source: Set(membership::Source::Service),
            is_primary: Set(true),
            card_version: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            sort_name: Set(None),
        });
        membership::Entity::insert_many(members).exec(db).await?;
    }
    let app_ids: Vec<String> = (0..apps).map(|i| format!("bench-app-{i}")).collect();
    for id in &app_ids {
        let row = app::ActiveModel {
            id: Set(id.clone()),
            name: Set(id.clone()),
            domain: Set(None),
            description: Set(None),
            json_schema: Set(None),
            created_at: Set(now),
        };
        app::Entity::insert(row).exec(db).await?;
    }
    Ok((ids, app_ids))
}

/// Serves the app on a loopback port; returns its base URL.
async fn serve(state: std::sync::Arc<userprofile::AppState>) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, userprofile::app(state)).await });
    Ok(format!("http://{address}"))
}

fn operator_token(key: &DevKey) -> anyhow::Result<String> {
    key.issue(&DevTokenRequest {
        subject: "bench-operator".into(),
        tenants: vec![DevTenant {
            id: TENANT.into(),
            name: None,
            role: "member".into(),
        }],
        operator: true,
        ttl_seconds: 3600,
        extra_claims: Map::new(),
    })
}

/// One `createAppProfiles` request with a profile for every (user, app), as JSON bytes.
fn request_body(users: &[Uuid], apps: &[String], on_existing: &str) -> anyhow::Result<Vec<u8>> {
    let mut profiles = Vec::with_capacity(users.len() * apps.len());
    for (n, user) in users.iter().enumerate() {
        for app in apps {
            profiles.push(json!({
                "userId": user,
                "appId": app,
                "data": {"theme": "dark", "locale": "en-GB", "visits": n,
                         "flags": {"beta": n % 2 == 0, "tour": [1, 2, 3]}, "mode": on_existing},
            }));
        }
    }
    let query = "mutation($p: [AppProfileInput!]!, $on: OnExisting!) {
        createAppProfiles(profiles: $p, onExisting: $on) { created replaced } }";
    let body = json!({"query": query, "variables": {"p": profiles, "on": on_existing}});
    Ok(serde_json::to_vec(&body)?)
}

/// Sends one bulk request and checks its counts; returns the wall time of the request.
async fn post(
    client: &reqwest::Client,
    base_url: &str,
    token: &str,
    body: Vec<u8>,
    created: usize,
    replaced: usize,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let response = client
        .post(format!("{base_url}/graphql"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .header("x-tenant-id", TENANT)
        .body(body)
        .send()
        .await?;
    let answer: Value = response.json().await?;
    let elapsed = started.elapsed();
    let result = &answer["data"]["createAppProfiles"];
    ensure!(
        *result == json!({"created": created, "replaced": replaced}),
        "unexpected answer: {answer}"
    );
    Ok(elapsed)
}

fn report(label: &str, rows: usize, elapsed: Duration) -> f64 {
    let rate = rows as f64 / elapsed.as_secs_f64();
    println!("{label}: {:.2} s, {rate:.0} rows/s", elapsed.as_secs_f64());
    rate
}

fn backend_name(url: &str) -> &'static str {
    match url.split_once(':').map(|(scheme, _)| scheme) {
        Some("sqlite") => "SQLite",
        Some("postgres" | "postgresql") => "PostgreSQL",
        _ => "unknown",
    }
}
