//! The checks every GraphQL request passes before async-graphql parses or validates it, on
//! every path into the schema (HTTP, multipart, and any later transport): nesting on the raw
//! text, so the parser never recurses too deep; then one parse, whose document async-graphql
//! reuses; then the fragment expansion bound and the NUL rule on that document. A persisted
//! query (APQ) is checked once, when it is persisted, and its variables on every request.
//!
//! A kept text also remembers whether async-graphql's full validation has passed for it
//! ([`Validity`]): for a document that declares no variables no request can change that
//! verdict, so the gate runs it on the schema that skips the rules (BENCHMARKS.md, issue 16).

use std::any::TypeId;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{ErrorExtensions, Request, Response, ServerError, ServerResult, Value};

use super::persisted::PersistedQueries;
use super::{expansion, nesting, nul_guard};
use crate::config::Limits;

/// Most bytes of query text whose checked documents are kept.
const CHECKED_TEXT_BYTES: u64 = 8 * 1024 * 1024;

/// The longest text kept: the queries clients repeat are small; a huge one is checked anew.
const LONGEST_KEPT_TEXT: usize = 64 * 1024;

/// The checks (and persisted queries, whose documents it keeps checked).
#[derive(Clone)]
pub struct RequestCheck {
    max_nesting: usize,
    max_fields: usize,
    persisted: PersistedQueries,
    /// Checked documents by their text: clients send the same few queries again and again,
    /// and cloning a kept document costs a fraction of parsing and checking it.
    checked: moka::sync::Cache<String, Arc<Kept>>,
}

/// A checked document kept by its text, with what is known of its validation.
struct Kept {
    document: ExecutableDocument,
    validity: Arc<Validity>,
}

/// A checked document, ready to run.
pub struct Checked {
    /// The document, for async-graphql to use instead of parsing the text again
    /// (`Request::set_parsed_query`).
    pub document: ExecutableDocument,
    /// What is known of its validation, for a text kept across requests.
    pub validity: Option<Arc<Validity>>,
}

/// Whether the schema's full validation of one document text has passed. Validation is a
/// function of the schema, the document and the variables a document uses (async-graphql's
/// `ArgumentsOfCorrectType` checks them); of a document that declares none, a pass holds for
/// every later request sending the same text.
#[derive(Debug)]
pub struct Validity {
    declares_variables: bool,
    passed: AtomicBool,
}

impl Validity {
    fn of(document: &ExecutableDocument) -> Validity {
        let declares_variables = document
            .operations
            .iter()
            .any(|(_, operation)| !operation.node.variable_definitions.is_empty());
        Validity {
            declares_variables,
            passed: AtomicBool::new(false),
        }
    }

    /// Whether the document is known to pass full validation, whatever the request.
    pub fn known_valid(&self) -> bool {
        self.passed.load(Ordering::Relaxed)
    }

    /// Learns from a fully validated run's `response`: an answer with data passed validation
    /// (async-graphql validates before it executes anything, and a refused document answers
    /// errors only).
    pub fn learn(&self, response: &Response) {
        if !self.declares_variables && matches!(response.data, Value::Object(_)) {
            self.passed.store(true, Ordering::Relaxed);
        }
    }
}

impl RequestCheck {
    /// Checks under `limits`: nesting as [`nesting::max_nesting`] allows, expansion up to the
    /// complexity limit (a document expanding further could never pass it).
    pub fn new(limits: &Limits) -> Self {
        RequestCheck {
            max_nesting: nesting::max_nesting(limits),
            max_fields: limits.query_complexity,
            persisted: PersistedQueries::new(limits.persisted_queries),
            checked: moka::sync::Cache::builder()
                .weigher(|text: &String, _| u32::try_from(text.len()).unwrap_or(u32::MAX))
                .max_capacity(CHECKED_TEXT_BYTES)
                .build(),
        }
    }

    /// Runs the checks on `request`; its checked document.
    pub async fn check(&self, request: &mut Request) -> ServerResult<Checked> {
        let hash = PersistedQueries::requested_hash(request)?;
        let checked = match hash {
            Some(hash) if request.query.is_empty() => Checked {
                document: self.persisted.get(&hash).await?,
                validity: None,
            },
            Some(hash) => {
                let checked = self.checked(&request.query)?;
                self.persisted
                    .insert(hash, &request.query, &checked.document)
                    .await?;
                checked
            }
            None => self.checked(&request.query)?,
        };
        nul_guard::check(&request.variables, &checked.document)?;
        if request.data.contains_key(&TypeId::of::<ReadOnly>()) {
            refuse_mutations(&checked.document)?;
        }
        Ok(checked)
    }

