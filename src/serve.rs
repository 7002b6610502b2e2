//! `sotto serve`: wires configuration, store, SIP, media and HTTP together,
//! and drains on SIGTERM/Ctrl-C.

use crate::api::AppState;
use crate::calls::{CallControlConfig, CallCore, PortPool};
use crate::config::Config;
use crate::live::{LiveCalls, Registrations};
use crate::media_rt::MediaEngine;
use crate::registrar::ExpiryPolicy;
use crate::runtime::{Command, Runtime};
use crate::sip_driver::SipDriver;
use crate::store::StoreHandle;
use anyhow::Context;
use sotto_sip::endpoint::{Endpoint, EndpointConfig};
use sotto_sip::transaction::Timers;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// TOML configuration file, merged over the embedded defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// SIP address (UDP and TCP). Default 127.0.0.1:5060.
    #[arg(long)]
    pub sip_listen: Option<SocketAddr>,
    /// HTTP API address. Default 127.0.0.1:8080.
    #[arg(long)]
    pub http_listen: Option<SocketAddr>,
    /// RTP port range LO-HI. Default 20000-29999.
    #[arg(long)]
    pub rtp_ports: Option<String>,
    /// Directory of the embedded store. Default ./data.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = Config::load(args.config.as_deref())?;
    config.apply_overrides(
        args.sip_listen,
        args.http_listen,
        args.rtp_ports.as_deref(),
        args.data_dir.as_deref(),
    )?;
    // Each call holds two sockets a leg (RTP and RTCP): raise the descriptor
    // limit to what the system allows (the soft limit is often 1,024).
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => tracing::debug!(limit = n, "open files"),
        Err(e) => tracing::warn!("cannot raise the open-file limit: {e}"),
    }
    let store = StoreHandle::open(&config.data_dir)
        .with_context(|| format!("opening the store in {}", config.data_dir.display()))?;

    let sip_addr = config.sip.listen;
    let udp = tokio::net::UdpSocket::bind(sip_addr)
        .await
        .with_context(|| format!("binding SIP UDP {sip_addr}"))?;
    grow_buffers(&udp);
    let tcp = tokio::net::TcpListener::bind(sip_addr)
        .await
        .with_context(|| format!("binding SIP TCP {sip_addr}"))?;
    let http = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("binding HTTP {}", config.http.listen))?;

    let advertised = advertised_addr(sip_addr);
    let epoch_instant = Instant::now();
    let epoch_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let timers = Timers {
        t1: Duration::from_millis(config.sip.t1_ms),
        t2: Duration::from_millis(config.sip.t2_ms),
        t4: Duration::from_millis(config.sip.t4_ms),
    };
    let endpoint = Endpoint::new(
        EndpointConfig {
            timers,
            via_host: advertised.to_string(),
            user_agent: Some(config.sip.user_agent.clone()),
            allow: crate::calls::ALLOW.to_string(),
        },
        rand::random(),
    );
    let live = LiveCalls::new();
    let registrations = Registrations::default();
    let ports = PortPool::new(
        advertised.ip(),
        config.media.rtp_ports.lo,
        config.media.rtp_ports.hi,
    );
    let (media_events, media_events_rx) = std::sync::mpsc::sync_channel(1024);
    let media = Arc::new(
        MediaEngine::start(config.media.worker_count(), media_events)
            .context("starting media workers")?,
    );
    let core = CallCore::new(
        CallControlConfig {
            local: advertised,
            realm: config.sip.realm(),
            user_agent: config.sip.user_agent.clone(),
            max_calls: config.sip.max_concurrent_calls as usize,
            echo_user: config.routes.echo.then(|| config.routes.echo_user.clone()),
            users: config
                .users
                .iter()
                .map(|u| (u.name.clone(), u.password.clone()))
                .collect(),
            entry_points: config
                .contact_centre
                .entry_points
                .iter()
                .map(|e| (e.address.clone(), e.id.0.clone()))
                .collect(),
            expiry: ExpiryPolicy {
                min: config.sip.min_expires,
                max: config.sip.max_expires,
                default: config.sip.default_expires,
            },
            nonce_secret: rand::random::<[u8; 32]>().to_vec(),
            // Validated with the same parser when the config was loaded.
            denoise: config.routes.denoise.parse().unwrap_or_default(),
            echo_denoise: config
                .routes
                .echo_denoise
                .as_deref()
                .unwrap_or(&config.routes.denoise)
                .parse()
                .unwrap_or_default(),
            auth_algorithms: config
                .sip
                .auth_algorithms
                .iter()
                .filter_map(|a| sotto_sip::auth::Algorithm::parse(a).ok())
                .collect(),
            epoch_unix_ms,
            epoch_instant,
            trunk_uri: config.trunk.uri.clone(),
            trunk_refer: config.trunk.transfer == "refer",
            record: config.routes.record,
            recording_auto_resume: std::time::Duration::from_secs(
                config.recording.auto_resume_seconds,
            ),
            recording_pause_max: std::time::Duration::from_secs(config.recording.pause_max_seconds),
        },
        ports,
        rand::random(),
    );
    let mut directory = config
        .contact_centre
        .directory()
        .map_err(|e| anyhow::anyhow!("[contact_centre]: {e}"))?;
    directory.agents.retain(|id, _| {
        let user = config.users.iter().any(|u| u.name == id.0);
        if !user {
            tracing::warn!(agent = %id, "contact-centre agent is not a [[users]] name: left out");
        }
        user
    });
    let centre = crate::contact::ContactCentre::new(directory, (epoch_instant, epoch_unix_ms))
        .map_err(|e| anyhow::anyhow!("[contact_centre]: {e}"))?;
    let runtime = Runtime::new(
        core,
        media.clone(),
        live.clone(),
        registrations.clone(),
        store.clone(),
        advertised.ip(),
        centre,
    );

    let recorder = crate::recording::Recorder::spawn(
        &config.data_dir,
        store.clone(),
        config.recording.clone(),
    )
    .context("starting the recording writer")?;
    let runtime = runtime.with_recorder(recorder);
    let driver = SipDriver::new(endpoint, runtime, udp);
    driver.listen_tcp(tcp);
    let handle = driver.handle();
    // Media events reach call control through its driver (off the workers).
    let events_to_sip = handle.clone();
    std::thread::Builder::new()
        .name("sotto-media-events".into())
        .spawn(move || {
            while let Ok(event) = media_events_rx.recv() {
                if !events_to_sip.send(Command::Media(event)) {
                    break;
                }
            }
        })
        .context("starting the media event thread")?;

    let http_state = AppState::new(
        live,
        registrations,
        media.metrics(),
        store.clone(),
        handle.clone(),
    );
    let (http_stop_tx, http_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let http_task = tokio::spawn(crate::api::serve(http, http_state.clone(), async move {
        let _ = http_stop_rx.await;
    }));

    tracing::info!(
        sip = %sip_addr, http = %config.http.listen, rtp = %config.media.rtp_ports,
        data_dir = %config.data_dir.display(), "sotto serving"
    );
    let sip_task = tokio::spawn(driver.run());

    shutdown_signal().await;
    tracing::info!("shutting down: no new calls; hanging up live calls");
    http_state.start_draining();
    handle.send(Command::Shutdown);
    let runtime = sip_task.await.context("SIP task")?;
    tracing::info!(calls_left = runtime.call_count(), "SIP stopped");
    let _ = http_stop_tx.send(());
    let _ = http_task.await;
    store.flush().await;
    Ok(())
}

/// The address we put in Contact, Via and SDP: the listen address, or
/// loopback when bound to the unspecified address.
fn advertised_addr(listen: SocketAddr) -> SocketAddr {
    if listen.ip().is_unspecified() {
        let ip = if listen.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        };
        SocketAddr::new(ip, listen.port())
    } else {
        listen
    }
}

/// Bigger socket buffers absorb bursts of a load test (best effort).
fn grow_buffers(udp: &tokio::net::UdpSocket) {
    let sock = socket2::SockRef::from(udp);
    let _ = sock.set_recv_buffer_size(8 << 20);
    let _ = sock.set_send_buffer_size(8 << 20);
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
