//! Server-side sessions of the web UI, in the database so that every instance shares them.
//! Only a hash of the session id is stored: a leaked table cannot be replayed as cookies.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebSessions {
    Table,
    IdHash,
    CsrfToken,
    Credential,
    IdToken,
    Issuer,
    Tenant,
    Pending,
    CreatedAt,
    ExpiresAt,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebSessions::Table)
                    .col(string_len(WebSessions::IdHash, 64).primary_key())
                    .col(string_len(WebSessions::CsrfToken, 64))
                    .col(text_null(WebSessions::Credential))
                    .col(text_null(WebSessions::IdToken))
                    .col(text_null(WebSessions::Issuer))
                    .col(string_len_null(WebSessions::Tenant, 64))
                    .col(json_binary_null(WebSessions::Pending))
                    .col(timestamp_with_time_zone(WebSessions::CreatedAt))
                    .col(timestamp_with_time_zone(WebSessions::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("web_sessions_expires_at")
                    .table(WebSessions::Table)
                    .col(WebSessions::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebSessions::Table).to_owned())
            .await
    }
}
