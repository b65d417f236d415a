//! The checks every GraphQL request passes before async-graphql parses or validates it, on
//! every path into the schema (HTTP, multipart, and any later transport): nesting on the raw
//! text, so the parser never recurses too deep; then one parse, whose document async-graphql
//! reuses; then the fragment expansion bound and the NUL rule on that document.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest,
};
use async_graphql::{Request, ServerError, ServerResult};

use super::{expansion, nesting, nul_guard};
use crate::config::Limits;

/// The schema extension running the checks.
pub struct RequestCheck {
    max_nesting: usize,
    max_fields: usize,
}

impl RequestCheck {
    /// Checks under `limits`: nesting as [`nesting::max_nesting`] allows, expansion up to the
    /// complexity limit (a document expanding further could never pass it).
    pub fn new(limits: &Limits) -> Self {
        RequestCheck {
            max_nesting: nesting::max_nesting(limits),
            max_fields: limits.query_complexity,
        }
    }
}

impl ExtensionFactory for RequestCheck {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestCheck {
            max_nesting: self.max_nesting,
            max_fields: self.max_fields,
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
        if let Err((error, pos)) = nesting::check(&request.query, self.max_nesting) {
            return Err(async_graphql::Error::from(error).into_server_error(pos));
        }
        let document =
            async_graphql::parser::parse_query(&request.query).map_err(ServerError::from)?;
        expansion::check(&document, self.max_fields)?;
        nul_guard::check(&request.variables, &document)?;
        request.set_parsed_query(document);
        next.run(ctx, request).await
    }
}
