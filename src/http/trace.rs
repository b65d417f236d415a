//! The span of each HTTP request: named by its route, continuing the caller's W3C
//! `traceparent` when traces are exported, and carrying the `trace_id` that JSON log lines
//! show.

use axum::extract::{MatchedPath, Request};
use axum::response::Response;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_http::HeaderExtractor;
use tracing::Span;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Opens the span of `request` (a `TraceLayer` `make_span_with`).
pub fn request_span(request: &Request) -> Span {
    let method = request.method().as_str();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let span = tracing::info_span!(
        "request",
        otel.name = format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = method,
        http.route = route,
        http.response.status_code = Empty,
        trace_id = Empty,
    );
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(request.headers()))
    });
    // Fails only without an OpenTelemetry layer, when there is no trace to continue.
    let _ = span.set_parent(parent);
    let context = span.context();
    let trace = context.span().span_context().trace_id();
    if trace != opentelemetry::trace::TraceId::INVALID {
        span.record("trace_id", trace.to_string());
    }
    span
}

/// Records the answer's status on the request's span (a `TraceLayer` `on_response`).
pub fn record_status(response: &Response, latency: std::time::Duration, span: &Span) {
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    tracing::debug!(status, latency_ms = latency.as_millis(), "answered");
}
