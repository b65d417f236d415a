//! The `userprofile` binary: parses the command line and runs one subcommand.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde_json::{Map, Value};
use userprofile::auth::dev::{DevKey, DevTenant, DevTokenRequest};
use userprofile::config::{Config, TelemetryConfig};

/// A GraphQL user-profile service.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// TOML configuration file; `USERPROFILE_*` environment variables override it.
    #[arg(long, env = "USERPROFILE_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Applies pending migrations, then serves HTTP.
    Serve {
        /// Development mode: accept development tokens and serve GraphiQL.
        #[arg(long)]
        dev: bool,
    },
    /// Applies pending migrations and exits.
    Migrate,
    /// Prints the GraphQL SDL (the content of schema.graphql).
    Schema {
        /// The compatibility schema of `/compat/graphql` instead (compat.graphql).
        #[arg(long, conflicts_with = "subgraph")]
        compat: bool,
        /// The federation subgraph SDL instead (subgraph.graphql).
        #[arg(long)]
        subgraph: bool,
    },
    /// Issues a development token, trusted only by a server in development mode.
    DevToken(DevTokenArgs),
    /// Applies pending migrations, then fills a tenant with synthetic members (demos, benchmarks).
    Seed(SeedArgs),
}

#[derive(clap::Args)]
struct SeedArgs {
    /// The tenant's slug; created when missing.
    #[arg(long)]
    tenant: String,
    /// How many members to add.
    #[arg(long, default_value_t = 1_000)]
    members: u64,
    /// How many custom fields of mixed kinds the tenant gets (kept when they exist).
    #[arg(long, default_value_t = 12)]
    fields: usize,
    /// What every name and value derives from: the same seed writes the same members.
    #[arg(long, default_value_t = 1)]
    seed_value: u64,
    /// Members per transaction.
    #[arg(long, default_value_t = 1_000)]
    batch: u64,
    /// How many members get a photo (default: one in 500, at most 2 000).
    #[arg(long)]
    avatars: Option<u64>,
}

/// By default one seeded member in this many gets a photo.
const AVATAR_SHARE: u64 = 500;

/// The most photos seeded by default.
const MAX_AVATARS: u64 = 2_000;

#[derive(clap::Args)]
struct DevTokenArgs {
    /// Subject (user id at the development issuer, or an operator's client id).
    #[arg(long)]
    sub: String,
    /// Tenant slug, optionally with its role: `acme` or `acme=owner`. Repeatable.
    /// For operators, the tenants granted; `*` grants every tenant.
    #[arg(long = "tenant")]
    tenants: Vec<String>,
    /// Role for tenants given without one.
    #[arg(long, default_value = "member")]
    role: String,
    /// Issue an operator (service account) token instead of a user's.
    #[arg(long)]
    operator: bool,
    /// Email claim.
    #[arg(long)]
    email: Option<String>,
    /// Given name claim.
    #[arg(long)]
    given_name: Option<String>,
    /// Family name claim.
    #[arg(long)]
    family_name: Option<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 86_400)]
    ttl: i64,
}

/// glibc malloc spent about a third of a 100 000-item bulk request (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    userprofile::install_crypto_provider();
    let cli = Cli::parse();
    let config = || Config::load(cli.config.as_deref());
    let telemetry = match cli.command {
        Command::Serve { .. } => config()?.telemetry,
        _ => TelemetryConfig::default(),
    };
    let _flushed_at_exit = userprofile::telemetry::init(&telemetry)?;
    match cli.command {
        Command::Serve { dev } => {
            let mut config = config()?;
            config.dev_mode |= dev;
            serve(config).await
        }
        Command::Migrate => {
            userprofile::prepare_database(&config()?.database_url).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Schema { compat, subgraph } => {
            let sdl = match (compat, subgraph) {
                (true, _) => userprofile::graphql::compat::sdl(),
                (_, true) => userprofile::graphql::subgraph_sdl(),
                _ => userprofile::graphql::sdl(),
            };
            print!("{sdl}");
            Ok(())
        }
        Command::DevToken(args) => {
            let key = DevKey::load_or_create(&config()?.data_dir)?;
            println!("{}", key.issue(&dev_token_request(args))?);
            Ok(())
        }
        Command::Seed(args) => seed(config()?, args).await,
    }
}

