//! The grid's filters by field value: `f.<key>=<wanted>` query parameters (so a filtered grid
//! is a URL to share, and paging keeps it), read into the directory's field tests, and the
//! selects offering them for the fields the viewer may read on other members' cards. The
//! directory's [`Filter`] stays the judge: it refuses unknown keys, values a field cannot hold
//! and fields hidden from the viewer.

use sea_orm::{Condition, DbBackend};
use serde_json::Value;

use super::super::controls::{self, Labels, OptionView};
use super::super::i18n::Texts;
use crate::core::Member;
use crate::error::Result;
use crate::fields::store::TenantFields;
use crate::fields::{FieldDefinition, FieldKind, Viewer, field_access};
use crate::profiles::filter::{FieldTest, Filter, Test};

/// Query parameters naming a field filter start with this.
const PREFIX: &str = "f.";
/// "Has a value" (option values follow the key rules and country codes are letters, so no
/// value collides with it).
const SET: &str = "~set";
/// "Has no value".
const UNSET: &str = "~unset";
/// A switch that is on.
const YES: &str = "yes";
/// A switch that is not on.
const NO: &str = "no";

/// What a filter parameter asks of a field.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Wanted {
    /// Anything: no test (the select's first choice, sent blank).
    Any,
    /// A value is set.
    Set,
    /// No value is set.
    Unset,
    /// This value: an option, a country code, `yes` or `no` for a switch.
    Is(String),
}

impl Wanted {
    fn parse(text: &str) -> Wanted {
        match text.trim() {
            "" => Wanted::Any,
            SET => Wanted::Set,
            UNSET => Wanted::Unset,
            value => Wanted::Is(value.to_owned()),
        }
    }

    fn param(&self) -> &str {
        match self {
            Wanted::Any => "",
            Wanted::Set => SET,
            Wanted::Unset => UNSET,
            Wanted::Is(value) => value,
        }
    }
}

/// The field filters a grid URL asks for, keys as given (the directory's filter judges them).
#[derive(Clone, Debug)]
pub struct FieldFilters(Vec<(String, Wanted)>);

impl FieldFilters {
    /// The `f.<key>` parameters among a query's; blank ones ask nothing and are left out.
    pub fn from_query(pairs: &[(String, String)]) -> FieldFilters {
        let wanted = pairs
            .iter()
            .filter_map(|(name, value)| Some((name.strip_prefix(PREFIX)?, Wanted::parse(value))))
            .filter(|(_, wanted)| *wanted != Wanted::Any)
            .map(|(key, wanted)| (key.to_owned(), wanted))
            .collect();
        FieldFilters(wanted)
    }

    /// The query parameters that ask for them again (paging links).
    pub fn params(&self) -> impl Iterator<Item = (String, &str)> {
        self.0
            .iter()
            .map(|(key, wanted)| (format!("{PREFIX}{key}"), wanted.param()))
    }

    /// What the URL asks of field `key` (blank for anything).
    fn param(&self, key: &str) -> &str {
        self.0
            .iter()
            .rfind(|(k, _)| k == key)
            .map_or("", |(_, wanted)| wanted.param())
    }

    /// The condition the filters stand for, as `viewer` may filter: each through the
    /// directory's [`Filter`], so an unknown field or value is BAD_USER_INPUT and a field the
    /// viewer may not read on others' cards FORBIDDEN.
    pub fn condition(
        &self,
        viewer: &Member<'_>,
        fields: &TenantFields,
        backend: DbBackend,
    ) -> Result<Condition> {
        let mut keep = Condition::all();
        for (key, wanted) in &self.0 {
            let kind = fields.by_key(key).map(|field| field.kind);
            let Some((test, negated)) = test_of(kind, wanted) else {
                continue;
            };
            let filter = Filter {
                roles: Vec::new(),
                fields: vec![FieldTest {
                    key: key.clone(),
                    test,
                }],
            };
            let condition = filter.condition(viewer, fields, backend)?;
            keep = keep.add(if negated { condition.not() } else { condition });
        }
        Ok(keep)
    }
}

/// The directory test a wanted value stands for, and whether the grid keeps the cards that
/// fail it; `None` for anything. A value the field cannot hold is passed on as it is, for the
/// filter to refuse after its access check.
fn test_of(kind: Option<FieldKind>, wanted: &Wanted) -> Option<(Test, bool)> {
    let value = match wanted {
        Wanted::Any => return None,
        Wanted::Set => return Some((Test::IsSet(true), false)),
        Wanted::Unset => return Some((Test::IsSet(false), false)),
        Wanted::Is(value) => value,
    };
    let on = || Test::OneOf(vec![Value::Bool(true)]);
    Some(match (kind, value.as_str()) {
        (Some(FieldKind::MultiChoice), _) => (Test::ContainsAny(vec![value.clone()]), false),
        (Some(FieldKind::Switch), YES) => (on(), false),
        // "No" is "not on": a switch never set shows off on the card too.
        (Some(FieldKind::Switch), NO) => (on(), true),
        (Some(kind), _) if kind != FieldKind::Switch => {
            let typed = controls::submitted_value(kind, std::slice::from_ref(value));
            (Test::OneOf(vec![typed]), false)
        }
        _ => (Test::OneOf(vec![Value::from(value.as_str())]), false),
    })
}

