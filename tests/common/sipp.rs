//! SIPp runs of the scenarios in `fixtures/sipp/`, bounded and logged.
//!
//! SIPp runs with `fixtures/sipp` as its working directory (scenarios reach the audio
//! as `../audio/...`), writes its error log, final screen and statistics CSV into a
//! temporary directory, and is killed by PID if it outlives `-timeout` by a margin
//! (SIPp's own timer is not checked while two peers ping-pong unexpected messages).
//! SIPp's exit code is 0 only when every call succeeded.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::ports;

/// A SIPp command line being built.
#[derive(Debug, Clone)]
pub struct Sipp {
    name: String,
    args: Vec<String>,
    timeout: Duration,
    trace_messages: bool,
}

impl Sipp {
    /// A run of `fixtures/sipp/<scenario>` (client or server, as the scenario is),
    /// on 127.0.0.1, from a free SIP port, with media on a free port block.
    pub fn scenario(scenario: &str) -> Sipp {
        let path = scenarios_dir().join(scenario);
        assert!(path.is_file(), "no scenario {}", path.display());
        let (media, _) = ports::free_range(64);
        let mut sipp = Sipp {
            name: scenario.trim_end_matches(".xml").to_string(),
            args: Vec::new(),
            timeout: Duration::from_secs(30),
            trace_messages: true,
        };
        sipp.push(["-sf", scenario]);
        sipp.push(["-i", "127.0.0.1", "-mi", "127.0.0.1"]);
        sipp.push(["-p".to_string(), ports::free_port().to_string()]);
        // rtp_stream binds from -mp upward in SIPp 3.6, two ports a call; -rtp_echo binds -mp.
        sipp.push(["-mp".to_string(), media.to_string()]);
        sipp.calls(1)
    }

    fn push<S: Into<String>>(&mut self, args: impl IntoIterator<Item = S>) {
        self.args.extend(args.into_iter().map(Into::into));
    }

    /// Appends raw arguments.
    pub fn args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Sipp {
        self.push(args);
        self
    }

    /// `-s`: the request-URI user (and `[service]`).
    pub fn service(self, user: &str) -> Sipp {
        self.args(["-s", user])
    }

    /// `-m`: stop after this many calls.
    pub fn calls(mut self, n: u32) -> Sipp {
        // A message trace helps a failure report; for load runs it is too big.
        self.trace_messages = n <= 50;
        if let Some(i) = self.args.iter().position(|a| a == "-m") {
            self.args[i + 1] = n.to_string();
            return self;
        }
        self.args(["-m".to_string(), n.to_string()])
    }

    /// `-r`: new calls per second.
    pub fn rate(self, cps: u32) -> Sipp {
        self.args(["-r".to_string(), cps.to_string()])
    }

    /// `-l`: at most this many calls at once.
    pub fn limit(self, concurrent: u32) -> Sipp {
        self.args(["-l".to_string(), concurrent.to_string()])
    }

    /// `-t t1`: one TCP connection.
    pub fn tcp(self) -> Sipp {
        self.args(["-t", "t1"])
    }

    /// `-au`/`-ap`: digest credentials.
    pub fn auth(self, user: &str, password: &str) -> Sipp {
        self.args(["-au", user, "-ap", password])
    }

    /// `-oocsf`: the scenario for requests outside any call of the main scenario.
    pub fn out_of_call(self, scenario: &str) -> Sipp {
        self.args(["-oocsf", scenario])
    }

    /// `-rtp_echo`: send RTP received on the `-mp` port back to its sender.
    pub fn rtp_echo(self) -> Sipp {
        self.args(["-rtp_echo"])
    }

    /// `-set name value`: a global scenario variable.
    pub fn set(self, name: &str, value: &str) -> Sipp {
        self.args(["-set", name, value])
    }

    /// SIPp's own `-timeout` (with `-timeout_error`); the hard kill comes 15 s later.
    pub fn timeout(mut self, limit: Duration) -> Sipp {
        self.timeout = limit;
        self
    }

    /// Runs to completion against `target` (`host:port`, or `None` for a server).
    pub fn run(self, target: Option<&str>) -> SippOutcome {
        self.spawn(target).wait()
    }

