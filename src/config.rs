//! `sotto serve` configuration: an embedded, commented default (`docs/contact-centre.md#interfaces`: "runs with no
//! setup") with an optional TOML file merged over it and CLI flags over both.
//!
//! Every key has a serde default read from the embedded file, so the user's file is
//! deserialized on its own: a key it lacks keeps its default, an array (`[[users]]`) it
//! has replaces the default array whole, and toml's errors point at the user's own line.
//! Unknown keys are rejected (`deny_unknown_fields`) so a typo is an error, not a
//! silently ignored setting.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

/// The default configuration, embedded in the binary. Every key is documented there.
pub const DEFAULT_TOML: &str = include_str!("../fixtures/config/default.toml");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "defaults::top_data_dir")]
    pub data_dir: PathBuf,
    #[serde(default = "defaults::top_sip")]
    pub sip: SipConfig,
    #[serde(default = "defaults::top_http")]
    pub http: HttpConfig,
    #[serde(default = "defaults::top_media")]
    pub media: MediaConfig,
    #[serde(default = "defaults::top_routes")]
    pub routes: RoutesConfig,
    #[serde(default = "defaults::top_users")]
    pub users: Vec<UserConfig>,
    #[serde(default = "defaults::top_recording")]
    pub recording: RecordingConfig,
    #[serde(default = "defaults::top_trunk")]
    pub trunk: TrunkConfig,
    /// The contact centre's directory (`docs/contact-centre.md`): teams,
    /// queues, entry points, agents. A file's `[contact_centre]` replaces the
    /// embedded one whole; its agents who are not `[[users]]` cannot log in
    /// (`sotto serve` leaves them out and says so).
    #[serde(default = "defaults::top_contact_centre")]
    pub contact_centre: crate::contact::DirectoryConfig,
}

/// The outbound trunk dial numbers are reached through (`docs/call-control.md#dial-numbers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkConfig {
    /// Request-URI template; `{number}` is replaced by the dial number, e.g.
    /// `sip:{number}@127.0.0.1:5070`. Empty: no trunk, dial numbers are refused.
    #[serde(default = "defaults::trunk_uri")]
    pub uri: String,
    /// How a transfer of a customer on the trunk is done: "bridge" keeps sotto
    /// in the media path; "refer" asks the trunk to call the target itself
    /// (REFER, RFC 3515; REFER with Replaces for a consult transfer to a dial
    /// number, RFC 3891) and the call leaves sotto when the trunk reports success.
    #[serde(default = "defaults::trunk_transfer")]
    pub transfer: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipConfig {
    /// Bound on both UDP and TCP.
    #[serde(default = "defaults::sip_listen")]
    pub listen: SocketAddr,
    /// Digest realm; `None` means the host of `listen` (see [`SipConfig::realm`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    #[serde(default = "defaults::sip_max_concurrent_calls")]
    pub max_concurrent_calls: u32,
    #[serde(default = "defaults::sip_user_agent")]
    pub user_agent: String,
    /// RFC 3261 §17.1.1.1 T1 (RTT estimate).
    #[serde(default = "defaults::sip_t1_ms")]
    pub t1_ms: u64,
    /// RFC 3261 §17.1.2.2 T2 (cap on non-INVITE retransmit interval).
    #[serde(default = "defaults::sip_t2_ms")]
    pub t2_ms: u64,
    /// RFC 3261 §17.1.2.2 T4 (max time a message stays in the network).
    #[serde(default = "defaults::sip_t4_ms")]
    pub t4_ms: u64,
    /// RFC 3261 §10.3 step 7: shorter requests get 423 Interval Too Brief.
    #[serde(default = "defaults::sip_min_expires")]
    pub min_expires: u32,
    #[serde(default = "defaults::sip_max_expires")]
    pub max_expires: u32,
    #[serde(default = "defaults::sip_default_expires")]
    pub default_expires: u32,
    /// Digest algorithms the registrar challenges with, most preferred first
    /// (RFC 8760): "MD5", "SHA-256".
    #[serde(default = "defaults::sip_auth_algorithms")]
    pub auth_algorithms: Vec<String>,
}

