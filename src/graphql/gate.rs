//! The gate in front of a schema, which every GraphQL request passes on every path into it
//! (POST, GET, multipart, WebSocket subscriptions, the compatibility schema): the document
//! checks (see [`RequestCheck`]), the budgets of costly operations, then the run itself,
//! in the operation's span, timed into the operation metrics.
//!
//! A wrapper around the executor rather than schema extensions: with any extension at all,
//! async-graphql sends every field and list item of every answer through the extension
//! chain, which cost `me` (30 values) a large share of its time (BENCHMARKS.md).
//!
//! The schema is built twice, alike but for the validation mode: a document known to pass
//! full validation whatever the request ([`Validity`]) runs on the one that skips the rules
//! (async-graphql's `ValidationMode::Fast` still bounds depth and complexity); every other
//! document runs on the fully validating one, which teaches its [`Validity`].

use std::any::{Any, TypeId};
use std::sync::Arc;
use std::time::Instant;

use async_graphql::futures_util::stream::{self, BoxStream, StreamExt};
use async_graphql::{
    Data, Executor, ObjectType, Request, Response, Schema, ServerResult, SubscriptionType,
    ValidationMode,
};
use tracing::Instrument;

use super::operation_metrics::{self, Operation};
use super::request_check::{RequestCheck, Validity};
use super::{cost_budget, spans};
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::session::Session;

/// What every request is checked and counted by.
pub struct Gate {
    check: RequestCheck,
    /// Costly-operation budgets; `None` where no operation is costly (the compatibility
    /// schema).
    limiter: Option<Arc<RateLimiter>>,
    metrics: Arc<Metrics>,
}

impl Gate {
    /// A gate checking with `check`, spending from `limiter`, counting into `metrics`.
    pub fn new(
        check: RequestCheck,
        limiter: Option<Arc<RateLimiter>>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Gate {
            check,
            limiter,
            metrics,
        }
    }

    /// Checks `request` and spends its costs; the operation it will run, and what is known of
    /// its document's validation.
    async fn admit(
        &self,
        request: &mut Request,
        session_data: Option<&Data>,
    ) -> ServerResult<(Operation, Option<Arc<Validity>>)> {
        let checked = self.check.check(request).await?;
        let document = checked.document;
        if let Some(limiter) = &self.limiter
            && let Some(session) =
                session_of(&request.data).or_else(|| session_data.and_then(session_of))
            && let Ok(caller) = session.caller()
        {
            cost_budget::spend(limiter, &caller, &document)?;
        }
        let operation = operation_metrics::picked(&document, request.operation_name.as_deref());
        request.set_parsed_query(document);
        Ok((operation, checked.validity))
    }
}

fn session_of(data: &Data) -> Option<&Session> {
    data.get(&TypeId::of::<Session>())
        .and_then(|held| (held.as_ref() as &dyn Any).downcast_ref())
}

/// A schema behind its gate.
pub struct Gated<Q, M, S> {
    /// The schema validating every document fully.
    schema: Schema<Q, M, S>,
    /// The same schema skipping the validation rules, for documents known to pass them.
    validated: Schema<Q, M, S>,
    gate: Arc<Gate>,
}

impl<Q, M, S> Clone for Gated<Q, M, S> {
    fn clone(&self) -> Self {
        Gated {
            schema: self.schema.clone(),
            validated: self.validated.clone(),
            gate: self.gate.clone(),
        }
    }
}

impl<Q, M, S> Gated<Q, M, S> {
    /// The schema `build` makes for a validation mode, behind `gate`.
    pub fn new(build: impl Fn(ValidationMode) -> Schema<Q, M, S>, gate: Gate) -> Self {
        Gated {
            schema: build(ValidationMode::Strict),
            validated: build(ValidationMode::Fast),
            gate: Arc::new(gate),
        }
    }

    /// The schema itself (its SDL, say).
    pub fn schema(&self) -> &Schema<Q, M, S> {
        &self.schema
    }
}

impl<Q, M, S> Gated<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    /// Runs an admitted request, skipping the validation rules where its document is known
    /// to pass them, else learning whether it does.
    async fn run(&self, request: Request, validity: Option<Arc<Validity>>) -> Response {
        match validity {
            Some(validity) if validity.known_valid() => self.validated.execute(request).await,
            Some(validity) => {
                let response = self.schema.execute(request).await;
                validity.learn(&response);
                response
            }
            None => self.schema.execute(request).await,
        }
    }
}

impl<Q, M, S> Executor for Gated<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    async fn execute(&self, mut request: Request) -> Response {
        let started = Instant::now();
        let (mut response, operation) = match self.gate.admit(&mut request, None).await {
            Ok((operation, validity)) => {
                let span = spans::operation_span(&operation);
                let response = self.run(request, validity).instrument(span).await;
                (response, operation)
            }
            Err(refused) => (
                Response::from_errors(vec![refused]),
                operation_metrics::UNKNOWN,
            ),
        };
        super::ensure_error_codes(&mut response);
        operation_metrics::record(&self.gate.metrics, &operation, started.elapsed(), &response);
        response
    }

    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let gated = self.clone();
        stream::once(async move {
            match gated
                .gate
                .admit(&mut request, session_data.as_deref())
                .await
            {
                Ok(_) => gated
                    .schema
                    .execute_stream_with_session_data(request, session_data.unwrap_or_default()),
                Err(refused) => {
                    let mut response = Response::from_errors(vec![refused]);
                    super::ensure_error_codes(&mut response);
                    stream::once(async move { response }).boxed()
                }
            }
        })
        .flatten()
        .boxed()
    }
}
