//! A card value, typed: what validation produces, what cards hold and what resolvers match.
//! JSON appears only at the edges (the database column, the `json` accessor, userinfo).

use chrono::NaiveDate;
use serde_json::{Number, Value};
use uuid::Uuid;

use super::FieldKind;

/// One value of one field, of the shape its kind asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// SHORT_TEXT, LONG_TEXT, EMAIL, PHONE, URL and COUNTRY, in stored (normalised) form.
    Text(String),
    /// SWITCH.
    Bool(bool),
    /// NUMBER, as the client wrote it (`3` stays `3`, `3.0` stays `3.0`).
    Number(Number),
    /// INTEGER.
    Integer(i64),
    /// DATE.
    Date(NaiveDate),
    /// SINGLE_CHOICE: the option's stored value.
    Choice(String),
    /// MULTI_CHOICE: the options' stored values, in the order picked.
    Choices(Vec<String>),
    /// IMAGE and FILE: the file's id.
    File(Uuid),
}

/// How dates are written.
pub const DATE_FORMAT: &str = "%Y-%m-%d";

impl FieldValue {
    /// The stored form (also the `json` accessor's and userinfo's).
    pub fn to_json(&self) -> Value {
        match self {
            FieldValue::Text(text) | FieldValue::Choice(text) => Value::String(text.clone()),
            FieldValue::Bool(on) => Value::Bool(*on),
            FieldValue::Number(number) => Value::Number(number.clone()),
            FieldValue::Integer(integer) => Value::from(*integer),
            FieldValue::Date(date) => Value::String(date.format(DATE_FORMAT).to_string()),
            FieldValue::Choices(values) => Value::from(values.clone()),
            FieldValue::File(id) => Value::String(id.to_string()),
        }
    }

    /// Reads a stored value (or an identity provider's claim) of a field of `kind`. `null` is
    /// no value; a value of another shape (a provider sending `"true"` for a SWITCH claim) is
    /// treated as no value too, so one odd claim never breaks a card.
    pub fn read(kind: FieldKind, stored: &Value) -> Option<FieldValue> {
        use FieldKind::*;
        match kind {
            ShortText | LongText | Email | Phone | Url | Country => {
                stored.as_str().map(|s| FieldValue::Text(s.to_owned()))
            }
            Switch => stored.as_bool().map(FieldValue::Bool),
            Number => match stored {
                Value::Number(number) => Some(FieldValue::Number(number.clone())),
                _ => None,
            },
            Integer => stored.as_i64().map(FieldValue::Integer),
            Date => stored
                .as_str()
                .and_then(|s| NaiveDate::parse_from_str(s, DATE_FORMAT).ok())
                .map(FieldValue::Date),
            SingleChoice => stored.as_str().map(|s| FieldValue::Choice(s.to_owned())),
            MultiChoice => stored.as_array().map(|items| {
                FieldValue::Choices(
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect(),
                )
            }),
            Image | File => stored
                .as_str()
                .and_then(|s| Uuid::parse_str(s).ok())
                .map(FieldValue::File),
        }
    }

    /// The text of a text kind.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            FieldValue::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The file an IMAGE or FILE value refers to.
    pub fn file_id(&self) -> Option<Uuid> {
        match self {
            FieldValue::File(id) => Some(*id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn every_kind_reads_back_what_it_stores() {
        let cases = [
            (FieldKind::ShortText, json!("Zoë")),
            (FieldKind::Switch, json!(true)),
            (FieldKind::Number, json!(3)),
            (FieldKind::Number, json!(2.5)),
            (FieldKind::Integer, json!(-7)),
            (FieldKind::Date, json!("2024-02-29")),
            (FieldKind::SingleChoice, json!("a")),
            (FieldKind::MultiChoice, json!(["b", "a"])),
            (
                FieldKind::Image,
                json!("6f1c2b9e-8a53-4c5e-9a49-0d7c1d2e3f40"),
            ),
        ];
        for (kind, stored) in cases {
            let value = FieldValue::read(kind, &stored).unwrap();
            assert_eq!(value.to_json(), stored, "{kind:?}");
        }
    }

    #[test]
    fn a_value_of_another_shape_is_no_value() {
        for (kind, stored) in [
            (FieldKind::Switch, json!("true")),
            (FieldKind::Integer, json!(1.5)),
            (FieldKind::Date, json!("29.02.2024")),
            (FieldKind::File, json!("not-a-uuid")),
            (FieldKind::ShortText, Value::Null),
        ] {
            assert_eq!(FieldValue::read(kind, &stored), None, "{kind:?} {stored}");
        }
    }
}
