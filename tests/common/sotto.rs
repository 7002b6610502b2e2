//! `sotto serve` as a child process on free ports, with its own data directory.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::http::{self, HttpResponse};
use super::ports;

/// The binary under test, built by cargo for the integration tests.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_sotto")
}

/// How long `serve` may take to answer `/healthz` after it is spawned.
const READY_LIMIT: Duration = Duration::from_secs(20);

/// A running `sotto serve`; killed (by PID) and reaped on drop.
pub struct Sotto {
    child: Child,
    /// SIP, UDP and TCP.
    pub sip: SocketAddr,
    pub http: SocketAddr,
    /// The RTP port range given with `--rtp-ports`, inclusive.
    pub rtp: (u16, u16),
    dir: tempfile::TempDir,
    log: PathBuf,
}

impl Sotto {
    /// Starts `sotto serve` with the default (embedded) configuration and waits until it
    /// answers `GET /healthz` with 200.
    pub fn start() -> Sotto {
        Self::start_with(&[])
    }

    /// As [`Sotto::start`], with extra arguments after `serve`'s own.
    pub fn start_with(extra: &[&str]) -> Sotto {
        let dir = tempfile::Builder::new()
            .prefix("sotto-test-")
            .tempdir()
            .expect("temp dir");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        let log = dir.path().join("serve.log");
        let sip: SocketAddr = ([127, 0, 0, 1], ports::free_port()).into();
        let http: SocketAddr = ([127, 0, 0, 1], ports::free_port()).into();
        let rtp = ports::free_range(100);
        let out = File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(binary())
            .arg("serve")
            .args(["--sip-listen", &sip.to_string()])
            .args(["--http-listen", &http.to_string()])
            .args(["--rtp-ports", &format!("{}-{}", rtp.0, rtp.1)])
            .arg("--data-dir")
            .arg(&data)
            .args(extra)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env_remove("RUST_BACKTRACE")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", binary()));
        let mut sotto = Sotto {
            child,
            sip,
            http,
            rtp,
            dir,
            log,
        };
        sotto.wait_ready();
        sotto
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_LIMIT;
        loop {
            if let Some(status) = self.exited() {
                panic!(
                    "sotto serve exited with {status} before it was ready; log:\n{}",
                    self.log()
                );
            }
            if let Ok(r) = http::get(self.http, "/healthz", Duration::from_millis(500)) {
                if r.status == 200 {
                    return;
                }
            }
            if Instant::now() >= deadline {
                panic!(
                    "sotto serve did not answer GET /healthz with 200 within {READY_LIMIT:?}; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `host:port` of the SIP listener, as SIPp and URIs want it.
    pub fn sip_target(&self) -> String {
        self.sip.to_string()
    }

    /// `sip:user@host:port`.
    pub fn uri(&self, user: &str) -> String {
        format!("sip:{user}@{}", self.sip)
    }

    /// `GET path` on the HTTP API; panics if the request itself fails.
    pub fn get(&self, path: &str) -> HttpResponse {
        http::get(self.http, path, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("GET {path}: {e}; sotto log:\n{}", self.log()))
    }

    /// The process's stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A scratch directory that lives as long as this server.
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }

    /// The server's process id (for signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(status)` if the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Panics (with the log) if the server has died: "the process keeps serving".
    pub fn assert_running(&mut self) {
        if let Some(status) = self.exited() {
            panic!("sotto serve died with {status}; log:\n{}", self.log());
        }
    }
}

impl Drop for Sotto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "---- sotto serve log (sip {}, http {}) ----\n{}",
                self.sip,
                self.http,
                super::tail(&self.log(), 20_000)
            );
        }
    }
}

/// Output of a finished `sotto` subcommand (e.g. `sotto call`).
#[derive(Debug)]
pub struct Finished {
    /// `None` if it had to be killed at its deadline.
    pub status: Option<ExitStatus>,
    pub output: String,
}

/// Runs `sotto ARGS...`, killing it if it runs past `limit`. Output goes to a file in
/// `scratch` (never a pipe: a chatty child must not block on a full pipe).
pub fn run(args: &[&str], scratch: &Path, limit: Duration) -> Finished {
    let log = scratch.join(format!(
        "sotto-{}-{}.log",
        args.first().copied().unwrap_or("run"),
        std::process::id()
    ));
    let out = File::create(&log).expect("log file");
    let err = out.try_clone().expect("log file");
    let mut child = Command::new(binary())
        .args(args)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
        )
        .current_dir(scratch)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {} {args:?}: {e}", binary()));
    let status = super::poll_until(limit, || child.try_wait().ok().flatten());
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    Finished {
        status,
        output: std::fs::read_to_string(&log).unwrap_or_default(),
    }
}
