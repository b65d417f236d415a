//! The service's connections to PostgreSQL, seen from the operating system.

use std::net::SocketAddr;
use std::os::fd::OwnedFd;

use rustix::process::{PidfdFlags, PidfdGetfdFlags, getpid, pidfd_getfd, pidfd_open};
use serde_json::json;

use crate::common::{Backend, POSTGRES_URL_VAR, TestApp};
use crate::peer_test;

peer_test!(postgres_connections_send_without_delay);
/// Nagle's algorithm would hold back the tail of every message larger than one TCP segment
/// until PostgreSQL's delayed ACK, 40 ms later (sqlx-core 0.9.0 stopped disabling it; the
/// patched copy in vendor/ disables it again). Every connection this test process holds to the
/// PostgreSQL server, the service's pool included, must have TCP_NODELAY set.
async fn postgres_connections_send_without_delay() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let token = app.user_token("nagle", &[("acme", "member")]);
    app.ok(&token, "{ me { id } }", json!({})).await;

    let server = postgres_server_port();
    let connections: Vec<(SocketAddr, bool)> = own_tcp_sockets()
        .into_iter()
        .filter(|(peer, _)| peer.port() == server)
        .collect();
    assert!(
        !connections.is_empty(),
        "found no connection to PostgreSQL's port {server}"
    );
    let delayed: Vec<&SocketAddr> = connections
        .iter()
        .filter(|(_, no_delay)| !no_delay)
        .map(|(peer, _)| peer)
        .collect();
    assert!(
        delayed.is_empty(),
        "{} of {} connections to PostgreSQL lack TCP_NODELAY: {delayed:?}",
        delayed.len(),
        connections.len()
    );
}

fn postgres_server_port() -> u16 {
    let url = std::env::var(POSTGRES_URL_VAR).unwrap();
    reqwest::Url::parse(&url)
        .unwrap()
        .port_or_known_default()
        .unwrap_or(5432)
}

/// Every connected TCP socket of this process: its peer and whether TCP_NODELAY is set. Each
/// descriptor is duplicated through a pidfd (no unsafe code); one closed meanwhile is skipped.
fn own_tcp_sockets() -> Vec<(SocketAddr, bool)> {
    let this_process = pidfd_open(getpid(), PidfdFlags::empty()).unwrap();
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|number| pidfd_getfd(&this_process, number, PidfdGetfdFlags::empty()).ok())
        .filter_map(|fd| tcp_peer(&fd))
        .collect()
}

fn tcp_peer(fd: &OwnedFd) -> Option<(SocketAddr, bool)> {
    let peer = SocketAddr::try_from(rustix::net::getpeername(fd).ok()??).ok()?;
    let no_delay = rustix::net::sockopt::tcp_nodelay(fd).ok()?;
    Some((peer, no_delay))
}
