//! The optional JSON Schema of an app: checked when an operator sets it, compiled once and
//! reused while the stored schema stays the same, applied to every profile write.
//!
//! The `jsonschema` crate is built without remote and file `$ref` resolution, so a schema can
//! never make the service fetch anything; such a `$ref` is refused when the schema is set.

use std::sync::Arc;

use entity::app;
use jsonschema::Validator;
use moka::future::Cache;
use serde_json::Value;

use super::document::Document;
use super::problems::Problem;
use crate::error::{Error, Result};

/// How many violations are reported for one document.
const MAX_VIOLATIONS: usize = 10;

/// A compiled schema and the source it was compiled from.
#[derive(Debug)]
pub struct CompiledSchema {
    source: Value,
    validator: Validator,
}

impl CompiledSchema {
    /// Compiles `schema` (formats are checked, e.g. `"format": "email"`); a refusal is located
    /// at `pointer` plus the position inside the schema.
    pub fn compile(schema: &Value, pointer: &str) -> Result<CompiledSchema, Problem> {
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(schema)
            .map_err(|error| {
                Problem::invalid(
                    format!("{pointer}{}", error.instance_path().as_str()),
                    format!("not a valid JSON Schema: {error}"),
                )
            })?;
        Ok(CompiledSchema {
            source: schema.clone(),
            validator,
        })
    }

    /// The violations of `document`, each located at `pointer` plus the JSON pointer of the
    /// offending value inside the document.
    pub fn violations(&self, document: &Document, pointer: &str) -> Vec<Problem> {
        self.validator
            .iter_errors(document.as_value())
            .take(MAX_VIOLATIONS)
            .map(|error| {
                let inside = error.instance_path().as_str().to_owned();
                let at = if inside.is_empty() { "/" } else { &inside };
                Problem::invalid(
                    format!("{pointer}{inside}"),
                    format!("violates the app's JSON Schema at {at}: {error}"),
                )
            })
            .collect()
    }
}

/// Compiled schemas by app id. Each use compares the cached source with the app row just read,
/// so a schema changed by another instance is recompiled, never applied stale.
#[derive(Clone)]
pub struct Validators {
    cache: Cache<String, Arc<CompiledSchema>>,
}

impl Default for Validators {
    fn default() -> Self {
        Validators {
            cache: Cache::builder().max_capacity(10_000).build(),
        }
    }
}

impl Validators {
    /// The compiled schema of `app`, if it has one.
    pub async fn of(&self, app: &app::Model) -> Result<Option<Arc<CompiledSchema>>> {
        let Some(schema) = &app.json_schema else {
            return Ok(None);
        };
        if let Some(hit) = self.cache.get(&app.id).await
            && hit.source == *schema
        {
            return Ok(Some(hit));
        }
        // Stored schemas compiled when they were set, so a failure here is a broken row.
        let compiled = CompiledSchema::compile(schema, "").map_err(|problem| {
            Error::internal(anyhow::anyhow!(
                "the stored JSON Schema of app {} does not compile: {}",
                app.id,
                problem.message()
            ))
        })?;
        let compiled = Arc::new(compiled);
        self.cache.insert(app.id.clone(), compiled.clone()).await;
        Ok(Some(compiled))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;
    use crate::apps::document::DocumentLimits;

    const LIMITS: DocumentLimits = DocumentLimits {
        max_bytes: 1024,
        max_depth: 8,
    };

    #[test]
    fn violations_name_the_pointer() {
        let schema = json!({
            "type": "object",
            "properties": {"settings": {"type": "object", "properties": {"age": {"type": "integer"}}}},
            "required": ["settings"]
        });
        let compiled = CompiledSchema::compile(&schema, "/input/jsonSchema").unwrap();
        let doc = Document::parse(json!({"settings": {"age": "x"}}), LIMITS, "/data").unwrap();
        let problems = compiled.violations(&doc, "/data");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].pointer, "/data/settings/age");
        assert!(problems[0].message().contains("/settings/age"));
        let missing = Document::parse(json!({}), LIMITS, "/data").unwrap();
        let problems = compiled.violations(&missing, "/data");
        assert_eq!(problems[0].pointer, "/data");
        assert!(problems[0].message().contains("settings"), "{problems:?}");
    }

    #[test]
    fn invalid_schemas_are_refused() {
        for schema in [
            json!({"type": "no-such-type"}),
            json!({"$ref": "https://example.com/schema.json"}),
            json!({"properties": {"a": {"pattern": "("}}}),
            json!({"$schema": "https://example.com/custom-meta", "type": "object"}),
            json!({"$schema": 5}),
            json!({"$ref": "file:///etc/passwd"}),
            json!({"$ref": "#/nowhere"}),
        ] {
            let problem = CompiledSchema::compile(&schema, "/input/jsonSchema").unwrap_err();
            assert!(
                problem.pointer.starts_with("/input/jsonSchema"),
                "{problem:?}"
            );
        }
    }

    #[test]
    fn a_schema_that_refers_to_itself_terminates() {
        for schema in [json!({"$ref": "#"}), json!({"allOf": [{"$ref": "#"}]})] {
            let compiled = CompiledSchema::compile(&schema, "").unwrap();
            let doc = Document::parse(json!({"a": 1}), LIMITS, "/data").unwrap();
            assert!(compiled.violations(&doc, "/data").is_empty());
        }
    }

    #[test]
    fn formats_are_checked() {
        let schema = json!({"properties": {"email": {"format": "email"}}});
        let compiled = CompiledSchema::compile(&schema, "").unwrap();
        let doc = Document::parse(json!({"email": "nope"}), LIMITS, "/data").unwrap();
        assert_eq!(compiled.violations(&doc, "/data").len(), 1);
    }
}
