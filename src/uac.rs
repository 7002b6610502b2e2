//! `sotto call`: a UAC that places one call, plays a WAV into it, records
//! what it hears, and hangs up. Useful for people (an echo test from the
//! shell) and for tests (an audio path checked end to end).

use crate::sip_driver::{SipDriver, TransactionUser};
use anyhow::{bail, Context};
use rsip::prelude::UntypedHeader;
use rsip::{Header, Method, Request, Response};
use sotto_media::codec::{Codec, Frame, FRAME_DURATION, SILENT_FRAME};
use sotto_media::ids::{RtpTimestamp, SeqNo, Ssrc};
use sotto_media::leg::{LegConfig, LegInput, MediaLeg};
use sotto_media::wav::{WavReader, WavSpec, WavWriter};
use sotto_sip::dialog::Dialog;
use sotto_sip::endpoint::{ClientTxId, Endpoint, EndpointConfig, Event, Peer};
use sotto_sip::sdp::{self, LocalMedia, LocalSession, SessionDescription};
use sotto_sip::transaction::{Timers, Transport};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct CallArgs {
    /// The SIP URI to call, e.g. sip:echo@127.0.0.1:5060
    pub uri: String,
    /// A WAV file (8 kHz, 16-bit, mono or stereo) to play into the call.
    #[arg(long)]
    pub play: Option<PathBuf>,
    /// Where to write what the call sends back (8 kHz mono WAV).
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// Seconds to stay connected before hanging up (default: the length of
    /// --play, or 5).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Local address to bind (SIP; RTP uses the same IP).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub bind: SocketAddr,
    /// Our From user.
    #[arg(long, default_value = "sotto-call")]
    pub from_user: String,
    /// Credentials for a 401/407 challenge.
    #[arg(long)]
    pub user: Option<String>,
    #[arg(long)]
    pub password: Option<String>,
}

pub async fn run(args: CallArgs) -> anyhow::Result<()> {
    let target = rsip::Uri::try_from(args.uri.as_str())
        .map_err(|e| anyhow::anyhow!("bad SIP URI {:?}: {e}", args.uri))?;
    let dest = resolve(&target)?;
    let udp = tokio::net::UdpSocket::bind(args.bind)
        .await
        .context("binding SIP")?;
    let local = udp.local_addr()?;
    let rtp = std::net::UdpSocket::bind(SocketAddr::new(local.ip(), 0)).context("binding RTP")?;
    rtp.set_nonblocking(true)?;
    let rtp_port = rtp.local_addr()?.port();

    let play = match &args.play {
        Some(p) => {
            let file =
                std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?;
            let mut reader = WavReader::new(std::io::BufReader::new(file))
                .with_context(|| format!("reading {}", p.display()))?;
            let mut frames = Vec::new();
            let mut frame = SILENT_FRAME;
            while reader.read_frame(&mut frame)? {
                frames.push(frame);
            }
            frames
        }
        None => Vec::new(),
    };
    let duration = match args.duration {
        Some(d) if d > 0.0 && d.is_finite() => Duration::from_secs_f64(d),
        Some(_) => bail!("--duration must be a positive number of seconds"),
        None if !play.is_empty() => FRAME_DURATION * play.len() as u32 + Duration::from_millis(500),
        None => Duration::from_secs(5),
    };

    let endpoint = Endpoint::new(
        EndpointConfig {
            timers: Timers::default(),
            via_host: local.to_string(),
            user_agent: Some("sotto-call".into()),
            allow: "INVITE, ACK, CANCEL, BYE, OPTIONS".into(),
        },
        rand::random(),
    );
    let stats = Arc::new(MediaStats::default());
    let caller = Caller {
        target,
        dest: Peer {
            addr: dest,
            transport: Transport::Udp,
        },
        local,
        rtp: Some(rtp),
        rtp_port,
        sdp: LocalSession::new(rand::random::<u32>().into(), 1),
        offer: None,
        invite: None,
        invite_tx: None,
        dialog: None,
        hangup_at: None,
        duration,
        auth_tries: 0,
        args: CallArgsLite {
            from_user: args.from_user.clone(),
            user: args.user.clone(),
            password: args.password.clone(),
        },
        play: Some(play),
        record: args.record.clone(),
        media: None,
        stats: stats.clone(),
        outcome: None,
        done: false,
        started: false,
    };
    let driver = SipDriver::new(endpoint, caller, udp);
    let handle = driver.handle();
    let task = tokio::spawn(driver.run());
    handle.send(UacCommand::Start);
    let ctrl_c = tokio::spawn({
        let handle = handle.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                handle.send(UacCommand::HangUp);
            }
        }
    });
    let caller = task.await.context("call task")?;
    ctrl_c.abort();
    if let Some(media) = caller.media {
        media.finish().await?;
    }
    eprintln!(
        "sotto call: sent {} RTP packets, received {}",
        stats.sent.load(Ordering::Relaxed),
        stats.received.load(Ordering::Relaxed)
    );
    match caller.outcome {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => bail!(e),
        None => bail!("call ended without an outcome"),
    }
}

