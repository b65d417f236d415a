//! Quick search on SQLite: FTS5 tables with the trigram tokenizer over the folded texts of
//! stored values and users, external-content tables kept in step by triggers, so every write
//! path updates them in its own transaction by construction. (PostgreSQL serves the same
//! searches from pg_trgm GIN indexes.) The search re-checks each candidate row's folded text,
//! so a stale index entry can hide a match but never make a card match.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = "
    CREATE VIRTUAL TABLE field_values_search USING fts5(
        folded, content='field_values', content_rowid='rowid', tokenize='trigram');
    CREATE TRIGGER field_values_search_insert AFTER INSERT ON field_values
    WHEN new.folded IS NOT NULL BEGIN
        INSERT INTO field_values_search(rowid, folded) VALUES (new.rowid, new.folded);
    END;
    CREATE TRIGGER field_values_search_delete AFTER DELETE ON field_values
    WHEN old.folded IS NOT NULL BEGIN
        INSERT INTO field_values_search(field_values_search, rowid, folded)
            VALUES ('delete', old.rowid, old.folded);
    END;
    CREATE TRIGGER field_values_search_update AFTER UPDATE OF folded ON field_values BEGIN
        INSERT INTO field_values_search(field_values_search, rowid, folded)
            SELECT 'delete', old.rowid, old.folded WHERE old.folded IS NOT NULL;
        INSERT INTO field_values_search(rowid, folded)
            SELECT new.rowid, new.folded WHERE new.folded IS NOT NULL;
    END;
    INSERT INTO field_values_search(field_values_search) VALUES ('rebuild');

    CREATE VIRTUAL TABLE users_search USING fts5(
        folded_identity, content='users', content_rowid='rowid', tokenize='trigram');
    CREATE TRIGGER users_search_insert AFTER INSERT ON users
    WHEN new.folded_identity IS NOT NULL BEGIN
        INSERT INTO users_search(rowid, folded_identity) VALUES (new.rowid, new.folded_identity);
    END;
    CREATE TRIGGER users_search_delete AFTER DELETE ON users
    WHEN old.folded_identity IS NOT NULL BEGIN
        INSERT INTO users_search(users_search, rowid, folded_identity)
            VALUES ('delete', old.rowid, old.folded_identity);
    END;
    CREATE TRIGGER users_search_update AFTER UPDATE OF folded_identity ON users BEGIN
        INSERT INTO users_search(users_search, rowid, folded_identity)
            SELECT 'delete', old.rowid, old.folded_identity WHERE old.folded_identity IS NOT NULL;
        INSERT INTO users_search(rowid, folded_identity)
            SELECT new.rowid, new.folded_identity WHERE new.folded_identity IS NOT NULL;
    END;
    INSERT INTO users_search(users_search) VALUES ('rebuild');";

const DOWN: &str = "
    DROP TRIGGER IF EXISTS users_search_update;
    DROP TRIGGER IF EXISTS users_search_delete;
    DROP TRIGGER IF EXISTS users_search_insert;
    DROP TABLE IF EXISTS users_search;
    DROP TRIGGER IF EXISTS field_values_search_update;
    DROP TRIGGER IF EXISTS field_values_search_delete;
    DROP TRIGGER IF EXISTS field_values_search_insert;
    DROP TABLE IF EXISTS field_values_search;";

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Sqlite {
            manager.get_connection().execute_unprepared(UP).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Sqlite {
            manager.get_connection().execute_unprepared(DOWN).await?;
        }
        Ok(())
    }
}
