//! Database connection and migrations, for SQLite and PostgreSQL alike.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use log::LevelFilter;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

/// Connects to `url`, creating the SQLite file and its folder when needed.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    connect_with(url, PoolSettings::default()).await
}

/// How the service's pool is sized and bounded.
#[derive(Clone, Copy, Debug, Default)]
pub struct PoolSettings {
    /// PostgreSQL cancels a statement running longer (waiting for a lock included).
    pub statement_timeout: Option<Duration>,
    /// Most PostgreSQL connections (sqlx's default of 10 when unset); SQLite always uses one.
    pub max_connections: Option<u32>,
}

/// Connects like [`connect`]; on PostgreSQL, a statement running longer than
/// `pool.statement_timeout` is cancelled by the server, and the request that ran it answered
/// `TIMEOUT`. SQLite cannot cancel a statement: there, only the request timeout applies.
/// Every wait for a connection is reported as a `sqlx::pool::acquire` event, which
/// [`crate::metrics::PoolWaitLayer`] counts.
pub async fn connect_with(url: &str, pool: PoolSettings) -> anyhow::Result<DatabaseConnection> {
    if let Some(path) = sqlite_file(url)
        && let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = ConnectOptions::new(url);
    options
        .sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(10))
        .map_sqlx_sqlite_opts(|opts| {
            // WAL lets readers run beside the one writer; writers wait instead of failing.
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                .create_if_missing(true)
        })
        .map_sqlx_sqlite_pool_opts(|opts| {
            // A SQLite connection is a thread of this process with the file open: nothing can
            // break it between two statements, so it is not pinged (a hand-over to that thread
            // and back) each time it is handed out. PostgreSQL's are: a server restart must
            // not fail the requests that next take its dead connections.
            opts.acquire_time_level(LevelFilter::Trace)
                .test_before_acquire(false)
                .after_connect(|connection, _| Box::pin(connect_search_tables(connection)))
        })
        .map_sqlx_postgres_pool_opts(|opts| opts.acquire_time_level(LevelFilter::Trace));
    // One SQLite connection serialises writers: with more, two transactions that read and
    // then write deadlock on the lock upgrade, and one fails at once despite the busy timeout.
    if let Some(max) = pool.max_connections
        && !url.starts_with("sqlite:")
    {
        options.max_connections(max);
    }
    // PostgreSQL's JIT compiles any statement its planner thinks costly, which for the
    // directory's searches over many cards cost more (hundreds of milliseconds) than running
    // them; short statements are all this service sends.
    let mut settings = vec![("jit", "off".to_owned())];
    if let Some(timeout) = pool.statement_timeout {
        settings.push(("statement_timeout", timeout.as_millis().to_string()));
    }
    options.map_sqlx_postgres_opts(move |opts| {
        opts.options(settings.iter().map(|(name, value)| (*name, value.as_str())))
    });
    Ok(Database::connect(options).await?)
}

/// Opens the quick-search FTS5 tables on a new SQLite connection, outside any transaction.
/// Otherwise the first statement whose triggers write them, prepared inside a deferred
/// transaction, opens them there: SQLite reads their configuration, so the transaction holds
/// a read snapshot before its first write, and that write fails at once with "database is
/// locked" when another connection committed meanwhile (waiting cannot help a stale snapshot).
/// Before the migration that creates them the statement fails, which is fine.
async fn connect_search_tables(
    connection: &mut sea_orm::sqlx::SqliteConnection,
) -> Result<(), sea_orm::sqlx::Error> {
    use sea_orm::sqlx::Executor;
    for statement in [
        "SELECT count(*) FROM field_values_search WHERE rowid = 0",
        "SELECT count(*) FROM users_search WHERE rowid = 0",
        "SELECT count(*) FROM memberships_search WHERE rowid = 0",
    ] {
        let _ = connection.execute(statement).await;
    }
    Ok(())
}

/// Connects and applies every pending migration.
pub async fn connect_and_migrate(url: &str) -> anyhow::Result<DatabaseConnection> {
    let db = connect(url).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
}

/// Connects as the service does: migrations applied, the pool bounded by `pool`.
pub async fn connect_service(url: &str, pool: PoolSettings) -> anyhow::Result<DatabaseConnection> {
    let db = connect_with(url, pool).await?;
    Migrator::up(&db, None).await?;
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite && sqlite_file(url).is_some() {
        // New connections, which open the search tables the migrations may just have created.
        db.close().await?;
        return connect_with(url, pool).await;
    }
    Ok(db)
}

/// Connections of a SQLite file's reader pool (see [`connect_reader`]).
const SQLITE_READERS: u32 = 4;

/// The pool for the statement every request starts with (the caller's user and memberships,
/// [`crate::users::load`]). On a SQLite file, its own read-only connections: the service's
/// pool is one connection (see [`connect_with`]), and every request queued behind it for that
/// read, which halved `me`'s throughput (BENCHMARKS.md, issue 16). In WAL mode each reader's
/// statement sees every transaction committed before it began, so a save is read back at
/// once; a reader can never take a write lock, so it cannot deadlock the writer. Elsewhere
/// (PostgreSQL, an in-memory SQLite database) the service's pool itself.
pub async fn connect_reader(
    url: &str,
    writer: &DatabaseConnection,
) -> anyhow::Result<DatabaseConnection> {
    if writer.get_database_backend() != sea_orm::DbBackend::Sqlite || sqlite_file(url).is_none() {
        return Ok(writer.clone());
    }
    let mut options = ConnectOptions::new(url);
    options
        .sqlx_logging(false)
        .max_connections(SQLITE_READERS)
        .acquire_timeout(Duration::from_secs(10))
        .map_sqlx_sqlite_opts(|opts| opts.read_only(true).busy_timeout(Duration::from_secs(30)))
        .map_sqlx_sqlite_pool_opts(|opts| {
            opts.acquire_time_level(LevelFilter::Trace)
                .test_before_acquire(false)
        });
    Ok(Database::connect(options).await?)
}

fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next()?;
    (path != ":memory:" && !path.is_empty()).then_some(path)
}

/// Counts the SQL statements a connection runs: how tests check that a list costs a constant
/// number of queries, whatever its length. It also keeps the latest statements with their
/// values, for benchmarks that show their plans.
#[derive(Clone, Debug, Default)]
pub struct StatementCounter(
    Arc<AtomicU64>,
    Arc<std::sync::Mutex<Vec<sea_orm::Statement>>>,
);

/// How many of the latest statements a [`StatementCounter`] keeps.
const KEPT_STATEMENTS: usize = 256;

impl StatementCounter {
    /// Statements run so far.
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    /// The statements run since the last call (at most the latest 256), oldest first.
    pub fn take_statements(&self) -> Vec<sea_orm::Statement> {
        self.1
            .lock()
            .map(|mut kept| std::mem::take(&mut *kept))
            .unwrap_or_default()
    }
}

/// Makes `db` (and every clone made from it afterwards) count its statements into `counter`.
pub fn count_statements(db: &mut DatabaseConnection, counter: StatementCounter) {
    db.set_metric_callback(move |info| {
        counter.0.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut kept) = counter.1.lock() {
            if kept.len() == KEPT_STATEMENTS {
                kept.remove(0);
            }
            kept.push(info.statement.clone());
        }
    });
}

/// The current time at the databases' precision (PostgreSQL keeps microseconds), so that a
/// row a write returns equals the row a later read gives.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}
