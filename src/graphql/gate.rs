//! The gate in front of a schema, which every GraphQL request passes on every path into it
//! (POST, GET, multipart, WebSocket subscriptions, the compatibility schema): the document
//! checks (see [`RequestCheck`]), the budgets of costly operations, then the run itself,
//! in the operation's span, timed into the operation metrics.
//!
//! A wrapper around the executor rather than schema extensions: with any extension at all,
//! async-graphql sends every field and list item of every answer through the extension
//! chain, which cost `me` (30 values) a large share of its time (BENCHMARKS.md).

use std::any::{Any, TypeId};
use std::sync::Arc;
use std::time::Instant;

use async_graphql::futures_util::stream::{self, BoxStream, StreamExt};
use async_graphql::{
    Data, Executor, ObjectType, Request, Response, Schema, ServerResult, SubscriptionType,
};
use tracing::Instrument;

use super::operation_metrics::{self, Operation};
use super::request_check::RequestCheck;
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

    /// Checks `request` and spends its costs; the operation it will run.
    async fn admit(
        &self,
        request: &mut Request,
        session_data: Option<&Data>,
    ) -> ServerResult<Operation> {
        let document = self.check.check(request).await?;
        if let Some(limiter) = &self.limiter
            && let Some(session) =
                session_of(&request.data).or_else(|| session_data.and_then(session_of))
            && let Ok(caller) = session.caller()
        {
            cost_budget::spend(limiter, &caller, &document)?;
        }
        let operation = operation_metrics::picked(&document, request.operation_name.as_deref());
        request.set_parsed_query(document);
        Ok(operation)
    }
}

fn session_of(data: &Data) -> Option<&Session> {
    data.get(&TypeId::of::<Session>())
        .and_then(|held| (held.as_ref() as &dyn Any).downcast_ref())
}

/// A schema behind its gate.
pub struct Gated<Q, M, S> {
    schema: Schema<Q, M, S>,
    gate: Arc<Gate>,
}

impl<Q, M, S> Clone for Gated<Q, M, S> {
    fn clone(&self) -> Self {
        Gated {
            schema: self.schema.clone(),
            gate: self.gate.clone(),
        }
    }
}

impl<Q, M, S> Gated<Q, M, S> {
    /// `schema` behind `gate`.
    pub fn new(schema: Schema<Q, M, S>, gate: Gate) -> Self {
        Gated {
            schema,
            gate: Arc::new(gate),
        }
    }

    /// The schema itself (its SDL, say).
    pub fn schema(&self) -> &Schema<Q, M, S> {
        &self.schema
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
            Ok(operation) => {
                let span = spans::operation_span(&operation);
                (
                    self.schema.execute(request).instrument(span).await,
                    operation,
                )
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