    /// The checked document of `query`, kept from an earlier request when it was checked.
    fn checked(&self, query: &str) -> ServerResult<Checked> {
        if let Some(kept) = self.checked.get(query) {
            return Ok(Checked {
                document: kept.document.clone(),
                validity: Some(kept.validity.clone()),
            });
        }
        let document = self.parsed_and_checked(query)?;
        if query.len() > LONGEST_KEPT_TEXT {
            return Ok(Checked {
                document,
                validity: None,
            });
        }
        let validity = Arc::new(Validity::of(&document));
        let kept = Kept {
            document: document.clone(),
            validity: validity.clone(),
        };
        self.checked.insert(query.to_owned(), Arc::new(kept));
        Ok(Checked {
            document,
            validity: Some(validity),
        })
    }

    /// Nesting on the text, then one parse, then the expansion bound.
    fn parsed_and_checked(&self, query: &str) -> ServerResult<ExecutableDocument> {
        if let Err((error, pos)) = nesting::check(query, self.max_nesting) {
            return Err(async_graphql::Error::from(error).into_server_error(pos));
        }
        let document = async_graphql::parser::parse_query(query).map_err(ServerError::from)?;
        expansion::check(&document, self.max_fields)?;
        Ok(document)
    }
}

/// Marks a request that may only read (one sent with `GET`, which caches and links may
/// repeat): its mutations are refused.
pub struct ReadOnly;

fn refuse_mutations(document: &ExecutableDocument) -> ServerResult<()> {
    let mutates = document
        .operations
        .iter()
        .any(|(_, operation)| operation.node.ty == OperationType::Mutation);
    match mutates {
        false => Ok(()),
        true => Err(
            async_graphql::Error::new("mutations must be sent with POST")
                .extend_with(|_, e| e.set("code", "BAD_USER_INPUT"))
                .into_server_error(Default::default()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_text_is_checked_once_and_its_document_kept() {
        let check = RequestCheck::new(&Limits::default());
        let query = "query Me { me { id } }";
        let first = check
            .check(&mut Request::new(query))
            .await
            .expect("a valid query");
        check.checked.run_pending_tasks();
        assert_eq!(check.checked.entry_count(), 1);
        let again = check.check(&mut Request::new(query)).await.expect("kept");
        assert_eq!(
            format!("{:?}", again.document),
            format!("{:?}", first.document)
        );
        // What depends on the request, not the text, is checked every time.
        let read_only = Request::new("mutation { leaveTenant(tenant: \"a\") }").data(ReadOnly);
        check
            .check(&mut Request::new("mutation { leaveTenant(tenant: \"a\") }"))
            .await
            .expect("a mutation by POST");
        assert!(check.check(&mut { read_only }).await.is_err());
        // A refused text is not kept.
        let deep = format!("{{ me {} }}", "{ a ".repeat(500) + &"}".repeat(500));
        assert!(check.check(&mut Request::new(deep.as_str())).await.is_err());
        check.checked.run_pending_tasks();
        assert_eq!(check.checked.entry_count(), 2);
    }

    fn answered(data: Value) -> Response {
        Response::new(data)
    }

    fn some_data() -> Value {
        let mut me = async_graphql::indexmap::IndexMap::new();
        me.insert(async_graphql::Name::new("me"), Value::Null);
        Value::Object(me)
    }

    #[tokio::test]
    async fn a_text_is_known_valid_once_answered_with_data_and_only_without_variables() {
        let check = RequestCheck::new(&Limits::default());
        let validity = |query: &str| {
            let check = check.clone();
            let query = query.to_owned();
            async move {
                let checked = check
                    .check(&mut Request::new(query))
                    .await
                    .expect("checked");
                checked.validity.expect("a kept text has a validity")
            }
        };
        let plain = validity("{ me { id } }").await;
        assert!(!plain.known_valid(), "nothing is known before a run");
        // A refused document answers errors and no data: nothing learnt.
        plain.learn(&Response::from_errors(vec![ServerError::new(
            "refused", None,
        )]));
        assert!(!plain.known_valid());
        plain.learn(&answered(Value::Null));
        assert!(!plain.known_valid());
        plain.learn(&answered(some_data()));
        assert!(plain.known_valid());
        assert!(
            validity("{ me { id } }").await.known_valid(),
            "kept with the text"
        );

        // Variables can make the same text invalid (a value of the wrong type): never skipped.
        let with_variables = validity("query($n: Int) { me { id } }").await;
        with_variables.learn(&answered(some_data()));
        assert!(!with_variables.known_valid());
        // Persisted documents and texts too long to keep are validated every time.
        let long = format!("{{ me {{ id }} }}{}", " ".repeat(LONGEST_KEPT_TEXT));
        let checked = check.check(&mut Request::new(long)).await.expect("checked");
        assert!(checked.validity.is_none());
    }
}
