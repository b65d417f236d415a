//! The display name of a card, and its folded copy on the membership that the directory's
//! name order reads. One rule makes both: `name`, else the given and family names, else
//! `preferred_username`.

use std::collections::HashMap;

use entity::{field_definition, field_value, membership, user};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::Value;
use uuid::Uuid;

use crate::core::fold::fold;
use crate::error::Result;
use crate::fields::builtin::provider_value;

/// The built-in fields a display name is made from.
pub const NAME_KEYS: [&str; 4] = ["name", "given_name", "family_name", "preferred_username"];

/// The display name from the text values `text` gives for [`NAME_KEYS`].
pub fn display_name<'a>(text: impl Fn(&str) -> Option<&'a str>) -> Option<String> {
    if let Some(name) = text("name") {
        return Some(name.to_owned());
    }
    let parts: Vec<&str> = [text("given_name"), text("family_name")]
        .into_iter()
        .flatten()
        .collect();
    match parts.is_empty() {
        false => Some(parts.join(" ")),
        true => text("preferred_username").map(str::to_owned),
    }
}

/// The folded display name the directory sorts by, from the names saved on the card (an
/// explicit null hides the provider's) and else the provider's: the card as an admin sees it.
pub fn sort_name(user: &user::Model, saved: &HashMap<&str, Value>) -> Option<String> {
    let values: HashMap<&str, Value> = NAME_KEYS
        .iter()
        .filter_map(|key| {
            let value = match saved.get(key) {
                Some(value) => value.clone(),
                None => provider_value(user, key)?,
            };
            Some((*key, value))
        })
        .collect();
    let name = display_name(|key| values.get(key).and_then(Value::as_str))?;
    let folded = fold(&name);
    (!folded.is_empty()).then_some(folded)
}

/// Writes the sort name of `user_id`'s memberships (in `tenant` only, or in all of them), from
/// the stored user and the names saved on the cards. Every write of a name or of the user's
/// identity calls it in its transaction.
pub async fn refresh(db: &impl ConnectionTrait, user_id: Uuid, tenant: Option<Uuid>) -> Result<()> {
    let Some(user) = user::Entity::find_by_id(user_id).one(db).await? else {
        return Ok(());
    };
    let tenants = super::member_of(db, user_id, tenant).await?;
    if tenants.is_empty() {
        return Ok(());
    }
    let definitions: HashMap<Uuid, String> = field_definition::Entity::find()
        .select_only()
        .column(field_definition::Column::Id)
        .column(field_definition::Column::Key)
        .filter(field_definition::Column::TenantId.is_in(tenants.clone()))
        .filter(field_definition::Column::Builtin.eq(true))
        .filter(field_definition::Column::Key.is_in(NAME_KEYS))
        .into_tuple::<(Uuid, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let saved: Vec<(Uuid, Uuid, Value)> = field_value::Entity::find()
        .select_only()
        .column(field_value::Column::TenantId)
        .column(field_value::Column::FieldId)
        .column(field_value::Column::Value)
        .filter(field_value::Column::UserId.eq(user_id))
        .filter(field_value::Column::FieldId.is_in(definitions.keys().copied()))
        .into_tuple()
        .all(db)
        .await?;
    for tenant in tenants {
        let names: HashMap<&str, Value> = saved
            .iter()
            .filter(|(t, _, _)| *t == tenant)
            .filter_map(|(_, field, value)| {
                let key = definitions.get(field)?;
                let key = NAME_KEYS.iter().find(|k| **k == key.as_str())?;
                Some((*key, value.clone()))
            })
            .collect();
        membership::Entity::update_many()
            .col_expr(
                membership::Column::SortName,
                Expr::value(sort_name(&user, &names)),
            )
            .filter(membership::Column::UserId.eq(user_id))
            .filter(membership::Column::TenantId.eq(tenant))
            .exec(db)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use chrono::Utc;
    use serde_json::json;

    fn person(claims: Value, username: Option<&str>) -> user::Model {
        let now = Utc::now();
        user::Model {
            id: Uuid::new_v4(),
            issuer: "i".into(),
            subject: "s".into(),
            username: username.map(str::to_owned),
            email: None,
            email_verified: false,
            claims,
            claimed_tenants: None,
            created_at: now,
            updated_at: now,
            last_sign_in_at: now,
            folded_identity: None,
        }
    }

    #[test]
    fn the_sort_name_follows_the_display_name_rule_folded() {
        let user = person(
            json!({"given_name": "Zoë", "family_name": "Müller"}),
            Some("zm"),
        );
        assert_eq!(
            sort_name(&user, &HashMap::new()).as_deref(),
            Some("zoe muller")
        );
        let saved = HashMap::from([("name", json!("Émile Zola"))]);
        assert_eq!(sort_name(&user, &saved).as_deref(), Some("emile zola"));
        // A cleared given and family name fall back to the username.
        let cleared = HashMap::from([("given_name", Value::Null), ("family_name", Value::Null)]);
        assert_eq!(sort_name(&user, &cleared).as_deref(), Some("zm"));
        assert_eq!(sort_name(&person(json!({}), None), &HashMap::new()), None);
    }
}
