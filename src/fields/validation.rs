//! Validation: of definitions when admins write them, and of values when cards are saved.

use std::sync::Arc;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use super::{ChoiceOption, FieldDefinition, FieldKind, FieldValue, is_valid_key};
use crate::error::Error;
use crate::integrity::nul;

/// Longest short text when the definition sets no `maxLength`.
pub const SHORT_TEXT_MAX: usize = 255;
/// Longest long text when the definition sets no `maxLength`.
pub const LONG_TEXT_MAX: usize = 10_000;
/// Longest pattern an admin may set.
const PATTERN_MAX: usize = 500;

/// Validation rules of a definition; which apply depends on the kind.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rules {
    /// Fewest characters (texts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// Most characters (texts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Regular expression the whole text must match (texts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Smallest value (numbers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest value (numbers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Accepted content types (images and files); any image type for images when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_content_types: Vec<String>,
    /// Largest upload in bytes (images and files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    /// The compiled `pattern`, anchored to the whole text.
    #[serde(skip)]
    pub compiled: Option<Arc<Regex>>,
}

impl PartialEq for Rules {
    fn eq(&self, other: &Self) -> bool {
        serde_json::to_value(self).ok() == serde_json::to_value(other).ok()
    }
}

impl Rules {
    /// Compiles the pattern once, for every later value check.
    pub fn compiled(mut self) -> Result<Rules, Error> {
        self.compiled = match &self.pattern {
            Some(pattern) => Some(Arc::new(compile(pattern).map_err(Error::bad_input)?)),
            None => None,
        };
        Ok(self)
    }
}

fn compile(pattern: &str) -> Result<Regex, String> {
    if pattern.len() > PATTERN_MAX {
        return Err(format!("a pattern has at most {PATTERN_MAX} characters"));
    }
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("invalid pattern: {e}"))
}

/// Whether fields of `kind` take the text rules (minLength, maxLength, pattern).
pub fn takes_text_rules(kind: FieldKind) -> bool {
    matches!(
        kind,
        FieldKind::ShortText
            | FieldKind::LongText
            | FieldKind::Email
            | FieldKind::Url
            | FieldKind::Phone
    )
}

/// Whether fields of `kind` take min and max.
pub fn takes_range(kind: FieldKind) -> bool {
    matches!(kind, FieldKind::Number | FieldKind::Integer)
}

/// Checks a definition's options and rules against its kind; returns every problem found.
pub fn check_definition(kind: FieldKind, options: &[ChoiceOption], rules: &Rules) -> Vec<String> {
    let mut problems = Vec::new();
    let text = takes_text_rules(kind);
    let numeric = takes_range(kind);
    if kind.has_options() {
        if options.is_empty() {
            problems.push("a choice field needs at least one option".to_owned());
        }
        let mut seen = std::collections::HashSet::new();
        for option in options {
            if !is_valid_key(&option.value) {
                problems.push(format!(
                    "option value {:?} must follow the key rules",
                    option.value
                ));
            }
            if !seen.insert(&option.value) {
                problems.push(format!("option value {:?} appears twice", option.value));
            }
        }
    } else if !options.is_empty() {
        problems.push("only SINGLE_CHOICE and MULTI_CHOICE fields have options".to_owned());
    }
    if !text
        && (rules.min_length.is_some() || rules.max_length.is_some() || rules.pattern.is_some())
    {
        problems.push("minLength, maxLength and pattern apply to text fields only".to_owned());
    }
    if let (Some(min), Some(max)) = (rules.min_length, rules.max_length)
        && min > max
    {
        problems.push("minLength is larger than maxLength".to_owned());
    }
    if let Some(pattern) = &rules.pattern
        && let Err(problem) = compile(pattern)
    {
        problems.push(problem);
    }
    if !numeric && (rules.min.is_some() || rules.max.is_some()) {
        problems.push("min and max apply to NUMBER and INTEGER fields only".to_owned());
    }
    if let (Some(min), Some(max)) = (rules.min, rules.max)
        && min > max
    {
        problems.push("min is larger than max".to_owned());
    }
    if !kind.is_file() && (!rules.allowed_content_types.is_empty() || rules.max_bytes.is_some()) {
        problems.push(
            "allowedContentTypes and maxBytes apply to IMAGE and FILE fields only".to_owned(),
        );
    }
    if rules.max_bytes == Some(0) {
        problems.push("maxBytes must be positive".to_owned());
    }
    problems
}

