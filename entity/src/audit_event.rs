//! A recorded change: who changed what on whose card or schema.

use sea_orm::entity::prelude::*;

/// What an audit event records; stored and shown by its dotted name (`membership.add`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Action {
    /// A tenant was created.
    #[sea_orm(string_value = "tenant.create")]
    TenantCreate,
    /// A tenant was renamed.
    #[sea_orm(string_value = "tenant.rename")]
    TenantRename,
    /// A tenant setting changed (the member directory).
    #[sea_orm(string_value = "tenant.settings")]
    TenantSettings,
    /// A member was added.
    #[sea_orm(string_value = "membership.add")]
    MembershipAdd,
    /// A member was removed.
    #[sea_orm(string_value = "membership.remove")]
    MembershipRemove,
    /// A member's role changed.
    #[sea_orm(string_value = "membership.role")]
    MembershipRole,
    /// Who manages a membership changed (provider or service).
    #[sea_orm(string_value = "membership.source")]
    MembershipSource,
    /// A sign-in's claims would have removed or demoted the last owner; the owner was kept.
    #[sea_orm(string_value = "membership.keep_last_owner")]
    MembershipKeepLastOwner,
    /// A field was defined.
    #[sea_orm(string_value = "field.create")]
    FieldCreate,
    /// A field definition changed.
    #[sea_orm(string_value = "field.update")]
    FieldUpdate,
    /// The fields were reordered.
    #[sea_orm(string_value = "field.reorder")]
    FieldReorder,
    /// A field was archived.
    #[sea_orm(string_value = "field.archive")]
    FieldArchive,
    /// An archived field was restored.
    #[sea_orm(string_value = "field.restore")]
    FieldRestore,
    /// An archived field and its values were deleted.
    #[sea_orm(string_value = "field.purge")]
    FieldPurge,
    /// Values of a card changed.
    #[sea_orm(string_value = "profile.update")]
    ProfileUpdate,
    /// An operator created app profiles in bulk.
    #[sea_orm(string_value = "app_profiles.bulk_create")]
    AppProfilesBulkCreate,
}

impl Action {
    /// The dotted name, as stored and shown.
    pub fn name(self) -> String {
        self.to_value()
    }
}

/// A row of `audit_events`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    /// Internal id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant the change happened in.
    pub tenant_id: Uuid,
    /// Who made the change (`user:<id>` or `operator:<client>`).
    pub actor: String,
    /// Whose card changed, when a card changed.
    pub subject_user_id: Option<Uuid>,
    /// What happened.
    pub action: Action,
    /// Before/after details (JSON object).
    #[sea_orm(column_type = "JsonBinary")]
    pub change: Json,
    /// When it happened.
    pub at: DateTimeUtc,
}

/// Audit events have no navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
