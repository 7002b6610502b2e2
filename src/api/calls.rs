//! `/v1/calls`: live calls, and agents placing calls and acting on them
//! (`docs/call-control.md`; every route is in `openapi.yaml`).
//!
//! - `GET /v1/calls`, `GET /v1/calls/{id}`: the calls as the core published them.
//! - `POST /v1/calls` `{"agent": "agent1", "target": "+12015532447"}` places a
//!   call: the agent's phone rings, then the target (a user or a dial number).
//! - `POST /v1/calls/{id}/{action}` carries out one of the [`Action`]s that
//!   `GET /v1/calls/{id}` lists as allowed; the body ([`ActionArgs`]) names
//!   the acting `agent` (default: the primary agent) and the action's
//!   argument (`target`, `digits`, `seconds`).
//!
//! A refused action answers 409 with the rule that refused it; the call is
//! unchanged.

use super::{ApiError, AppState};
use crate::callmodel::Action;
use crate::calls::control::ControlView;
use crate::calls::{ActionArgs, CallId, ControlError};
use crate::runtime::{Command, ControlReply};
use crate::view::CallSummary;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use std::time::Duration;

/// How long an action may take to be carried out before the API gives up.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// `POST /v1/calls`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OriginateBody {
    /// The agent placing the call (a user name): their phone rings first.
    pub agent: String,
    /// A user's name or a dial number.
    pub target: String,
}

/// `/v1/calls…`
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/calls", get(list).post(originate))
        .route("/v1/calls/{id}", get(get_one))
        .route("/v1/calls/{id}/{action}", post(act))
}

async fn list(State(state): State<AppState>) -> Json<Vec<CallSummary>> {
    Json(state.calls.snapshot())
}

async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match state.calls.get(&id) {
        Some(call) => Json(call).into_response(),
        None => {
            ApiError::new(StatusCode::NOT_FOUND, format!("no call with id {id:?}")).into_response()
        }
    }
}

/// A JSON body, or the 400/415 that says what is wrong with it; no body at
/// all is `None`.
fn body<T: serde::de::DeserializeOwned>(body: RawBody) -> Result<Option<T>, ApiError> {
    match body {
        Ok(Some(Json(v))) => serde_json::from_value(v)
            .map(Some)
            .map_err(|e| ApiError::bad_request(format!("bad body: {e}"))),
        Ok(None) => Ok(None),
        Err(e) => Err(ApiError::new(e.status(), e.body_text())),
    }
}

/// A request's body as JSON: none (no Content-Type), a value, or why not.
type RawBody = Result<Option<Json<serde_json::Value>>, JsonRejection>;

/// Sends a command to the call core and waits for its answer.
async fn ask(
    state: &AppState,
    make: impl FnOnce(ControlReply) -> Command,
) -> Result<ControlView, ApiError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    if !state.control.send(make(tx)) {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "call control has stopped",
        ));
    }
    match tokio::time::timeout(REPLY_TIMEOUT, rx).await {
        Ok(Ok(result)) => result.map_err(ApiError::from),
        _ => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "call control did not answer in time",
        )),
    }
}

/// `POST /v1/calls`
async fn originate(
    State(state): State<AppState>,
    raw: RawBody,
) -> Result<(StatusCode, Json<ControlView>), ApiError> {
    let Some(b) = body::<OriginateBody>(raw)? else {
        return Err(ApiError::bad_request(
            "a JSON body {\"agent\": ..., \"target\": ...} is required",
        ));
    };
    let view = ask(&state, |reply| Command::Originate {
        agent: b.agent,
        target: b.target,
        reply,
    })
    .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// `POST /v1/calls/{id}/{action}`
async fn act(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    raw: RawBody,
) -> Result<Json<ControlView>, ApiError> {
    let args: ActionArgs = body(raw)?.unwrap_or_default();
    let Ok(action) = action.parse::<Action>() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no action {action:?}; see the allowed actions in GET /v1/calls/{id}"),
        ));
    };
    let Ok(call) = id.parse::<CallId>() else {
        return Err(ControlError::NotFound(format!("no call with id {id:?}")).into());
    };
    let view = ask(&state, |reply| Command::Control {
        call,
        action,
        args,
        reply,
    })
    .await?;
    Ok(Json(view))
}
