//! PostgreSQL stopped and started under a load of reads and writes, on the test's own
//! cluster: every answer meanwhile is a success or 503 `UNAVAILABLE` with `Retry-After`,
//! `/readyz` says not ready, the service recovers by itself, no acknowledged write is lost and
//! no write is half done.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{Backend, Peer, TestApp};

/// A throwaway PostgreSQL cluster in a temporary folder, run as the `postgres` user when the
/// test runs as root (PostgreSQL refuses to run as root).
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn create() -> Cluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|versions| versions.flatten().map(|v| v.path().join("bin")).max())
            .filter(|bin| bin.join("initdb").exists())
            .expect("the PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are installed");
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        if rustix::process::geteuid().is_root() {
            let postgres = owner_ids("postgres");
            std::os::unix::fs::chown(dir.path(), Some(postgres.0), Some(postgres.1)).unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Cluster {
            bin,
            data,
            port,
            _dir: dir,
        };
        let data = cluster.data.display().to_string();
        cluster.run("initdb", &["-D", &data, "-U", "postgres", "--auth=trust"]);
        cluster.start();
        cluster
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn start(&self) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={}",
            self.port,
            self.data.display()
        );
        let log = self
            .data
            .with_file_name("postgres.log")
            .display()
            .to_string();
        let data = self.data.display().to_string();
        self.run(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-w", "-o", &options, "start"],
        );
    }

    fn stop(&self) {
        let data = self.data.display().to_string();
        self.run("pg_ctl", &["-D", &data, "-w", "-m", "fast", "stop"]);
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let mut command = if rustix::process::geteuid().is_root() {
            let mut command = std::process::Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            std::process::Command::new(&program)
        };
        let output = command.args(args).output().unwrap();
        assert!(
            output.status.success(),
            "{tool} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data.display().to_string();
        let _ = std::process::Command::new(self.bin.join("pg_ctl"))
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
        if rustix::process::geteuid().is_root() {
            let _ = std::process::Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"))
                .args(["-D", &data, "-m", "immediate", "stop"])
                .output();
        }
    }
}

/// The uid and gid of `user`, from /etc/passwd.
fn owner_ids(user: &str) -> (u32, u32) {
    let passwd = std::fs::read_to_string(Path::new("/etc/passwd")).unwrap();
    let fields: Vec<&str> = passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields[0] == user)
        .unwrap_or_else(|| panic!("no user {user}"));
    (fields[2].parse().unwrap(), fields[3].parse().unwrap())
}

const SAVE: &str = "mutation($n: Int!) { updateMyProfile(input: {values: [{key: \"left\", value: $n}, {key: \"right\", value: $n}]}) { version } }";
const READ: &str = "{ me { profile { left: value(key: \"left\") { integer } right: value(key: \"right\") { integer } } } }";

/// What one writer saw: the last value the service acknowledged, and every refusal.
#[derive(Default)]
struct Writer {
    acknowledged: i64,
    unavailable: usize,
}

/// Posts `query` and returns whether it succeeded; a failure must be 503 `UNAVAILABLE` with
/// `Retry-After`, nothing else.
async fn succeeds(app: &TestApp, token: &str, query: &str, variables: Value) -> bool {
    let response = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .bearer_auth(token)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response.headers().contains_key("retry-after");
    let body: Value = response.json().await.unwrap();
    if body.get("errors").is_none() {
        return true;
    }
    assert_eq!(
        (
            status,
            body["errors"][0]["extensions"]["code"].as_str(),
            retry_after
        ),
        (503, Some("UNAVAILABLE"), true),
        "{body}"
    );
    false
}

/// Saves 1, 2, 3, … (both fields alike) until `stop`.
async fn write_until(app: &TestApp, token: &str, stop: &AtomicBool) -> Writer {
    let mut writer = Writer::default();
    while !stop.load(Ordering::Relaxed) {
        let next = writer.acknowledged + 1;
        if succeeds(app, token, SAVE, json!({ "n": next })).await {
            writer.acknowledged = next;
        } else {
            writer.unavailable += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    writer
}

/// Reads the card until `stop`.
async fn read_until(app: &TestApp, token: &str, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        if !succeeds(app, token, READ, json!({})).await {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarting_under_load_loses_no_acknowledged_write() {
    crate::common::skippable(async {
        Peer::Postgres.require();
        let cluster = Cluster::create();
        let url = cluster.url();
        let app = Arc::new(
            TestApp::spawn_with(Backend::Postgres, move |config| {
                config.database_url = url;
                config.limits.statement_seconds = 5;
            })
            .await,
        );
        let admin = app.user_token("ada", &[("acme", "admin")]);
        for key in ["left", "right"] {
            let input = json!({"key": key, "kind": "INTEGER", "labels": []});
            app.ok(&admin, crate::fields::CREATE, json!({ "input": input }))
                .await;
        }
        let tokens: Vec<String> = (0..4)
            .map(|i| app.user_token(&format!("writer{i}"), &[("acme", "member")]))
            .collect();
        for token in &tokens {
            app.user_id(token).await;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = tokens
            .iter()
            .map(|token| {
                let (app, token, stop) = (app.clone(), token.clone(), stop.clone());
                tokio::spawn(async move { write_until(&app, &token, &stop).await })
            })
            .collect();
        let readers: Vec<_> = tokens
            .iter()
            .map(|token| {
                let (app, token, stop) = (app.clone(), token.clone(), stop.clone());
                tokio::spawn(async move { read_until(&app, &token, &stop).await })
            })
            .collect();

        tokio::time::sleep(Duration::from_millis(500)).await;
        cluster.stop();
        let ready = app
            .client
            .get(format!("{}/readyz", app.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status().as_u16(), 503);
        tokio::time::sleep(Duration::from_secs(1)).await;
        cluster.start();
        let back = Instant::now();
        let mut recovered = None;
        while back.elapsed() < Duration::from_secs(30) {
            let ready = app
                .client
                .get(format!("{}/readyz", app.base_url))
                .send()
                .await
                .unwrap();
            if ready.status() == 200 {
                recovered = Some(back.elapsed());
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let recovered = recovered.expect("the service recovers without a restart");
        eprintln!("ready again {recovered:?} after PostgreSQL started");
        tokio::time::sleep(Duration::from_millis(500)).await;
        stop.store(true, Ordering::Relaxed);

        for reader in readers {
            reader.await.unwrap();
        }
        let mut refused = 0;
        for (writer, token) in writers.into_iter().zip(&tokens) {
            let writer = writer.await.unwrap();
            refused += writer.unavailable;
            let card = app.ok(token, READ, json!({})).await;
            let left = card["me"]["profile"]["left"]["integer"].as_i64().unwrap();
            let right = card["me"]["profile"]["right"]["integer"].as_i64().unwrap();
            assert_eq!(left, right, "a save is never half done");
            // The last save may have committed without its answer arriving.
            assert!(
                left == writer.acknowledged || left == writer.acknowledged + 1,
                "acknowledged {}, stored {left}",
                writer.acknowledged
            );
        }
        assert!(refused > 0, "the outage was seen");
    })
    .await
}