async fn seed(config: Config, args: SeedArgs) -> anyhow::Result<()> {
    let failed = |error| anyhow::anyhow!("seeding failed: {error:?}");
    let state = userprofile::AppState::new(config).await?;
    let plan = userprofile::seed::Plan {
        tenant: args.tenant,
        members: args.members,
        fields: args.fields,
        seed: args.seed_value,
        batch: args.batch,
    };
    let started = std::time::Instant::now();
    let mut progress = userprofile::seed::Progress::on_stderr(plan.members);
    let seeded = userprofile::seed::run(&state.db, &plan, |done| progress.show(done))
        .await
        .map_err(failed)?;
    progress.finish();
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "seeded {} members with {} values into {} in {seconds:.1} s ({:.0} members/s)",
        seeded.members,
        seeded.values,
        plan.tenant,
        seeded.members as f64 / seconds.max(0.001)
    );
    let avatars = args
        .avatars
        .unwrap_or_else(|| plan.members.div_ceil(AVATAR_SHARE).min(MAX_AVATARS));
    let scope = userprofile::seed::tenant_scope(&state.db, &plan.tenant)
        .await
        .map_err(failed)?;
    let admin = scope.admin().map_err(failed)?;
    let mut progress = userprofile::seed::Progress::on_stderr(avatars);
    let uploaded =
        userprofile::seed::avatars::add(state.stores(), &admin, &plan, avatars, |done| {
            progress.show(done)
        })
        .await
        .map_err(failed)?;
    progress.finish();
    eprintln!("uploaded {uploaded} avatars");
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    if config.dev_mode {
        tracing::warn!("development mode: development tokens are trusted; never use in production");
    }
    let listen = config.listen;
    let metrics_listen = config.metrics.listen;
    let state = userprofile::AppState::new(config).await?;
    if let Some(address) = metrics_listen {
        serve_metrics(address, state.clone()).await?;
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!("listening on http://{listen}/graphql");
    let header_seconds = state.config.limits.body_seconds;
    let app = userprofile::app(state);
    userprofile::http::server::serve(listener, app, header_seconds, shutdown_signal()).await;
    Ok(())
}

/// Serves `/metrics` alone on `address`, beside the service.
async fn serve_metrics(
    address: SocketAddr,
    state: Arc<userprofile::AppState>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} for metrics"))?;
    tracing::info!("metrics on http://{address}/metrics");
    let router = userprofile::http::metrics::internal_router(state);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (what container platforms send to stop a service);
/// axum then stops accepting and lets in-flight requests finish. A signal whose handler cannot
/// be installed is simply not waited for.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("interrupted: finishing in-flight requests"),
        () = terminate => tracing::info!("terminated: finishing in-flight requests"),
    }
}

fn dev_token_request(args: DevTokenArgs) -> DevTokenRequest {
    let tenants = args
        .tenants
        .iter()
        .map(|entry| {
            let (slug, role) = entry.split_once('=').unwrap_or((entry, &args.role));
            DevTenant {
                id: slug.to_owned(),
                name: None,
                role: role.to_owned(),
            }
        })
        .collect();
    let mut extra_claims = Map::new();
    for (name, value) in [
        ("email", args.email),
        ("given_name", args.given_name),
        ("family_name", args.family_name),
    ] {
        if let Some(value) = value {
            extra_claims.insert(name.to_owned(), Value::String(value));
        }
    }
    extra_claims.insert("preferred_username".into(), Value::String(args.sub.clone()));
    DevTokenRequest {
        subject: args.sub,
        tenants,
        operator: args.operator,
        ttl_seconds: args.ttl,
        extra_claims,
    }
}
