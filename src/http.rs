//! The HTTP control API of `sotto serve` (SPEC §6): health, live calls, registrations.
//!
//! Every answer is JSON, errors included (`{"error": "..."}`), so a client never has to
//! special-case a plain-text 404 or 405. `/healthz` turns 503 once draining starts, so a
//! load balancer stops sending new work while calls in progress finish.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::live::{CallSummary, LiveCalls};

/// One registrar binding (RFC 3261 §10.3) as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationView {
    /// The address-of-record, e.g. `sip:agent1@127.0.0.1`.
    pub aor: String,
    /// The Contact URI the binding points to.
    pub contact_uri: String,
    /// Where the REGISTER came from (`ip:port`), which may differ from the Contact
    /// behind a NAT.
    pub source_addr: String,
    pub transport: String,
    pub expires_at_unix: i64,
}

impl From<&crate::store::Registration> for RegistrationView {
    fn from(r: &crate::store::Registration) -> Self {
        RegistrationView {
            aor: r.aor.clone(),
            contact_uri: r.contact_uri.clone(),
            source_addr: r.source_addr.clone(),
            transport: r.transport.clone(),
            expires_at_unix: r.expires_at_unix,
        }
    }
}

/// Gives the current registrations. Called once per `GET /v1/registrations` on the
/// runtime: it must answer from memory, not block on I/O.
pub type RegistrationsProvider = Arc<dyn Fn() -> Vec<RegistrationView> + Send + Sync>;

/// What the handlers share. Cloning shares the same state.
#[derive(Clone)]
pub struct HttpState {
    pub calls: LiveCalls,
    pub registrations: RegistrationsProvider,
    /// Set when shutdown begins: `/healthz` then answers 503.
    pub draining: Arc<AtomicBool>,
    /// The media workers' counters, for `/metrics`.
    pub workers: Vec<Arc<crate::media_rt::WorkerMetrics>>,
    /// `/v1/recordings` (SPEC §1 "Recording"), served when set.
    pub recordings: Option<crate::recording::api::RecordingsApi>,
    /// Call control, for the agents' actions (`POST /v1/calls…`).
    pub control: Option<crate::control_api::CommandSender>,
}

impl HttpState {
    pub fn new(calls: LiveCalls, registrations: RegistrationsProvider) -> Self {
        HttpState {
            calls,
            registrations,
            draining: Arc::new(AtomicBool::new(false)),
            workers: Vec::new(),
            recordings: None,
            control: None,
        }
    }

    /// Marks the edge as draining: health checks fail from now on.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}

/// The API's routes, for serving or for embedding in a larger router.
pub fn router(state: HttpState) -> Router {
    let recordings = state.recordings.clone().map(crate::recording::api::routes);
    Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/v1/calls",
            get(list_calls).post(crate::control_api::originate),
        )
        .route("/v1/calls/{id}", get(get_call))
        .route("/v1/calls/{id}/{action}", post(crate::control_api::act))
        .route("/v1/registrations", get(list_registrations))
        .route("/metrics", get(crate::metrics::render))
        // Added after the routes: it applies to the method routers that exist.
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .with_state(state)
        .merge(recordings.unwrap_or_default())
}

/// Serves the API on `listener` until `shutdown` resolves, then stops accepting and
/// lets requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: HttpState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "HTTP API listening");
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn healthz(State(state): State<HttpState>) -> Response {
    if state.is_draining() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "draining"})),
        )
            .into_response()
    } else {
        Json(json!({"status": "ok"})).into_response()
    }
}

async fn list_calls(State(state): State<HttpState>) -> Json<Vec<CallSummary>> {
    Json(state.calls.snapshot())
}

async fn get_call(State(state): State<HttpState>, Path(id): Path<String>) -> Response {
    match state.calls.get(&id) {
        Some(call) => Json(call).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no call with id {id:?}")),
    }
}

async fn list_registrations(State(state): State<HttpState>) -> Json<Vec<RegistrationView>> {
    Json((state.registrations)())
}

async fn not_found(uri: axum::http::Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("no such resource: {}", uri.path()),
    )
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let msg = format!("method {method} not allowed on {}", uri.path());
    error(StatusCode::METHOD_NOT_ALLOWED, msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::tests::ringing;
    use crate::live::CallState;
    use std::net::SocketAddr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::oneshot;

    struct Running {
        addr: SocketAddr,
        state: HttpState,
        stop: oneshot::Sender<()>,
        task: tokio::task::JoinHandle<std::io::Result<()>>,
    }

    async fn start() -> Running {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let provider: RegistrationsProvider = Arc::new(|| {
            vec![RegistrationView {
                aor: "sip:agent1@127.0.0.1".into(),
                contact_uri: "sip:agent1@127.0.0.1:5062".into(),
                source_addr: "127.0.0.1:5062".into(),
                transport: "udp".into(),
                expires_at_unix: 1_700_000_000,
            }]
        });
        let state = HttpState::new(LiveCalls::new(), provider);
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(serve(listener, state.clone(), shutdown));
        Running {
            addr,
            state,
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
            .update("c1", |c| c.state = CallState::Connected);
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
