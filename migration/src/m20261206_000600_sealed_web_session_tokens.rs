//! Web sessions keep their tokens sealed under a key only the session's cookie gives, in one
//! column. The rows written before held them in the clear: they are deleted (their users sign
//! in again), so no readable bearer token is left in the table.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebSessions {
    Table,
    Credential,
    IdToken,
    SealedTokens,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let clear = Query::delete().from_table(WebSessions::Table).to_owned();
        manager.exec_stmt(clear).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(WebSessions::Table)
                    .drop_column(WebSessions::IdToken)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(WebSessions::Table)
                    .rename_column(WebSessions::Credential, WebSessions::SealedTokens)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let clear = Query::delete().from_table(WebSessions::Table).to_owned();
        manager.exec_stmt(clear).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(WebSessions::Table)
                    .rename_column(WebSessions::SealedTokens, WebSessions::Credential)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(WebSessions::Table)
                    .add_column(ColumnDef::new(WebSessions::IdToken).text().null())
                    .to_owned(),
            )
            .await
    }
}
