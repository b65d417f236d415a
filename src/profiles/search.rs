//! Quick search: one box that matches, by substring (so also by prefix), ignoring case and
//! accents, the text-like values of a card and what the identity provider said of its owner.
//! A card is matched by its search document (`crate::users::search_documents`): one row per
//! card, in parts by who may search them, so a page tests each card once. A card whose
//! document predates the tenant's field rules is matched by its stored values instead: each
//! keeps its folded text and each user the folded identity, and which fields may match is
//! decided at query time through the one access function. Either way, a field the viewer
//! cannot read never makes a card match.

use entity::{field_value, membership, user};
use sea_orm::sea_query::{Alias, Expr, JoinType, LikeExpr, Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition, DbBackend, ExprTrait};
use uuid::Uuid;

use crate::core::Member;
use crate::core::fold::{fold, fold_all};
use crate::error::{Error, Result};
use crate::fields::store::TenantFields;
use crate::fields::{FieldDefinition, FieldValue, Viewer, field_access, is_text_like};
use crate::users::IDENTITY_CLAIMS;
use crate::users::search_documents::Audience;

/// The longest search text accepted, in characters.
pub const MAX_SEARCH: usize = 200;

/// The folded text quick search matches for a stored value: texts as they are, choices with
/// their option's value and labels in every locale; `None` for kinds that are not text-like.
pub fn searchable(field: &FieldDefinition, value: &FieldValue) -> Option<String> {
    match value {
        FieldValue::Text(text) => fold_all([text.as_str()]),
        FieldValue::Choice(picked) => fold_all(option_texts(field, std::slice::from_ref(picked))),
        FieldValue::Choices(picked) => fold_all(option_texts(field, picked)),
        _ => None,
    }
}

fn option_texts<'a>(field: &'a FieldDefinition, picked: &'a [String]) -> Vec<&'a str> {
    let mut texts = Vec::new();
    for value in picked {
        texts.push(value.as_str());
        let option = field.options.iter().find(|o| &o.value == value);
        texts.extend(
            option
                .into_iter()
                .flat_map(|o| o.labels.values().map(String::as_str)),
        );
    }
    texts
}

/// A search of the directory, as one viewer class may run it.
#[derive(Clone, Debug)]
pub struct Matching {
    condition: Condition,
}

impl Matching {
    /// The search for `text` by `viewer` in its tenant: `None` when `text` folds to nothing,
    /// BAD_USER_INPUT when it is longer than [`MAX_SEARCH`]. A card matches by its search
    /// document when the document is of the tenant's current search version, else by its
    /// stored values (the same rule, slower), so a change of field rules takes effect at once.
    pub fn new(
        viewer: &Member<'_>,
        fields: &TenantFields,
        text: &str,
        backend: DbBackend,
    ) -> Result<Option<Self>> {
        if text.chars().count() > MAX_SEARCH {
            return Err(Error::bad_input(format!(
                "search takes at most {MAX_SEARCH} characters"
            )));
        }
        let folded = fold(text);
        if folded.is_empty() {
            return Ok(None);
        }
        let like = LikeExpr::new(format!("%{}%", escape_like(&folded))).escape('\\');
        let indexed = Indexed::new(backend, &folded);
        let current = Query::select()
            .column("search_version")
            .from("tenants")
            .and_where(Expr::col("id").eq(viewer.tenant().id))
            .to_owned();
        let version = || Expr::col((membership::Entity, "search_version"));
        let fresh = Condition::all()
            .add(version().eq(Expr::SubQuery(None, Box::new(current.clone().into()))))
            .add(by_document(viewer, &like, &indexed));
        let stale = Condition::all()
            .add(version().lt(Expr::SubQuery(None, Box::new(current.into()))))
            .add(by_values(viewer, fields, &like, &indexed));
        Ok(Some(Matching {
            condition: Condition::any().add(fresh).add(stale),
        }))
    }

    /// The condition on `memberships` a matching card meets.
    pub fn condition(&self) -> Condition {
        self.condition.clone()
    }
}

/// Whether the card's search document, in the parts the viewer may search, holds the text.
fn by_document(viewer: &Member<'_>, like: &LikeExpr, indexed: &Option<Indexed>) -> Condition {
    let audiences = Audience::searched_by(viewer.standing());
    let mut parts = Condition::any();
    for audience in audiences {
        parts = parts.add(Expr::col((membership::Entity, audience.column())).like(like.clone()));
    }
    let Some(indexed) = indexed else {
        return parts;
    };
    // The FTS5 table finds the candidate rows; the LIKE above re-checks each.
    let columns: Vec<&str> = audiences.iter().map(|a| a.column()).collect();
    let candidates = Query::select()
        .column(Alias::new("rowid"))
        .from("memberships_search")
        .and_where(Expr::cust_with_values(
            "memberships_search MATCH ?",
            [format!("{{{}}} : {}", columns.join(" "), indexed.phrase)],
        ))
        .to_owned();
    Condition::all()
        .add(Expr::col((membership::Entity, Alias::new("rowid"))).in_subquery(candidates))
        .add(parts)
}

