//! Quick search over one document per card: each membership keeps the folded texts its card
//! can be found by, in three parts by who may search them (other members, admins, operators),
//! with the tenant's search version it was built under. Searches match the document on the
//! membership row itself, so a page in any order finds its cards without probing each card's
//! values; a card whose document predates the tenant's current field rules is matched by its
//! values instead until it is rebuilt. PostgreSQL serves the documents from pg_trgm GIN
//! indexes, SQLite from an FTS5 trigram table kept in step by triggers. Filters find the
//! values of a field equal to one of theirs through an index on (field, value).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Both databases: the columns and the index that finds a tenant's stale documents.
const COLUMNS: &str = "
    ALTER TABLE memberships ADD COLUMN search_member TEXT;
    ALTER TABLE memberships ADD COLUMN search_admin TEXT;
    ALTER TABLE memberships ADD COLUMN search_operator TEXT;
    ALTER TABLE memberships ADD COLUMN search_version INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tenants ADD COLUMN search_version INTEGER NOT NULL DEFAULT 1;
    CREATE INDEX idx_memberships_search_version ON memberships (tenant_id, search_version);
    CREATE INDEX idx_field_values_field_value ON field_values (field_id, value);";

const POSTGRES_UP: &str = "
    CREATE INDEX idx_memberships_search_member ON memberships
        USING gin (search_member gin_trgm_ops) WHERE search_member IS NOT NULL;
    CREATE INDEX idx_memberships_search_admin ON memberships
        USING gin (search_admin gin_trgm_ops) WHERE search_admin IS NOT NULL;
    CREATE INDEX idx_memberships_search_operator ON memberships
        USING gin (search_operator gin_trgm_ops) WHERE search_operator IS NOT NULL;";

const SQLITE_UP: &str = "
    CREATE VIRTUAL TABLE memberships_search USING fts5(
        search_member, search_admin, search_operator,
        content='memberships', content_rowid='rowid', tokenize='trigram');
    CREATE TRIGGER memberships_search_insert AFTER INSERT ON memberships BEGIN
        INSERT INTO memberships_search(rowid, search_member, search_admin, search_operator)
            VALUES (new.rowid, new.search_member, new.search_admin, new.search_operator);
    END;
    CREATE TRIGGER memberships_search_delete AFTER DELETE ON memberships BEGIN
        INSERT INTO memberships_search(memberships_search, rowid, search_member, search_admin,
            search_operator)
            VALUES ('delete', old.rowid, old.search_member, old.search_admin, old.search_operator);
    END;
    CREATE TRIGGER memberships_search_update
    AFTER UPDATE OF search_member, search_admin, search_operator ON memberships BEGIN
        INSERT INTO memberships_search(memberships_search, rowid, search_member, search_admin,
            search_operator)
            VALUES ('delete', old.rowid, old.search_member, old.search_admin, old.search_operator);
        INSERT INTO memberships_search(rowid, search_member, search_admin, search_operator)
            VALUES (new.rowid, new.search_member, new.search_admin, new.search_operator);
    END;
    INSERT INTO memberships_search(memberships_search) VALUES ('rebuild');";

const POSTGRES_DOWN: &str = "
    DROP INDEX IF EXISTS idx_memberships_search_member;
    DROP INDEX IF EXISTS idx_memberships_search_admin;
    DROP INDEX IF EXISTS idx_memberships_search_operator;";

const SQLITE_DOWN: &str = "
    DROP TRIGGER IF EXISTS memberships_search_update;
    DROP TRIGGER IF EXISTS memberships_search_delete;
    DROP TRIGGER IF EXISTS memberships_search_insert;
    DROP TABLE IF EXISTS memberships_search;";

const COLUMNS_DOWN: &str = "
    DROP INDEX IF EXISTS idx_field_values_field_value;
    DROP INDEX IF EXISTS idx_memberships_search_version;
    ALTER TABLE tenants DROP COLUMN search_version;
    ALTER TABLE memberships DROP COLUMN search_version;
    ALTER TABLE memberships DROP COLUMN search_operator;
    ALTER TABLE memberships DROP COLUMN search_admin;
    ALTER TABLE memberships DROP COLUMN search_member;";

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(COLUMNS).await?;
        match manager.get_database_backend() {
            DbBackend::Postgres => db.execute_unprepared(POSTGRES_UP).await?,
            _ => db.execute_unprepared(SQLITE_UP).await?,
        };
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => db.execute_unprepared(POSTGRES_DOWN).await?,
            _ => db.execute_unprepared(SQLITE_DOWN).await?,
        };
        db.execute_unprepared(COLUMNS_DOWN).await?;
        Ok(())
    }
}
