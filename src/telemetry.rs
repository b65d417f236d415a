//! Logs and traces: log lines (text or JSON) on stderr, and OpenTelemetry traces exported over
//! OTLP/HTTP when a collector is configured. Spans come from the HTTP layer (continuing the
//! caller's W3C `traceparent`), the GraphQL resolvers that do I/O, and SeaORM's statements.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, OtlpProtocol, TelemetryConfig};

/// What logs show without `RUST_LOG`.
const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn,sea_orm=warn,userprofile::graphql::spans=warn,userprofile::graphql::loaders=warn";

/// What traces hold: the service's spans and SeaORM's statement spans (at INFO).
const TRACE_FILTER: &str = "info,sqlx=off,h2=off,hyper=off,reqwest=off,opentelemetry=off";

/// Keeps the trace exporter alive; dropping it flushes the spans not yet sent.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("flushing traces failed: {error}");
        }
    }
}

/// Installs the process-wide subscriber for `config`.
pub fn init(config: &TelemetryConfig) -> anyhow::Result<Telemetry> {
    let logs = EnvFilter::try_from_default_env().unwrap_or_else(|_| DEFAULT_LOG_FILTER.into());
    let lines = match config.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(logs)
            .boxed(),
        // The request span carries `trace_id`, so every line of a request names its trace.
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .with_filter(logs)
            .boxed(),
    };
    let provider = config
        .otlp_endpoint
        .as_deref()
        .map(|endpoint| tracer_provider(endpoint, config))
        .transpose()?;
    let traces = provider.as_ref().map(|provider| {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("userprofile"))
            .with_filter(EnvFilter::new(TRACE_FILTER))
    });
    let subscriber = tracing_subscriber::registry()
        .with(lines)
        .with(crate::metrics::PoolWaitLayer::filtered());
    // Not `.with(Option<layer>)`: an absent layer counts as one enabling everything, so every
    // span of every crate would be built and entered on every request with nobody to read
    // it (a tenth of `me`'s instructions, BENCHMARKS.md, issue 16).
    match traces {
        Some(traces) => subscriber.with(traces).try_init()?,
        None => subscriber.try_init()?,
    }
    Ok(Telemetry { provider })
}

fn tracer_provider(endpoint: &str, config: &TelemetryConfig) -> anyhow::Result<SdkTracerProvider> {
    let endpoint = endpoint.trim_end_matches('/');
    let url = match endpoint.ends_with("/v1/traces") {
        true => endpoint.to_owned(),
        false => format!("{endpoint}/v1/traces"),
    };
    let protocol = match config.otlp_protocol {
        OtlpProtocol::Protobuf => Protocol::HttpBinary,
        OtlpProtocol::Json => Protocol::HttpJson,
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(protocol)
        .with_endpoint(url)
        .build()?;
    let resource = Resource::builder()
        .with_service_name(config.service_name.clone())
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}