impl SipConfig {
    /// The digest realm: the configured one, else the host part of `listen`.
    pub fn realm(&self) -> String {
        match &self.realm {
            Some(r) => r.clone(),
            None => self.listen.ip().to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    #[serde(default = "defaults::http_listen")]
    pub listen: SocketAddr,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaConfig {
    #[serde(default = "defaults::media_rtp_ports")]
    pub rtp_ports: PortRange,
    /// 0 means one per core (see [`MediaConfig::worker_count`]).
    #[serde(default = "defaults::media_workers")]
    pub workers: usize,
}

impl MediaConfig {
    /// The number of media worker threads to start.
    pub fn worker_count(&self) -> usize {
        if self.workers > 0 {
            return self.workers;
        }
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutesConfig {
    /// Answer calls to `echo_user` and loop their audio back.
    #[serde(default = "defaults::routes_echo")]
    pub echo: bool,
    #[serde(default = "defaults::routes_echo_user")]
    pub echo_user: String,
    /// Where noise is removed: "inbound" (the caller's audio toward the agent),
    /// "outbound", "both" or "off". Only configuration changes it.
    #[serde(default = "defaults::routes_denoise")]
    pub denoise: String,
    /// The echo route's own setting; unset: `denoise`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo_denoise: Option<String>,
    /// Record every answered call (`docs/recording.md`): one stereo WAV per call.
    #[serde(default = "defaults::routes_record")]
    pub record: bool,
}

/// Call recording (`docs/call-control.md`): how pauses end by themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordingConfig {
    /// A pause with no duration of its own resumes after this many seconds.
    #[serde(default = "defaults::recording_auto_resume_seconds")]
    pub auto_resume_seconds: u64,
    /// The longest pause anyone may ask for; longer requests are cut to this.
    #[serde(default = "defaults::recording_pause_max_seconds")]
    pub pause_max_seconds: u64,
}

impl RecordingConfig {
    /// How long a pause lasts: `requested` (or the default) capped at the maximum.
    pub fn pause_duration(&self, requested: Option<std::time::Duration>) -> std::time::Duration {
        let max = std::time::Duration::from_secs(self.pause_max_seconds);
        requested
            .unwrap_or(std::time::Duration::from_secs(self.auto_resume_seconds))
            .min(max)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub name: String,
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// An inclusive UDP port range for RTP. `lo` is even (RTP on even ports, RTCP on the
/// odd one above, RFC 3550 §11) and below `hi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}

impl PortRange {
    /// The even ports of the range: one RTP(+RTCP) pair each.
    pub fn rtp_ports(&self) -> impl Iterator<Item = u16> {
        (self.lo..self.hi).step_by(2)
    }
}

impl FromStr for PortRange {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        let bad = |why: &str| anyhow::anyhow!("invalid rtp_ports {s:?}: {why}");
        let (lo, hi) = s.split_once('-').ok_or_else(|| bad("expected LOW-HIGH"))?;
        let lo: u16 = lo.trim().parse().map_err(|_| bad("low is not a port"))?;
        let hi: u16 = hi.trim().parse().map_err(|_| bad("high is not a port"))?;
        if lo == 0 {
            return Err(bad("low must not be 0"));
        }
        if lo >= hi {
            return Err(bad("low must be below high"));
        }
        if lo % 2 != 0 {
            return Err(bad("low must be even (RTP uses even ports)"));
        }
        Ok(PortRange { lo, hi })
    }
}

impl TryFrom<String> for PortRange {
    type Error = anyhow::Error;
    fn try_from(s: String) -> anyhow::Result<Self> {
        s.parse()
    }
}

impl From<PortRange> for String {
    fn from(r: PortRange) -> String {
        r.to_string()
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.lo, self.hi)
    }
}

impl Default for Config {
    /// The embedded default configuration.
    fn default() -> Self {
        Config::from_toml_str(DEFAULT_TOML).expect("embedded default config is valid")
    }
}

impl Config {
    /// The embedded defaults with the file at `path` (if any) merged over them.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let Some(path) = path else {
            return Config::from_toml_str(DEFAULT_TOML);
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        Config::from_toml_str(&text).with_context(|| format!("in config file {}", path.display()))
    }

    /// The embedded defaults with `text` (a TOML document) over them.
    pub fn from_toml_str(text: &str) -> anyhow::Result<Config> {
        let config: Config = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        config.validate()?;
        Ok(config)
    }

    /// Command-line flags: each one given overrides the file and the defaults.
    pub fn apply_overrides(
        &mut self,
        sip_listen: Option<SocketAddr>,
        http_listen: Option<SocketAddr>,
        rtp_ports: Option<&str>,
        data_dir: Option<&Path>,
    ) -> anyhow::Result<()> {
        if let Some(a) = sip_listen {
            self.sip.listen = a;
        }
        if let Some(a) = http_listen {
            self.http.listen = a;
        }
        if let Some(r) = rtp_ports {
            self.media.rtp_ports = r.parse()?;
        }
        if let Some(d) = data_dir {
            self.data_dir = d.to_path_buf();
        }
        self.validate()
    }

    /// Checks that cross keys: what serde's types alone cannot express.
    pub fn validate(&self) -> anyhow::Result<()> {
        let s = &self.sip;
        if s.t1_ms == 0 {
            bail!("invalid sip.t1_ms: must be above 0");
        }
        if s.t2_ms < s.t1_ms {
            bail!(
                "invalid sip.t2_ms {}: must be at least t1_ms {}",
                s.t2_ms,
                s.t1_ms
            );
        }
        if s.max_concurrent_calls == 0 {
            bail!("invalid sip.max_concurrent_calls: must be above 0");
        }
        if !(s.min_expires <= s.default_expires && s.default_expires <= s.max_expires) {
            bail!(
                "invalid sip expiries: need min_expires ({}) <= default_expires ({}) <= max_expires ({})",
                s.min_expires,
                s.default_expires,
                s.max_expires
            );
        }
        if let Err(e) = self.routes.denoise.parse::<sotto_media::denoise::Denoise>() {
            bail!("invalid routes.denoise: {e}");
        }
        if let Some(Err(e)) = self
            .routes
            .echo_denoise
            .as_ref()
            .map(|d| d.parse::<sotto_media::denoise::Denoise>())
        {
            bail!("invalid routes.echo_denoise: {e}");
        }
        if s.auth_algorithms.is_empty() {
            bail!("invalid sip.auth_algorithms: list at least one of \"MD5\", \"SHA-256\"");
        }
        for a in &s.auth_algorithms {
            if !matches!(a.to_ascii_uppercase().as_str(), "MD5" | "SHA-256") {
                bail!("invalid sip.auth_algorithms entry {a:?}: use \"MD5\" or \"SHA-256\"");
            }
        }
        if s.realm.as_deref() == Some("") {
            bail!("invalid sip.realm: must not be empty");
        }
        if !self.trunk.uri.is_empty() {
            let probe = self.trunk.uri.replace("{number}", "123");
            if !self.trunk.uri.contains("{number}")
                || sotto_sip::message::parse_uri(&probe).is_none()
            {
                bail!(
                    "invalid trunk.uri {:?}: a SIP URI with {{number}}, e.g. sip:{{number}}@127.0.0.1:5070",
                    self.trunk.uri
                );
            }
        }
        if self.trunk.transfer != "bridge" && self.trunk.transfer != "refer" {
            bail!(
                "invalid trunk.transfer {:?}: \"bridge\" or \"refer\"",
                self.trunk.transfer
            );
        }
        let r = &self.recording;
        if r.auto_resume_seconds == 0 || r.auto_resume_seconds > r.pause_max_seconds {
            bail!(
                "invalid recording.auto_resume_seconds {}: must be above 0 and at most pause_max_seconds {}",
                r.auto_resume_seconds,
                r.pause_max_seconds
            );
        }
        let mut seen = std::collections::HashSet::new();
        for u in &self.users {
            if u.name.is_empty() {
                bail!("invalid [[users]] entry: name must not be empty");
            }
            if !seen.insert(u.name.as_str()) {
                bail!("duplicate user {:?} in [[users]]", u.name);
            }
            if self.routes.echo && u.name == self.routes.echo_user {
                bail!("user {:?} is also routes.echo_user", u.name);
            }
        }
        let cc = &self.contact_centre;
        cc.directory()
            .map_err(|e| anyhow::anyhow!("invalid [contact_centre]: {e}"))?;
        for e in &cc.entry_points {
            if seen.contains(e.address.as_str())
                || (self.routes.echo && e.address == self.routes.echo_user)
            {
                bail!(
                    "invalid [contact_centre] entry point {:?}: address {:?} is also a user or the echo route",
                    e.id.0,
                    e.address
                );
            }
        }
        Ok(())
    }
}

/// Serde field defaults, each read from the embedded [`DEFAULT_TOML`] so the file stays
/// the single place a default is written down.
mod defaults {
    use super::*;
    use serde::de::DeserializeOwned;
    use std::sync::OnceLock;

    fn embedded<T: DeserializeOwned>(section: Option<&str>, key: &str) -> T {
        static TABLE: OnceLock<toml::Table> = OnceLock::new();
        let table = TABLE.get_or_init(|| DEFAULT_TOML.parse().expect("embedded config is TOML"));
        let scope = match section {
            Some(s) => table.get(s).and_then(toml::Value::as_table),
            None => Some(table),
        };
        let value = scope.and_then(|t| t.get(key)).cloned();
        let value = value.unwrap_or_else(|| panic!("embedded config lacks {section:?}.{key}"));
        value
            .try_into()
            .unwrap_or_else(|e| panic!("embedded config {section:?}.{key}: {e}"))
    }

    macro_rules! defaults {
        ($($name:ident: $ty:ty = $section:expr, $key:literal;)*) => {
            $(pub fn $name() -> $ty { embedded($section, $key) })*
        };
    }

    defaults! {
        top_data_dir: PathBuf = None, "data_dir";
        top_sip: SipConfig = None, "sip";
        top_http: HttpConfig = None, "http";
        top_media: MediaConfig = None, "media";
        top_routes: RoutesConfig = None, "routes";
        top_users: Vec<UserConfig> = None, "users";
        top_recording: RecordingConfig = None, "recording";
        top_trunk: TrunkConfig = None, "trunk";
        top_contact_centre: crate::contact::DirectoryConfig = None, "contact_centre";
        trunk_uri: String = Some("trunk"), "uri";
        trunk_transfer: String = Some("trunk"), "transfer";
        sip_listen: SocketAddr = Some("sip"), "listen";
        sip_max_concurrent_calls: u32 = Some("sip"), "max_concurrent_calls";
        sip_user_agent: String = Some("sip"), "user_agent";
        sip_t1_ms: u64 = Some("sip"), "t1_ms";
        sip_t2_ms: u64 = Some("sip"), "t2_ms";
        sip_t4_ms: u64 = Some("sip"), "t4_ms";
        sip_min_expires: u32 = Some("sip"), "min_expires";
        sip_max_expires: u32 = Some("sip"), "max_expires";
        sip_default_expires: u32 = Some("sip"), "default_expires";
        sip_auth_algorithms: Vec<String> = Some("sip"), "auth_algorithms";
        http_listen: SocketAddr = Some("http"), "listen";
        media_rtp_ports: PortRange = Some("media"), "rtp_ports";
        media_workers: usize = Some("media"), "workers";
        routes_echo: bool = Some("routes"), "echo";
        routes_echo_user: String = Some("routes"), "echo_user";
        routes_denoise: String = Some("routes"), "denoise";
        routes_record: bool = Some("routes"), "record";
        recording_auto_resume_seconds: u64 = Some("recording"), "auto_resume_seconds";
        recording_pause_max_seconds: u64 = Some("recording"), "pause_max_seconds";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_runs_with_no_setup() {
        let c = Config::load(None).unwrap();
        let empty_sections = "[sip]\n[http]\n[media]\n[routes]\n";
        assert_eq!(Config::from_toml_str(empty_sections).unwrap(), c);
        assert_eq!(c.sip.listen, "127.0.0.1:5060".parse().unwrap());
        assert_eq!(c.sip.realm(), "127.0.0.1");
        assert_eq!((c.sip.t1_ms, c.sip.t2_ms, c.sip.t4_ms), (500, 4000, 5000));
        assert_eq!(c.sip.max_concurrent_calls, 10000);
        assert_eq!(c.http.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            c.media.rtp_ports,
            PortRange {
                lo: 20000,
                hi: 29999
            }
        );
        assert_eq!(c.media.rtp_ports.rtp_ports().count(), 5000);
        assert!(c.media.worker_count() >= 1);
        assert!(c.routes.echo);
        let names: Vec<_> = c.users.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["agent1", "agent2", "agent3"]);
        assert_eq!(c.data_dir, PathBuf::from("./data"));
    }

    #[test]
    fn file_keys_merge_over_defaults() {
        let c = Config::from_toml_str(
            "[sip]\nlisten = \"0.0.0.0:5070\"\nrealm = \"pbx.example.com\"\n\
             [[users]]\nname = \"alice\"\npassword = \"s3cret\"\n",
        )
        .unwrap();
        assert_eq!(c.sip.listen.port(), 5070);
        assert_eq!(c.sip.realm(), "pbx.example.com");
        assert_eq!(c.sip.t1_ms, 500, "a missing key keeps its default");
        assert_eq!(
            c.http.listen.port(),
            8080,
            "a missing table keeps its defaults"
        );
        assert_eq!(
            c.users.len(),
            1,
            "[[users]] in a file replaces the demo users"
        );
        assert_eq!(c.users[0].display_name, None);
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let err = Config::from_toml_str("[sip]\nlisten_addr = \"0.0.0.0:5060\"\n").unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("listen_addr"), "{msg}");
        let err = Config::from_toml_str("colour = \"blue\"\n").unwrap_err();
        assert!(format!("{err:#}").contains("colour"), "{err:#}");
        let err = Config::from_toml_str("[sip]\nt1_ms = \"fast\"\n").unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("line 2") && msg.contains("t1_ms"), "{msg}");
    }

    #[test]
    fn bad_rtp_ports_are_explained() {
        let err = Config::from_toml_str("[media]\nrtp_ports = \"30000-20000\"\n").unwrap_err();
        assert!(
            format!("{err:#}")
                .contains(r#"invalid rtp_ports "30000-20000": low must be below high"#),
            "{err:#}"
        );
        let odd = "20001-29999".parse::<PortRange>().unwrap_err().to_string();
        assert!(odd.contains("even"), "{odd}");
        assert!("20000".parse::<PortRange>().is_err());
        assert!("x-29999".parse::<PortRange>().is_err());
    }

    #[test]
    fn cli_flags_override_the_file() {
        let mut c = Config::from_toml_str("[media]\nrtp_ports = \"40000-40100\"\n").unwrap();
        c.apply_overrides(
            Some("127.0.0.1:5080".parse().unwrap()),
            None,
            Some("50000-50010"),
            Some(Path::new("/tmp/sotto")),
        )
        .unwrap();
        assert_eq!(c.sip.listen.port(), 5080);
        assert_eq!(c.sip.realm(), "127.0.0.1");
        assert_eq!(c.http.listen.port(), 8080);
        assert_eq!(
            c.media.rtp_ports,
            PortRange {
                lo: 50000,
                hi: 50010
            }
        );
        assert_eq!(c.data_dir, PathBuf::from("/tmp/sotto"));
        assert!(c.apply_overrides(None, None, Some("9-5"), None).is_err());
    }

    #[test]
    fn load_reads_a_file_and_names_it_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sotto.toml");
        std::fs::write(&path, "[http]\nlisten = \"127.0.0.1:9090\"\n").unwrap();
        assert_eq!(Config::load(Some(&path)).unwrap().http.listen.port(), 9090);
        std::fs::write(&path, "[sip]\nmin_expires = 7200\n").unwrap();
        let msg = format!("{:#}", Config::load(Some(&path)).unwrap_err());
        assert!(
            msg.contains("sotto.toml") && msg.contains("min_expires"),
            "{msg}"
        );
        assert!(Config::load(Some(&dir.path().join("missing.toml"))).is_err());
    }

    #[test]
    fn conflicting_users_are_rejected() {
        let dup = "[[users]]\nname = \"a\"\npassword = \"x\"\n[[users]]\nname = \"a\"\npassword = \"y\"\n";
        assert!(Config::from_toml_str(dup).is_err());
        let echo = "[[users]]\nname = \"echo\"\npassword = \"x\"\n";
        assert!(Config::from_toml_str(echo).is_err());
    }

    #[test]
    fn recording_is_off_by_default_and_pauses_are_capped() {
        let c = Config::default();
        assert!(!c.routes.record);
        let r = &c.recording;
        assert_eq!((r.auto_resume_seconds, r.pause_max_seconds), (30, 300));
        use std::time::Duration;
        assert_eq!(r.pause_duration(None), Duration::from_secs(30));
        assert_eq!(
            r.pause_duration(Some(Duration::from_secs(10))),
            Duration::from_secs(10)
        );
        assert_eq!(
            r.pause_duration(Some(Duration::from_secs(3600))),
            Duration::from_secs(300)
        );
        let c =
            Config::from_toml_str("[routes]\nrecord = true\n[recording]\npause_max_seconds = 60\n")
                .unwrap();
        assert!(c.routes.record);
        assert_eq!(c.recording.auto_resume_seconds, 30);
        let err = Config::from_toml_str("[recording]\npause_max_seconds = 10\n").unwrap_err();
        assert!(
            format!("{err:#}").contains("auto_resume_seconds"),
            "{err:#}"
        );
    }

    #[test]
    fn config_round_trips_through_toml() {
        let c = Config::default();
        let text = toml::to_string(&c).unwrap();
        assert_eq!(Config::from_toml_str(&text).unwrap(), c);
    }
}
