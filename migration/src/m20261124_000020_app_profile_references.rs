//! PostgreSQL checks app_profiles' references to users and apps once per statement instead of
//! by per-row foreign keys: the operator's bulk create spent more time in the foreign keys'
//! per-row checks than in the insert. The SQL files say what is kept of a foreign key's
//! guarantees. SQLite keeps its foreign keys, whose checks cost little there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_on_postgres(manager, include_str!("sql/app_profile_references_up.sql")).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_on_postgres(manager, include_str!("sql/app_profile_references_down.sql")).await
    }
}

async fn run_on_postgres(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    manager.get_connection().execute_unprepared(sql).await?;
    Ok(())
}
