//! Bounds how many fields a document expands to once its fragment spreads are inlined.
//!
//! A kilobyte of fragments that each spread the next one twice expands to 2^n fields, and
//! async-graphql's validation walks every expansion on a runtime worker: 25 such fragments
//! held a worker for over 30 seconds. Counted here with one memoised pass per fragment, in
//! time linear in the document, before validation runs (and before async-graphql's own recursion-depth check, which walks every
//! expansion too); a document that expands to more
//! fields than the complexity limit allows could never pass that limit anyway.

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, ServerError, ServerResult};

/// Refuses a document with an operation that expands past `max_fields` fields.
pub fn check(document: &ExecutableDocument, max_fields: usize) -> ServerResult<()> {
    for (_, operation) in document.operations.iter() {
        let fields = Expansion::new(document).count(&operation.node.selection_set.node);
        if fields > max_fields {
            let message = format!(
                "the operation expands to more than {max_fields} fields once its fragments are \
                 inlined; spread fragments fewer times"
            );
            return Err(ServerError::new(message, Some(operation.pos)));
        }
    }
    Ok(())
}

/// Expanded sizes, memoised per fragment. A fragment that spreads itself (directly or not)
/// counts as empty here; validation refuses such a document with its own message.
struct Expansion<'a> {
    document: &'a ExecutableDocument,
    sizes: HashMap<&'a Name, usize>,
    visiting: Vec<&'a Name>,
}

impl<'a> Expansion<'a> {
    fn new(document: &'a ExecutableDocument) -> Self {
        Expansion {
            document,
            sizes: HashMap::new(),
            visiting: Vec::new(),
        }
    }

    /// Fields in `set` with every spread inlined (saturating, so it never overflows).
    fn count(&mut self, set: &'a SelectionSet) -> usize {
        set.items.iter().fold(0usize, |total, item| {
            let size = match &item.node {
                Selection::Field(field) => {
                    1usize.saturating_add(self.count(&field.node.selection_set.node))
                }
                Selection::InlineFragment(inline) => self.count(&inline.node.selection_set.node),
                Selection::FragmentSpread(spread) => self.fragment(&spread.node.fragment_name.node),
            };
            total.saturating_add(size)
        })
    }

    fn fragment(&mut self, name: &'a Name) -> usize {
        if let Some(size) = self.sizes.get(name) {
            return *size;
        }
        let Some(fragment) = self.document.fragments.get(name) else {
            return 0;
        };
        if self.visiting.contains(&name) {
            return 0;
        }
        self.visiting.push(name);
        let size = self.count(&fragment.node.selection_set.node);
        self.visiting.pop();
        self.sizes.insert(name, size);
        size
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn expanded(query: &str) -> usize {
        let document = async_graphql::parser::parse_query(query).unwrap();
        let (_, operation) = document.operations.iter().next().unwrap();
        Expansion::new(&document).count(&operation.node.selection_set.node)
    }

    /// `n` fragments, each spreading the next one twice: 2^(n-1) leaves.
    fn doubling(n: usize) -> String {
        let fragments: Vec<String> = (0..n)
            .map(|i| {
                let body = if i + 1 < n {
                    format!("...F{next} ...F{next}", next = i + 1)
                } else {
                    "__typename".to_owned()
                };
                format!("fragment F{i} on Query {{ {body} }}")
            })
            .collect();
        format!("query {{ ...F0 }} {}", fragments.join(" "))
    }

    #[test]
    fn counts_fields_with_spreads_inlined() {
        assert_eq!(expanded("{ a b { c d } }"), 4);
        assert_eq!(expanded("{ ...F ...F } fragment F on Q { a b }"), 4);
        assert_eq!(expanded("{ ... on Q { a } }"), 1);
        assert_eq!(expanded(&doubling(11)), 1024);
    }

    #[test]
    fn a_doubling_chain_is_counted_at_once_and_saturates() {
        assert_eq!(expanded(&doubling(200)), usize::MAX);
    }

    #[test]
    fn a_fragment_cycle_ends_the_count() {
        assert_eq!(
            expanded("{ ...A } fragment A on Q { a ...B } fragment B on Q { ...A }"),
            1
        );
    }
}
