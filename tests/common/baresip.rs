//! baresip as an agent's softphone, with no sound card: it sends a WAV file (`aufile`
//! source), plays into a dangling `aubridge` device, auto-answers, and its `sndfile`
//! filter writes what it received (`dump-*-dec.wav`) and what it sent (`*-enc.wav`).
//! The configuration is `fixtures/baresip/{config,accounts}.in` with the `@NAMES@` filled.
//!
//! Commands (`hold`, `resume`, `transfer <uri>`, `hangup`, ...) reach it at run time
//! through its `ctrl_tcp` module: [`Baresip::command`].
//!
//! Checked with baresip 1.0.0 (Debian 12): there `answermode` is an account parameter,
//! auto-answer lives in the `menu` module, `aufile` is a source only, and `sip_listen`
//! also takes the next port for TLS. The `menu` module registers the call commands
//! (`hold`, `resume`, `transfer`, `hangup`) only while a call is up: before that
//! `ctrl_tcp` answers them `ok: false`, "command not found".

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::ports;

const MODULE_DIRS: &[&str] = &[
    "/usr/lib/baresip/modules",
    "/usr/lib64/baresip/modules",
    "/usr/local/lib/baresip/modules",
    "/usr/lib/x86_64-linux-gnu/baresip/modules",
    "/usr/lib/aarch64-linux-gnu/baresip/modules",
];

fn module_dir() -> PathBuf {
    MODULE_DIRS
        .iter()
        .map(PathBuf::from)
        .find(|d| d.join("aufile.so").is_file())
        .unwrap_or_else(|| panic!("no baresip module directory with aufile.so in {MODULE_DIRS:?}"))
}

fn template(name: &str) -> String {
    let path = super::fixtures().join("baresip").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Who the softphone registers as, and where.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: String,
    pub password: String,
    pub registrar: SocketAddr,
}

/// A running baresip; killed by PID and reaped on drop.
pub struct Baresip {
    child: Child,
    output: Arc<Mutex<String>>,
    dir: tempfile::TempDir,
    pub sip: SocketAddr,
    /// Where `ctrl_tcp` listens for commands.
    pub ctrl: SocketAddr,
}

/// How long baresip may take to answer a command on `ctrl_tcp`.
const COMMAND_LIMIT: Duration = Duration::from_secs(5);

impl Baresip {
    /// Starts baresip registering `account`, auto-answering, sending `source` (a WAV of
    /// 8 kHz mono 16-bit, as PCMU needs; baresip hangs up when the file ends).
    /// With `SOTTO_BARESIP_SIP_TRACE` set it also prints every SIP message (`-s`).
    pub fn start(account: &Account, source: &Path) -> Baresip {
        Self::start_with(
            account,
            source,
            std::env::var_os("SOTTO_BARESIP_SIP_TRACE").is_some(),
        )
    }

    /// As [`Baresip::start`], with `-s` (its SIP trace, read by [`Baresip::sip_trace`]) on
    /// when `sip_trace` is true.
    pub fn start_with(account: &Account, source: &Path, sip_trace: bool) -> Baresip {
        let dir = tempfile::Builder::new()
            .prefix("baresip-")
            .tempdir()
            .expect("temp dir");
        let dump = dir.path().join("dump");
        std::fs::create_dir_all(&dump).expect("dump dir");
        // sip_listen P binds UDP+TCP P and TLS P+1.
        let (sip_port, _) = ports::free_range(2);
        let (rtp_lo, rtp_hi) = ports::free_range(20);
        let sip: SocketAddr = ([127, 0, 0, 1], sip_port).into();
        let ctrl: SocketAddr = ([127, 0, 0, 1], ports::free_port()).into();
        let config = template("config.in")
            .replace("@SIP_LISTEN@", &sip.to_string())
            .replace("@CTRL_LISTEN@", &ctrl.to_string())
            .replace("@RTP_PORTS@", &format!("{rtp_lo}-{rtp_hi}"))
            .replace("@SOURCE_WAV@", &source.to_string_lossy())
            .replace("@MODULE_PATH@", &module_dir().to_string_lossy())
            .replace("@DUMP_DIR@", &dump.to_string_lossy());
        std::fs::write(dir.path().join("config"), config).expect("write config");
        let accounts = template("accounts.in")
            .replace("@USER@", &account.user)
            .replace("@PASSWORD@", &account.password)
            .replace("@REGISTRAR@", &account.registrar.to_string());
        std::fs::write(dir.path().join("accounts"), accounts).expect("write accounts");
        std::fs::write(dir.path().join("contacts"), "").expect("write contacts");

        let mut command = Command::new("baresip");
        command.arg("-f").arg(dir.path());
        if sip_trace {
            command.arg("-s"); // every SIP message it sends and receives, in its output
        }
        let mut child = command
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn baresip");
        let output = Arc::new(Mutex::new(String::new()));
        collect(child.stdout.take().expect("stdout"), Arc::clone(&output));
        collect(child.stderr.take().expect("stderr"), Arc::clone(&output));
        Baresip {
            child,
            output,
            dir,
            sip,
            ctrl,
        }
    }

