//! The built-in catalogue of ready-made fields (`templates.json`), with labels in 14
//! languages, parsed once.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

use super::{Access, AccessLevels, ChoiceOption, FieldKey, FieldKind, FieldSpec, Rules};

/// A ready-made field an admin can add: the field's spec, with the default access but for
/// other members (contact details, documents, birthdays and personal preferences start
/// hidden), and its place in the catalogue.
#[derive(Clone, Debug)]
pub struct FieldTemplate {
    /// The field it adds.
    pub spec: FieldSpec,
    /// Grouping in the catalogue (`work`, `contact`, `social`, …).
    pub category: String,
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
    catalogue().iter().find(|t| t.spec.key.as_str() == key)
}

fn parse() -> Result<Vec<FieldTemplate>, String> {
    let raw: Vec<RawTemplate> =
        serde_json::from_str(include_str!("templates.json")).map_err(|e| e.to_string())?;
    raw.into_iter()
        .map(|t| {
            let private = matches!(t.category.as_str(), "contact" | "documents")
                || PRIVATE_KEYS.contains(&t.key.as_str());
            let member_access = if private {
                Access::Hidden
            } else {
                Access::Read
            };
            Ok(FieldTemplate {
                spec: FieldSpec {
                    key: FieldKey::parse(&t.key).map_err(|_| format!("{}: bad key", t.key))?,
                    kind: t.kind,
                    labels: t.labels,
                    help: t.help,
                    options: t.options,
                    rules: t
                        .validation
                        .compiled()
                        .map_err(|_| format!("{}: bad pattern", t.key))?,
                    required: false,
                    access: AccessLevels::or_defaults(None, Some(member_access), None),
                },
                category: t.category,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::validation::check_definition;

    #[test]
    fn the_catalogue_is_valid_and_large_enough() {
        let templates = parse().expect("templates.json parses");
        assert!(templates.len() >= 25, "{}", templates.len());
        for FieldTemplate { spec: template, .. } in &templates {
            let problems = check_definition(template.kind, &template.options, &template.rules);
            assert!(problems.is_empty(), "{:?}: {problems:?}", template.key);
            for locale in [
                "en", "de", "fr", "es", "it", "pt", "nl", "pl", "ru", "uk", "ar", "he", "fa", "ja",
            ] {
                assert!(
                    template.labels.contains_key(locale),
                    "{:?} lacks {locale}",
                    template.key
                );
            }
        }
        let keys: std::collections::HashSet<_> = templates.iter().map(|t| &t.spec.key).collect();
        assert_eq!(keys.len(), templates.len(), "keys are unique");
    }
}
