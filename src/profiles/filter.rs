//! Directory filters, combinable: roles, and tests on field values typed by the field's kind.
//! Every field named must be one the viewer may read on other members' cards (the one access
//! function decides): FORBIDDEN naming it otherwise, so filters reveal no hidden value. Tests
//! read stored values; a built-in field's provider value that no one has saved on the card
//! is not filtered on.

use chrono::NaiveDate;
use entity::{field_value, membership};
use sea_orm::sea_query::{Expr, Query, SimpleExpr};
use sea_orm::{ColumnTrait, Condition, DbBackend};
use serde_json::{Value, json};

use crate::core::{Member, Role};
use crate::error::{Error, Result};
use crate::fields::store::TenantFields;
use crate::fields::validation::check_value;
use crate::fields::value::DATE_FORMAT;
use crate::fields::{FieldDefinition, FieldKind, Viewer, field_access};

/// A test on one field's value.
#[derive(Clone, Debug)]
pub enum Test {
    /// The value is one of these (one for "equals").
    OneOf(Vec<Value>),
    /// The card has a value (`true`) or none (`false`).
    IsSet(bool),
    /// NUMBER, INTEGER, DATE: within the bounds, both inclusive.
    Range {
        /// Lower bound.
        min: Option<Value>,
        /// Upper bound.
        max: Option<Value>,
    },
    /// MULTI_CHOICE: holds at least one of these options.
    ContainsAny(Vec<String>),
    /// MULTI_CHOICE: holds every one of these options.
    ContainsAll(Vec<String>),
}

/// A test on the field `key`.
#[derive(Clone, Debug)]
pub struct FieldTest {
    /// The field's key.
    pub key: String,
    /// The test.
    pub test: Test,
}

/// What a directory query keeps: cards whose role is among `roles` (any when empty) and that
/// pass every field test.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Roles to keep; empty keeps all.
    pub roles: Vec<Role>,
    /// Field tests, all of which must pass.
    pub fields: Vec<FieldTest>,
}

impl Filter {
    /// The condition on `memberships` the filter stands for, as `viewer` may filter.
    pub fn condition(
        &self,
        viewer: &Member<'_>,
        fields: &TenantFields,
        backend: DbBackend,
    ) -> Result<Condition> {
        let mut condition = Condition::all();
        if !self.roles.is_empty() {
            condition = condition.add(membership::Column::Role.is_in(self.roles.clone()));
        }
        let class = Viewer {
            is_owner: false,
            standing: viewer.standing(),
        };
        for test in &self.fields {
            let field = fields
                .by_key(&test.key)
                .filter(|f| !f.is_archived())
                .ok_or_else(|| Error::bad_input(format!("filter: no field {}", test.key)))?;
            if !field_access(field, class).can_read() {
                return Err(Error::Forbidden(format!(
                    "filter: you may not read {}",
                    test.key
                )));
            }
            condition = condition.add(field_condition(viewer, field, &test.test, backend)?);
        }
        Ok(condition)
    }
}

fn field_condition(
    viewer: &Member<'_>,
    field: &FieldDefinition,
    test: &Test,
    backend: DbBackend,
) -> Result<Condition> {
    let having = |value: SimpleExpr| {
        let rows = Query::select()
            .column(field_value::Column::UserId)
            .from(field_value::Entity)
            .and_where(field_value::Column::TenantId.eq(viewer.tenant().id))
            .and_where(field_value::Column::FieldId.eq(field.id))
            .and_where(value)
            .to_owned();
        membership::Column::UserId.in_subquery(rows)
    };
    let condition = match test {
        Test::IsSet(set) => {
            let rows = having(not_null(backend));
            match set {
                true => Condition::all().add(rows),
                false => Condition::all().add(rows).not(),
            }
        }
        Test::OneOf(values) => {
            let stored = values
                .iter()
                .map(|v| typed(field, v))
                .collect::<Result<Vec<Value>>>()?;
            Condition::all().add(having(field_value::Column::Value.is_in(stored)))
        }
        Test::Range { min, max } => {
            let mut condition = Condition::all();
            for (bound, at_least) in [(min, true), (max, false)] {
                if let Some(bound) = bound {
                    let bound = range_bound(field, bound)?;
                    condition = condition.add(having(compare(backend, at_least, bound)));
                }
            }
            condition
        }
        Test::ContainsAny(options) | Test::ContainsAll(options) => {
            let any = matches!(test, Test::ContainsAny(_));
            let mut condition = if any {
                Condition::any()
            } else {
                Condition::all()
            };
            for option in options {
                option_of(field, option)?;
                condition = condition.add(having(contains(backend, option)));
            }
            condition
        }
    };
    Ok(condition)
}

