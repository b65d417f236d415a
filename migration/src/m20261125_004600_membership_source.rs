//! Memberships record who manages them (the member's identity provider or the service), and
//! users which tenants their provider claimed at the latest sign-in.
//!
//! Existing memberships become `service`: they were added by owners or by claims that the old
//! sign-in never removed, so owners keep managing them as before, and no existing membership
//! can disappear when an issuer is switched to provider authority.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Source,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    ClaimedTenants,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Memberships::Table)
                    .add_column(string_len(Memberships::Source, 16).default("service"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(json_binary_null(Users::ClaimedTenants))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Memberships::Table)
                    .drop_column(Memberships::Source)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::ClaimedTenants)
                    .to_owned(),
            )
            .await
    }
}
