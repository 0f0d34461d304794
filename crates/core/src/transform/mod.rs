//! Towards the upstream and back: the route's request and response edits
//! (`rewrite`, `request.headers`, `request.query`, `response.headers`),
//! compiled once, and the forwarding rules of spec §4 that build the upstream
//! request and clean its answer (hop-by-hop headers, gateway-owned headers,
//! credentials, `X-Forwarded-*`).

pub(crate) mod edits;
pub(crate) mod forward;
pub(crate) mod headers;

pub(crate) use edits::Edits;
