//! The HTTP API of `sotto serve` (documented in `openapi.yaml`): health,
//! metrics, live calls and agents' actions on them, registrations,
//! recordings.
//!
//! One typed state ([`AppState`]) is shared by every handler; one error type
//! ([`ApiError`]) becomes every error response (JSON `{"error": "..."}`, plus
//! `rule` and `action` when the call model refused); each resource has its
//! own router (`calls`, `registrations`, `recordings`, `health`, `metrics`).
//! The API reads views the call core publishes (`crate::live`) and sends
//! commands to the core's task; it never touches a call itself.

mod agents;
mod calls;
mod error;
mod health;
mod metrics;
mod recordings;
mod registrations;

pub use calls::OriginateBody;
pub use error::ApiError;
pub use recordings::RecordingView;

use crate::live::{LiveCalls, Registrations};
use crate::media_rt::WorkerMetrics;
use crate::runtime::Command;
use crate::sip_driver::DriverHandle;
use crate::store::StoreHandle;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What the handlers share. Cloning shares the same state.
#[derive(Clone)]
pub struct AppState {
    /// Calls in progress, as the call core last published them.
    pub calls: LiveCalls,
    /// The registrar's bindings, as the call core last published them.
    pub registrations: Registrations,
    /// Set when shutdown begins: `/healthz` then answers 503.
    pub draining: Arc<AtomicBool>,
    /// The media workers' counters, for `/metrics`.
    pub workers: Vec<Arc<WorkerMetrics>>,
    /// The store (recordings index).
    pub store: StoreHandle,
    /// The call core's task, for agents' actions.
    pub control: DriverHandle<Command>,
}

impl AppState {
    /// A state reading `calls` and `registrations`, acting through `control`.
    pub fn new(
        calls: LiveCalls,
        registrations: Registrations,
        workers: Vec<Arc<WorkerMetrics>>,
        store: StoreHandle,
        control: DriverHandle<Command>,
    ) -> AppState {
        AppState {
            calls,
            registrations,
            draining: Arc::new(AtomicBool::new(false)),
            workers,
            store,
            control,
        }
    }

    /// Marks the edge as draining: health checks fail from now on.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Whether shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}

/// The API's routes, for serving or for embedding in a larger router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::routes())
        .merge(metrics::routes())
        .merge(calls::routes())
        .merge(agents::routes())
        .merge(registrations::routes())
        .merge(recordings::routes())
        // Added after the routes: it applies to the method routers that exist.
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` resolves, then stops accepting and
/// lets requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "HTTP API listening");
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn not_found(uri: axum::http::Uri) -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no such resource: {}", uri.path()),
    )
    .into_response()
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let msg = format!("method {method} not allowed on {}", uri.path());
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, msg).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::tests::ringing;
    use crate::view::{RegistrationView, SignallingState};
    use serde_json::json;
    use std::net::SocketAddr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::oneshot;

    struct Running {
        addr: SocketAddr,
        state: AppState,
        _dir: tempfile::TempDir,
        stop: oneshot::Sender<()>,
        task: tokio::task::JoinHandle<std::io::Result<()>>,
    }

    async fn start() -> Running {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let registrations = Registrations::default();
        registrations.set(vec![RegistrationView {
            aor: "sip:agent1@127.0.0.1".into(),
            contact_uri: "sip:agent1@127.0.0.1:5062".into(),
            source_addr: "127.0.0.1:5062".into(),
            transport: "udp".into(),
            expires_at_unix: 1_700_000_000,
        }]);
        let dir = tempfile::tempdir().unwrap();
        let store = StoreHandle::open(dir.path()).unwrap();
        let state = AppState::new(
            LiveCalls::new(),
            registrations,
            Vec::new(),
            store,
            DriverHandle::detached(),
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(serve(listener, state.clone(), shutdown));
        Running {
            addr,
            state,
            _dir: dir,
            stop,
            task,
        }
    }

    /// One HTTP/1.1 request over a raw socket: (status, head, JSON body).
    async fn request(
        addr: SocketAddr,
        method: &str,
        path: &str,
    ) -> (u16, String, serde_json::Value) {
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        conn.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        conn.read_to_end(&mut raw).await.unwrap();
        let text = String::from_utf8(raw).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").expect("a full HTTP response");
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        let lower = head.to_ascii_lowercase();
        assert!(
            lower.contains("content-type: application/json"),
            "not JSON:\n{head}"
        );
        (
            status,
            lower,
            serde_json::from_str(body).expect("a JSON body"),
        )
    }

    #[tokio::test]
    async fn healthz_turns_503_when_draining_and_shutdown_ends_serve() {
        let s = start().await;
        let (status, _, body) = request(s.addr, "GET", "/healthz").await;
        assert_eq!((status, body), (200, json!({"status": "ok"})));

        s.state.start_draining();
        let (status, _, body) = request(s.addr, "GET", "/healthz").await;
        assert_eq!((status, body), (503, json!({"status": "draining"})));

        s.stop.send(()).unwrap();
        s.task.await.unwrap().unwrap();
        assert!(tokio::net::TcpStream::connect(s.addr).await.is_err());
    }

    #[tokio::test]
    async fn calls_are_listed_and_fetched_by_id() {
        let s = start().await;
        let (status, _, body) = request(s.addr, "GET", "/v1/calls").await;
        assert_eq!((status, body), (200, json!([])));

        s.state.calls.insert(ringing("c2", 200));
        s.state.calls.insert(ringing("c1", 100));
        s.state
            .calls
            .update("c1", |c| c.state = SignallingState::Connected);
        let (status, _, body) = request(s.addr, "GET", "/v1/calls").await;
        assert_eq!(status, 200);
        let ids: Vec<_> = body
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].clone())
            .collect();
        assert_eq!(ids, [json!("c1"), json!("c2")]);

        let (status, _, body) = request(s.addr, "GET", "/v1/calls/c1").await;
        assert_eq!(status, 200);
        assert_eq!(body["state"], "connected");
        assert_eq!(body["legs"][0]["role"], "caller");

        let (status, _, body) = request(s.addr, "GET", "/v1/calls/gone").await;
        assert_eq!(status, 404);
        assert!(body["error"].as_str().unwrap().contains("gone"), "{body}");
    }

    #[tokio::test]
    async fn registrations_come_from_the_provider() {
        let s = start().await;
        let (status, _, body) = request(s.addr, "GET", "/v1/registrations").await;
        assert_eq!(status, 200);
        assert_eq!(body[0]["aor"], "sip:agent1@127.0.0.1");
        assert_eq!(body[0]["source_addr"], "127.0.0.1:5062");
        assert_eq!(body.as_array().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn unknown_route_and_wrong_method_answer_json_errors() {
        let s = start().await;
        let (status, _, body) = request(s.addr, "GET", "/v2/nothing").await;
        assert_eq!(status, 404);
        assert!(
            body["error"].as_str().unwrap().contains("/v2/nothing"),
            "{body}"
        );

        let (status, head, body) = request(s.addr, "DELETE", "/v1/calls").await;
        assert_eq!(status, 405);
        assert!(body["error"].as_str().unwrap().contains("DELETE"), "{body}");
        assert!(head.contains("allow: get,head"), "{head}");

        let (status, _, _) = request(s.addr, "POST", "/healthz").await;
        assert_eq!(status, 405);
    }
}
