//! The outside services some tests need. Plain `cargo test` skips a test whose peer is not
//! configured, with one line on stderr; scripts/test.sh sets [`REQUIRE_PEERS_VAR`], under which
//! a missing peer fails the test instead.

use std::future::Future;
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::path::Path;

use futures::FutureExt;

/// Set by scripts/test.sh (and so by CI): a test whose peer is missing fails instead of skipping.
pub const REQUIRE_PEERS_VAR: &str = "REQUIRE_TEST_PEERS";

/// An outside service a test needs.
#[derive(Clone, Copy, Debug)]
pub enum Peer {
    /// A PostgreSQL server (`PG_TEST_URL`); each test gets its own database on it.
    Postgres,
    /// The test OpenID provider (`OIDC_ISSUER`, scripts/peers/oidc-provider.mjs).
    Oidc,
    /// An S3 API (`S3_TEST_ENDPOINT`, moto).
    S3,
    /// Headless Chromium (`CHROMIUM`, else /usr/bin/chromium) driven by npm playwright-core.
    Browser,
    /// Node with npm @apollo/gateway and @apollo/subgraph (scripts/peers/install.sh).
    Gateway,
}

/// The panic payload of a test that needs a missing peer; [`skippable`] turns it into a pass.
struct Skipped(Peer);

impl Peer {
    /// Where the peer is. Without it the test stops here: skipped, or failed when peers are
    /// required.
    pub fn require(self) -> String {
        match self.locate() {
            Some(address) => address,
            None if std::env::var_os(REQUIRE_PEERS_VAR).is_some() => panic!(
                "{} is missing: {}; {REQUIRE_PEERS_VAR} is set, so its tests fail instead of skipping",
                self.name(),
                self.how_to_provide()
            ),
            None => std::panic::panic_any(Skipped(self)),
        }
    }

    fn locate(self) -> Option<String> {
        let variable = match self {
            Peer::Postgres => super::POSTGRES_URL_VAR,
            Peer::Oidc => "OIDC_ISSUER",
            Peer::S3 => "S3_TEST_ENDPOINT",
            Peer::Browser => return browser(),
            Peer::Gateway => return gateway(),
        };
        std::env::var(variable)
            .ok()
            .filter(|value| !value.is_empty())
    }

    fn name(self) -> &'static str {
        match self {
            Peer::Postgres => "PostgreSQL",
            Peer::Oidc => "the OpenID provider",
            Peer::S3 => "the S3 server",
            Peer::Browser => "the browser",
            Peer::Gateway => "the Apollo gateway",
        }
    }

    fn how_to_provide(self) -> &'static str {
        match self {
            Peer::Postgres => {
                "PG_TEST_URL is not set (a server URL, e.g. postgres://postgres@127.0.0.1:5432/test)"
            }
            Peer::Oidc => "OIDC_ISSUER is not set (scripts/peers/start-oidc.sh starts one)",
            Peer::S3 => "S3_TEST_ENDPOINT is not set (scripts/peers/start-moto.sh starts one)",
            Peer::Browser => {
                "no Chromium at $CHROMIUM or /usr/bin/chromium, or no playwright-core \
                 (scripts/peers/install-chromium.sh, scripts/peers/install.sh)"
            }
            Peer::Gateway => "no node, or no npm @apollo/gateway (scripts/peers/install.sh)",
        }
    }
}

fn browser() -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let driver = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/peers/node_modules/playwright-core/package.json"
    );
    (Path::new(&chromium).exists() && Path::new(driver).exists()).then_some(chromium)
}

/// The folder of the Node test peers, when node and the gateway packages are installed.
fn gateway() -> Option<String> {
    let peers = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/peers");
    let installed = Path::new(peers).join("node_modules/@apollo/gateway/package.json");
    let node = std::process::Command::new("node").arg("--version").output();
    (installed.exists() && node.is_ok_and(|out| out.status.success())).then(|| peers.to_owned())
}

/// Runs a test body; one that needs a missing peer passes after saying so on stderr (past
/// the test harness's capture, so that it shows).
pub async fn skippable(body: impl Future<Output = ()>) {
    quiet_skips();
    let Err(panic) = AssertUnwindSafe(body).catch_unwind().await else {
        return;
    };
    match panic.downcast::<Skipped>() {
        Ok(skipped) => {
            let peer = skipped.0;
            let test = std::thread::current().name().unwrap_or("a test").to_owned();
            let _ = writeln!(
                std::io::stderr(),
                "skipped {test}: needs {}; {}",
                peer.name(),
                peer.how_to_provide()
            );
        }
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Keeps the panic hook from printing a skip as if it were a failure.
fn quiet_skips() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<Skipped>() {
                report(info);
            }
        }));
    });
}
