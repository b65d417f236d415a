//! Helper of `scripts/bench-me-floor.sh`, the side-by-side benchmark of `me`:
//! - `seed` fills a tenant through the service's own API (an admin defines 30 fields and hides
//!   the 17 built-ins, then every user saves a value in each, so each card holds 30 values),
//!   and writes the users' tokens and ids for the load generators;
//! - `rate` sends `me` at a constant rate (open loop, each latency counted from the moment its
//!   request was due, so a stall is not hidden) and prints the percentiles.
//!
//! Measured, never asserted.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use futures::StreamExt;
use serde_json::{Map, Value, json};
use userprofile::auth::dev::{DevKey, DevTenant, DevTokenRequest};

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Seeds the tenant and writes `tokens.txt`, `ids.txt` and `tenant.txt` into `--out`.
    Seed {
        /// The service, e.g. http://127.0.0.1:8478.
        #[arg(long)]
        url: String,
        /// The service's data folder (its development key signs the tokens).
        #[arg(long)]
        data_dir: PathBuf,
        /// Users to create.
        #[arg(long, default_value_t = 1_000)]
        users: usize,
        /// Where the token and id lists go.
        #[arg(long)]
        out: PathBuf,
    },
    /// Sends `body` to `url` at `--rate` requests per second, rotating the callers.
    Rate {
        /// The endpoint: the service's GraphQL, or the floor's `/me`.
        #[arg(long)]
        url: String,
        /// One caller per line: a bearer token, or (`--by user-id`) a user id.
        #[arg(long)]
        tokens: PathBuf,
        /// How each line names the caller.
        #[arg(long, value_enum, default_value_t = CallerBy::Bearer)]
        by: CallerBy,
        /// The JSON request body.
        #[arg(long)]
        body: String,
        /// Requests per second.
        #[arg(long)]
        rate: u32,
        /// Seconds to run.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
}

const TENANT: &str = "bench-me";
const LOCALES: [&str; 3] = ["en", "de", "ar"];

