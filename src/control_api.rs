//! The call-control part of the HTTP API (SPEC §1, §6): agents place calls
//! and act on them. Documented in `openapi.yaml`.
//!
//! - `POST /v1/calls` `{"agent": "agent1", "target": "+12015532447"}` places a
//!   call: the agent's phone rings, then the target (a user or a dial number).
//! - `POST /v1/calls/{id}/{action}` carries out one of the actions
//!   `GET /v1/calls/{id}` lists as allowed (`hold`, `resume`, `consult`,
//!   `toggle`, `end-consult`, `transfer`, `blind-transfer`, `conference`,
//!   `leave-conference`, `end`, `send-dtmf`, `pause-recording`,
//!   `resume-recording`). The body names the acting `agent` (default: the
//!   call's primary agent) and the action's argument (`target`, `digits`,
//!   `seconds`).
//!
//! A refused action answers 409 with the rule that refused it; the call is
//! unchanged.

use crate::calls::control::{ControlError, ControlOp, ControlRequest, OriginateRequest};
use crate::calls::Command;
use crate::http::HttpState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// Hands a command to call control; false when it has stopped.
pub type CommandSender = Arc<dyn Fn(Command) -> bool + Send + Sync>;

/// How long an action may take to be carried out before the API gives up.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// The agent acting (a user name); default: the primary agent.
    #[serde(default)]
    pub agent: Option<String>,
    /// `consult`, `blind-transfer`: a user's name or a dial number.
    #[serde(default)]
    pub target: Option<String>,
    /// `send-dtmf`: digits 0-9, *, #, A-D.
    #[serde(default)]
    pub digits: Option<String>,
    /// `pause-recording`: seconds until recording resumes by itself.
    #[serde(default)]
    pub seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OriginateBody {
    pub agent: String,
    pub target: String,
}

fn error(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn bad_request(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, json!({"error": message.into()}))
}

async fn ask(
    send: Option<&CommandSender>,
    make: impl FnOnce(crate::calls::control::ControlReply) -> Command,
) -> Response {
    let (tx, rx) = tokio::sync::oneshot::channel();
    if !send.is_some_and(|send| send(make(tx))) {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "call control has stopped"}),
        );
    }
    match tokio::time::timeout(REPLY_TIMEOUT, rx).await {
        Ok(Ok(Ok(v))) => Json(v).into_response(),
        Ok(Ok(Err(e))) => match e {
            ControlError::NotFound(m) => error(StatusCode::NOT_FOUND, json!({"error": m})),
            ControlError::BadRequest(m) => bad_request(m),
            ControlError::Unavailable(m) => {
                error(StatusCode::SERVICE_UNAVAILABLE, json!({"error": m}))
            }
            ControlError::Refused(r) => error(
                StatusCode::CONFLICT,
                json!({"error": r.to_string(), "rule": r.rule, "action": r.action}),
            ),
        },
        _ => error(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "call control did not answer in time"}),
        ),
    }
}

/// `POST /v1/calls`
pub async fn originate(State(state): State<HttpState>, body: Option<Json<Value>>) -> Response {
    let Some(Json(body)) = body else {
        return bad_request("a JSON body {\"agent\": ..., \"target\": ...} is required");
    };
    let body: OriginateBody = match serde_json::from_value(body) {
        Ok(b) => b,
        Err(e) => return bad_request(format!("bad body: {e}")),
    };
    let mut resp = ask(state.control.as_ref(), |reply| {
        Command::Originate(OriginateRequest {
            agent: body.agent,
            target: body.target,
            reply,
        })
    })
    .await;
    if resp.status() == StatusCode::OK {
        *resp.status_mut() = StatusCode::CREATED;
    }
    resp
}

/// `POST /v1/calls/{id}/{action}`
pub async fn act(
    State(state): State<HttpState>,
    Path((id, action)): Path<(String, String)>,
    body: Option<Json<Value>>,
) -> Response {
    let body: ActionBody = match body {
        None => ActionBody::default(),
        Some(Json(v)) => match serde_json::from_value(v) {
            Ok(b) => b,
            Err(e) => return bad_request(format!("bad body: {e}")),
        },
    };
    let need = |what: Option<String>, name: &str| {
        what.ok_or_else(|| format!("{action} needs \"{name}\" in the body"))
    };
    let op = match action.as_str() {
        "hold" => ControlOp::Hold,
        "resume" => ControlOp::Resume,
        "consult" => match need(body.target, "target") {
            Ok(t) => ControlOp::Consult(t),
            Err(m) => return bad_request(m),
        },
        "toggle" => ControlOp::Toggle,
        "end-consult" => ControlOp::EndConsult,
        "transfer" => match body.target {
            // A target makes it blind: the same as blind-transfer.
            Some(t) => ControlOp::BlindTransfer(t),
            None => ControlOp::Transfer,
        },
        "blind-transfer" => match need(body.target, "target") {
            Ok(t) => ControlOp::BlindTransfer(t),
            Err(m) => return bad_request(m),
        },
        "conference" => ControlOp::Conference,
        "leave-conference" => ControlOp::LeaveConference,
        "end" => ControlOp::End,
        "send-dtmf" => match need(body.digits, "digits") {
            Ok(d) => ControlOp::Dtmf(d),
            Err(m) => return bad_request(m),
        },
        "pause-recording" => ControlOp::PauseRecording(body.seconds.map(Duration::from_secs)),
        "resume-recording" => ControlOp::ResumeRecording,
        other => {
            return error(
                StatusCode::NOT_FOUND,
                json!({"error": format!("no action {other:?}; see the allowed actions in GET /v1/calls/{id}")}),
            )
        }
    };
    let agent = body.agent;
    ask(state.control.as_ref(), move |reply| {
        Command::Control(ControlRequest {
            call: id,
            agent,
            op,
            reply,
        })
    })
    .await
}
