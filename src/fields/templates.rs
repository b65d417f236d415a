//! The built-in catalogue of ready-made fields (`templates.json`), with labels in 14
//! languages, parsed once.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

use super::{Access, ChoiceOption, FieldKind, Rules};

/// A ready-made field an admin can add.
#[derive(Clone, Debug)]
pub struct FieldTemplate {
    /// The key the field gets.
    pub key: String,
    /// Its kind.
    pub kind: FieldKind,
    /// Grouping in the catalogue (`work`, `contact`, `social`, …).
    pub category: String,
    /// Labels by locale.
    pub labels: BTreeMap<String, String>,
    /// Help texts by locale.
    pub help: BTreeMap<String, String>,
    /// Options of choice fields.
    pub options: Vec<ChoiceOption>,
    /// Validation rules.
    pub rules: Rules,
    /// What other members may see by default: contact details, documents, birthdays and
    /// personal preferences start hidden.
    pub member_access: Access,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    key: String,
    kind: FieldKind,
    category: String,
    labels: BTreeMap<String, String>,
    #[serde(default)]
    help: BTreeMap<String, String>,
    #[serde(default)]
    options: Vec<ChoiceOption>,
    #[serde(default)]
    validation: Rules,
}

const PRIVATE_KEYS: &[&str] = &[
    "birthday",
    "hourly_rate",
    "dietary_preferences",
    "email_notifications",
    "sms_notifications",
    "newsletter",
];

static CATALOGUE: LazyLock<Vec<FieldTemplate>> = LazyLock::new(|| match parse() {
    Ok(templates) => templates,
    Err(error) => {
        tracing::error!(%error, "the built-in template catalogue is invalid");
        Vec::new()
    }
});

/// Every template, in catalogue order.
pub fn catalogue() -> &'static [FieldTemplate] {
    &CATALOGUE
}

/// The template with `key`.
pub fn find(key: &str) -> Option<&'static FieldTemplate> {
    catalogue().iter().find(|t| t.key == key)
}

fn parse() -> Result<Vec<FieldTemplate>, String> {
    let raw: Vec<RawTemplate> =
        serde_json::from_str(include_str!("templates.json")).map_err(|e| e.to_string())?;
    raw.into_iter()
        .map(|t| {
            let private = matches!(t.category.as_str(), "contact" | "documents")
                || PRIVATE_KEYS.contains(&t.key.as_str());
            Ok(FieldTemplate {
                member_access: if private {
                    Access::Hidden
                } else {
                    Access::Read
                },
                rules: t
                    .validation
                    .compiled()
                    .map_err(|_| format!("{}: bad pattern", t.key))?,
                key: t.key,
                kind: t.kind,
                category: t.category,
                labels: t.labels,
                help: t.help,
                options: t.options,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::{is_valid_key, validation::check_definition};

    #[test]
    fn the_catalogue_is_valid_and_large_enough() {
        let templates = parse().expect("templates.json parses");
        assert!(templates.len() >= 25, "{}", templates.len());
        for template in &templates {
            assert!(is_valid_key(&template.key), "{}", template.key);
            let problems = check_definition(template.kind, &template.options, &template.rules);
            assert!(problems.is_empty(), "{}: {problems:?}", template.key);
            for locale in [
                "en", "de", "fr", "es", "it", "pt", "nl", "pl", "ru", "uk", "ar", "he", "fa", "ja",
            ] {
                assert!(
                    template.labels.contains_key(locale),
                    "{} lacks {locale}",
                    template.key
                );
            }
        }
        let keys: std::collections::HashSet<_> = templates.iter().map(|t| &t.key).collect();
        assert_eq!(keys.len(), templates.len(), "keys are unique");
    }
}
