//! `/graphql/ws`: GraphQL subscriptions over WebSocket (the graphql-ws protocol, and the older
//! subscriptions-transport-ws). The client signs in with `connection_init`, whose payload
//! carries what HTTP headers carry: `{"authorization": "Bearer <token>", "tenant": "acme"}`.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::Data;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use serde_json::Value;

use crate::AppState;
use crate::error::Error;
use crate::graphql::live::{ConnectionSlots, TokenExpiry};

/// Read buffer of one connection: a `subscribe` message fits, larger ones grow it.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// Upgrades to a GraphQL WebSocket connection.
pub async fn graphql_ws(
    State(state): State<Arc<AppState>>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let idle = Duration::from_secs(state.config.live.idle_seconds);
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        // Messages here are small; tungstenite's defaults (128 KiB read buffer, 64 MiB
        // messages) would cost 125 KiB per idle connection and let one client send huge
        // documents.
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_message_size(state.config.limits.body_bytes)
        .max_frame_size(state.config.limits.body_bytes)
        .on_upgrade(move |socket| {
            let schema = state.schema.clone();
            GraphQLWebSocket::new(socket, schema, protocol)
                .on_connection_init(move |payload| connection_init(state, payload))
                .keepalive_timeout(idle)
                .serve()
        })
}

/// Signs the connection in, as a request with the payload's headers would be; a refused
/// token closes the connection with code 1002 and the error's message as its reason
/// (async-graphql's close for a failed `connection_init`; graphql-ws suggests 4403).
async fn connection_init(state: Arc<AppState>, payload: Value) -> async_graphql::Result<Data> {
    let headers = headers_of(&payload)?;
    let session = super::session(&state, &headers).await?;
    state.limiter.admit(&session.caller()?)?;
    let mut data = Data::default();
    if let Some(token) = super::bearer_token(&headers)? {
        let verified = state.auth.verify(token).await?;
        // The moment HTTP requests with this token start to be refused, leeway included.
        let lifetime = &verified.lifetime;
        data.insert(TokenExpiry(
            lifetime.expires_at.saturating_add(lifetime.leeway),
        ));
    }
    data.insert(session);
    data.insert(Arc::new(ConnectionSlots::default()));
    Ok(data)
}

/// The `Authorization` and `X-Tenant-Id` a `connection_init` payload stands for: keys
/// `authorization` (or a bare `token`) and `tenant`, in any letter case.
fn headers_of(payload: &Value) -> Result<HeaderMap, Error> {
    let field = |names: &[&str]| {
        payload.as_object().and_then(|object| {
            object
                .iter()
                .find(|(key, _)| names.iter().any(|name| key.eq_ignore_ascii_case(name)))
                .and_then(|(_, value)| value.as_str())
        })
    };
    let value = |text: &str| {
        HeaderValue::from_str(text)
            .map_err(|_| Error::bad_input("the connection_init payload holds unusable text"))
    };
    let mut headers = HeaderMap::new();
    if let Some(authorization) = field(&["authorization"]) {
        headers.insert(header::AUTHORIZATION, value(authorization)?);
    } else if let Some(token) = field(&["token"]) {
        headers.insert(header::AUTHORIZATION, value(&format!("Bearer {token}"))?);
    }
    if let Some(tenant) = field(&["tenant", "x-tenant-id"]) {
        headers.insert(super::TENANT_HEADER, value(tenant)?);
    }
    Ok(headers)
}
