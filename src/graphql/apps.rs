//! Apps and app-scoped JSON profiles: thin resolvers over [`crate::apps`].

use std::borrow::Cow;
use std::sync::Arc;

use async_graphql::registry::Registry;
use async_graphql::types::Json;
use async_graphql::{
    Context, Enum, ID, InputObject, InputType, InputValueResult, MaybeUndefined, Object,
    SimpleObject, Value as ConstValue,
};
use chrono::{DateTime, Utc};
use entity::{app, app_profile};
use serde_json::Value;

use super::context_data;
use super::guard::{OperatorGuard, RoleGuard};
use super::tenants::parse_user_id;
use crate::apps::problems::{self, Problem};
use crate::apps::{
    AppChange, Apps, BulkItem, BulkOutcome, DeletedApp, IntoDocument, NewApp, OwnProfiles,
};
use crate::error::Error;
use crate::metrics::Metrics;
use crate::session::Session;

/// An app that keeps per-user JSON profiles.
#[derive(SimpleObject)]
pub struct App {
    /// Stable id.
    id: ID,
    /// Display name.
    name: String,
    /// Host name the app runs on.
    domain: Option<String>,
    /// Free description.
    description: Option<String>,
    /// The JSON Schema every profile document of the app must satisfy, if any.
    json_schema: Option<Json<Value>>,
    /// Registration time.
    created_at: DateTime<Utc>,
}

impl From<app::Model> for App {
    fn from(app: app::Model) -> Self {
        App {
            id: ID(app.id),
            name: app.name,
            domain: app.domain,
            description: app.description,
            json_schema: app.json_schema.map(Json),
            created_at: app.created_at,
        }
    }
}

/// One user's JSON document for one app.
#[derive(SimpleObject)]
pub struct AppProfile {
    /// The user.
    user_id: ID,
    /// The app.
    app_id: ID,
    /// The document: a JSON object.
    data: Json<Value>,
    /// Bumped by every write; send it back as `expectedVersion` to refuse stale updates.
    version: i32,
    /// Creation time.
    created_at: DateTime<Utc>,
    /// Last change.
    updated_at: DateTime<Utc>,
}

