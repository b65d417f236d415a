//! The directory: a tenant setting that opens a member directory (off by default), and
//! indexes for keyset pages of a tenant's cards by creation and by last save.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    MemberDirectory,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    TenantId,
    UserId,
    CreatedAt,
    UpdatedAt,
}

const BY_CREATED: &str = "idx_memberships_directory_created";
const BY_UPDATED: &str = "idx_memberships_directory_updated";

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .add_column(boolean(Tenants::MemberDirectory).default(false))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            (BY_CREATED, Memberships::CreatedAt),
            (BY_UPDATED, Memberships::UpdatedAt),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Memberships::Table)
                        .col(Memberships::TenantId)
                        .col(column)
                        .col(Memberships::UserId)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [BY_CREATED, BY_UPDATED] {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(Memberships::Table)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .drop_column(Tenants::MemberDirectory)
                    .to_owned(),
            )
            .await
    }
}
