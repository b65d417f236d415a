//! Data backfills the service runs once at start-up, after the migrations, when they need
//! the service's own code (the search folding, the display-name rule): each done one is
//! recorded here so that later starts skip it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Backfills {
    Table,
    Name,
    DoneAt,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Backfills::Table)
                    .col(string_len(Backfills::Name, 64).primary_key())
                    .col(timestamp_with_time_zone(Backfills::DoneAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Backfills::Table).to_owned())
            .await
    }
}
