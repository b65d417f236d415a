//! U+0000 (NUL) in text. PostgreSQL `text` and `jsonb` cannot hold it while SQLite can, so input
//! holding it is refused, and provider claims holding it are cleaned, before either database
//! sees it: both behave the same.

use serde_json::Value;

use crate::error::{Error, InputProblem};

/// Why a text holding NUL is refused.
pub const REFUSAL: &str = "contains U+0000 (NUL), which text cannot hold";

/// How many places one refusal lists.
const MAX_LISTED: usize = 50;

/// Whether `text` holds U+0000.
pub fn has_nul(text: &str) -> bool {
    text.contains('\0')
}

/// One step from a list or an object to a child.
#[derive(Clone, Copy, Debug)]
pub enum Step<'a> {
    /// A member of an object, by name.
    Member(&'a str),
    /// An item of a list, by index.
    Index(usize),
}

impl Step<'_> {
    /// The step as a JSON pointer segment (RFC 6901: `~` and `/` escaped).
    fn segment(self) -> String {
        match self {
            Step::Member(name) => name.replace('~', "~0").replace('/', "~1"),
            Step::Index(index) => index.to_string(),
        }
    }
}

/// A JSON-like value: request variables, GraphQL literals, stored documents.
pub trait Tree {
    /// The text, when this is a string.
    fn text(&self) -> Option<&str>;
    /// Calls `visit` with each child of a list or an object.
    fn children<'a>(&'a self, visit: &mut dyn FnMut(Step<'a>, &'a Self));
}

impl Tree for Value {
    fn text(&self) -> Option<&str> {
        self.as_str()
    }

    fn children<'a>(&'a self, visit: &mut dyn FnMut(Step<'a>, &'a Self)) {
        match self {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .for_each(|(i, item)| visit(Step::Index(i), item)),
            Value::Object(members) => members
                .iter()
                .for_each(|(name, member)| visit(Step::Member(name), member)),
            _ => {}
        }
    }
}

/// The JSON pointers, below `root`, of the strings and member names in `tree` that hold NUL,
/// in document order (at most [`MAX_LISTED`]). Walks with a stack, never recursion, so any
/// depth is safe; pointers are only built when something is found.
pub fn nul_pointers<T: Tree>(tree: &T, root: &str) -> Vec<String> {
    if !holds_nul(tree) {
        return Vec::new();
    }
    let mut found = Vec::new();
    // (pointer, value, whether the member name leading to it holds NUL)
    let mut stack = vec![(root.to_owned(), tree, false)];
    while let Some((pointer, node, bad_name)) = stack.pop() {
        if bad_name || node.text().is_some_and(has_nul) {
            found.push(pointer.clone());
            if found.len() >= MAX_LISTED {
                break;
            }
        }
        let mut children = Vec::new();
        node.children(&mut |step, child| {
            let bad_name = matches!(step, Step::Member(name) if has_nul(name));
            children.push((format!("{pointer}/{}", step.segment()), child, bad_name));
        });
        stack.extend(children.into_iter().rev());
    }
    found.truncate(MAX_LISTED);
    found
}

fn holds_nul<T: Tree>(tree: &T) -> bool {
    let mut stack = vec![tree];
    let mut found = false;
    while let Some(node) = stack.pop() {
        found = node.text().is_some_and(has_nul);
        node.children(&mut |step, child| {
            found |= matches!(step, Step::Member(name) if has_nul(name));
            stack.push(child);
        });
        if found {
            break;
        }
    }
    found
}

/// The refusal of input holding NUL at `places` (JSON pointers or argument names), or `None`
/// when there are none.
pub fn refusal(mut places: Vec<String>) -> Option<Error> {
    let total = places.len();
    places.truncate(MAX_LISTED);
    let first = places.first()?;
    let mut message = format!("{first} {REFUSAL}");
    if total > 1 {
        message.push_str(&format!(" (and {} more places)", total - 1));
    }
    Some(Error::BadUserInput {
        message,
        problems: places
            .into_iter()
            .map(|field| InputProblem {
                field,
                message: REFUSAL.to_owned(),
            })
            .collect(),
    })
}

/// Removes every NUL from the strings and member names of `value`: for what an identity
/// provider asserts, which a sign-in must survive.
pub fn strip(value: &mut Value) {
    let mut stack = vec![value];
    while let Some(node) = stack.pop() {
        match node {
            Value::String(text) if has_nul(text) => text.retain(|c| c != '\0'),
            Value::Array(items) => stack.extend(items.iter_mut()),
            Value::Object(members) => {
                if members.keys().any(|name| has_nul(name)) {
                    *members = std::mem::take(members)
                        .into_iter()
                        .map(|(name, member)| (name.replace('\0', ""), member))
                        .collect();
                }
                stack.extend(members.values_mut());
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn pointers_name_every_place_in_document_order() {
        let value = json!({
            "values": [{"key": "bio", "value": "a\u{0}b"}, {"key": "x", "value": "fine"}],
            "a/b": {"k\u{0}": 1, "deep": ["\u{0}"]},
        });
        // serde_json's objects keep their members sorted by name.
        assert_eq!(
            nul_pointers(&value, "/input"),
            [
                "/input/a~1b/deep/0",
                "/input/a~1b/k\u{0}",
                "/input/values/0/value"
            ]
        );
        assert!(nul_pointers(&json!({"fine": ["text", 1, null]}), "").is_empty());
    }

    #[test]
    fn the_refusal_is_bad_user_input_naming_each_place() {
        let error = refusal(vec!["/data/a".into(), "/data/b".into()]).unwrap();
        assert_eq!(error.code(), "BAD_USER_INPUT");
        assert!(error.message().starts_with("/data/a contains U+0000"));
        assert!(refusal(Vec::new()).is_none());
    }

    #[test]
    fn strip_cleans_texts_and_names_at_any_depth() {
        let mut value = json!({"given\u{0}name": "Ann\u{0}a", "list": [["x\u{0}"]]});
        strip(&mut value);
        assert_eq!(value, json!({"givenname": "Anna", "list": [["x"]]}));
    }

    #[test]
    fn deep_values_do_not_overflow_the_stack() {
        let deep = (0..100_000).fold(json!("\u{0}"), |inner, _| Value::Array(vec![inner]));
        assert!(holds_nul(&deep));
        // serde_json drops deep values recursively; leak it rather than overflow in the test.
        std::mem::forget(deep);
    }
}
