//! The card: `me.profile`, `profile(userId)`, `updateMyProfile`, `updateProfile`, audit.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::membership::Role;
use serde_json::Value;

use super::fields::{FieldDefinitionView, FieldKind, ResolvedText, TextDirection};
use super::files::FileInfo;
use super::guard::RoleGuard;
use super::tenants::parse_user_id;
use super::{Display, db, file_store, registry, stores};
use crate::core::Member;
use crate::fields::FieldValue;
use crate::fields::labels;
use crate::profiles::{self, Card, CardValue, ValueChange};
use crate::session::Session;

/// A member's card in a tenant, as the caller may see it: hidden fields are absent.
pub struct ProfileView {
    /// The card (shared: `me` keeps the own card it read for its other fields).
    pub card: Arc<Card>,
    /// How to show texts.
    pub display: Arc<Display>,
}

#[Object(name = "Profile")]
impl ProfileView {
    /// The card owner's user id.
    async fn user_id(&self) -> ID {
        ID(self.card.user.id.to_string())
    }

    /// The tenant.
    async fn tenant_id(&self) -> ID {
        ID(self.card.tenant.id.to_string())
    }

    /// The name a grid tile shows: `name`, else the given and family names, else
    /// `preferred_username`, from the values the caller may see; null when none is visible.
    async fn display_name(&self) -> Option<String> {
        self.card.display_name()
    }

    /// The owner's role in the tenant.
    async fn role(&self) -> super::tenants::Role {
        self.card.role.into()
    }

    /// The avatar (the `avatar` IMAGE field) when the caller may see it, with signed URLs and
    /// thumbnails for a grid tile; null otherwise.
    async fn avatar(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<FileInfo>> {
        let store = file_store(ctx)?;
        Ok(self.card.avatar().map(|file| FileInfo::new(store, file)))
    }

    /// Bumped by every save; send it back as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.card.version
    }

    /// Last save.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.card.updated_at
    }

    /// The locale labels were resolved for (negotiated against the tenant's labels).
    async fn locale(&self) -> String {
        self.display.negotiate(&self.card.locales)
    }

    /// The writing direction of `locale`.
    async fn direction(&self) -> TextDirection {
        labels::direction_of(&self.display.negotiate(&self.card.locales)).into()
    }

    /// The visible fields in the tenant's order, with their values.
    async fn values(&self) -> Vec<ProfileValue> {
        self.card
            .values
            .iter()
            .map(|v| self.value_view(v))
            .collect()
    }

    /// One visible field by key; null when absent or hidden.
    async fn value(&self, key: String) -> Option<ProfileValue> {
        self.card
            .values
            .iter()
            .find(|v| v.field.key.as_str() == key)
            .map(|v| self.value_view(v))
    }
}

impl ProfileView {
    fn value_view(&self, value: &CardValue) -> ProfileValue {
        let file = value
            .value
            .as_ref()
            .and_then(FieldValue::file_id)
            .and_then(|id| self.card.files.get(&id).cloned());
        ProfileValue {
            value: value.clone(),
            file,
            display: self.display.clone(),
        }
    }
}

/// A picked option of a choice field.
#[derive(SimpleObject)]
pub struct PickedOption {
    /// Stored value.
    value: String,
    /// Label in the request's locale.
    label: ResolvedText,
}

/// One field of a card with its value, typed by kind: exactly the accessor of the field's
/// kind is set when there is a value.
pub struct ProfileValue {
    value: CardValue,
    file: Option<entity::file::Model>,
    display: Arc<Display>,
}

impl ProfileValue {
    fn value(&self) -> Option<&FieldValue> {
        self.value.value.as_ref()
    }

    fn picked(&self, value: &str) -> PickedOption {
        let option = self.value.field.options.iter().find(|o| o.value == value);
        let label = option.map_or_else(
            || labels::Localized {
                text: value.to_owned(),
                locale: None,
                direction: labels::Direction::Ltr,
            },
            |o| self.display.label(&o.labels, &o.value),
        );
        PickedOption {
            value: value.to_owned(),
            label: label.into(),
        }
    }
}

