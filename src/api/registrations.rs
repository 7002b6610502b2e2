//! `GET /v1/registrations`: the registrar's bindings (RFC 3261 §10.3), as the
//! call core last published them.

use super::AppState;
use crate::view::RegistrationView;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

/// `/v1/registrations`
pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/registrations", get(list))
}

async fn list(State(state): State<AppState>) -> Json<Vec<RegistrationView>> {
    Json(state.registrations.get())
}
