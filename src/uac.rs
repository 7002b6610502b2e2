//! `sotto call`: a UAC that places one call, plays a WAV into it, records
//! what it hears, and hangs up. Useful for people (an echo test from the
//! shell) and for tests (an audio path checked end to end).

use crate::sip_driver::{SipDriver, TransactionUser};
use anyhow::{bail, Context};
use rsip::prelude::UntypedHeader;
use rsip::{Header, Method, Request, Response};
use sotto_media::codec::{Codec, Frame, FRAME_DURATION, SILENT_FRAME};
use sotto_media::ids::{RtpTimestamp, SeqNo, Ssrc};
use sotto_media::pipeline::{LegPipeline, PipelineConfig, PipelineStats};
use sotto_media::wav::{WavError, WavReader, WavSpec, WavWriter};
use sotto_sip::dialog::Dialog;
use sotto_sip::endpoint::{ClientTxId, Endpoint, EndpointConfig, Event, Peer};
use sotto_sip::sdp::{self, LocalMedia, LocalSession, SessionDescription};
use sotto_sip::transaction::{Timers, Transport};
use std::io::{Seek, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
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
    let stats = match caller.media {
        Some(media) => Some(media.finish().await?),
        None => None,
    };
    let (sent, received, concealed) = stats.map_or((0, 0, 0), |s| {
        (
            s.sent.packets,
            s.received.packets,
            s.frames.frames_concealed,
        )
    });
    eprintln!(
        "sotto call: sent {sent} RTP packets, received {received} ({concealed} frames concealed)"
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

/// The call's audio, sans-IO: the leg's [`LegPipeline`] (jitter buffer and
/// concealment, no denoiser), the WAV being played and the recording. Its
/// task ([`CallMedia`]) hands it every datagram and a tick every 20 ms.
struct CallAudio<W: Write + Seek> {
    pipeline: LegPipeline,
    play: Vec<Frame>,
    /// The next frame of `play` to send; paced by the ticks, sent or not.
    next: usize,
    record: Option<WavWriter<W>>,
    /// Whether a frame has played out yet: the recording starts there.
    heard: bool,
    /// Idle ticks since the last frame played out, written as silence when
    /// the next one plays (a gap keeps its length; the end is not padded).
    idle: usize,
}

impl<W: Write + Seek> CallAudio<W> {
    fn new(
        config: PipelineConfig,
        now: Instant,
        play: Vec<Frame>,
        record: Option<WavWriter<W>>,
    ) -> CallAudio<W> {
        CallAudio {
            pipeline: LegPipeline::new(config, now),
            play,
            next: 0,
            record,
            heard: false,
            idle: 0,
        }
    }

    /// A datagram from the peer (a malformed one is only counted).
    fn receive(&mut self, now: Instant, datagram: &[u8]) {
        let _ = self.pipeline.receive(now, datagram);
    }

    /// One 20 ms tick: records what the peer's stream plays out now, and
    /// writes our next packet (the WAV's next frame; silence once it has
    /// run out) into `out`, when given, returning its length.
    fn tick(&mut self, now: Instant, out: Option<&mut [u8]>) -> Result<Option<usize>, WavError> {
        match self.pipeline.playout(now) {
            Some(frame) => {
                if let Some(w) = self.record.as_mut() {
                    for _ in 0..self.idle {
                        w.write_samples(&SILENT_FRAME)?;
                    }
                    w.write_samples(frame)?;
                }
                self.heard = true;
                self.idle = 0;
            }
            None if self.heard => self.idle += 1,
            None => {}
        }
        let frame = self.play.get(self.next).copied().unwrap_or(SILENT_FRAME);
        self.next += 1;
        Ok(out.and_then(|out| self.pipeline.send(now, &frame, out).ok()))
    }

    /// Closes the recording; the pipeline's counters.
    fn finish(self) -> Result<PipelineStats, WavError> {
        if let Some(w) = self.record {
            w.finish()?;
        }
        Ok(self.pipeline.stats())
    }
}

/// The task that carries [`CallAudio`]'s packets: it ticks every 20 ms and
/// receives on the RTP socket, until stopped.
struct CallMedia {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<anyhow::Result<PipelineStats>>,
}

impl CallMedia {
    fn start(
        socket: std::net::UdpSocket,
        remote: Option<SocketAddr>,
        codec: Codec,
        play: Vec<Frame>,
        record: Option<PathBuf>,
    ) -> anyhow::Result<CallMedia> {
        let socket = tokio::net::UdpSocket::from_std(socket)?;
        let writer = match &record {
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
        // Our stream's SSRC and first numbers are random (RFC 3550 §5.1).
        let config = PipelineConfig {
            codec,
            telephone_event: None,
            ssrc: Ssrc(rand::random()),
            first_seq: SeqNo(rand::random()),
            first_timestamp: RtpTimestamp(rand::random()),
            denoise: false,
            seed: rand::random(),
        };
        let mut audio = CallAudio::new(config, Instant::now(), play, writer);
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(FRAME_DURATION);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut out = [0u8; 1500];
            let mut buf = [0u8; 1500];
            // Where we send: the SDP's address, else whoever sends to us first.
            let mut latched = remote;
            while !stop2.load(Ordering::Relaxed) {
                tokio::select! {
                    _ = tick.tick() => {
                        let out_buf = latched.is_some().then_some(&mut out[..]);
                        let sent = audio.tick(Instant::now(), out_buf)?;
                        if let (Some(n), Some(to)) = (sent, latched) {
                            let _ = socket.send_to(&out[..n], to).await;
                        }
                    }
                    r = socket.recv_from(&mut buf) => {
                        let Ok((n, from)) = r else { continue };
                        latched.get_or_insert(from);
                        audio.receive(Instant::now(), &buf[..n]);
                    }
                }
            }
            Ok(audio.finish()?)
        });
        Ok(CallMedia { stop, task })
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    async fn finish(self) -> anyhow::Result<PipelineStats> {
        self.stop();
        self.task.await.context("media task")?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sotto_media::ids::PayloadType;
    use sotto_media::rtp_packet::parse_header;
    use sotto_media::rtp_sender::RtpSender;
    use std::fs::File;
    use std::io::BufWriter;

    const AMPLITUDE: f64 = 8000.0;

    fn config() -> PipelineConfig {
        PipelineConfig {
            codec: Codec::Pcmu,
            telephone_event: None,
            ssrc: Ssrc(0x5077),
            first_seq: SeqNo(40),
            first_timestamp: RtpTimestamp(9000),
            denoise: false,
            seed: 1,
        }
    }

    /// Frame `n` of a 440 Hz sine.
    fn sine(n: usize) -> Frame {
        let mut frame = SILENT_FRAME;
        for (i, s) in frame.iter_mut().enumerate() {
            let t = (n * 160 + i) as f64 / 8000.0;
            *s = (AMPLITUDE * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16;
        }
        frame
    }

    fn rms(samples: &[i16]) -> f64 {
        let sum: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
        (sum / samples.len().max(1) as f64).sqrt()
    }

    #[test]
    fn what_plays_out_is_recorded_and_a_gap_keeps_its_length_in_silence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("heard.wav");
        let writer = WavWriter::new(
            BufWriter::new(File::create(&path).unwrap()),
            WavSpec::TELEPHONE_MONO,
        )
        .unwrap();
        let t0 = Instant::now();
        let mut audio = CallAudio::new(config(), t0, Vec::new(), Some(writer));
        // The peer: a second of sine, a second of suppressed silence (the
        // timestamp moves on, RFC 3551 §4.1), another second of sine.
        let mut peer = RtpSender::new(Ssrc(7), SeqNo(65500), RtpTimestamp(1), PayloadType::PCMU);
        let mut packet = [0u8; 200];
        let mut payload = [0u8; 160];
        for tick in 0..170u32 {
            let now = t0 + FRAME_DURATION * tick;
            let talking = tick < 50 || (100..150).contains(&tick);
            if tick == 100 {
                peer.skip(50 * 160);
            }
            if talking {
                Codec::Pcmu.encode(&sine(tick as usize), &mut payload);
                let n = peer.packetize(&payload, &mut packet).unwrap();
                audio.receive(now, &packet[..n]);
            }
            assert_eq!(audio.tick(now, None).unwrap(), None);
        }
        let stats = audio.finish().unwrap();
        assert_eq!(stats.received.packets, 100);
        assert_eq!(stats.frames.frames_played, 100);

        let heard: Vec<i16> = hound::WavReader::open(&path)
            .unwrap()
            .into_samples::<i16>()
            .map(Result::unwrap)
            .collect();
        // From the first frame heard: 3 s, the gap included, then the few
        // frames concealed before the stream counts as idle.
        let frames = heard.len() / 160;
        assert!((150..=162).contains(&frames), "{frames} frames recorded");
        assert_eq!(heard.len() % 160, 0);
        let sine_rms = AMPLITUDE / 2f64.sqrt();
        let first = rms(&heard[..50 * 160]);
        let second = rms(&heard[100 * 160..150 * 160]);
        assert!(first > 0.9 * sine_rms, "first second at RMS {first:.0}");
        assert!(second > 0.9 * sine_rms, "third second at RMS {second:.0}");
        // Past the concealment of the first missing frames, the gap is silence.
        assert!(heard[65 * 160..95 * 160].iter().all(|&s| s == 0));
    }

    #[test]
    fn the_wav_is_sent_paced_by_the_ticks_then_silence() {
        let t0 = Instant::now();
        let play: Vec<Frame> = (0..3).map(sine).collect();
        let mut audio =
            CallAudio::<std::io::Cursor<Vec<u8>>>::new(config(), t0, play.clone(), None);
        let mut out = [0u8; 1500];
        // The peer's address is not known yet: frame 0 goes by unsent.
        assert_eq!(audio.tick(t0, None).unwrap(), None);
        let mut expected = [0u8; 160];
        for tick in 1..5u32 {
            let now = t0 + FRAME_DURATION * tick;
            let n = audio
                .tick(now, Some(&mut out[..]))
                .unwrap()
                .expect("a packet");
            let (header, range) = parse_header(&out[..n]).unwrap();
            assert_eq!(header.ssrc, Ssrc(0x5077));
            assert_eq!(header.sequence, SeqNo(40 + tick as u16 - 1));
            assert_eq!(header.timestamp, RtpTimestamp(9000 + 160 * (tick - 1)));
            assert_eq!(header.payload_type, PayloadType::PCMU);
            let frame = play.get(tick as usize).copied().unwrap_or(SILENT_FRAME);
            Codec::Pcmu.encode(&frame, &mut expected);
            assert_eq!(&out[range], &expected[..], "tick {tick}");
        }
        let stats = audio.finish().unwrap();
        assert_eq!(stats.sent.packets, 4);
        assert_eq!(stats.received.packets, 0);
    }
}
