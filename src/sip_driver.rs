//! The I/O driver of a sans-IO [`Endpoint`]: one tokio task owns the endpoint
//! and its transaction user (TU); UDP datagrams, framed TCP messages,
//! commands and timers are fed in, and transmits are flushed out. Nothing is
//! shared and nothing is locked: everything else talks to the task through a
//! channel.

use bytes::Bytes;
use sotto_sip::endpoint::{Endpoint, Event, Peer};
use sotto_sip::message::StreamFramer;
use sotto_sip::transaction::Transport;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

/// What drives a TU from the outside world.
pub trait TransactionUser {
    type Command: Send + 'static;

    fn on_event(&mut self, now: Instant, event: Event, endpoint: &mut Endpoint);
    fn on_command(&mut self, now: Instant, command: Self::Command, endpoint: &mut Endpoint);
    fn handle_timeout(&mut self, now: Instant, endpoint: &mut Endpoint);
    fn poll_timeout(&self) -> Option<Instant>;
    /// The driver stops once this turns true (and transmits are flushed).
    fn is_finished(&self) -> bool {
        false
    }
}

/// Inputs from tasks other than the driver's own UDP socket.
pub enum Input<C> {
    TcpMessage(SocketAddr, Box<rsip::SipMessage>),
    TcpOpened(SocketAddr, mpsc::UnboundedSender<Bytes>),
    TcpClosed(SocketAddr),
    Command(C),
}

/// A handle to send commands to the driver task.
pub struct DriverHandle<C> {
    tx: mpsc::UnboundedSender<Input<C>>,
}

impl<C> Clone for DriverHandle<C> {
    fn clone(&self) -> Self {
        DriverHandle {
            tx: self.tx.clone(),
        }
    }
}

impl<C> DriverHandle<C> {
    /// A handle to no driver: every send fails (for an API served without
    /// call control, as in tests).
    pub fn detached() -> Self {
        let (tx, _) = mpsc::unbounded_channel();
        DriverHandle { tx }
    }

    /// Sends a command; false when the driver has stopped.
    pub fn send(&self, command: C) -> bool {
        self.tx.send(Input::Command(command)).is_ok()
    }
}

pub struct SipDriver<T: TransactionUser> {
    endpoint: Endpoint,
    tu: T,
    udp: Arc<UdpSocket>,
    tcp_writers: HashMap<SocketAddr, mpsc::UnboundedSender<Bytes>>,
    rx: mpsc::UnboundedReceiver<Input<T::Command>>,
    tx: mpsc::UnboundedSender<Input<T::Command>>,
}

/// Largest datagram we accept (a SIP message over UDP should stay under the
/// path MTU, §18.1.1; anything up to 64 KiB is still read whole).
const MAX_DATAGRAM: usize = 65_535;