// Serial: no field of a value waits on I/O, so resolving them one after the other gives the same
// answer without a `FuturesUnordered` (its allocations and wake-ups) per value of every card.
#[Object(serial)]
impl ProfileValue {
    /// Field key.
    async fn key(&self) -> &str {
        self.value.field.key.as_str()
    }

    /// Field kind.
    async fn kind(&self) -> FieldKind {
        self.value.field.kind.into()
    }

    /// Label in the request's locale, with its locale and direction.
    async fn label(&self) -> ResolvedText {
        self.display
            .label(&self.value.field.labels, self.value.field.key.as_str())
            .into()
    }

    /// Whether the caller may change this value.
    async fn editable(&self) -> bool {
        self.value.access.can_edit()
    }

    /// The field's definition.
    async fn field(&self) -> FieldDefinitionView {
        FieldDefinitionView {
            field: self.value.field.clone(),
            display: self.display.clone(),
        }
    }

    /// Whether the value is empty.
    async fn empty(&self) -> bool {
        self.value.value.is_none()
    }

    /// Texts: SHORT_TEXT, LONG_TEXT, EMAIL, PHONE, URL, COUNTRY.
    async fn text(&self) -> Option<&str> {
        self.value()?.as_text()
    }

    /// SWITCH.
    async fn boolean(&self) -> Option<bool> {
        match self.value()? {
            FieldValue::Bool(on) => Some(*on),
            _ => None,
        }
    }

    /// NUMBER.
    async fn number(&self) -> Option<f64> {
        match self.value()? {
            FieldValue::Number(number) => number.as_f64(),
            _ => None,
        }
    }

    /// INTEGER.
    async fn integer(&self) -> Option<i64> {
        match self.value()? {
            FieldValue::Integer(integer) => Some(*integer),
            _ => None,
        }
    }

    /// DATE, as YYYY-MM-DD.
    async fn date(&self) -> Option<String> {
        match self.value()? {
            FieldValue::Date(date) => {
                Some(date.format(crate::fields::value::DATE_FORMAT).to_string())
            }
            _ => None,
        }
    }

    /// SINGLE_CHOICE.
    async fn choice(&self) -> Option<PickedOption> {
        match self.value()? {
            FieldValue::Choice(value) => Some(self.picked(value)),
            _ => None,
        }
    }

    /// MULTI_CHOICE.
    async fn choices(&self) -> Option<Vec<PickedOption>> {
        match self.value()? {
            FieldValue::Choices(values) => Some(values.iter().map(|v| self.picked(v)).collect()),
            _ => None,
        }
    }

    /// IMAGE and FILE: the file id.
    async fn file_id(&self) -> Option<ID> {
        self.value()?.file_id().map(|id| ID(id.to_string()))
    }

    /// IMAGE and FILE: the file, with signed URLs and thumbnails.
    async fn file(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<FileInfo>> {
        let store = file_store(ctx)?;
        Ok(self.file.as_ref().map(|f| FileInfo::new(store, f)))
    }

    /// The value as JSON, whatever the kind.
    async fn json(&self) -> Option<Json<Value>> {
        self.value().map(|value| Json(value.to_json()))
    }
}

/// One value to set; `value: null` clears it.
#[derive(InputObject)]
pub struct FieldValueInput {
    /// Field key.
    key: String,
    /// The new value as JSON: a string, number, boolean, list of option values, or null.
    value: Option<Json<Value>>,
}

/// A partial update of a card: only the fields sent change.
#[derive(InputObject)]
pub struct ProfileUpdateInput {
    /// Values to set.
    values: Vec<FieldValueInput>,
    /// The card version this update is based on; CONFLICT when stale.
    expected_version: Option<i32>,
}

impl ProfileUpdateInput {
    fn changes(self) -> (Vec<ValueChange>, Option<i32>) {
        let changes = self
            .values
            .into_iter()
            .map(|v| ValueChange {
                key: v.key,
                value: v.value.map_or(Value::Null, |j| j.0),
            })
            .collect();
        (changes, self.expected_version)
    }
}

/// An audited change.
#[derive(SimpleObject)]
pub struct AuditEvent {
    /// Id.
    id: ID,
    /// Who made it (`user:<id>` or `operator:<client>`).
    actor: String,
    /// What happened.
    action: String,
    /// Before and after.
    change: Json<Value>,
    /// When.
    at: DateTime<Utc>,
}

/// Card queries.
#[derive(Default)]
pub struct ProfileQuery;

#[Object]
impl ProfileQuery {
    /// A member's card in the active tenant, with what the caller may see of it.
    #[graphql(guard = "RoleGuard::new(Role::Member)")]
    async fn profile(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        locale: Option<String>,
    ) -> async_graphql::Result<ProfileView> {
        let member = Session::of(ctx)?.member()?;
        card_view(ctx, &member, parse_user_id(&user_id)?, locale.as_deref()).await
    }