/// Checks a value for `field` and returns it typed and in stored form (trimmed texts,
/// normalised phone numbers, upper-case country codes), or what is wrong with it. `null` is
/// handled by the caller (it clears the value).
pub fn check_value(field: &FieldDefinition, value: &Value) -> Result<FieldValue, String> {
    let text_of = |default_max, multiline| text(field, value, default_max, multiline);
    match field.kind {
        FieldKind::ShortText => text_of(SHORT_TEXT_MAX, false).map(FieldValue::Text),
        FieldKind::LongText => text_of(LONG_TEXT_MAX, true).map(FieldValue::Text),
        FieldKind::Email => {
            let address = text_of(254, false)?;
            email_address::EmailAddress::parse_with_options(&address, Default::default())
                .map_err(|_| format!("{address:?} is not an email address"))?;
            Ok(FieldValue::Text(address))
        }
        FieldKind::Phone => phone(field, value).map(FieldValue::Text),
        FieldKind::Url => url(field, value).map(FieldValue::Text),
        FieldKind::Country => country(value).map(FieldValue::Text),
        FieldKind::Switch => value
            .as_bool()
            .map(FieldValue::Bool)
            .ok_or_else(|| "expected true or false".to_owned()),
        FieldKind::Number => number(field, value).map(FieldValue::Number),
        FieldKind::Integer => integer(field, value).map(FieldValue::Integer),
        FieldKind::Date => date(value).map(FieldValue::Date),
        FieldKind::SingleChoice => choice(field, value).map(FieldValue::Choice),
        FieldKind::MultiChoice => choices(field, value).map(FieldValue::Choices),
        FieldKind::Image | FieldKind::File => file_id(value).map(FieldValue::File),
    }
}

/// The text of a value; every text kind reads its value through here, so none stores NUL.
fn as_text(value: &Value) -> Result<&str, String> {
    let text = value.as_str().ok_or_else(|| "expected text".to_owned())?;
    if nul::has_nul(text) {
        return Err(format!("the text {}", nul::REFUSAL));
    }
    Ok(text)
}

fn text(
    field: &FieldDefinition,
    value: &Value,
    default_max: usize,
    multiline: bool,
) -> Result<String, String> {
    let text = as_text(value)?.trim();
    if !multiline && text.contains(['\n', '\r']) {
        return Err("expected a single line".to_owned());
    }
    let length = text.chars().count();
    let max = field.rules.max_length.map_or(default_max, |m| m as usize);
    if length > max {
        return Err(format!("at most {max} characters, got {length}"));
    }
    if let Some(min) = field.rules.min_length
        && length < min as usize
    {
        return Err(format!("at least {min} characters, got {length}"));
    }
    if let Some(pattern) = &field.rules.compiled
        && !pattern.is_match(text)
    {
        return Err("does not match the expected format".to_owned());
    }
    Ok(text.to_owned())
}