impl From<app_profile::Model> for AppProfile {
    fn from(row: app_profile::Model) -> Self {
        AppProfile {
            user_id: ID(row.user_id.to_string()),
            app_id: ID(row.app_id),
            data: Json(row.data),
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// What `deleteApp` removed.
#[derive(SimpleObject)]
pub struct AppDeletion {
    /// The app as it was.
    app: App,
    /// How many profiles, across every tenant, were deleted with it.
    profiles_deleted: u64,
}

impl From<DeletedApp> for AppDeletion {
    fn from(deleted: DeletedApp) -> Self {
        AppDeletion {
            app: deleted.app.into(),
            profiles_deleted: deleted.profiles,
        }
    }
}

/// Input of `createApp`.
#[derive(InputObject)]
pub struct CreateAppInput {
    /// Stable id: 1–64 of a–z, 0–9, `.`, `_`, `-`, starting with a letter or digit.
    id: ID,
    /// Display name, 1–200 characters.
    name: String,
    /// Host name the app runs on, with an optional `:port`.
    domain: Option<String>,
    /// Free description, at most 2000 characters.
    description: Option<String>,
    /// JSON Schema that every profile document must satisfy.
    json_schema: Option<Json<Value>>,
}

/// Input of `updateApp`: absent fields are kept, `null` clears an optional one.
#[derive(InputObject)]
pub struct UpdateAppInput {
    /// New display name.
    name: Option<String>,
    /// New host name, or `null` for none.
    domain: MaybeUndefined<String>,
    /// New description, or `null` for none.
    description: MaybeUndefined<String>,
    /// New JSON Schema, or `null` for none. It applies to writes from then on; stored
    /// profiles are not re-checked.
    json_schema: MaybeUndefined<Json<Value>>,
}

/// One profile of `createAppProfiles`.
#[derive(InputObject)]
pub struct AppProfileInput {
    /// The user: a member of the active tenant.
    user_id: ID,
    /// The app.
    app_id: ID,
    /// The document: a JSON object.
    data: RequestJson,
}

/// A `JSON` input kept as the request carried it: the bulk's worker thread converts it, while
/// earlier batches are written. The same `JSON` scalar as [`Json`] in the schema.
pub struct RequestJson(ConstValue);

impl InputType for RequestJson {
    type RawValueType = ConstValue;

    fn type_name() -> Cow<'static, str> {
        <Json<Value> as InputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Json<Value> as InputType>::create_type_info(registry)
    }

    fn parse(value: Option<ConstValue>) -> InputValueResult<Self> {
        Ok(RequestJson(value.unwrap_or_default()))
    }

    fn to_value(&self) -> ConstValue {
        self.0.clone()
    }

    fn as_raw_value(&self) -> Option<&ConstValue> {
        Some(&self.0)
    }
}

impl IntoDocument for RequestJson {
    fn into_json(self) -> Result<Value, String> {
        async_graphql::from_value(self.0).map_err(|error| error.to_string())
    }
}

/// What `createAppProfiles` does with a (user, app) pair that has a profile already.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::apps::OnExisting")]
pub enum OnExisting {
    /// Refuse the whole request with CONFLICT, naming the existing pairs; nothing is written.
    Fail,
    /// Replace the stored document and bump its version.
    Replace,
}

/// What `createAppProfiles` did.
#[derive(SimpleObject)]
pub struct BulkResult {
    /// Profiles created.
    created: u64,
    /// Existing profiles replaced (only with `onExisting: REPLACE`).
    replaced: u64,
}

impl From<BulkOutcome> for BulkResult {
    fn from(outcome: BulkOutcome) -> Self {
        BulkResult {
            created: outcome.created,
            replaced: outcome.replaced,
        }
    }
}

/// App and app profile queries.
#[derive(Default)]
pub struct AppQuery;

#[Object]
impl AppQuery {
    /// Every registered app, by id (any signed-in caller).
    async fn apps(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<App>> {
        Session::of(ctx)?.principal()?;
        let apps = domain(ctx)?.list().await?;
        Ok(apps.into_iter().map(App::from).collect())
    }

    /// A member's profile for an app (operators, for members of the active tenant): null when
    /// the member has none; NOT_FOUND when the user is not a member of the active tenant.
    #[graphql(guard = "RoleGuard::operator()", tag = "admin")]
    async fn app_profile(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        app_id: ID,
    ) -> async_graphql::Result<Option<AppProfile>> {
        let tenant = Session::of(ctx)?.operator()?;
        let user_id = parse_user_id(&user_id)?;
        let row = domain(ctx)?
            .member_profile(&tenant, user_id, &app_id)
            .await?;
        Ok(row.map(AppProfile::from))
    }

    /// The signed-in user's own app profiles: for one app, or for every app without `appId`.
    async fn my_app_profiles(
        &self,
        ctx: &Context<'_>,
        app_id: Option<ID>,
    ) -> async_graphql::Result<Vec<AppProfile>> {
        let own = OwnProfiles::of(Session::of(ctx)?.user()?);
        let rows = domain(ctx)?
            .mine(&own, app_id.as_ref().map(|id| id.as_str()))
            .await?;
        Ok(rows.into_iter().map(AppProfile::from).collect())
    }
}

/// App and app profile mutations.
#[derive(Default)]
pub struct AppMutation;

#[Object]
impl AppMutation {
    /// Registers an app (operators granted every tenant).
    #[graphql(guard = "OperatorGuard", tag = "admin")]
    async fn create_app(
        &self,
        ctx: &Context<'_>,
        input: CreateAppInput,
    ) -> async_graphql::Result<App> {
        let admin = Session::of(ctx)?.global_operator()?;
        let new = NewApp {
            id: input.id.0,
            name: input.name,
            domain: input.domain,
            description: input.description,
            json_schema: input.json_schema.map(|schema| schema.0),
        };
        Ok(domain(ctx)?.create_app(&admin, new).await?.into())
    }

    /// Changes an app (operators granted every tenant).
    #[graphql(guard = "OperatorGuard", tag = "admin")]
    async fn update_app(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateAppInput,
    ) -> async_graphql::Result<App> {
        let admin = Session::of(ctx)?.global_operator()?;
        let change = AppChange {
            name: input.name,
            domain: optional(input.domain),
            description: optional(input.description),
            json_schema: optional(input.json_schema).map(|s| s.map(|schema| schema.0)),
        };
        Ok(domain(ctx)?.update_app(&admin, &id, change).await?.into())
    }

    /// Deletes an app (operators granted every tenant). An app with profiles is CONFLICT
    /// unless `deleteProfiles: true`, which deletes them with it, in every tenant.
    #[graphql(guard = "OperatorGuard", tag = "admin")]
    async fn delete_app(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(default = false)] delete_profiles: bool,
    ) -> async_graphql::Result<AppDeletion> {
        let admin = Session::of(ctx)?.global_operator()?;
        let deleted = domain(ctx)?.delete_app(&admin, &id, delete_profiles);
        Ok(deleted.await?.into())
    }

    /// Creates many profiles across users and apps in one transaction, all or nothing
    /// (operators, for members of the active tenant). A (user, app) pair named twice is
    /// BAD_USER_INPUT; an existing profile is CONFLICT unless `onExisting: REPLACE`.
    #[graphql(guard = "RoleGuard::operator()", tag = "admin")]
    async fn create_app_profiles(
        &self,
        ctx: &Context<'_>,
        profiles: Vec<AppProfileInput>,
        #[graphql(default_with = "OnExisting::Fail")] on_existing: OnExisting,
    ) -> async_graphql::Result<BulkResult> {
        let tenant = Session::of(ctx)?.operator()?;
        let items = bulk_items(profiles)?;
        let outcome = domain(ctx)?
            .create_many(&tenant, items, on_existing.into())
            .await?;
        context_data::<Arc<Metrics>>(ctx)?.bulk_rows_written(outcome.created + outcome.replaced);
        Ok(outcome.into())
    }

    /// Creates the signed-in user's profile for an app; CONFLICT when it exists.
    async fn create_my_app_profile(
        &self,
        ctx: &Context<'_>,
        app_id: ID,
        data: Json<Value>,
    ) -> async_graphql::Result<AppProfile> {
        let own = OwnProfiles::of(Session::of(ctx)?.user()?);
        let row = domain(ctx)?.create_mine(&own, &app_id, data.0).await?;
        Ok(row.into())
    }

    /// Changes the signed-in user's profile for an app with a JSON merge patch (RFC 7386:
    /// `null` removes a member, objects merge, anything else replaces). With
    /// `expectedVersion`, a profile changed since is CONFLICT.
    async fn update_my_app_profile(
        &self,
        ctx: &Context<'_>,
        app_id: ID,
        patch: Json<Value>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<AppProfile> {
        let own = OwnProfiles::of(Session::of(ctx)?.user()?);
        let row = domain(ctx)?.update_mine(&own, &app_id, patch.0, expected_version);
        Ok(row.await?.into())
    }

    /// Deletes the signed-in user's profile for an app and returns its last state; NOT_FOUND
    /// when there is none. With `expectedVersion`, a profile changed since is CONFLICT.
    async fn delete_my_app_profile(
        &self,
        ctx: &Context<'_>,
        app_id: ID,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<AppProfile> {
        let own = OwnProfiles::of(Session::of(ctx)?.user()?);
        let row = domain(ctx)?.delete_mine(&own, &app_id, expected_version);
        Ok(row.await?.into())
    }
}

/// Parses every item's user id, reporting every malformed one by JSON pointer.
fn bulk_items(profiles: Vec<AppProfileInput>) -> Result<Vec<BulkItem<RequestJson>>, Error> {
    let mut items = Vec::with_capacity(profiles.len());
    let mut bad = Vec::new();
    for (index, profile) in profiles.into_iter().enumerate() {
        match uuid::Uuid::parse_str(&profile.user_id) {
            Ok(user_id) => items.push(BulkItem {
                user_id,
                app_id: profile.app_id.0,
                data: profile.data,
            }),
            Err(_) => bad.push(Problem::invalid(
                format!("/profiles/{index}/userId"),
                format!("{:?} is not a user id", profile.user_id.0),
            )),
        }
    }
    match bad.is_empty() {
        true => Ok(items),
        false => Err(problems::into_error(bad)),
    }
}

/// Absent → keep (`None`); `null` → clear (`Some(None)`); a value → set.
fn optional<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

fn domain<'a>(ctx: &Context<'a>) -> Result<&'a Apps, Error> {
    ctx.data::<Apps>()
        .map_err(|_| Error::internal(anyhow::anyhow!("no app domain in the GraphQL context")))
}