/// A field every card fills: key, kind, and its value for user `n`.
type BenchField = (String, &'static str, fn(usize) -> Value);

/// The 30 fields every card fills.
fn fields() -> Vec<BenchField> {
    let mut fields: Vec<BenchField> = Vec::new();
    for i in 0..12 {
        fields.push((format!("text_{i:02}"), "SHORT_TEXT", |n| {
            json!(format!("Wert {n} – Zoë Müller"))
        }));
    }
    for i in 0..3 {
        fields.push((format!("note_{i:02}"), "LONG_TEXT", |n| {
            json!(format!(
                "A longer note of user {n}, with accents (é, ü, ñ) and عربي."
            ))
        }));
        fields.push((format!("number_{i:02}"), "NUMBER", |n| {
            json!(n as f64 * 1.5)
        }));
        fields.push((format!("count_{i:02}"), "INTEGER", |n| json!(n % 97)));
        fields.push((format!("switch_{i:02}"), "SWITCH", |n| json!(n % 2 == 0)));
    }
    for i in 0..2 {
        fields.push((format!("date_{i:02}"), "DATE", |n| {
            json!(format!("19{:02}-0{}-1{}", 50 + n % 49, 1 + n % 9, n % 10))
        }));
        fields.push((format!("email_{i:02}"), "EMAIL", |n| {
            json!(format!("user{n}@example.com"))
        }));
        fields.push((format!("url_{i:02}"), "URL", |n| {
            json!(format!("https://example.com/u/{n}"))
        }));
    }
    fields
}

/// How a request names its caller.
#[derive(Clone, Copy, clap::ValueEnum)]
enum CallerBy {
    /// `Authorization: Bearer <line>` (the service).
    Bearer,
    /// `X-User-Id: <line>` (the floor, which verifies nothing).
    UserId,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    userprofile::install_crypto_provider();
    match Args::parse().command {
        Command::Seed {
            url,
            data_dir,
            users,
            out,
        } => seed(&url, &data_dir, users, &out).await,
        Command::Rate {
            url,
            tokens,
            by,
            body,
            rate,
            seconds,
        } => constant_rate(&url, &tokens, by, body, rate, seconds).await,
    }
}

async fn seed(
    url: &str,
    data_dir: &std::path::Path,
    users: usize,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    let key = DevKey::load_or_create(data_dir)?;
    let token = |subject: &str, role: &str| {
        key.issue(&DevTokenRequest {
            subject: subject.to_owned(),
            tenants: vec![DevTenant {
                id: TENANT.to_owned(),
                name: None,
                role: role.to_owned(),
            }],
            operator: false,
            ttl_seconds: 24 * 3_600,
            extra_claims: Map::new(),
        })
    };
    let http = reqwest::Client::new();
    let graphql = format!("{url}/graphql");
    let admin = token("bench-admin", "admin")?;
    let me = post(
        &http,
        &graphql,
        &admin,
        "{ me { primaryTenantId } }",
        json!({}),
    )
    .await?;
    let tenant = me["me"]["primaryTenantId"]
        .as_str()
        .context("the admin has no tenant")?
        .to_owned();
    let defined = post(
        &http,
        &graphql,
        &admin,
        "{ fieldDefinitions { id builtin } }",
        json!({}),
    )
    .await?;
    for builtin in defined["fieldDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|field| field["builtin"] == true)
    {
        post(
            &http,
            &graphql,
            &admin,
            "mutation($id: ID!) { updateFieldDefinition(id: $id, input: {ownerAccess: HIDDEN}) { id } }",
            json!({"id": builtin["id"]}),
        )
        .await?;
    }
    for (key, kind, _) in fields() {
        let labels: Vec<Value> = LOCALES
            .iter()
            .map(|locale| json!({"locale": locale, "text": format!("{key} ({locale})")}))
            .collect();
        post(
            &http,
            &graphql,
            &admin,
            "mutation($input: CreateFieldInput!) { createFieldDefinition(input: $input) { id } }",
            json!({"input": {"key": key, "kind": kind, "labels": labels}}),
        )
        .await?;
    }

    let started = Instant::now();
    let tokens: Vec<String> = (0..users)
        .map(|n| token(&format!("bench-user-{n}"), "member"))
        .collect::<anyhow::Result<_>>()?;
    let saved = futures::stream::iter(tokens.iter().enumerate())
        .map(|(n, token)| {
            let (http, graphql) = (&http, &graphql);
            async move {
                let values: Vec<Value> = fields()
                    .into_iter()
                    .map(|(key, _, value)| json!({"key": key, "value": value(n)}))
                    .collect();
                post(
                    http,
                    graphql,
                    token,
                    "mutation($v: [FieldValueInput!]!) { updateMyProfile(input: {values: $v}) { version } }",
                    json!({"v": values}),
                )
                .await?;
                let me = post(http, graphql, token, "{ me { id } }", json!({})).await?;
                me["me"]["id"]
                    .as_str()
                    .map(str::to_owned)
                    .context("me without an id")
            }
        })
        .buffered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()?;
    std::fs::write(out.join("tokens.txt"), tokens.join("\n") + "\n")?;
    std::fs::write(out.join("ids.txt"), saved.join("\n") + "\n")?;
    std::fs::write(out.join("tenant.txt"), &tenant)?;
    eprintln!(
        "seeded {users} users × {} values in {:.1} s",
        fields().len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    let response: Value = http
        .post(url)
        .bearer_auth(token)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await?
        .json()
        .await?;
    if let Some(errors) = response.get("errors") {
        bail!("{query}: {errors}");
    }
    Ok(response["data"].clone())
}

/// Open-loop load: request `i` is due at `i / rate` seconds; its latency runs from then.
async fn constant_rate(
    url: &str,
    tokens: &std::path::Path,
    by: CallerBy,
    body: String,
    rate: u32,
    seconds: u64,
) -> anyhow::Result<()> {
    let tokens: Arc<Vec<String>> = Arc::new(
        std::fs::read_to_string(tokens)?
            .lines()
            .map(str::to_owned)
            .collect(),
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let total = u64::from(rate) * seconds;
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let start = tokio::time::Instant::now();
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..total {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due).await;
        let (http, url, body) = (http.clone(), url.to_owned(), body.clone());
        let token = tokens[i as usize % tokens.len()].clone();
        requests.spawn(async move {
            let request = match by {
                CallerBy::Bearer => http.post(url).bearer_auth(token),
                CallerBy::UserId => http.post(url).header("x-user-id", token),
            };
            let response = request
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
            let ok = match response {
                Ok(response) => response.status().is_success() && response.bytes().await.is_ok(),
                Err(_) => false,
            };
            (due.elapsed(), ok)
        });
    }
    let mut latencies = Vec::with_capacity(total as usize);
    let mut failed = 0;
    while let Some(done) = requests.join_next().await {
        let (latency, ok) = done?;
        latencies.push(latency);
        failed += usize::from(!ok);
    }
    latencies.sort();
    let at = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "constant rate {rate}/s for {seconds} s: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms, {failed} failed",
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        at(0.999).as_secs_f64() * 1e3,
        latencies.last().map_or(0.0, |l| l.as_secs_f64() * 1e3),
    );
    Ok(())
}