    /// Starts in the background; [`RunningSipp::wait`] collects the outcome.
    pub fn spawn(self, target: Option<&str>) -> RunningSipp {
        let logs = tempfile::Builder::new()
            .prefix(&format!("sipp-{}-", self.name))
            .tempdir()
            .expect("temp dir");
        let l = |f: &str| logs.path().join(f).to_string_lossy().into_owned();
        let mut cmd = Command::new("sipp");
        cmd.args(&self.args)
            .args(["-nostdin", "-timeout_error"])
            .args(["-timeout", &format!("{}s", self.timeout.as_secs().max(1))])
            .args(["-trace_err", "-error_file", &l("errors.log")])
            .args(["-trace_screen", "-screen_file", &l("screen.log")])
            .args(["-trace_stat", "-stf", &l("stats.csv")]);
        if self.trace_messages {
            cmd.args(["-trace_msg", "-message_file", &l("messages.log")]);
        }
        if let Some(t) = target {
            cmd.arg(t);
        }
        let out = File::create(logs.path().join("stdout.log")).expect("log file");
        let child = cmd
            .current_dir(scenarios_dir())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sipp");
        RunningSipp {
            name: self.name,
            command: format!("sipp {} {}", self.args.join(" "), target.unwrap_or("")),
            child: Some(child),
            deadline: Instant::now() + self.timeout + Duration::from_secs(15),
            logs,
        }
    }
}

/// `fixtures/sipp/`.
pub fn scenarios_dir() -> PathBuf {
    super::fixtures().join("sipp")
}

/// A SIPp process in the background; killed by PID if dropped unfinished.
pub struct RunningSipp {
    name: String,
    command: String,
    child: Option<Child>,
    deadline: Instant,
    logs: tempfile::TempDir,
}

impl RunningSipp {
    /// The log directory (for files a scenario writes, such as a ready file).
    pub fn dir(&self) -> &Path {
        self.logs.path()
    }

    /// Waits for the process (killing it at its deadline) and reads its results.
    pub fn wait(self) -> SippOutcome {
        let limit = self.deadline.saturating_duration_since(Instant::now());
        self.finish(limit)
    }

    /// Kills the process now and reads what it reported so far.
    pub fn stop(self) -> SippOutcome {
        self.finish(Duration::ZERO)
    }

    fn finish(mut self, limit: Duration) -> SippOutcome {
        let mut child = self.child.take().expect("not yet waited");
        let status = super::poll_until(limit, || child.try_wait().ok().flatten());
        let killed = status.is_none();
        if killed {
            let _ = child.kill();
            let _ = child.wait();
        }
        let read = |f: &str| std::fs::read_to_string(self.logs.path().join(f)).unwrap_or_default();
        let stats = read("stats.csv");
        SippOutcome {
            name: self.name.clone(),
            command: self.command.clone(),
            exit_code: status.and_then(|s| s.code()),
            killed,
            successful: stat(&stats, "SuccessfulCall(C)"),
            failed: stat(&stats, "FailedCall(C)"),
            errors: read("errors.log"),
            screen: read("screen.log"),
            messages: read("messages.log"),
        }
    }
}

impl Drop for RunningSipp {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A cumulative counter from the last row of SIPp's `-trace_stat` CSV (`;`-separated).
fn stat(csv: &str, column: &str) -> Option<u64> {
    let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next()?.split(';').collect();
    let last = lines.next_back()?;
    let i = header.iter().position(|h| *h == column)?;
    last.split(';').nth(i)?.trim().parse().ok()
}

/// What a finished SIPp run reported.
#[derive(Debug)]
pub struct SippOutcome {
    pub name: String,
    pub command: String,
    /// SIPp's exit code: 0 all calls succeeded, 1 some failed, 97/99/255 abnormal.
    pub exit_code: Option<i32>,
    /// Killed at the hard deadline.
    pub killed: bool,
    pub successful: Option<u64>,
    pub failed: Option<u64>,
    pub errors: String,
    pub screen: String,
    pub messages: String,
}

impl SippOutcome {
    /// Panics with SIPp's screen and errors unless every one of `calls` calls succeeded.
    pub fn assert_all_succeeded(&self, calls: u64) {
        let ok =
            self.exit_code == Some(0) && self.failed == Some(0) && self.successful == Some(calls);
        assert!(
            ok,
            "SIPp {}: expected {calls} successful calls and none failed; got exit {:?}{}, \
             successful {:?}, failed {:?}\ncommand: {}\n---- screen ----\n{}\n---- errors ----\n{}\n\
             ---- messages (tail) ----\n{}",
            self.name,
            self.exit_code,
            if self.killed { " (killed at deadline)" } else { "" },
            self.successful,
            self.failed,
            self.command,
            super::tail(&self.screen, 6_000),
            super::tail(&self.errors, 6_000),
            super::tail(&self.messages, 8_000),
        );
    }
}
