//! Database migrations of the UserProfile service, one file per change.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_initial;
mod m20261124_000010_file_details;
mod m20261124_000020_app_profile_references;
mod m20261125_004600_membership_source;
mod m20261125_090000_directory;
mod m20261125_091000_search;
mod m20261206_000100_sort_name;
mod m20261206_000200_backfills;
mod m20261206_000300_sqlite_search;
mod m20261206_000400_card_search;
mod m20261206_000500_web_sessions;
mod m20261206_000600_sealed_web_session_tokens;

/// Runs every migration of the service in order.
pub struct Migrator;

#[sea_orm_migration::async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_initial::Migration),
            Box::new(m20261124_000010_file_details::Migration),
            Box::new(m20261124_000020_app_profile_references::Migration),
            Box::new(m20261125_004600_membership_source::Migration),
            Box::new(m20261125_090000_directory::Migration),
            Box::new(m20261125_091000_search::Migration),
            Box::new(m20261206_000100_sort_name::Migration),
            Box::new(m20261206_000200_backfills::Migration),
            Box::new(m20261206_000300_sqlite_search::Migration),
            Box::new(m20261206_000400_card_search::Migration),
            Box::new(m20261206_000500_web_sessions::Migration),
            Box::new(m20261206_000600_sealed_web_session_tokens::Migration),
        ]
    }
}