    /// Runs one of baresip's commands (a `menu` long command without its `/`, e.g.
    /// `hold`, `resume`, `transfer` with `params` `sip:agent2@host`) through `ctrl_tcp`:
    /// `Ok(data)` when baresip says `ok: true`, `Err(data or what went wrong)` otherwise.
    /// Retries the connection for a while: `ctrl_tcp` listens only once baresip is up.
    pub fn command(&self, command: &str, params: &str) -> Result<String, String> {
        let token = format!("t{}", std::process::id());
        let request = serde_json::json!({"command": command, "params": params, "token": token});
        let mut stream = super::poll_until(COMMAND_LIMIT, || {
            TcpStream::connect_timeout(&self.ctrl, Duration::from_millis(500)).ok()
        })
        .ok_or_else(|| format!("cannot connect to ctrl_tcp at {}", self.ctrl))?;
        stream
            .set_read_timeout(Some(COMMAND_LIMIT))
            .map_err(|e| e.to_string())?;
        let body = request.to_string();
        stream
            .write_all(format!("{}:{body},", body.len()).as_bytes())
            .map_err(|e| format!("send to ctrl_tcp: {e}"))?;
        // Events ({"event":true,...}) may come first on the same connection.
        let mut reader = BufReader::new(stream);
        loop {
            let message = read_netstring(&mut reader)?;
            let value: serde_json::Value = serde_json::from_slice(&message).map_err(|e| {
                format!(
                    "ctrl_tcp sent no JSON ({e}): {}",
                    String::from_utf8_lossy(&message)
                )
            })?;
            if value["response"] != serde_json::Value::Bool(true) {
                continue;
            }
            let data = value["data"].as_str().unwrap_or_default().to_string();
            return if value["ok"] == serde_json::Value::Bool(true) {
                Ok(data)
            } else {
                Err(data)
            };
        }
    }

    /// As [`Baresip::command`], retried until baresip accepts it (call commands exist
    /// only once `menu` has seen the call) or `limit` passes; panics with the last
    /// refusal and baresip's output then.
    pub fn command_ok(&self, command: &str, params: &str, limit: Duration) -> String {
        let mut last = String::new();
        super::poll_until(limit, || match self.command(command, params) {
            Ok(data) => Some(data),
            Err(e) => {
                last = e;
                std::thread::sleep(Duration::from_millis(200));
                None
            }
        })
        .unwrap_or_else(|| {
            panic!(
                "baresip refused `{command} {params}` for {limit:?}: {last}\n---- baresip output ----\n{}",
                super::tail(&self.output(), 10_000)
            )
        })
    }

