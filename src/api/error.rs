//! The API's one error type: every refusal becomes a JSON body
//! `{"error": "..."}` with its status, and a call model's refusal names its
//! rule and action (`409 {"error", "rule", "action"}`).

use crate::calls::ControlError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// An error answer of the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    status: StatusCode,
    /// What went wrong, for a person.
    error: String,
    /// The call model's rule that refused the action (409 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<String>,
    /// The action refused (409 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<String>,
}

impl ApiError {
    /// An error with `status` and a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error: message.into(),
            rule: None,
            action: None,
        }
    }

    /// 400: the request itself is wrong.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> ApiError {
        match e {
            ControlError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, m),
            ControlError::BadRequest(m) => ApiError::bad_request(m),
            ControlError::Unavailable(m) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, m),
            ControlError::Refused(r) => ApiError {
                status: StatusCode::CONFLICT,
                error: r.to_string(),
                rule: Some(r.rule.to_string()),
                action: Some(r.action.to_string()),
            },
        }
    }
}

impl From<crate::contact::CcError> for ApiError {
    fn from(e: crate::contact::CcError) -> ApiError {
        use crate::contact::CcError;
        match e {
            CcError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, m),
            CcError::BadRequest(m) => ApiError::bad_request(m),
            CcError::Refused { rule, message } => ApiError {
                status: StatusCode::CONFLICT,
                error: message,
                rule: Some(rule.to_string()),
                action: None,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self)).into_response()
    }
}
