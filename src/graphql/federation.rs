//! The Apollo Federation v2 side of the schema: other teams' subgraphs (a CRM, forms, chat)
//! reference a person by id and let the gateway fetch the rest here. A reference resolves as
//! the caller, whose bearer token and `X-Tenant-Id` the gateway forwards, in the caller's
//! active tenant and through the same loaders and access rule as every other read: a user of
//! another tenant resolves to a `User` whose name, avatar and card are null, and a `Profile`
//! reference outside the active tenant to null.

use async_graphql::{Context, ID, Object, Value};
use uuid::Uuid;

use super::loaders::Loaders;
use super::profiles::ProfileView;
use super::{Display, context_data, file_store};
use crate::profiles::Card;
use crate::session::Session;

/// A person, as other subgraphs reference them.
pub struct User {
    id: Uuid,
}

#[Object]
impl User {
    /// User id.
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// The name the card shows the caller (`name`, else given and family name, else username).
    async fn display_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self
            .card_of(ctx)
            .await?
            .and_then(|card| card.display_name()))
    }

    /// A signed URL of the avatar the card shows the caller.
    async fn avatar_url(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let card = self.card_of(ctx).await?;
        let store = file_store(ctx)?;
        Ok(card.and_then(|card| card.avatar().map(|file| store.signed_url(file.id, None))))
    }

    /// The card in the caller's active tenant, as the caller may see it; null for a user who
    /// is not a member there.
    async fn card(
        &self,
        ctx: &Context<'_>,
        locale: Option<String>,
    ) -> async_graphql::Result<Option<ProfileView>> {
        let member = Session::of(ctx)?.member()?;
        let display = Display::of(ctx, locale.as_deref(), &member.tenant().default_locale);
        let card = self.card_of(ctx).await?;
        Ok(card.map(|card| ProfileView {
            card: std::sync::Arc::new(card),
            display,
        }))
    }
}

impl User {
    async fn card_of(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Card>> {
        Session::of(ctx)?.member()?;
        let loaders = context_data::<Loaders>(ctx)?;
        Ok(loaders.cards.load_one(self.id).await?)
    }
}

/// The entity resolvers (they serve `_entities`, not fields of `Query`).
#[derive(Default)]
pub struct EntityQuery;

#[Object]
impl EntityQuery {
    /// A `User` by id. The first reference of a request loads the cards of every user the
    /// request references, in one batch.
    #[graphql(entity)]
    async fn find_user_by_id(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<User> {
        let id = Uuid::parse_str(&id).map_err(|_| {
            crate::error::Error::bad_input(format!("{:?} is not a user id", id.as_str()))
        })?;
        if Session::of(ctx)?.member().is_ok() {
            let loaders = context_data::<Loaders>(ctx)?;
            loaders.load_entities(|| referenced_users(ctx)).await?;
        }
        Ok(User { id })
    }

    /// A card (`Profile`) by owner and tenant: found only in the caller's active tenant, where
    /// the owner is a member; any other reference resolves to null, revealing nothing.
    #[graphql(entity)]
    async fn find_profile_by_user_id_and_tenant_id(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        tenant_id: ID,
    ) -> async_graphql::Result<Option<ProfileView>> {
        let member = Session::of(ctx)?.member()?;
        let (Ok(user_id), Ok(tenant_id)) = (Uuid::parse_str(&user_id), Uuid::parse_str(&tenant_id))
        else {
            return Ok(None);
        };
        if tenant_id != member.tenant().id {
            return Ok(None);
        }
        let display = Display::of(ctx, None, &member.tenant().default_locale);
        let card = context_data::<Loaders>(ctx)?
            .cards
            .load_one(user_id)
            .await?;
        Ok(card.map(|card| ProfileView {
            card: std::sync::Arc::new(card),
            display,
        }))
    }
}

/// The ids of every `User` the `_entities` request being resolved references.
fn referenced_users(ctx: &Context<'_>) -> Vec<Uuid> {
    let Ok(arguments) = ctx.field().arguments() else {
        return Vec::new();
    };
    arguments
        .into_iter()
        .filter(|(name, _)| name.as_str() == "representations")
        .flat_map(|(_, value)| match value {
            Value::List(items) => items,
            _ => Vec::new(),
        })
        .filter_map(|item| match item {
            Value::Object(fields) => {
                let is_user = fields.get("__typename") == Some(&Value::String("User".into()));
                match fields.get("id") {
                    Some(Value::String(id)) if is_user => Uuid::parse_str(id).ok(),
                    _ => None,
                }
            }
            _ => None,
        })
        .collect()
}
