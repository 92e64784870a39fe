//! Host implementations of the WIT imports. Each checks the step's [`crate::Grants`]
//! first (a call outside them traps, see [`crate::state::StoreState::deny`]) and bounds
//! any waiting by the step deadline.

mod clock;
pub(crate) mod http;
mod kube;
mod kv;
mod log;

use crate::bindings::types::{self, HostError, HostErrorKind};
use crate::services::{ServiceError, ServiceErrorKind};
use crate::state::StoreState;

impl types::Host for StoreState {}

pub(crate) fn host_error(kind: HostErrorKind, message: impl Into<String>) -> HostError {
    HostError {
        kind,
        message: message.into(),
    }
}

impl From<ServiceError> for HostError {
    fn from(e: ServiceError) -> Self {
        let kind = match e.kind {
            ServiceErrorKind::Timeout => HostErrorKind::Timeout,
            ServiceErrorKind::TooLarge => HostErrorKind::TooLarge,
            ServiceErrorKind::Unavailable => HostErrorKind::Unavailable,
            ServiceErrorKind::Invalid => HostErrorKind::Invalid,
            ServiceErrorKind::NotFound => HostErrorKind::NotFound,
            ServiceErrorKind::Conflict => HostErrorKind::Conflict,
        };
        host_error(kind, e.message)
    }
}

pub(crate) use self::http::client as http_client;
