//! Benchmark of the directory (`profiles`) over a seeded tenant (`userprofile seed`): p50, p95
//! and p99 of each kind of query through HTTP with a development admin token, and on
//! PostgreSQL the `EXPLAIN (ANALYZE, BUFFERS)` of the statements each kind runs, taken with
//! their values from the service's own statement log. Run by scripts/bench-directory.sh.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use clap::Parser;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Map, Value, json};
use userprofile::auth::dev::{DevKey, DevTenant, DevTokenRequest};
use userprofile::config::{Config, RateLimits};
use userprofile::db::StatementCounter;

#[derive(Parser)]
struct Args {
    /// The seeded database.
    #[arg(long)]
    database_url: String,
    /// The seeded tenant's slug.
    #[arg(long, default_value = "demo")]
    tenant: String,
    /// Timed requests per kind of query.
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// The page of the deep-page query (20 cards a page).
    #[arg(long, default_value_t = 500)]
    deep_page: usize,
    /// Print the plan of each kind's statements (EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY
    /// PLAN on SQLite).
    #[arg(long)]
    explain: bool,
}

const QUERY: &str = "query($first: Int, $after: String, $search: String, $filter: ProfileFilter) {
    profiles(first: $first, after: $after, search: $search, filter: $filter) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { cursor node { userId version values { key text } } } } }";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    userprofile::install_crypto_provider();
    let args = Args::parse();
    let data_dir = tempfile::tempdir()?;
    let counter = StatementCounter::default();
    let config = Config {
        dev_mode: true,
        data_dir: data_dir.path().to_owned(),
        database_url: args.database_url.clone(),
        statement_counter: Some(counter.clone()),
        // One client sends every request: the per-caller limits would measure themselves.
        rate_limits: RateLimits {
            requests_per_minute: u32::MAX,
            search_per_minute: u32::MAX,
            ..RateLimits::default()
        },
        ..Config::default()
    };
    let state = userprofile::AppState::new(config).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base_url = format!("http://{}/graphql", listener.local_addr()?);
    let app = userprofile::app(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let token = DevKey::load_or_create(data_dir.path())?.issue(&DevTokenRequest {
        subject: "bench-directory-admin".into(),
        tenants: vec![DevTenant {
            id: args.tenant.clone(),
            name: None,
            role: "admin".into(),
        }],
        operator: false,
        ttl_seconds: 3600,
        extra_claims: Map::new(),
    })?;
    let bench = Bench {
        client: reqwest::Client::new(),
        url: base_url,
        token,
    };

    let first = bench.call(&json!({"first": 20})).await?;
    let total = first["totalCount"].as_u64().context("totalCount")?;
    let page = args
        .deep_page
        .min((total as usize / 20).saturating_sub(1))
        .max(1);
    let deep = bench.cursor_at(page * 20 - 1).await?;
    let country = json!({"fields": [{"key": "country_10", "equals": "DE"}]});
    let kinds = [
        ("first page", json!({"first": 20})),
        ("deep page", json!({"first": 20, "after": deep})),
        ("substring search", json!({"first": 20, "search": "ngstr"})),
        ("accented search", json!({"first": 20, "search": "Müller"})),
        ("prefix search", json!({"first": 20, "search": "kra"})),
        ("filtered", json!({"first": 20, "filter": country})),
        (
            "search + filter",
            json!({"first": 20, "search": "muller", "filter": country}),
        ),
    ];
    if args.explain {
        for (name, variables) in &kinds {
            counter.take_statements();
            bench.call(variables).await?;
            println!("\n### {name}\n");
            for statement in counter.take_statements() {
                // The page's and the count's statements (not the session's and loaders' lookups).
                if !statement.sql.contains(r#"AS "cards""#) && !statement.sql.contains("COUNT(") {
                    continue;
                }
                println!("```\n{}\n", statement.sql);
                for line in explain(&state.db, &statement).await? {
                    println!("{line}");
                }
                println!("```");
            }
        }
    }
    let backend = state.db.get_database_backend();
    println!(
        "cards: {total}; {} timed requests per kind after 5 warm-up ones; database: {backend:?}",
        args.requests
    );
    println!("| query | p50 ms | p95 ms | p99 ms | matches |");
    println!("| --- | --- | --- | --- | --- |");
    for (name, variables) in &kinds {
        let mut times = Vec::with_capacity(args.requests);
        let mut matches = 0;
        for n in 0..args.requests + 5 {
            let started = Instant::now();
            let page = bench.call(variables).await?;
            if n >= 5 {
                times.push(started.elapsed());
            }
            matches = page["totalCount"].as_u64().unwrap_or(0);
        }
        times.sort();
        let at = |p: f64| millis(times[((times.len() as f64 * p) as usize).min(times.len() - 1)]);
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} | {matches} |",
            at(0.50),
            at(0.95),
            at(0.99)
        );
    }
    Ok(())
}

/// The plan of `statement`: EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN on
/// SQLite.
async fn explain(
    db: &sea_orm::DatabaseConnection,
    statement: &Statement,
) -> anyhow::Result<Vec<String>> {
    let postgres = statement.db_backend == DbBackend::Postgres;
    let prefix = match postgres {
        true => "EXPLAIN (ANALYZE, BUFFERS)",
        false => "EXPLAIN QUERY PLAN",
    };
    let explain = Statement {
        sql: format!("{prefix} {}", statement.sql),
        ..statement.clone()
    };
    let column = if postgres { "QUERY PLAN" } else { "detail" };
    let mut lines = Vec::new();
    for row in db.query_all_raw(explain).await? {
        lines.push(row.try_get::<String>("", column)?);
    }
    Ok(lines)
}

struct Bench {
    client: reqwest::Client,
    url: String,
    token: String,
}

impl Bench {
    /// One `profiles` query; its connection.
    async fn call(&self, variables: &Value) -> anyhow::Result<Value> {
        let body: Value = self
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(&json!({"query": QUERY, "variables": variables}))
            .send()
            .await?
            .json()
            .await?;
        ensure!(body.get("errors").is_none(), "{body}");
        Ok(body["data"]["profiles"].clone())
    }

    /// The cursor of the `index`-th card (0-based) in the default order, paging 100 at a time.
    async fn cursor_at(&self, index: usize) -> anyhow::Result<Value> {
        let mut after = Value::Null;
        let mut seen = 0;
        loop {
            let count = (index + 1 - seen).min(100);
            let page = self.call(&json!({"first": count, "after": after})).await?;
            seen += count;
            after = page["pageInfo"]["endCursor"].clone();
            if seen > index || !page["pageInfo"]["hasNextPage"].as_bool().unwrap_or(false) {
                return Ok(after);
            }
        }
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