/// `value` in the stored form of `field`'s kind; BAD_USER_INPUT naming the field otherwise.
fn typed(field: &FieldDefinition, value: &Value) -> Result<Value> {
    check_value(field, value)
        .map(|v| v.to_json())
        .map_err(|message| Error::bad_input(format!("filter on {}: {message}", field.key.as_str())))
}

fn option_of(field: &FieldDefinition, option: &str) -> Result<()> {
    if field.kind != FieldKind::MultiChoice {
        return Err(Error::bad_input(format!(
            "filter on {}: contains is for MULTI_CHOICE fields",
            field.key.as_str()
        )));
    }
    if !field.options.iter().any(|o| o.value == option) {
        return Err(Error::bad_input(format!(
            "filter on {}: no option {option:?}",
            field.key.as_str()
        )));
    }
    Ok(())
}

/// A range bound of a NUMBER or INTEGER (a number) or DATE (YYYY-MM-DD) field.
enum Bound {
    Number(f64),
    Date(String),
}

fn range_bound(field: &FieldDefinition, value: &Value) -> Result<Bound> {
    let wrong = |what: &str| Error::bad_input(format!("filter on {}: {what}", field.key.as_str()));
    match field.kind {
        FieldKind::Number | FieldKind::Integer => value
            .as_f64()
            .map(Bound::Number)
            .ok_or_else(|| wrong("a range bound must be a number")),
        FieldKind::Date => value
            .as_str()
            .and_then(|s| NaiveDate::parse_from_str(s, DATE_FORMAT).ok())
            .map(|d| Bound::Date(d.format(DATE_FORMAT).to_string()))
            .ok_or_else(|| wrong("a range bound must be a date (YYYY-MM-DD)")),
        _ => Err(wrong("ranges are for NUMBER, INTEGER and DATE fields")),
    }
}

/// The stored JSON value is not `null` (a cleared built-in field).
fn not_null(backend: DbBackend) -> SimpleExpr {
    match backend {
        DbBackend::Postgres => Expr::cust("jsonb_typeof(value) <> 'null'"),
        _ => Expr::cust("json_type(value) <> 'null'"),
    }
}

/// The stored scalar compared with a bound.
fn compare(backend: DbBackend, at_least: bool, bound: Bound) -> SimpleExpr {
    let op = if at_least { ">=" } else { "<=" };
    match (backend, bound) {
        (DbBackend::Postgres, Bound::Number(n)) => Expr::cust_with_values(
            format!("jsonb_typeof(value) = 'number' AND (value #>> '{{}}')::float8 {op} $1"),
            [n],
        ),
        (DbBackend::Postgres, Bound::Date(d)) => {
            Expr::cust_with_values(format!("(value #>> '{{}}') {op} $1"), [d])
        }
        (_, Bound::Number(n)) => {
            Expr::cust_with_values(format!("json_extract(value, '$') {op} ?"), [n])
        }
        (_, Bound::Date(d)) => {
            Expr::cust_with_values(format!("json_extract(value, '$') {op} ?"), [d])
        }
    }
}

/// The stored JSON array holds `option`.
fn contains(backend: DbBackend, option: &str) -> SimpleExpr {
    match backend {
        DbBackend::Postgres => Expr::cust_with_values("value @> $1", [json!([option])]),
        _ => Expr::cust_with_values(
            "EXISTS (SELECT 1 FROM json_each(field_values.value) AS picked WHERE picked.value = ?)",
            [option.to_owned()],
        ),
    }
}