/// Whether a stored value the viewer may read, or the provider's identity when the viewer may
/// read all of it and the card saved none of it, holds the text.
fn by_values(
    viewer: &Member<'_>,
    fields: &TenantFields,
    like: &LikeExpr,
    indexed: &Option<Indexed>,
) -> Condition {
    let searched = searched_fields(viewer, fields);
    let mut values = Query::select();
    values
        .column((field_value::Entity, field_value::Column::UserId))
        .and_where(field_value::Column::TenantId.eq(viewer.tenant().id))
        .and_where(field_value::Column::FieldId.is_in(searched))
        .and_where(
            Expr::col((field_value::Entity, field_value::Column::Folded)).like(like.clone()),
        );
    Indexed::source(indexed, &mut values, "field_values");
    let values = values.to_owned();
    let mut condition = Condition::any().add(membership::Column::UserId.in_subquery(values));
    if let Some(identity) = identity_fields(viewer, fields) {
        let mut users = Query::select();
        users
            .column((user::Entity, user::Column::Id))
            .and_where(Expr::col((user::Entity, user::Column::FoldedIdentity)).like(like.clone()));
        Indexed::source(indexed, &mut users, "users");
        let users = users.to_owned();
        // A card with an identity value saved on it (changed or cleared) is matched by its
        // stored values only, so a provider value the card no longer shows never matches.
        // Correlated, so each candidate is one primary-key probe rather than a scan of
        // every identity value of the tenant.
        let saved = Query::select()
            .expr(Expr::val(1))
            .from(field_value::Entity)
            .and_where(field_value::Column::TenantId.eq(viewer.tenant().id))
            .and_where(
                Expr::col((field_value::Entity, field_value::Column::UserId))
                    .equals((membership::Entity, membership::Column::UserId)),
            )
            .and_where(field_value::Column::FieldId.is_in(identity))
            .to_owned();
        condition = condition.add(
            Condition::all()
                .add(membership::Column::UserId.in_subquery(users))
                .add(Expr::exists(saved).not()),
        );
    }
    condition
}

/// The SQLite FTS5 trigram search of a text of at least three characters (trigrams cannot
/// find shorter ones, which the LIKE scan alone serves). PostgreSQL needs none: its pg_trgm
/// indexes serve the LIKE itself.
struct Indexed {
    phrase: String,
}

impl Indexed {
    fn new(backend: DbBackend, folded: &str) -> Option<Indexed> {
        (backend == DbBackend::Sqlite && folded.chars().count() >= 3).then(|| Indexed {
            phrase: format!("\"{}\"", folded.replace('"', "\"\"")),
        })
    }

    /// Reads `query` from `table` (`field_values` or `users`): on SQLite, for a text of three
    /// characters or more, only the rows its FTS5 table says hold the phrase, the index driving
    /// the join (CROSS JOIN keeps SQLite from starting at the table); the LIKE of the query
    /// re-checks each, so a stale index entry never makes a card match.
    fn source(indexed: &Option<Indexed>, query: &mut SelectStatement, table: &'static str) {
        let Some(indexed) = indexed else {
            query.from(table);
            return;
        };
        let search = format!("{table}_search");
        // sea-query writes a CROSS JOIN without its ON: the join condition goes in WHERE.
        query
            .from(search.clone())
            .join(JoinType::CrossJoin, table, Condition::all())
            .and_where(Expr::cust(format!("{table}.rowid = {search}.rowid")))
            .and_where(Expr::cust_with_values(
                format!("{search} MATCH ?"),
                [indexed.phrase.clone()],
            ));
    }
}

/// How the viewer sees other members' cards (their own card is not special in a directory).
fn viewer_class(viewer: &Member<'_>) -> Viewer {
    Viewer {
        is_owner: false,
        standing: viewer.standing(),
    }
}

/// The text-like fields the viewer may read on other members' cards.
fn searched_fields(viewer: &Member<'_>, fields: &TenantFields) -> Vec<Uuid> {
    let class = viewer_class(viewer);
    fields
        .all
        .iter()
        .filter(|f| is_text_like(f.kind) && field_access(f, class).can_read())
        .map(|f| f.id)
        .collect()
}

/// The built-in fields the provider's identity stands for, when the viewer may read every one
/// of them (else `None`: the identity is not matched, so a hidden email or name never makes a
/// card match).
fn identity_fields(viewer: &Member<'_>, fields: &TenantFields) -> Option<Vec<Uuid>> {
    let class = viewer_class(viewer);
    IDENTITY_CLAIMS
        .iter()
        .map(|key| {
            fields
                .by_key(key)
                .filter(|f| field_access(f, class).can_read())
                .map(|f| f.id)
        })
        .collect()
}

/// `text` with LIKE's wildcards and the escape character escaped.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
