//! The integrity rules every write follows, whatever domain it belongs to: text without U+0000,
//! and updates guarded by a version. (Unique and foreign-key violations map to CONFLICT in
//! [`crate::error`].)

pub mod nul;
pub mod version;
