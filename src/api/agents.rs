//! `/v1/agents/{id}`: an agent's state, pending offers and wrap-ups
//! (`docs/contact-centre.md#agents`).
//!
//! - `GET /v1/agents/{id}`: state, pending offers (e-mail, social, chat, then
//!   calls; earliest first), their total, contacts whose wrap-up is owed.
//! - `POST /v1/agents/{id}/state` `{"state": "available"}`, `{"state":
//!   "idle", "reason": "lunch"}`, `{"state": "logged-out"}`.
//! - `POST /v1/agents/{id}/wrap-up` `{"contact": "k1", "reasons": ["resolved"]}`.
//!
//! A refused change answers 409 with the rule (`offer-ringing`,
//! `contact-in-progress`, `wrap-up-pending`, `no-wrap-up-owed`).

use super::{ApiError, AppState};
use crate::contact::{AgentId, CcError, ContactId, Requested};
use crate::runtime::{AgentView, Command};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use std::time::Duration;

/// `POST /v1/agents/{id}/wrap-up`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WrapUpBody {
    /// The contact (`k1`).
    pub contact: ContactId,
    /// Reasons from the contact's queue (a call takes exactly one).
    pub reasons: Vec<String>,
}

/// `/v1/agents/{id}…`
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/agents/{id}", get(get_one))
        .route("/v1/agents/{id}/state", post(set_state))
        .route("/v1/agents/{id}/wrap-up", post(wrap_up))
}

fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(b)| b)
        .map_err(|e| ApiError::new(e.status(), e.body_text()))
}

async fn ask(
    state: &AppState,
    make: impl FnOnce(tokio::sync::oneshot::Sender<Result<AgentView, CcError>>) -> Command,
) -> Result<Json<AgentView>, ApiError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    if !state.control.send(make(tx)) {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the contact centre has stopped",
        ));
    }
    match tokio::time::timeout(Duration::from_secs(5), rx).await {
        Ok(Ok(result)) => result.map(Json).map_err(ApiError::from),
        _ => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the contact centre did not answer in time",
        )),
    }
}

async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<AgentView>, ApiError> {
    ask(&state, |reply| Command::Agent {
        agent: AgentId(id),
        reply,
    })
    .await
}

async fn set_state(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<Requested>, JsonRejection>,
) -> Result<Json<AgentView>, ApiError> {
    let requested = json_body(body)?;
    ask(&state, |reply| Command::AgentState {
        agent: AgentId(id),
        requested,
        reply,
    })
    .await
}

async fn wrap_up(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<WrapUpBody>, JsonRejection>,
) -> Result<Json<AgentView>, ApiError> {
    let b = json_body(body)?;
    ask(&state, |reply| Command::WrapUp {
        agent: AgentId(id),
        contact: b.contact,
        reasons: b.reasons,
        reply,
    })
    .await
}
