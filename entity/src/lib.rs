//! SeaORM entities of the UserProfile service, one module per table (shared/DESIGN.md).

pub mod app;
pub mod app_profile;
pub mod audit_event;
pub mod field_definition;
pub mod field_value;
pub mod file;
pub mod membership;
pub mod tenant;
pub mod user;
pub mod web_session;