    /// Everything baresip has printed so far.
    pub fn output(&self) -> String {
        self.output
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The SIP messages in its output (started with `sip_trace`), in order: baresip prints
    /// each as a `#` line, `UDP <from> -> <to>`, then the message with `\r` (a space here)
    /// ending its lines.
    pub fn sip_trace(&self) -> Vec<Traced> {
        let text = strip_ansi(&self.output());
        let mut found = Vec::new();
        let mut lines = text.lines().peekable();
        while let Some(line) = lines.next() {
            if line.trim() != "#" {
                continue;
            }
            let Some((from, to)) = lines.peek().and_then(|l| {
                let (from, to) = l.trim().strip_prefix("UDP ")?.split_once(" -> ")?;
                Some((from.parse().ok()?, to.parse().ok()?))
            }) else {
                continue;
            };
            lines.next();
            let mut message = String::new();
            // The message ends where the colour reset was (an empty line once stripped)
            // after the blank line that ends its headers, or at the next `#`.
            let mut blank = false;
            while let Some(l) = lines.peek() {
                if l.trim() == "#" || (blank && l.trim().is_empty()) {
                    break;
                }
                blank |= l.trim().is_empty();
                message.push_str(l.trim_end());
                message.push('\n');
                lines.next();
            }
            found.push(Traced { from, to, message });
        }
        found
    }

    /// Waits until a line of output satisfies `matches`.
    pub fn wait_for_line(&self, limit: Duration, matches: impl Fn(&str) -> bool) -> bool {
        super::poll_until(limit, || self.output().lines().any(&matches).then_some(())).is_some()
    }

    /// Waits for baresip's "{0/UDP/v4} 200 OK ... [1 binding]" after its REGISTER.
    pub fn wait_registered(&self, limit: Duration) -> bool {
        self.wait_for_line(limit, |l| l.contains("200 OK") && l.contains("binding"))
    }

    /// Waits for "Call ... terminated", after which the dump files are complete.
    pub fn wait_call_ended(&self, limit: Duration) -> bool {
        self.wait_for_line(limit, |l| l.contains("terminated"))
    }

    /// The WAV of what baresip received and decoded in its first call, if any.
    pub fn received_wav(&self) -> Option<PathBuf> {
        self.dump_ending("-dec.wav")
    }

    /// The WAV of what baresip sent in its first call, if any.
    pub fn sent_wav(&self) -> Option<PathBuf> {
        self.dump_ending("-enc.wav")
    }

    fn dump_ending(&self, suffix: &str) -> Option<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("dump"))
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(suffix))
            .collect();
        files.sort();
        files.into_iter().next()
    }

    /// A scratch directory that lives as long as this process.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// One SIP message from baresip's trace (`-s`).
#[derive(Debug, Clone)]
pub struct Traced {
    pub from: SocketAddr,
    pub to: SocketAddr,
    /// Lines end in `\n`.
    pub message: String,
}

impl Traced {
    /// The start line: `INVITE sip:... SIP/2.0` or `SIP/2.0 200 OK`.
    pub fn start_line(&self) -> &str {
        self.message.lines().next().unwrap_or_default().trim()
    }

    /// The value of the first header called `name` (no compact forms: baresip's libre
    /// writes full names), trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.message
            .lines()
            .skip(1)
            .take_while(|l| !l.trim().is_empty())
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    /// What follows the blank line after the headers.
    pub fn body(&self) -> &str {
        self.message.split_once("\n\n").map_or("", |(_, body)| body)
    }
}

/// The text without ANSI colour escapes (`ESC [ ... m`), which baresip puts around its
/// trace and warnings.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// One netstring (`<length>:<bytes>,`) from `ctrl_tcp`.
fn read_netstring(reader: &mut impl BufRead) -> Result<Vec<u8>, String> {
    let mut length = Vec::new();
    reader
        .read_until(b':', &mut length)
        .map_err(|e| format!("read from ctrl_tcp: {e}"))?;
    let digits = std::str::from_utf8(length.strip_suffix(b":").unwrap_or(&length))
        .map_err(|e| e.to_string())?;
    let len: usize = digits
        .trim()
        .parse()
        .map_err(|_| format!("ctrl_tcp sent no netstring length: {digits:?}"))?;
    let mut body = vec![0u8; len + 1];
    reader
        .read_exact(&mut body)
        .map_err(|e| format!("read from ctrl_tcp: {e}"))?;
    if body.pop() != Some(b',') {
        return Err("ctrl_tcp netstring does not end in ','".into());
    }
    Ok(body)
}

fn collect(stream: impl Read + Send + 'static, into: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            // Status lines are redrawn with \r; keep them on one line of the log.
            let text = String::from_utf8_lossy(&line).replace('\r', " ");
            into.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_str(&text);
            line.clear();
        }
    });
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "---- baresip output (sip {}) ----\n{}",
                self.sip,
                super::tail(&self.output(), 20_000)
            );
        }
    }
}
