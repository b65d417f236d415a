//! Quick search: each stored card value keeps a folded text (lower case, accents removed) and
//! each user the folded text of what the identity provider said, both written with the value.
//! On PostgreSQL, `pg_trgm` GIN indexes serve substring and prefix matches (`LIKE '%…%'`).

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FieldValues {
    Table,
    Folded,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    FoldedIdentity,
}

const TRIGRAM_INDEXES: &str = "
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX idx_field_values_folded ON field_values USING gin (folded gin_trgm_ops);
    CREATE INDEX idx_users_folded_identity ON users USING gin (folded_identity gin_trgm_ops);";

const DROP_TRIGRAM_INDEXES: &str = "
    DROP INDEX IF EXISTS idx_field_values_folded;
    DROP INDEX IF EXISTS idx_users_folded_identity;";

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(FieldValues::Table)
                    .add_column(text_null(FieldValues::Folded))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(text_null(Users::FoldedIdentity))
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(TRIGRAM_INDEXES)
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(DROP_TRIGRAM_INDEXES)
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::FoldedIdentity)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(FieldValues::Table)
                    .drop_column(FieldValues::Folded)
                    .to_owned(),
            )
            .await
    }
}
