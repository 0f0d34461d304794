//! CORS (spec §3 `cors`): the policy compiled from the config, the headers
//! on every answer to an allowed origin (errors included) and the preflight
//! answer. A disallowed origin gets no CORS headers at all.

mod policy;
mod stage;

pub(crate) use policy::{Cors, compile};
pub(crate) use stage::{decorate, is_preflight, preflight};