impl<T: TransactionUser> SipDriver<T> {
    pub fn new(endpoint: Endpoint, tu: T, udp: UdpSocket) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        SipDriver {
            endpoint,
            tu,
            udp: Arc::new(udp),
            tcp_writers: HashMap::new(),
            rx,
            tx,
        }
    }

    pub fn handle(&self) -> DriverHandle<T::Command> {
        DriverHandle {
            tx: self.tx.clone(),
        }
    }

    /// Accepts SIP over TCP on `listener` (RFC 3261 §18.3 framing).
    pub fn listen_tcp(&self, listener: TcpListener) {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, addr)) => {
                        spawn_tcp_connection(stream, addr, tx.clone());
                    }
                    Err(e) => {
                        tracing::warn!("tcp accept: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        });
    }

    /// Runs until the TU is finished. Returns the TU.
    pub async fn run(mut self) -> T {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            let deadline = [self.endpoint.poll_timeout(), self.tu.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = self.udp.recv_from(&mut buf) => {
                    let now = Instant::now();
                    if let Ok((n, from)) = r {
                        self.on_datagram(now, from, &buf[..n]);
                    }
                    // Drain what else is queued before flushing (batching).
                    for _ in 0..256 {
                        match self.udp.try_recv_from(&mut buf) {
                            Ok((n, from)) => self.on_datagram(now, from, &buf[..n]),
                            Err(_) => break,
                        }
                    }
                }
                Some(input) = self.rx.recv() => {
                    let now = Instant::now();
                    self.on_input(now, input);
                    while let Ok(input) = self.rx.try_recv() {
                        self.on_input(now, input);
                    }
                }
                _ = sleep => {}
            }
            let now = Instant::now();
            self.endpoint.handle_timeout(now);
            self.tu.handle_timeout(now, &mut self.endpoint);
            self.pump(now);
            if self.tu.is_finished() {
                return self.tu;
            }
        }
    }

    fn on_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        // RFC 5626 keep-alives (CRLF) carry nothing.
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return;
        }
        let peer = Peer {
            addr: from,
            transport: Transport::Udp,
        };
        self.endpoint.handle_datagram(now, peer, bytes);
        self.pump(now);
    }

    fn on_input(&mut self, now: Instant, input: Input<T::Command>) {
        match input {
            Input::TcpMessage(addr, msg) => {
                let peer = Peer {
                    addr,
                    transport: Transport::Tcp,
                };
                self.endpoint.handle_message(now, peer, *msg);
            }
            Input::TcpOpened(addr, writer) => {
                self.tcp_writers.insert(addr, writer);
            }
            Input::TcpClosed(addr) => {
                self.tcp_writers.remove(&addr);
            }
            Input::Command(c) => self.tu.on_command(now, c, &mut self.endpoint),
        }
        self.pump(now);
    }

    /// Hands events to the TU and flushes transmits, until both are empty.
    fn pump(&mut self, now: Instant) {
        loop {
            let mut busy = false;
            while let Some(ev) = self.endpoint.poll_event() {
                busy = true;
                self.tu.on_event(now, ev, &mut self.endpoint);
            }
            while let Some(t) = self.endpoint.poll_transmit() {
                busy = true;
                match t.peer.transport {
                    Transport::Udp => {
                        if let Err(e) = self.udp.try_send_to(&t.bytes, t.peer.addr) {
                            tracing::debug!("udp send to {}: {e}", t.peer.addr);
                        }
                    }
                    Transport::Tcp => self.send_tcp(t.peer.addr, t.bytes),
                }
            }
            if !busy {
                break;
            }
        }
    }

    fn send_tcp(&mut self, addr: SocketAddr, bytes: Bytes) {
        if let Some(w) = self.tcp_writers.get(&addr) {
            if w.send(bytes.clone()).is_ok() {
                return;
            }
            self.tcp_writers.remove(&addr);
        }
        // No connection to that peer: open one (§18.1.1).
        let tx = self.tx.clone();
        tokio::spawn(async move {
            match TcpStream::connect(addr).await {
                Ok(stream) => {
                    let writer = spawn_tcp_connection(stream, addr, tx);
                    let _ = writer.send(bytes);
                }
                Err(e) => tracing::warn!("tcp connect to {addr}: {e}"),
            }
        });
    }
}

/// Splits a TCP stream into a framing reader task and a writer task.
fn spawn_tcp_connection<C: Send + 'static>(
    stream: TcpStream,
    addr: SocketAddr,
    tx: mpsc::UnboundedSender<Input<C>>,
) -> mpsc::UnboundedSender<Bytes> {
    let _ = stream.set_nodelay(true);
    let (mut read, mut write) = stream.into_split();
    let (wtx, mut wrx) = mpsc::unbounded_channel::<Bytes>();
    let _ = tx.send(Input::TcpOpened(addr, wtx.clone()));
    tokio::spawn(async move {
        while let Some(bytes) = wrx.recv().await {
            if write.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move {
        let mut framer = StreamFramer::default();
        let mut buf = vec![0u8; 16 * 1024];
        'conn: loop {
            let n = match read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            framer.push(&buf[..n]);
            loop {
                match framer.next_message() {
                    Ok(Some(msg)) => {
                        if tx.send(Input::TcpMessage(addr, Box::new(msg))).is_err() {
                            break 'conn;
                        }
                    }
                    Ok(None) => break,
                    Err(_) => {
                        // A framing error on a stream cannot be resynchronised:
                        // close the connection (§18.3).
                        tracing::debug!("tcp framing error from {addr}; closing");
                        break 'conn;
                    }
                }
            }
        }
        let _ = tx.send(Input::TcpClosed(addr));
    });
    wtx
}
