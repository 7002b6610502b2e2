//! Harness for the integration tests: run `sotto serve` on free ports and drive it with
//! real peers (SIPp, baresip) or with the test UA (`ua`: sotto-testua's phone on a real
//! socket, with RTP), in the call-control lab (`lab`) or on its own.
//!
//! Every process started here is bounded (a hard deadline) and killed by PID on drop.
//! Peers that are not installed make a test print `SKIP` and return, unless
//! `SOTTO_REQUIRE_PEERS` is set (as `scripts/test.sh` does), in which case the test fails:
//! CI must never pass by skipping.
#![allow(dead_code)] // each test binary uses its own part of the harness

pub mod api;
pub mod audio;
pub mod baresip;
pub mod http;
pub mod lab;
pub mod ports;
pub mod sipp;
pub mod sotto;
pub mod ua;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The repository root (the `sotto` package's manifest directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `fixtures/` in the repository.
pub fn fixtures() -> PathBuf {
    repo_root().join("fixtures")
}

/// The committed 3 s speech clip: 8 kHz, mono, 16-bit.
pub fn speech_wav() -> PathBuf {
    fixtures().join("audio/speech_8k.wav")
}

/// Whether an executable called `tool` is on `PATH`.
pub fn on_path(tool: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| is_executable(&dir.join(tool)))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// True when `tool` can be used. When it is missing: prints `SKIP` and returns false, or
/// panics if `SOTTO_REQUIRE_PEERS` is set.
pub fn peer_available(tool: &str, test: &str) -> bool {
    if on_path(tool) {
        return true;
    }
    if std::env::var_os("SOTTO_REQUIRE_PEERS").is_some() {
        panic!("{test}: `{tool}` is not installed and SOTTO_REQUIRE_PEERS is set");
    }
    eprintln!("SKIP {test}: `{tool}` is not installed (set SOTTO_REQUIRE_PEERS=1 to fail instead)");
    false
}

/// Returns from the calling test (after printing `SKIP`) when a peer tool is missing.
#[macro_export]
macro_rules! require_peer {
    ($tool:expr) => {
        if !$crate::common::peer_available($tool, module_path!()) {
            return;
        }
    };
}

/// Polls `check` every 50 ms until it returns `Some`, or gives up after `limit`.
pub fn poll_until<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The last `max` bytes of a log, for failure messages.
pub fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}
