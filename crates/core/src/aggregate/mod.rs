//! Aggregation (`aggregate`): one client request fans out to several
//! backends ("legs") and is answered with one JSON object keyed by leg name.
//!
//! - [`compile`](fn@compile): legs, their templates and the dependency graph
//!   (a leg whose templates read `{other.FIELD}` waits for `other`, and only
//!   for it); a cycle or an unknown reference is a config error.
//! - `run`: drives every leg in the calling task (no spawn, so it works on
//!   Workers), under one deadline for the whole call and a timeout per leg.
//! - `shape`: `select` / `extract` on a leg's JSON answer.

mod compile;
mod run;
mod shape;

pub(crate) use compile::{Aggregate, RouteFacts, compile};
pub(crate) use run::Backends;
