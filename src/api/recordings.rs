//! `GET /v1/recordings`: the recordings index and the files themselves.
//!
//! - `GET /v1/recordings[?call_id=ID][&limit=N]`: newest first (at most 1,000; 100 by
//!   default).
//! - `GET /v1/recordings/{id}`: one recording's metadata.
//! - `GET /v1/recordings/{id}/audio`: the WAV (`audio/wav`). A recording in progress
//!   downloads as far as its last checkpoint (its header is patched every second).
//!
//! Errors are JSON (`{"error": "..."}`) like the rest of the API. The file's path on
//! the server is not shown.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState};
use crate::store::{RecordingRecord, StoreHandle};
use crate::view::PauseSpan;

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

/// One recording as the API shows it. Times are Unix milliseconds; pauses are
/// offsets into the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingView {
    pub id: String,
    pub call_id: String,
    pub started_at: i64,
    /// `None` while recording.
    pub ended_at: Option<i64>,
    pub duration_ms: i64,
    pub pauses: Vec<PauseSpan>,
    /// The file's size in bytes, header included.
    pub bytes: i64,
    /// Where to download the WAV.
    pub audio_url: String,
}

impl From<&RecordingRecord> for RecordingView {
    fn from(r: &RecordingRecord) -> Self {
        RecordingView {
            id: r.id.clone(),
            call_id: r.call_id.clone(),
            started_at: r.started_at,
            ended_at: r.ended_at,
            duration_ms: r.duration_ms,
            pauses: serde_json::from_str(&r.pauses).unwrap_or_default(),
            bytes: r.bytes,
            audio_url: format!("/v1/recordings/{}/audio", r.id),
        }
    }
}

/// `/v1/recordings…`
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/recordings", get(list))
        .route("/v1/recordings/{id}", get(get_one))
        .route("/v1/recordings/{id}/audio", get(audio))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    ApiError::new(status, message).into_response()
}

fn store_error(e: anyhow::Error) -> Response {
    tracing::error!(error = %format!("{e:#}"), "recordings: store read failed");
    error(StatusCode::INTERNAL_SERVER_ERROR, "store read failed")
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    call_id: Option<String>,
    limit: Option<usize>,
}

async fn list(State(state): State<AppState>, Query(q): Query<ListQuery>) -> Response {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    let rows = state
        .store
        .read(move |s| s.list_recordings(q.call_id.as_deref(), limit))
        .await;
    match rows {
        Ok(rows) => Json(rows.iter().map(RecordingView::from).collect::<Vec<_>>()).into_response(),
        Err(e) => store_error(e),
    }
}

async fn find(store: &StoreHandle, id: String) -> Result<RecordingRecord, Response> {
    let lookup = id.clone();
    match store.read(move |s| s.get_recording(&lookup)).await {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(error(
            StatusCode::NOT_FOUND,
            format!("no recording with id {id:?}"),
        )),
        Err(e) => Err(store_error(e)),
    }
}

async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match find(&state.store, id).await {
        Ok(r) => Json(RecordingView::from(&r)).into_response(),
        Err(resp) => resp,
    }
}

/// The whole file, read into memory (a recording is 32 kB a second: an hour is
/// 115 MB).
async fn audio(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let r = match find(&state.store, id).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    match tokio::fs::read(&r.path).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "audio/wav".to_owned()),
                // The id is a sanitized file stem: safe inside the quotes.
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}.wav\"", r.id),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => error(
            StatusCode::NOT_FOUND,
            format!("the audio of recording {:?} is missing", r.id),
        ),
        Err(e) => {
            tracing::error!(path = r.path, error = %e, "recordings: reading a file failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "reading the recording failed",
            )
        }
    }
}
