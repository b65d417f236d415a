//! The search document of a card: the folded texts quick search matches, kept on its
//! membership in three parts by who may search them, so that a search tests one row per card
//! and a page in any order stops as soon as it has its cards.
//!
//! A part holds the texts of the fields whose least-privileged reader is its audience (other
//! members, then admins, then operators); a viewer searches the parts of every audience up to
//! its own. The document records the tenant's search version it was built under: every change
//! of field rules bumps the version in its own transaction, and a search trusts only documents
//! of the current version (others are matched by their stored values until rebuilt), so a
//! field hidden a moment ago never makes a card match. The texts are the folded texts stored
//! with each value and the user's folded identity, with the same rule as the value-by-value
//! search: the provider's identity counts when the audience may read all of its fields and the
//! card saved none of them.

use std::collections::HashMap;

use entity::{field_value, membership, user};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::IDENTITY_CLAIMS;
use crate::core::fold::SEPARATOR;
use crate::core::{Role, Standing};
use crate::error::Result;
use crate::fields::store::TenantFields;
use crate::fields::{FieldDefinition, Viewer, field_access, is_text_like};

/// Who may search a part of a card's document, least privileged first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Audience {
    /// Other members of the tenant (and everyone above them).
    Members,
    /// Admins and owners (and operators).
    Admins,
    /// Operators only.
    Operators,
}

impl Audience {
    /// Every audience, least privileged first.
    pub const ALL: [Audience; 3] = [Audience::Members, Audience::Admins, Audience::Operators];

    /// The `memberships` column holding this audience's part.
    pub fn column(self) -> &'static str {
        match self {
            Audience::Members => "search_member",
            Audience::Admins => "search_admin",
            Audience::Operators => "search_operator",
        }
    }

    /// The audiences whose parts a viewer of `standing` searches on other members' cards.
    pub fn searched_by(standing: Standing) -> &'static [Audience] {
        match standing {
            Standing::Operator => &Audience::ALL,
            standing if standing.includes(Role::Admin) => &Audience::ALL[..2],
            Standing::Member(_) => &Audience::ALL[..1],
        }
    }

    /// The least-privileged audience that reads `field` on other members' cards; `None` for
    /// an archived field, which nobody reads.
    fn of(field: &FieldDefinition) -> Option<Audience> {
        let reads = |standing| {
            let viewer = Viewer {
                is_owner: false,
                standing,
            };
            field_access(field, viewer).can_read()
        };
        Audience::ALL.into_iter().find(|audience| {
            reads(match audience {
                Audience::Members => Standing::Member(Role::Member),
                Audience::Admins => Standing::Member(Role::Admin),
                Audience::Operators => Standing::Operator,
            })
        })
    }
}

/// Where each field's texts go in a tenant's documents, from its field rules.
#[derive(Clone, Debug)]
pub struct DocumentRules {
    by_field: HashMap<Uuid, Audience>,
    identity_fields: Vec<Uuid>,
    identity: Option<Audience>,
}

impl DocumentRules {
    /// The rules of a tenant's field set.
    pub fn new(fields: &TenantFields) -> DocumentRules {
        let by_field = fields
            .all
            .iter()
            .filter(|f| is_text_like(f.kind))
            .filter_map(|f| Some((f.id, Audience::of(f)?)))
            .collect();
        let identity_fields: Vec<&FieldDefinition> = IDENTITY_CLAIMS
            .iter()
            .filter_map(|key| fields.by_key(key).map(|f| f.as_ref()))
            .collect();
        // The provider's identity is one folded text: it may be searched only by those who
        // read every field it stands for.
        let identity = match identity_fields.len() == IDENTITY_CLAIMS.len() {
            true => identity_fields
                .iter()
                .map(|f| Audience::of(f))
                .collect::<Option<Vec<_>>>()
                .and_then(|audiences| audiences.into_iter().max()),
            false => None,
        };
        DocumentRules {
            by_field,
            identity_fields: identity_fields.iter().map(|f| f.id).collect(),
            identity,
        }
    }

    /// The document of a card with `saved` values (field id and folded text, `None` for a
    /// value without one, such as a cleared built-in) whose owner's folded identity is
    /// `identity`.
    pub fn document<'a>(
        &self,
        saved: impl IntoIterator<Item = (Uuid, Option<&'a str>)>,
        identity: Option<&'a str>,
    ) -> Document {
        let mut parts: [Vec<&str>; 3] = Default::default();
        let mut saved_identity = false;
        for (field, text) in saved {
            saved_identity |= self.identity_fields.contains(&field);
            if let (Some(audience), Some(text)) = (self.by_field.get(&field), text) {
                parts[*audience as usize].push(text);
            }
        }
        if let (Some(audience), Some(identity), false) = (self.identity, identity, saved_identity) {
            parts[audience as usize].push(identity);
        }
        let separator = SEPARATOR.to_string();
        Document {
            parts: parts.map(|texts| (!texts.is_empty()).then(|| texts.join(&separator))),
        }
    }
}

/// A card's search document: the part of each [`Audience`], `None` when empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Document {
    parts: [Option<String>; 3],
}

impl Document {
    /// The part `audience` searches.
    pub fn part(&self, audience: Audience) -> Option<&str> {
        self.parts[audience as usize].as_deref()
    }

