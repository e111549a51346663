//! Operating a deployment: log set-up and the access log, trace export (`--otlp-endpoint`) and
//! the request span, the readiness report behind `GET /readyz`, and the `backup`, `restore` and
//! `doctor` subcommands (`docs/operations.md`).

pub mod access_log;
pub mod backup;
pub mod doctor;
pub mod logging;
pub mod readiness;
pub mod request_trace;
pub mod restore;
pub mod traces;
