//! The checks every GraphQL request passes before async-graphql parses or validates it, on
//! every path into the schema (HTTP, multipart, and any later transport): nesting on the raw
//! text, so the parser never recurses too deep; then one parse, whose document async-graphql
//! reuses; then the fragment expansion bound and the NUL rule on that document. A persisted
//! query (APQ) is checked once, when it is persisted, and its variables on every request.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest,
};
use std::any::TypeId;

use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{ErrorExtensions, Request, ServerError, ServerResult};

use super::persisted::PersistedQueries;
use super::{expansion, nesting, nul_guard};
use crate::config::Limits;

/// The schema extension running the checks (and serving persisted queries, whose documents it
/// keeps checked).
pub struct RequestCheck {
    max_nesting: usize,
    max_fields: usize,
    persisted: PersistedQueries,
}

impl RequestCheck {
    /// Checks under `limits`: nesting as [`nesting::max_nesting`] allows, expansion up to the
    /// complexity limit (a document expanding further could never pass it).
    pub fn new(limits: &Limits) -> Self {
        RequestCheck {
            max_nesting: nesting::max_nesting(limits),
            max_fields: limits.query_complexity,
            persisted: PersistedQueries::new(limits.persisted_queries),
        }
    }
}

impl ExtensionFactory for RequestCheck {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestCheck {
            max_nesting: self.max_nesting,
            max_fields: self.max_fields,
            persisted: self.persisted.clone(),
        })
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for RequestCheck {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let hash = PersistedQueries::requested_hash(&mut request)?;
        let document = match hash {
            Some(hash) if request.query.is_empty() => self.persisted.get(&hash).await?,
            Some(hash) => {
                let document = self.checked(&request.query)?;
                self.persisted
                    .insert(hash, &request.query, &document)
                    .await?;
                document
            }
            None => self.checked(&request.query)?,
        };
        nul_guard::check(&request.variables, &document)?;
        if request.data.contains_key(&TypeId::of::<ReadOnly>()) {
            refuse_mutations(&document)?;
        }
        request.set_parsed_query(document);
        next.run(ctx, request).await
    }
}

impl RequestCheck {
    /// Nesting on the text, then one parse, then the expansion bound.
    fn checked(&self, query: &str) -> ServerResult<ExecutableDocument> {
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
