//! App profile documents: JSON objects within a size and a depth limit, and RFC 7386 merge
//! patches applied to them.

use serde_json::{Map, Value};

use super::problems::Problem;
use crate::config::Limits;
use crate::integrity::nul;

/// How large and how deep one document may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DocumentLimits {
    /// Largest size, in bytes of compact JSON.
    pub max_bytes: usize,
    /// Deepest nesting of objects and arrays; `{}` has depth 1.
    pub max_depth: usize,
}

impl From<&Limits> for DocumentLimits {
    fn from(limits: &Limits) -> Self {
        DocumentLimits {
            max_bytes: limits.app_profile_bytes,
            max_depth: limits.app_profile_depth,
        }
    }
}

/// A JSON object that passed the size and depth checks: the only thing stored as an app profile.
/// Always holds a `Value::Object`.
#[derive(Clone, Debug, PartialEq)]
pub struct Document(Value);

impl Document {
    /// Checks `value`; a refusal is located at `pointer`, the JSON pointer of the value in the
    /// request's arguments (`/data`, `/profiles/3/data`, `/patch`).
    pub fn parse(value: Value, limits: DocumentLimits, pointer: &str) -> Result<Document, Problem> {
        let Value::Object(map) = value else {
            let kind = kind_name(&value);
            return Err(Problem::invalid(
                pointer,
                format!("must be a JSON object, not {kind}"),
            ));
        };
        check(&map, limits, pointer)?;
        let value = Value::Object(map);
        if let Some(place) = nul::nul_pointers(&value, pointer).into_iter().next() {
            return Err(Problem::invalid(place, nul::REFUSAL));
        }
        Ok(Document(value))
    }

    /// Reads a stored document; a stored value that is not an object is a broken row.
    pub fn from_stored(value: Value) -> Option<Document> {
        value.is_object().then_some(Document(value))
    }

    /// Applies an RFC 7386 merge patch: `null` removes a member, objects merge recursively,
    /// anything else replaces. The result is checked against the limits again.
    pub fn merge(self, patch: Document, limits: DocumentLimits) -> Result<Document, Problem> {
        let mut merged = self.0;
        json_patch::merge(&mut merged, &patch.0);
        Document::parse(merged, limits, "/patch")
    }

    /// The document as a JSON value (always an object).
    pub fn as_value(&self) -> &Value {
        &self.0
    }

    /// The document as compact JSON text.
    pub fn to_json_text(&self) -> String {
        self.0.to_string()
    }

    /// The document as a JSON value, without copying.
    pub fn into_value(self) -> Value {
        self.0
    }
}

fn check(map: &Map<String, Value>, limits: DocumentLimits, pointer: &str) -> Result<(), Problem> {
    if deeper_than(map, limits.max_depth) {
        return Err(Problem::invalid(
            pointer,
            format!(
                "nests objects and arrays deeper than {} levels",
                limits.max_depth
            ),
        ));
    }
    if let Some(size) = larger_than(map, limits.max_bytes) {
        return Err(Problem::too_large(pointer, size, limits.max_bytes));
    }
    Ok(())
}

/// Whether an object nests deeper than `max` levels; stops descending past the limit.
fn deeper_than(map: &Map<String, Value>, max: usize) -> bool {
    max == 0 || map.values().any(|child| exceeds(child, max - 1))
}

fn exceeds(value: &Value, remaining: usize) -> bool {
    match value {
        Value::Object(map) => deeper_than(map, remaining),
        Value::Array(items) => remaining == 0 || items.iter().any(|v| exceeds(v, remaining - 1)),
        _ => false,
    }
}

/// `Some(size)` when the compact JSON of `map` exceeds `max` bytes; counting stops just past
/// the limit, so a huge document is not serialised whole.
fn larger_than(map: &Map<String, Value>, max: usize) -> Option<usize> {
    let mut counter = ByteCounter { bytes: 0, max };
    match serde_json::to_writer(&mut counter, map) {
        Ok(()) => None,
        Err(_) => Some(counter.bytes),
    }
}

/// A writer that only counts, and fails once past `max`.
struct ByteCounter {
    bytes: usize,
    max: usize,
}

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes += buf.len();
        if self.bytes > self.max {
            return Err(std::io::Error::other("document too large"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;
    use crate::apps::problems::ProblemKind;

    const LIMITS: DocumentLimits = DocumentLimits {
        max_bytes: 64,
        max_depth: 3,
    };

    fn nested(depth: usize) -> Value {
        (1..depth).fold(json!({}), |inner, _| json!({ "a": inner }))
    }

    #[test]
    fn only_objects_are_documents() {
        for value in [json!([1]), json!("{}"), json!(1), json!(null), json!(true)] {
            let problem = Document::parse(value, LIMITS, "/data").unwrap_err();
            assert_eq!(problem.pointer, "/data");
            assert!(problem.message().contains("must be a JSON object"));
        }
        assert!(Document::parse(json!({}), LIMITS, "/data").is_ok());
    }

    #[test]
    fn depth_counts_objects_and_arrays() {
        assert!(Document::parse(nested(3), LIMITS, "/data").is_ok());
        let problem = Document::parse(nested(4), LIMITS, "/data").unwrap_err();
        assert!(problem.message().contains("deeper than 3"), "{problem:?}");
        let arrays = json!({"a": [[1]]});
        assert!(Document::parse(arrays, LIMITS, "/data").is_ok());
        let too_deep = json!({"a": [[[1]]]});
        assert!(Document::parse(too_deep, LIMITS, "/data").is_err());
    }

    #[test]
    fn size_is_compact_json_bytes() {
        // {"k":"…"} is 8 bytes plus the string.
        let fits = json!({ "k": "x".repeat(56) });
        assert!(Document::parse(fits, LIMITS, "/data").is_ok());
        let over = json!({ "k": "x".repeat(57) });
        let problem = Document::parse(over, LIMITS, "/data").unwrap_err();
        assert!(
            matches!(problem.kind, ProblemKind::TooLarge { .. }),
            "{problem:?}"
        );
    }

    #[test]
    fn merge_follows_rfc_7386() {
        let doc = Document::parse(json!({"a": 1, "b": {"c": 2, "d": 3}}), LIMITS, "/data");
        let patch = Document::parse(
            json!({"a": null, "b": {"c": 5}, "e": [1]}),
            LIMITS,
            "/patch",
        );
        let merged = doc.unwrap().merge(patch.unwrap(), LIMITS).unwrap();
        assert_eq!(
            merged.into_value(),
            json!({"b": {"c": 5, "d": 3}, "e": [1]})
        );
    }

    #[test]
    fn nul_is_refused_where_it_is() {
        let problem = Document::parse(json!({"a": ["ok", "x\u{0}"]}), LIMITS, "/data");
        let problem = problem.unwrap_err();
        assert_eq!(problem.pointer, "/data/a/1");
        assert!(problem.message().contains("U+0000"), "{problem:?}");
    }

    #[test]
    fn a_merge_that_grows_too_large_is_refused() {
        let doc = Document::parse(json!({ "a": "x".repeat(40) }), LIMITS, "/data").unwrap();
        let patch = Document::parse(json!({ "b": "y".repeat(40) }), LIMITS, "/patch").unwrap();
        let problem = doc.merge(patch, LIMITS).unwrap_err();
        assert_eq!(problem.pointer, "/patch");
        assert!(matches!(problem.kind, ProblemKind::TooLarge { .. }));
    }
}
