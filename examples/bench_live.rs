//! Benchmark of live updates across two instances: subscribers on instance B, edits through
//! instance A (both `userprofile serve --dev` processes on one PostgreSQL database and one data
//! folder, started by `scripts/bench-live.sh`). Reports the change-to-delivery latency (from
//! sending the save to A until each subscriber on B has the event) for each number of
//! subscribers, then B's resident memory with many idle subscriptions. Measured, never
//! asserted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use futures::{SinkExt, StreamExt};
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use userprofile::auth::dev::{DevKey, DevTenant, DevTokenRequest};

/// Live updates benchmark.
#[derive(Parser)]
struct Args {
    /// Instance A (edits), e.g. http://127.0.0.1:8481.
    #[arg(long)]
    a: String,
    /// Instance B (subscribers).
    #[arg(long)]
    b: String,
    /// B's process id, for its resident memory.
    #[arg(long)]
    b_pid: u32,
    /// The instances' data folder (its development key signs the tokens).
    #[arg(long)]
    data_dir: std::path::PathBuf,
    /// Subscriber counts to measure, one run each.
    #[arg(long, value_delimiter = ',', default_value = "1,100,1000")]
    subscribers: Vec<usize>,
    /// Edits per run.
    #[arg(long, default_value_t = 40)]
    edits: usize,
    /// Idle subscriptions for the memory figure (0: skip).
    #[arg(long, default_value_t = 10_000)]
    idle: usize,
}

const TENANT: &str = "bench-live";
const SAVE: &str = "mutation($v: String!) { updateMyProfile(input: {values: [{key: \"nickname\", value: $v}]}) { version } }";

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    userprofile::install_crypto_provider();
    let args = Args::parse();
    let key = DevKey::load_or_create(&args.data_dir)?;
    let token = |subject: &str, role: &str| {
        key.issue(&DevTokenRequest {
            subject: subject.to_owned(),
            tenants: vec![DevTenant {
                id: TENANT.to_owned(),
                name: None,
                role: role.to_owned(),
            }],
            operator: false,
            ttl_seconds: 3_600,
            extra_claims: Map::new(),
        })
    };
    let http = reqwest::Client::new();
    let editor = token("editor", "member")?;
    post(&http, &args.a, &editor, "{ me { id } }", json!({})).await?;
    for count in &args.subscribers {
        let mut subscribers = Vec::new();
        for i in 0..*count {
            let admin = token(&format!("admin-{i}"), "admin")?;
            post(&http, &args.b, &admin, "{ me { id } }", json!({})).await?;
            let query = "subscription { profilesChanged { version } }";
            subscribers.push(subscribe(&args.b, &admin, query).await?);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let latencies = run_edits(&http, &args, &editor, subscribers).await?;
        report(&format!("{count} subscribers"), latencies);
    }
    if args.idle > 0 {
        idle_memory(&args, &token).await?;
    }
    Ok(())
}

/// Saves `edits` times through A, 100 ms apart, and collects for every subscriber the time
/// from sending the save to receiving its event.
async fn run_edits(
    http: &reqwest::Client,
    args: &Args,
    editor: &str,
    subscribers: Vec<Socket>,
) -> anyhow::Result<Vec<Duration>> {
    let sent: Arc<Mutex<Vec<(i64, Instant)>>> = Arc::default();
    let received: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let mut readers = Vec::new();
    let first = current_version(http, &args.a, editor).await?;
    let last = first + i64::try_from(args.edits)?;
    for mut socket in subscribers {
        let (sent, received) = (sent.clone(), received.clone());
        readers.push(tokio::spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let value: Value = serde_json::from_str(&text).unwrap_or_default();
                let Some(version) = value["payload"]["data"]["profilesChanged"]["version"].as_i64()
                else {
                    continue;
                };
                let at = Instant::now();
                let started = sent
                    .lock()
                    .await
                    .iter()
                    .find(|(v, _)| *v == version)
                    .map(|(_, t)| *t);
                if let Some(started) = started {
                    received.lock().await.push(at - started);
                }
                if version >= last {
                    break;
                }
            }
            let _ = socket.close(None).await;
        }));
    }
    for edit in 1..=args.edits {
        let version = first + i64::try_from(edit)?;
        sent.lock().await.push((version, Instant::now()));
        post(
            http,
            &args.a,
            editor,
            SAVE,
            json!({"v": format!("n{edit}")}),
        )
        .await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for reader in readers {
        tokio::time::timeout(Duration::from_secs(60), reader).await??;
    }
    let latencies = std::mem::take(&mut *received.lock().await);
    Ok(latencies)
}

async fn current_version(http: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<i64> {
    let card = post(
        http,
        url,
        token,
        "{ me { profile { version } } }",
        json!({}),
    )
    .await?;
    Ok(card["data"]["me"]["profile"]["version"]
        .as_i64()
        .unwrap_or(0))
}

/// B's resident memory before and with `idle` idle subscriptions (50 users, as many
/// connections as subscriptions).
async fn idle_memory(
    args: &Args,
    token: &impl Fn(&str, &str) -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    let before = resident_kib(args.b_pid)?;
    let http = reqwest::Client::new();
    let users: Vec<String> = (0..50)
        .map(|i| token(&format!("idle-{i}"), "member"))
        .collect::<anyhow::Result<_>>()?;
    for user in &users {
        post(&http, &args.b, user, "{ me { id } }", json!({})).await?;
    }
    let mut sockets = Vec::with_capacity(args.idle);
    for i in 0..args.idle {
        let query = "subscription { fieldDefinitionsChanged { change } }";
        sockets.push(subscribe(&args.b, &users[i % users.len()], query).await?);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let with = resident_kib(args.b_pid)?;
    println!(
        "idle subscriptions: {} on B: resident {:.1} MiB before, {:.1} MiB with them ({:.1} KiB each)",
        args.idle,
        before as f64 / 1024.0,
        with as f64 / 1024.0,
        (with - before) as f64 / args.idle as f64
    );
    drop(sockets);
    Ok(())
}

fn resident_kib(pid: u32) -> anyhow::Result<i64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .ok_or_else(|| anyhow::anyhow!("no VmRSS"))?;
    Ok(line.split_whitespace().nth(1).unwrap_or("0").parse()?)
}

/// Opens a graphql-ws connection to `base` and starts `query` on it.
async fn subscribe(base: &str, token: &str, query: &str) -> anyhow::Result<Socket> {
    let url = format!("{}/graphql/ws", base.replacen("http", "ws", 1));
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let init =
        json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}});
    socket.send(Message::Text(init.to_string().into())).await?;
    match socket.next().await {
        Some(Ok(Message::Text(text))) if text.contains("connection_ack") => {}
        other => anyhow::bail!("not acknowledged: {other:?}"),
    }
    let start = json!({"id": "1", "type": "subscribe", "payload": {"query": query}});
    socket.send(Message::Text(start.to_string().into())).await?;
    Ok(socket)
}

async fn post(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    let body: Value = http
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(body.get("errors").is_none(), "{body}");
    Ok(body)
}

fn report(label: &str, mut latencies: Vec<Duration>) {
    latencies.sort();
    let at = |q: f64| {
        let index = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies
            .get(index)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{label}: {} deliveries, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}