fn resolve(uri: &rsip::Uri) -> anyhow::Result<SocketAddr> {
    let host = uri.host_with_port.host.to_string();
    let port = uri.host_with_port.port.map(|p| *p.value()).unwrap_or(5060);
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    (host.as_str(), port)
        .to_socket_addrs()
        .with_context(|| format!("resolving {host}"))?
        .next()
        .context("no address for the target")
}

pub enum UacCommand {
    Start,
    HangUp,
}

struct CallArgsLite {
    from_user: String,
    user: Option<String>,
    password: Option<String>,
}

#[derive(Default)]
struct MediaStats {
    sent: AtomicU64,
    received: AtomicU64,
}

struct Caller {
    target: rsip::Uri,
    dest: Peer,
    local: SocketAddr,
    rtp: Option<std::net::UdpSocket>,
    rtp_port: u16,
    sdp: LocalSession,
    offer: Option<SessionDescription>,
    invite: Option<Request>,
    invite_tx: Option<ClientTxId>,
    dialog: Option<Dialog>,
    hangup_at: Option<Instant>,
    duration: Duration,
    auth_tries: u32,
    args: CallArgsLite,
    play: Option<Vec<Frame>>,
    record: Option<PathBuf>,
    media: Option<CallMedia>,
    stats: Arc<MediaStats>,
    outcome: Option<Result<(), String>>,
    done: bool,
    started: bool,
}

impl Caller {
    fn build_invite(&mut self, ep: &mut Endpoint, cseq: u32, auth: Option<Header>) -> Request {
        let local = LocalMedia::new(self.local.ip(), self.rtp_port);
        let offer = self.sdp.offer(&local);
        let body = offer.to_string();
        self.offer = Some(offer);
        let mut headers = rsip::Headers::default();
        let (call_id, from) = match &self.invite {
            Some(prev) => (
                sotto_sip::message::call_id(prev)
                    .unwrap_or_default()
                    .to_string(),
                prev.headers.iter().find_map(|h| match h {
                    Header::From(f) => Some(f.value().to_string()),
                    _ => None,
                }),
            ),
            None => (format!("{}@sotto-call", ep.random_token()), None),
        };
        let from = from.unwrap_or_else(|| {
            format!(
                "<sip:{}@{}>;tag={}",
                self.args.from_user,
                self.local,
                ep.random_token()
            )
        });
        headers.push(Header::MaxForwards(70.into()));
        headers.push(Header::From(from.into()));
        headers.push(Header::To(format!("<{}>", self.target).into()));
        headers.push(Header::CallId(call_id.into()));
        headers.push(Header::CSeq(format!("{cseq} INVITE").into()));
        headers.push(Header::Contact(
            format!("<sip:{}@{}>", self.args.from_user, self.local).into(),
        ));
        headers.push(Header::UserAgent("sotto-call".into()));
        if let Some(a) = auth {
            headers.push(a);
        }
        headers.push(Header::ContentType("application/sdp".into()));
        headers.push(Header::ContentLength((body.len() as u32).into()));
        Request {
            method: Method::Invite,
            uri: self.target.clone(),
            version: rsip::Version::V2,
            headers,
            body: body.into_bytes(),
        }
    }

    fn send_invite(&mut self, now: Instant, ep: &mut Endpoint, cseq: u32, auth: Option<Header>) {
        let invite = self.build_invite(ep, cseq, auth);
        self.invite_tx = Some(ep.send_request(now, invite.clone(), self.dest));
        self.invite = Some(invite);
    }

    fn finish(&mut self, outcome: Result<(), String>) {
        self.outcome.get_or_insert(outcome);
        self.done = true;
    }

