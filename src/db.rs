//! Database connection and migrations, for SQLite and PostgreSQL alike.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

/// Connects to `url`, creating the SQLite file and its folder when needed.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    connect_with(url, None).await
}

/// Connects like [`connect`]; on PostgreSQL, a statement running longer than
/// `statement_timeout` (waiting for a lock included) is cancelled by the server, and the
/// request that ran it answered `TIMEOUT`. SQLite cannot cancel a statement: there, only the
/// request timeout applies.
pub async fn connect_with(
    url: &str,
    statement_timeout: Option<Duration>,
) -> anyhow::Result<DatabaseConnection> {
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
        });
    if let Some(timeout) = statement_timeout {
        let milliseconds = timeout.as_millis().to_string();
        options.map_sqlx_postgres_opts(move |opts| {
            opts.options([("statement_timeout", milliseconds.as_str())])
        });
    }
    Ok(Database::connect(options).await?)
}

/// Connects and applies every pending migration.
pub async fn connect_and_migrate(url: &str) -> anyhow::Result<DatabaseConnection> {
    let db = connect(url).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
}

/// Connects as the service does: migrations applied, each statement limited to
/// `statement_timeout`.
pub async fn connect_service(
    url: &str,
    statement_timeout: Duration,
) -> anyhow::Result<DatabaseConnection> {
    let db = connect_with(url, Some(statement_timeout)).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
}

fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next()?;
    (path != ":memory:" && !path.is_empty()).then_some(path)
}

/// Counts the SQL statements a connection runs: how tests check that a list costs a constant
/// number of queries, whatever its length.
#[derive(Clone, Debug, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    /// Statements run so far.
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Makes `db` (and every clone made from it afterwards) count its statements into `counter`.
pub fn count_statements(db: &mut DatabaseConnection, counter: StatementCounter) {
    db.set_metric_callback(move |_| {
        counter.0.fetch_add(1, Ordering::SeqCst);
    });
}

/// The current time at the databases' precision (PostgreSQL keeps microseconds), so that a
/// row a write returns equals the row a later read gives.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}
