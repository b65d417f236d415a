//! The initial data model: tenants, users, memberships, fields, files, apps, audit (shared/DESIGN.md).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    Slug,
    Name,
    DefaultLocale,
    EnabledLocales,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Issuer,
    Subject,
    Username,
    Email,
    EmailVerified,
    Claims,
    CreatedAt,
    UpdatedAt,
    LastSignInAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    UserId,
    TenantId,
    Role,
    IsPrimary,
    CardVersion,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum FieldDefinitions {
    Table,
    Id,
    TenantId,
    Key,
    Kind,
    Labels,
    Help,
    Options,
    Validation,
    Required,
    Position,
    OwnerAccess,
    MemberAccess,
    AdminAccess,
    Builtin,
    ArchivedAt,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum FieldValues {
    Table,
    TenantId,
    UserId,
    FieldId,
    Value,
    UpdatedAt,
    UpdatedBy,
}

#[derive(DeriveIden)]
enum Files {
    Table,
    Id,
    TenantId,
    OwnerId,
    ObjectKey,
    ContentType,
    ByteSize,
    Sha256,
    Width,
    Height,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Apps {
    Table,
    Id,
    Name,
    Domain,
    Description,
    JsonSchema,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AppProfiles {
    Table,
    UserId,
    AppId,
    Data,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    TenantId,
    Actor,
    SubjectUserId,
    Action,
    Change,
    At,
}

fn foreign_key(
    from_table: impl IntoIden + 'static,
    from_column: impl IntoIden + 'static,
    to_table: impl IntoIden + 'static,
    to_column: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from_table, from_column)
        .to(to_table, to_column)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tenants::Table)
                    .col(pk_uuid(Tenants::Id))
                    .col(string_len_uniq(Tenants::Slug, 64))
                    .col(string_len(Tenants::Name, 200))
                    .col(string_len(Tenants::DefaultLocale, 35))
                    .col(json_binary(Tenants::EnabledLocales))
                    .col(timestamp_with_time_zone(Tenants::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_uuid(Users::Id))
                    .col(string_len(Users::Issuer, 500))
                    .col(string_len(Users::Subject, 255))
                    .col(string_len_null(Users::Username, 255))
                    .col(string_len_null(Users::Email, 320))
                    .col(boolean(Users::EmailVerified))
                    .col(json_binary(Users::Claims))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .col(timestamp_with_time_zone(Users::LastSignInAt))
                    .index(
                        Index::create()
                            .name("users_issuer_subject_key")
                            .col(Users::Issuer)
                            .col(Users::Subject)
                            .unique(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Memberships::Table)
                    .col(uuid(Memberships::UserId))
                    .col(uuid(Memberships::TenantId))
                    .col(string_len(Memberships::Role, 16))
                    .col(boolean(Memberships::IsPrimary))
                    .col(integer(Memberships::CardVersion))
                    .col(timestamp_with_time_zone(Memberships::CreatedAt))
                    .col(timestamp_with_time_zone(Memberships::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(Memberships::UserId)
                            .col(Memberships::TenantId),
                    )
                    .foreign_key(&mut foreign_key(
                        Memberships::Table,
                        Memberships::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .foreign_key(&mut foreign_key(
                        Memberships::Table,
                        Memberships::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("memberships_tenant_idx")
                    .table(Memberships::Table)
                    .col(Memberships::TenantId)
                    .col(Memberships::Role)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FieldDefinitions::Table)
                    .col(pk_uuid(FieldDefinitions::Id))
                    .col(uuid(FieldDefinitions::TenantId))
                    .col(string_len(FieldDefinitions::Key, 64))
                    .col(string_len(FieldDefinitions::Kind, 32))
                    .col(json_binary(FieldDefinitions::Labels))
                    .col(json_binary(FieldDefinitions::Help))
                    .col(json_binary(FieldDefinitions::Options))
                    .col(json_binary(FieldDefinitions::Validation))
                    .col(boolean(FieldDefinitions::Required))
                    .col(integer(FieldDefinitions::Position))
                    .col(string_len(FieldDefinitions::OwnerAccess, 16))
                    .col(string_len(FieldDefinitions::MemberAccess, 16))
                    .col(string_len(FieldDefinitions::AdminAccess, 16))
                    .col(boolean(FieldDefinitions::Builtin))
                    .col(timestamp_with_time_zone_null(FieldDefinitions::ArchivedAt))
                    .col(integer(FieldDefinitions::Version))
                    .col(timestamp_with_time_zone(FieldDefinitions::CreatedAt))
                    .col(timestamp_with_time_zone(FieldDefinitions::UpdatedAt))
                    .index(
                        Index::create()
                            .name("field_definitions_tenant_key")
                            .col(FieldDefinitions::TenantId)
                            .col(FieldDefinitions::Key)
                            .unique(),
                    )
                    .foreign_key(&mut foreign_key(
                        FieldDefinitions::Table,
                        FieldDefinitions::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FieldValues::Table)
                    .col(uuid(FieldValues::TenantId))
                    .col(uuid(FieldValues::UserId))
                    .col(uuid(FieldValues::FieldId))
                    .col(json_binary(FieldValues::Value))
                    .col(timestamp_with_time_zone(FieldValues::UpdatedAt))
                    .col(string_len(FieldValues::UpdatedBy, 300))
                    .primary_key(
                        Index::create()
                            .col(FieldValues::TenantId)
                            .col(FieldValues::UserId)
                            .col(FieldValues::FieldId),
                    )
                    .foreign_key(&mut foreign_key(
                        FieldValues::Table,
                        FieldValues::FieldId,
                        FieldDefinitions::Table,
                        FieldDefinitions::Id,
                    ))
                    .foreign_key(&mut foreign_key(
                        FieldValues::Table,
                        FieldValues::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Files::Table)
                    .col(pk_uuid(Files::Id))
                    .col(uuid(Files::TenantId))
                    .col(uuid(Files::OwnerId))
                    .col(string_len(Files::ObjectKey, 200))
                    .col(string_len(Files::ContentType, 200))
                    .col(big_integer(Files::ByteSize))
                    .col(string_len(Files::Sha256, 64))
                    .col(integer_null(Files::Width))
                    .col(integer_null(Files::Height))
                    .col(timestamp_with_time_zone(Files::CreatedAt))
                    .foreign_key(&mut foreign_key(
                        Files::Table,
                        Files::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Apps::Table)
                    .col(string_len(Apps::Id, 64).primary_key())
                    .col(string_len(Apps::Name, 200))
                    .col(string_len_null(Apps::Domain, 255))
                    .col(text_null(Apps::Description))
                    .col(json_binary_null(Apps::JsonSchema))
                    .col(timestamp_with_time_zone(Apps::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AppProfiles::Table)
                    .col(uuid(AppProfiles::UserId))
                    .col(string_len(AppProfiles::AppId, 64))
                    .col(json_binary(AppProfiles::Data))
                    .col(integer(AppProfiles::Version))
                    .col(timestamp_with_time_zone(AppProfiles::CreatedAt))
                    .col(timestamp_with_time_zone(AppProfiles::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(AppProfiles::UserId)
                            .col(AppProfiles::AppId),
                    )
                    .foreign_key(&mut foreign_key(
                        AppProfiles::Table,
                        AppProfiles::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .foreign_key(&mut foreign_key(
                        AppProfiles::Table,
                        AppProfiles::AppId,
                        Apps::Table,
                        Apps::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(pk_uuid(AuditEvents::Id))
                    .col(uuid(AuditEvents::TenantId))
                    .col(string_len(AuditEvents::Actor, 300))
                    .col(uuid_null(AuditEvents::SubjectUserId))
                    .col(string_len(AuditEvents::Action, 64))
                    .col(json_binary(AuditEvents::Change))
                    .col(timestamp_with_time_zone(AuditEvents::At))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_events_subject_idx")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::TenantId)
                    .col(AuditEvents::SubjectUserId)
                    .col(AuditEvents::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditEvents::Table.into_iden(),
            AppProfiles::Table.into_iden(),
            Apps::Table.into_iden(),
            Files::Table.into_iden(),
            FieldValues::Table.into_iden(),
            FieldDefinitions::Table.into_iden(),
            Memberships::Table.into_iden(),
            Users::Table.into_iden(),
            Tenants::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