    fn on_final(&mut self, now: Instant, response: Response, ep: &mut Endpoint) {
        let code = response.status_code.code();
        if (200..300).contains(&code) {
            return self.on_answered(now, response, ep);
        }
        if (code == 401 || code == 407) && self.auth_tries == 0 {
            if let (Some(user), Some(password)) =
                (self.args.user.clone(), self.args.password.clone())
            {
                let challenge = response.headers.iter().find_map(|h| match h {
                    Header::WwwAuthenticate(w) => Some(w.value().to_string()),
                    Header::ProxyAuthenticate(p) => Some(p.value().to_string()),
                    _ => None,
                });
                if let Some(c) = challenge.and_then(|c| sotto_sip::auth::Challenge::parse(&c).ok())
                {
                    let uri = self.target.to_string();
                    if let Ok(creds) =
                        c.respond(&user, &password, "INVITE", &uri, &ep.random_token(), 1)
                    {
                        self.auth_tries += 1;
                        let header = if code == 401 {
                            Header::Authorization(creds.to_string().into())
                        } else {
                            Header::ProxyAuthorization(creds.to_string().into())
                        };
                        return self.send_invite(now, ep, 2, Some(header));
                    }
                }
            }
        }
        eprintln!("sotto call: {}", response.status_code);
        self.finish(Err(format!("call refused: {}", response.status_code)));
    }

    fn on_answered(&mut self, now: Instant, response: Response, ep: &mut Endpoint) {
        if self.dialog.is_some() {
            return; // retransmitted 2xx: the endpoint re-sent the ACK
        }
        let (Some(invite), Some(tx)) = (self.invite.as_ref(), self.invite_tx) else {
            return;
        };
        let dialog = match Dialog::from_uac(invite, &response) {
            Ok(d) => d,
            Err(e) => return self.finish(Err(format!("2xx forms no dialog: {e}"))),
        };
        let cseq = sotto_sip::message::cseq(invite).map_or(1, |c| c.0);
        ep.ack_2xx(
            tx,
            dialog.create_ack(cseq, sotto_sip::endpoint::unsent_via()),
            self.dest,
        );
        self.dialog = Some(dialog);
        eprintln!("sotto call: answered ({})", response.status_code);
        let negotiated = SessionDescription::parse(&response.body)
            .map_err(|e| e.to_string())
            .and_then(|a| {
                let offer = self.offer.as_ref().ok_or("no offer")?;
                sdp::process_answer(offer, &a).map_err(|e| e.to_string())
            });
        match negotiated {
            Ok(neg) => {
                let codec = match neg.codec {
                    sdp::Codec::Pcma => Codec::Pcma,
                    _ => Codec::Pcmu,
                };
                let remote = (!neg.remote_rtp.ip().is_unspecified()).then_some(neg.remote_rtp);
                if let Some(sock) = self.rtp.take() {
                    match CallMedia::start(
                        sock,
                        remote,
                        codec,
                        self.play.take().unwrap_or_default(),
                        self.record.clone(),
                        self.stats.clone(),
                    ) {
                        Ok(m) => self.media = Some(m),
                        Err(e) => eprintln!("sotto call: media: {e}"),
                    }
                }
            }
            Err(e) => eprintln!("sotto call: SDP answer unusable ({e}); no media"),
        }
        self.hangup_at = Some(now + self.duration);
    }

    fn hang_up(&mut self, now: Instant, ep: &mut Endpoint) {
        if let Some(m) = &self.media {
            m.stop();
        }
        match self.dialog.as_mut() {
            Some(d) => {
                if let Ok(bye) = d.create_request(Method::Bye, sotto_sip::endpoint::unsent_via()) {
                    ep.send_request(now, bye, self.dest);
                    // Wait for the BYE's response (or its timeout).
                    self.hangup_at = Some(now + Duration::from_secs(32));
                    self.outcome.get_or_insert(Ok(()));
                    return;
                }
                self.finish(Ok(()));
            }
            None => {
                if let Some(tx) = self.invite_tx {
                    ep.cancel(now, tx);
                }
                self.finish(Err("cancelled".into()));
            }
        }
    }
}

impl TransactionUser for Caller {
    type Command = UacCommand;