    /// The active tenant's audit trail (admins), newest first: a member's card and membership
    /// when `userId` is given, else every change, field definitions included. At most 500.
    #[graphql(guard = "RoleGuard::new(Role::Admin)", tag = "admin")]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        user_id: Option<ID>,
        #[graphql(default = 50)] first: u64,
    ) -> async_graphql::Result<Vec<AuditEvent>> {
        let admin = Session::of(ctx)?.admin()?;
        let user_id = user_id.as_ref().map(parse_user_id).transpose()?;
        let events =
            crate::audit::latest(db(ctx)?, admin.tenant().id, user_id, first.min(500)).await?;
        Ok(events
            .into_iter()
            .map(|e| AuditEvent {
                id: ID(e.id.to_string()),
                actor: e.actor,
                action: e.action.name(),
                change: Json(e.change),
                at: e.at,
            })
            .collect())
    }
}

/// Reads a card as the member may see it.
pub async fn card_view(
    ctx: &Context<'_>,
    member: &Member<'_>,
    subject: uuid::Uuid,
    locale: Option<&str>,
) -> async_graphql::Result<ProfileView> {
    let card = profiles::read(db(ctx)?, registry(ctx)?, member, subject).await?;
    Ok(ProfileView {
        card: Arc::new(card),
        display: Display::of(ctx, locale, &member.tenant().default_locale),
    })
}

/// Card mutations.
#[derive(Default)]
pub struct ProfileMutation;

#[Object]
impl ProfileMutation {
    /// Saves values of the caller's own card in the active tenant: all or nothing.
    #[graphql(guard = "RoleGuard::new(Role::Member)")]
    async fn update_my_profile(
        &self,
        ctx: &Context<'_>,
        input: ProfileUpdateInput,
        locale: Option<String>,
    ) -> async_graphql::Result<ProfileView> {
        let member = Session::of(ctx)?.member()?;
        let (changes, expected) = input.changes();
        let card = profiles::update_own(stores(ctx)?, &member, changes, expected).await?;
        Ok(view(ctx, &member, card, locale.as_deref()))
    }

    /// Saves values of a member's card (admins, operators): all or nothing.
    #[graphql(guard = "RoleGuard::new(Role::Admin)", tag = "admin")]
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        input: ProfileUpdateInput,
        locale: Option<String>,
    ) -> async_graphql::Result<ProfileView> {
        let admin = Session::of(ctx)?.admin()?;
        let (changes, expected) = input.changes();
        let card = profiles::update(
            stores(ctx)?,
            &admin,
            parse_user_id(&user_id)?,
            changes,
            expected,
        )
        .await?;
        Ok(view(ctx, &admin, card, locale.as_deref()))
    }
}

fn view(ctx: &Context<'_>, member: &Member<'_>, card: Card, locale: Option<&str>) -> ProfileView {
    ProfileView {
        card: Arc::new(card),
        display: Display::of(ctx, locale, &member.tenant().default_locale),
    }
}