fn phone(field: &FieldDefinition, value: &Value) -> Result<String, String> {
    let raw = as_text(value)?;
    let compact: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    let digits = compact
        .strip_prefix('+')
        .ok_or("a phone number starts with + and the country code (E.164)")?;
    let valid = (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if !valid {
        return Err(format!(
            "{raw:?} is not a phone number in E.164 form (+ and 2 to 15 digits)"
        ));
    }
    text(field, &Value::String(compact), 16, false)
}

fn url(field: &FieldDefinition, value: &Value) -> Result<String, String> {
    let checked = text(field, value, 2048, false)?;
    let parsed = url::Url::parse(&checked).map_err(|_| format!("{checked:?} is not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err("only http and https URLs with a host are accepted".to_owned());
    }
    Ok(checked)
}

fn country(value: &Value) -> Result<String, String> {
    let code = as_text(value)?.trim().to_ascii_uppercase();
    isocountry::CountryCode::for_alpha2(&code)
        .map(|_| code.clone())
        .map_err(|_| format!("{code:?} is not an ISO 3166-1 alpha-2 country code"))
}

fn number(field: &FieldDefinition, value: &Value) -> Result<Number, String> {
    let Value::Number(number) = value else {
        return Err("expected a number".to_owned());
    };
    in_range(field, number.as_f64().unwrap_or(f64::NAN))?;
    Ok(number.clone())
}

fn integer(field: &FieldDefinition, value: &Value) -> Result<i64, String> {
    if !value.is_number() {
        return Err("expected a number".to_owned());
    }
    let whole = value
        .as_i64()
        .ok_or_else(|| "expected a whole number".to_owned())?;
    in_range(field, whole as f64)?;
    Ok(whole)
}

fn in_range(field: &FieldDefinition, number: f64) -> Result<(), String> {
    if let Some(min) = field.rules.min
        && number < min
    {
        return Err(format!("at least {min}"));
    }
    if let Some(max) = field.rules.max
        && number > max
    {
        return Err(format!("at most {max}"));
    }
    Ok(())
}

fn date(value: &Value) -> Result<chrono::NaiveDate, String> {
    let text = as_text(value)?;
    chrono::NaiveDate::parse_from_str(text, super::value::DATE_FORMAT)
        .map_err(|_| format!("{text:?} is not a date in the form YYYY-MM-DD"))
}

fn choice(field: &FieldDefinition, value: &Value) -> Result<String, String> {
    let picked = as_text(value)?;
    if field.options.iter().any(|o| o.value == picked) {
        return Ok(picked.to_owned());
    }
    Err(format!("{picked:?} is not one of the options"))
}

fn choices(field: &FieldDefinition, value: &Value) -> Result<Vec<String>, String> {
    let items = value
        .as_array()
        .ok_or_else(|| "expected a list of options".to_owned())?;
    let mut picked: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let one = choice(field, item)?;
        if picked.contains(&one) {
            return Err(format!("{one:?} is picked twice"));
        }
        picked.push(one);
    }
    Ok(picked)
}

fn file_id(value: &Value) -> Result<uuid::Uuid, String> {
    let text = as_text(value)?;
    uuid::Uuid::parse_str(text).map_err(|_| format!("{text:?} is not a file id"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;
    use crate::fields::{AccessLevels, FieldKey, FieldSpec};

    fn field(kind: FieldKind) -> FieldDefinition {
        FieldDefinition {
            id: uuid::Uuid::nil(),
            tenant_id: uuid::Uuid::nil(),
            spec: FieldSpec {
                key: FieldKey::parse("bio").unwrap(),
                kind,
                labels: Default::default(),
                help: Default::default(),
                options: ["a", "b"]
                    .map(|value| ChoiceOption {
                        value: value.into(),
                        labels: Default::default(),
                    })
                    .to_vec(),
                rules: Rules::default(),
                required: false,
                access: AccessLevels::or_defaults(None, None, None),
            },
            position: 0,
            builtin: false,
            archived_at: None,
            version: 1,
        }
    }

    #[test]
    fn no_text_kind_accepts_nul() {
        for (kind, value) in [
            (FieldKind::ShortText, json!("a\u{0}b")),
            (FieldKind::LongText, json!("a\u{0}b")),
            (FieldKind::Email, json!("a\u{0}@example.com")),
            (FieldKind::Url, json!("https://example.com/\u{0}")),
            (FieldKind::Country, json!("F\u{0}R")),
            (FieldKind::MultiChoice, json!(["a\u{0}"])),
        ] {
            let refusal = check_value(&field(kind), &value).unwrap_err();
            assert!(refusal.contains("U+0000"), "{kind:?}: {refusal}");
        }
    }

    #[test]
    fn each_kind_accepts_and_normalises_or_refuses_with_a_reason() {
        use FieldValue as V;
        let text = |t: &str| Ok(V::Text(t.into()));
        let id = "6f1c2b9e-8a53-4c5e-9a49-0d7c1d2e3f40";
        let date = chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        #[rustfmt::skip]
        let table: Vec<(FieldKind, Value, Result<FieldValue, &str>)> = vec![
            (FieldKind::ShortText, json!("  Zoë  "), text("Zoë")),
            (FieldKind::ShortText, json!("a\nb"), Err("single line")),
            (FieldKind::ShortText, json!("x".repeat(256)), Err("at most 255")),
            (FieldKind::ShortText, json!(5), Err("expected text")),
            (FieldKind::LongText, json!("a\nb"), text("a\nb")),
            (FieldKind::Email, json!("zoë@example.com"), text("zoë@example.com")),
            (FieldKind::Email, json!("not-an-address"), Err("not an email")),
            (FieldKind::Phone, json!("+49 151 1234-5678"), text("+4915112345678")),
            (FieldKind::Phone, json!("0151 12345678"), Err("starts with +")),
            (FieldKind::Url, json!("https://example.com/a"), text("https://example.com/a")),
            (FieldKind::Url, json!("javascript:alert(1)"), Err("only http and https")),
            (FieldKind::Country, json!("de"), text("DE")),
            (FieldKind::Country, json!("XX"), Err("ISO 3166-1")),
            (FieldKind::Switch, json!(false), Ok(V::Bool(false))),
            (FieldKind::Switch, json!("true"), Err("true or false")),
            (FieldKind::Number, json!(2.5), Ok(V::Number(serde_json::Number::from_f64(2.5).unwrap()))),
            (FieldKind::Number, json!("2.5"), Err("expected a number")),
            (FieldKind::Integer, json!(-3), Ok(V::Integer(-3))),
            (FieldKind::Integer, json!(1.5), Err("whole number")),
            (FieldKind::Date, json!("2024-02-29"), Ok(V::Date(date))),
            (FieldKind::Date, json!("2023-02-29"), Err("YYYY-MM-DD")),
            (FieldKind::SingleChoice, json!("b"), Ok(V::Choice("b".into()))),
            (FieldKind::SingleChoice, json!("c"), Err("not one of the options")),
            (FieldKind::MultiChoice, json!(["b", "a"]), Ok(V::Choices(vec!["b".into(), "a".into()]))),
            (FieldKind::MultiChoice, json!(["a", "a"]), Err("picked twice")),
            (FieldKind::Image, json!(id), Ok(V::File(id.parse().unwrap()))),
            (FieldKind::File, json!("../etc/passwd"), Err("not a file id")),
        ];
        for (kind, input, expected) in table {
            let got = check_value(&field(kind), &input);
            match (&got, &expected) {
                (Ok(value), Ok(wanted)) => assert_eq!(value, wanted, "{kind:?} {input}"),
                (Err(reason), Err(part)) => {
                    assert!(reason.contains(part), "{kind:?} {input}: {reason}")
                }
                _ => panic!("{kind:?} {input}: got {got:?}, expected {expected:?}"),
            }
        }
    }
}
