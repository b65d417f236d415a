//! Who the signed-in user is, as their own card in the active tenant shows it: the one rule
//! for `me`'s identity fields and for the compatibility `me`, so neither can show a value the
//! tenant hides from the card's owner.

use crate::auth::SignedInUser;
use crate::core::Member;
use crate::error::Result;
use crate::fields::FieldValue;
use crate::fields::builtin::provider_field_value;
use crate::fields::store::FieldRegistry;

use super::Card;
use super::cache::CardCache;

/// The identity fields, each `None` when hidden from the owner, empty, or not on a card.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Identity {
    /// `preferred_username`.
    pub username: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `email_verified`.
    pub email_verified: Option<bool>,
    /// `given_name`.
    pub first_name: Option<String>,
    /// `family_name`.
    pub last_name: Option<String>,
}

/// The user's own card in `viewer`'s tenant (the active one), read as its owner; `None` when
/// the user is not a member there (a foreign `X-Tenant-Id`).
pub async fn own_card(
    db: &impl sea_orm::ConnectionTrait,
    registry: &FieldRegistry,
    cache: &CardCache,
    viewer: &Member<'_>,
    user: &SignedInUser,
) -> Result<Option<Card>> {
    let Some(membership) = user.membership(&viewer.tenant().slug) else {
        return Ok(None);
    };
    let (row, person) = (membership.row.clone(), user.user.clone());
    Ok(Some(
        super::read_loaded(db, registry, cache, viewer, row, person).await?,
    ))
}

/// A built-in value as the user's own card shows it: from the card when there is one; from the
/// identity provider only for a user of no tenant at all, whom no tenant's rule covers;
/// otherwise nothing.
pub fn own_value(card: Option<&Card>, user: &SignedInUser, key: &str) -> Option<FieldValue> {
    match card {
        Some(card) => card.value(key).cloned(),
        None if user.memberships.is_empty() => provider_field_value(&user.user, key),
        None => None,
    }
}

impl Identity {
    /// The identity the user's own card (see [`own_value`]) shows.
    pub fn of(card: Option<&Card>, user: &SignedInUser) -> Identity {
        let text = |key| {
            own_value(card, user, key)
                .as_ref()
                .and_then(FieldValue::as_text)
                .map(str::to_owned)
        };
        Identity {
            username: text("preferred_username"),
            email: text("email"),
            email_verified: match own_value(card, user, "email_verified") {
                Some(FieldValue::Bool(verified)) => Some(verified),
                _ => None,
            },
            first_name: text("given_name"),
            last_name: text("family_name"),
        }
    }
}