    /// The values of the `memberships` columns, in [`Audience::ALL`] order.
    pub fn columns(&self) -> impl Iterator<Item = (&'static str, Option<String>)> + '_ {
        Audience::ALL
            .into_iter()
            .map(|audience| (audience.column(), self.part(audience).map(str::to_owned)))
    }
}

/// The tenant's search version: read before the field rules a document is built from, so a
/// change of rules committed in between leaves the document marked stale, never fresh.
pub async fn version(db: &impl ConnectionTrait, tenant_id: Uuid) -> Result<i32> {
    let query = Query::select()
        .column("search_version")
        .from("tenants")
        .and_where(Expr::col("id").eq(tenant_id))
        .to_owned();
    let backend = db.get_database_backend();
    let row = db.query_one_raw(backend.build(&query)).await?;
    Ok(match row {
        Some(row) => row.try_get("", "search_version")?,
        None => 0,
    })
}

/// Marks every document of every tenant stale: what they are built from was rewritten (by
/// the start-up backfill of folded texts).
pub async fn mark_all_stale(db: &impl ConnectionTrait) -> Result<()> {
    let update = Query::update()
        .table("tenants")
        .value("search_version", Expr::col("search_version").add(1))
        .to_owned();
    db.execute_raw(db.get_database_backend().build(&update))
        .await?;
    Ok(())
}

/// Rewrites the documents of `user_id`'s cards (in `tenant` only, or in all of them) from the
/// stored values and identity. Every write of a card's values or of its owner's identity calls
/// it in its transaction.
pub async fn refresh(db: &impl ConnectionTrait, user_id: Uuid, tenant: Option<Uuid>) -> Result<()> {
    let tenants = super::member_of(db, user_id, tenant).await?;
    if tenants.is_empty() {
        return Ok(());
    }
    let identity: Option<String> = user::Entity::find_by_id(user_id)
        .select_only()
        .column(user::Column::FoldedIdentity)
        .into_tuple::<Option<String>>()
        .one(db)
        .await?
        .flatten();
    for tenant in tenants {
        let version = version(db, tenant).await?;
        let rules = DocumentRules::new(&crate::fields::store::fresh(db, tenant).await?);
        let saved = saved_texts(db, tenant, &[user_id]).await?;
        let texts = saved.get(&user_id).map(Vec::as_slice).unwrap_or_default();
        let document = rules.document(
            texts.iter().map(|(f, t)| (*f, t.as_deref())),
            identity.as_deref(),
        );
        write(db, tenant, user_id, &document, version, None).await?;
    }
    Ok(())
}

/// The folded texts saved on the cards of `users` in `tenant`, by user.
pub async fn saved_texts(
    db: &impl ConnectionTrait,
    tenant: Uuid,
    users: &[Uuid],
) -> Result<HashMap<Uuid, Vec<(Uuid, Option<String>)>>> {
    let rows: Vec<(Uuid, Uuid, Option<String>)> = field_value::Entity::find()
        .select_only()
        .column(field_value::Column::UserId)
        .column(field_value::Column::FieldId)
        .column(field_value::Column::Folded)
        .filter(field_value::Column::TenantId.eq(tenant))
        .filter(field_value::Column::UserId.is_in(users.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    let mut by_user: HashMap<Uuid, Vec<(Uuid, Option<String>)>> = HashMap::new();
    for (user, field, text) in rows {
        by_user.entry(user).or_default().push((field, text));
    }
    Ok(by_user)
}

/// Writes a card's document built under `version`. With `unless_saved_since` (the card
/// version it was built from), only while the card is unchanged and its document older, so a
/// rebuild never overwrites a save's fresher document. Returns whether a row was written.
pub async fn write(
    db: &impl ConnectionTrait,
    tenant: Uuid,
    user_id: Uuid,
    document: &Document,
    version: i32,
    unless_saved_since: Option<i32>,
) -> Result<bool> {
    let mut update = Query::update();
    update.table(membership::Entity);
    for (column, text) in document.columns() {
        update.value(column, text);
    }
    update
        .value("search_version", version)
        .and_where(membership::Column::TenantId.eq(tenant))
        .and_where(membership::Column::UserId.eq(user_id));
    if let Some(card_version) = unless_saved_since {
        update
            .and_where(membership::Column::CardVersion.eq(card_version))
            .and_where(Expr::col("search_version").lt(version));
    }
    let done = db
        .execute_raw(db.get_database_backend().build(&update))
        .await?;
    Ok(done.rows_affected() > 0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn parts_follow_the_least_privileged_reader() {
        let (shared, admins_only, identity_field) =
            (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let rules = DocumentRules {
            by_field: HashMap::from([
                (shared, Audience::Members),
                (admins_only, Audience::Admins),
                (identity_field, Audience::Members),
            ]),
            identity_fields: vec![identity_field],
            identity: Some(Audience::Admins),
        };
        let document = rules.document(
            [(shared, Some("berlin")), (admins_only, Some("secret"))],
            Some("zoe"),
        );
        assert_eq!(document.part(Audience::Members), Some("berlin"));
        assert_eq!(
            document.part(Audience::Admins),
            Some(format!("secret{SEPARATOR}zoe").as_str())
        );
        assert_eq!(document.part(Audience::Operators), None);
        // A saved identity value, even a cleared one, hides the provider's.
        let document = rules.document([(identity_field, None)], Some("zoe"));
        assert_eq!(document, Document::default());
    }

    #[test]
    fn each_standing_searches_the_parts_up_to_its_own() {
        assert_eq!(
            Audience::searched_by(Standing::Member(Role::Member)),
            &[Audience::Members]
        );
        assert_eq!(
            Audience::searched_by(Standing::Member(Role::Owner)),
            &[Audience::Members, Audience::Admins]
        );
        assert_eq!(Audience::searched_by(Standing::Operator).len(), 3);
    }
}