    fn on_event(&mut self, now: Instant, event: Event, ep: &mut Endpoint) {
        match event {
            Event::Response { tx, response } if Some(tx) == self.invite_tx => {
                let code = response.status_code.code();
                if code < 200 {
                    if code > 100 {
                        eprintln!("sotto call: {}", response.status_code);
                    }
                } else {
                    self.on_final(now, response, ep);
                }
            }
            Event::Response { response, .. } => {
                // The response to our BYE.
                if self.outcome.is_some() && response.status_code.code() >= 200 {
                    self.done = true;
                }
            }
            Event::Timeout { tx } if Some(tx) == self.invite_tx => {
                self.finish(Err("no answer (timeout)".into()));
            }
            Event::Timeout { .. } => self.done = true,
            Event::Request { tx, request, .. } => {
                let is_bye = request.method == Method::Bye;
                let code = match request.method {
                    Method::Bye | Method::Options | Method::Info | Method::Update => 200,
                    Method::Invite => 488,
                    _ => 405,
                };
                let tag = ep.random_token();
                let resp = sotto_sip::endpoint::make_response(&request, code, Some(&tag));
                ep.respond(now, tx, resp);
                if is_bye {
                    eprintln!("sotto call: the other side hung up");
                    if let Some(m) = &self.media {
                        m.stop();
                    }
                    self.finish(Ok(()));
                }
            }
            Event::Ack { .. } | Event::Cancelled { .. } | Event::AckTimeout { .. } => {}
        }
    }

    fn on_command(&mut self, now: Instant, command: UacCommand, ep: &mut Endpoint) {
        match command {
            UacCommand::Start if !self.started => {
                self.started = true;
                self.send_invite(now, ep, 1, None);
            }
            UacCommand::Start => {}
            UacCommand::HangUp => self.hang_up(now, ep),
        }
    }

    fn handle_timeout(&mut self, now: Instant, ep: &mut Endpoint) {
        if let Some(at) = self.hangup_at {
            if now >= at {
                if self.outcome.is_some() {
                    self.done = true; // BYE never answered
                } else {
                    self.hang_up(now, ep);
                }
            }
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.hangup_at
    }

    fn is_finished(&self) -> bool {
        self.done
    }
}

/// The call's audio: one task plays the WAV paced at 20 ms and records what
/// arrives.
struct CallMedia {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl CallMedia {
    fn start(
        socket: std::net::UdpSocket,
        remote: Option<SocketAddr>,
        codec: Codec,
        play: Vec<Frame>,
        record: Option<PathBuf>,
        stats: Arc<MediaStats>,
    ) -> anyhow::Result<CallMedia> {
        let socket = tokio::net::UdpSocket::from_std(socket)?;
        let mut writer = match &record {
            Some(p) => {
                let f = std::fs::File::create(p)
                    .with_context(|| format!("creating {}", p.display()))?;
                Some(WavWriter::new(
                    std::io::BufWriter::new(f),
                    WavSpec::TELEPHONE_MONO,
                )?)
            }
            None => None,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let seed: u32 = rand::random();
        let task = tokio::spawn(async move {
            let mut leg = MediaLeg::new(LegConfig {
                codec,
                telephone_event: None,
                ssrc: Ssrc(seed),
                first_seq: SeqNo(seed as u16),
                first_timestamp: RtpTimestamp(seed.rotate_left(7)),
            });
            let mut tick = tokio::time::interval(FRAME_DURATION);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut next = 0usize;
            let mut out = [0u8; 1500];
            let mut buf = bytes::BytesMut::with_capacity(16 * 1500);
            let mut latched = remote;
            while !stop2.load(Ordering::Relaxed) {
                buf.reserve(1500);
                tokio::select! {
                    _ = tick.tick() => {
                        let frame = play.get(next).copied().unwrap_or(SILENT_FRAME);
                        next += 1;
                        if let Some(to) = latched {
                            if let Ok(n) = leg.produce_rtp(&frame, &mut out) {
                                if socket.send_to(&out[..n], to).await.is_ok() {
                                    stats.sent.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        }
                    }
                    r = socket.recv_buf_from(&mut buf) => {
                        let Ok((_, from)) = r else { continue };
                        latched.get_or_insert(from);
                        let datagram = buf.split().freeze();
                        if let Ok(LegInput::Frame(info)) = leg.on_rtp(Instant::now(), datagram) {
                            stats.received.fetch_add(1, Ordering::Relaxed);
                            if let Some(w) = writer.as_mut() {
                                // Keep the timeline: what never came is silence.
                                let gap = (info.skipped_samples as usize).min(8000 * 10);
                                for _ in 0..gap / 160 {
                                    w.write_samples(&SILENT_FRAME)?;
                                }
                                w.write_samples(leg.frame())?;
                            }
                        }
                    }
                }
            }
            if let Some(w) = writer {
                w.finish()?;
            }
            Ok(())
        });
        Ok(CallMedia { stop, task })
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    async fn finish(self) -> anyhow::Result<()> {
        self.stop();
        self.task.await.context("media task")?
    }
}
