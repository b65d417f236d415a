//! Costly operations spend their own rate-limit budgets, decided from the document: a bulk
//! write (`createAppProfiles`) the bulk budget, a field given a `search` argument the search
//! budget. Checked once the document is parsed, before anything runs.

use async_graphql::ServerResult;
use async_graphql::parser::types::{ExecutableDocument, Selection};

use crate::metrics::Budget;
use crate::ratelimit::{Caller, RateLimiter};

/// The top-level fields that are bulk writes.
const BULK_FIELDS: &[&str] = &["createAppProfiles"];

/// Spends from `limiter` what `document` costs `caller`; RATE_LIMITED past a budget.
pub fn spend(
    limiter: &RateLimiter,
    caller: &Caller,
    document: &ExecutableDocument,
) -> ServerResult<()> {
    for budget in budgets(document) {
        limiter.spend_costly(budget, caller).map_err(|error| {
            async_graphql::Error::from(error).into_server_error(Default::default())
        })?;
    }
    Ok(())
}

/// The costly budgets the document's operations spend (each at most once).
fn budgets(document: &ExecutableDocument) -> Vec<Budget> {
    let mut bulk = false;
    let mut search = false;
    for (_, operation) in document.operations.iter() {
        for selection in &operation.node.selection_set.node.items {
            let Selection::Field(field) = &selection.node else {
                continue;
            };
            let field = &field.node;
            bulk |= BULK_FIELDS.contains(&field.name.node.as_str());
            search |= field
                .arguments
                .iter()
                .any(|(name, _)| name.node.as_str() == "search");
        }
    }
    [(bulk, Budget::bulk), (search, Budget::search)]
        .into_iter()
        .filter_map(|(spent, budget)| spent.then_some(budget))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(query: &str) -> Vec<Budget> {
        budgets(&async_graphql::parser::parse_query(query).expect("a valid document"))
    }

    #[test]
    fn costly_fields_are_found_in_the_document() {
        assert_eq!(of("{ me { id } }"), vec![]);
        assert_eq!(
            of("mutation { createAppProfiles(profiles: []) { created } }"),
            vec![Budget::bulk]
        );
        assert_eq!(
            of("{ profiles(search: \"zoe\") { totalCount } }"),
            vec![Budget::search]
        );
        assert_eq!(
            of(
                "query A { profiles(search: $s) { totalCount } } mutation B { createAppProfiles(profiles: []) { created } }"
            ),
            vec![Budget::bulk, Budget::search]
        );
        // Aliases do not hide a field.
        assert_eq!(
            of("mutation { x: createAppProfiles(profiles: []) { created } }"),
            vec![Budget::bulk]
        );
    }
}