/// One filter select of the grid.
pub struct FilterControl {
    /// The parameter, `f.<key>`.
    pub name: String,
    /// The field's label in the visit's language.
    pub label: String,
    /// "Any" first, then the values to filter on; the URL's current one selected.
    pub options: Vec<OptionView>,
}

impl FilterControl {
    /// The selects the grid offers: one per choice-like field (choices, countries, switches)
    /// that `viewer` may read on other members' cards, so no control names a hidden field.
    pub fn offered(
        viewer: &Member<'_>,
        fields: &TenantFields,
        chosen: &FieldFilters,
        t: &Texts,
        labels: &Labels<'_>,
    ) -> Vec<FilterControl> {
        let others = Viewer {
            is_owner: false,
            standing: viewer.standing(),
        };
        fields
            .all
            .iter()
            .filter(|field| field_access(field, others).can_read())
            .filter_map(|field| FilterControl::of(field, chosen, t, labels))
            .collect()
    }

    fn of(
        field: &FieldDefinition,
        chosen: &FieldFilters,
        t: &Texts,
        labels: &Labels<'_>,
    ) -> Option<FilterControl> {
        let key = field.key.as_str();
        let current = chosen.param(key);
        let options = std::iter::once((String::new(), t.filter_any.clone()))
            .chain(choices(field, t, labels)?)
            .map(|(value, label)| OptionView {
                selected: value == current,
                value,
                label,
            })
            .collect();
        let label = labels.text(&field.labels, key);
        let label = match field.kind {
            FieldKind::MultiChoice => format!("{label} ({})", t.filter_contains),
            _ => label,
        };
        Some(FilterControl {
            name: format!("{PREFIX}{key}"),
            label,
            options,
        })
    }
}

/// The (value, text) choices a field's filter offers after "any"; `None` for kinds the grid
/// does not offer to filter on.
fn choices(
    field: &FieldDefinition,
    t: &Texts,
    labels: &Labels<'_>,
) -> Option<Vec<(String, String)>> {
    let values: Vec<(String, String)> = match field.kind {
        FieldKind::SingleChoice | FieldKind::MultiChoice => field
            .options
            .iter()
            .map(|option| {
                let label = labels.text(&option.labels, &option.value);
                (option.value.clone(), label)
            })
            .collect(),
        FieldKind::Country => controls::countries(&[])
            .into_iter()
            .map(|country| (country.value, country.label))
            .collect(),
        FieldKind::Switch => {
            return Some(vec![
                (YES.to_owned(), t.filter_yes.clone()),
                (NO.to_owned(), t.filter_no.clone()),
            ]);
        }
        _ => return None,
    };
    let presence = [
        (SET.to_owned(), t.filter_set.clone()),
        (UNSET.to_owned(), t.filter_unset.clone()),
    ];
    Some(values.into_iter().chain(presence).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> FieldFilters {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        FieldFilters::from_query(&pairs)
    }

    #[test]
    fn filter_parameters_round_trip_and_blank_ones_ask_nothing() {
        let filters = query(&[
            ("q", "ada"),
            ("f.size", "m"),
            ("f.team", ""),
            ("f.photo", "~set"),
        ]);
        let params: Vec<(String, &str)> = filters.params().collect();
        assert_eq!(
            params,
            [("f.size".to_owned(), "m"), ("f.photo".to_owned(), "~set")]
        );
        assert_eq!(filters.param("size"), "m");
        assert_eq!(filters.param("team"), "");
    }

    #[test]
    fn values_become_tests_of_the_fields_kind() {
        let is = |text: &str| Wanted::Is(text.to_owned());
        let multi = test_of(Some(FieldKind::MultiChoice), &is("fr"));
        assert!(matches!(multi, Some((Test::ContainsAny(ref o), false)) if o == &["fr"]));
        let no = test_of(Some(FieldKind::Switch), &is(NO));
        assert!(matches!(no, Some((Test::OneOf(ref v), true)) if v == &[Value::Bool(true)]));
        let number = test_of(Some(FieldKind::Integer), &is("42"));
        assert!(matches!(number, Some((Test::OneOf(ref v), false)) if v == &[Value::from(42)]));
        let unset = test_of(Some(FieldKind::Country), &Wanted::Unset);
        assert!(matches!(unset, Some((Test::IsSet(false), false))));
        assert!(test_of(None, &Wanted::Any).is_none());
    }
}
