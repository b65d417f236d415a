//! The directory's display-name order: each membership keeps its card's display name, folded
//! (lower case, no accents), written by every path that changes a name, with an index for
//! keyset pages by it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Memberships {
    Table,
    TenantId,
    UserId,
    SortName,
}

const BY_NAME: &str = "idx_memberships_directory_name";

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Memberships::Table)
                    .add_column(text_null(Memberships::SortName))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(BY_NAME)
                    .table(Memberships::Table)
                    .col(Memberships::TenantId)
                    .col(Memberships::SortName)
                    .col(Memberships::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(BY_NAME)
                    .table(Memberships::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Memberships::Table)
                    .drop_column(Memberships::SortName)
                    .to_owned(),
            )
            .await
    }
}
