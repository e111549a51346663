//! Signing in to the management API: discovery of the organization's platform zone
//! (`discovery`), the device grant (`device`), the browser flow (`browser`, with `pkce`), and the
//! `login` / `logout` commands. The bearer of each call and its refresh are `crate::session`.

pub mod browser;
pub mod device;
pub mod discovery;
pub mod login;
pub mod pkce;

pub use crate::session::{CLIENT_ID, apply_token_response, now};
