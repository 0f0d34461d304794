//! Conversions between the platform's HTTP events ([`crate::payload`]) and
//! the core's `http::Request<Bytes>` / `http::Response<Bytes>`. No gateway
//! logic here, and nothing is decoded or normalised: that is the core's job,
//! and doing it here would hide path attacks from it.
//!
//! - Function URLs / HTTP APIs (payload 2.0): path and query are `rawPath` and
//!   `rawQueryString`, byte for byte.
//! - REST APIs (payload 1.0) carry only a decoded `path` and decoded query
//!   parameters: characters that cannot stand in a URI are percent-encoded
//!   again (the path's `%` is left alone), the query is rebuilt from the
//!   parameters.
//! - ALB passes `path` and the query parameters as the client sent them; the
//!   query is rebuilt from them unchanged.
//!
//! The client address comes from the event's request context
//! (`requestContext.http.sourceIp`, `requestContext.identity.sourceIp`). ALB
//! events have none: ALB appends the address it saw to `X-Forwarded-For`
//! (its default `append` mode), so there the client is the rightmost element
//! — the one ALB wrote, never one the client sent before it ([`client`]).
//!
//! The way back, the core's response to the integration's, is [`outgoing`].

mod client;
mod request;
mod response;

pub use response::outgoing;

use crate::payload::{Event, Kind};
use bytes::Bytes;
use http::HeaderMap;
use tollgate_core::{ClientInfo, GatewayError};

/// A converted event: the request (or why there is none), and what the
/// platform says about the client.
pub struct Incoming {
    pub request: Converted,
    pub client: ClientInfo,
    pub kind: Kind,
}

#[derive(Debug)]
pub enum Converted {
    /// A request the core can take.
    Request(http::Request<Bytes>),
    /// A request that cannot be converted: the error, and the headers the
    /// core's `reject` needs (request id, CORS origin).
    Refused { error: GatewayError, headers: HeaderMap },
}

/// The event → the core's request. Never panics.
pub fn incoming(event: Event) -> Incoming {
    let kind = event.kind();
    let (headers, bad_header) = request::headers_of(&event, kind);
    let client = client::client_info(&event, kind, &headers);
    let request = if bad_header {
        refuse("A request header is not valid.", headers)
    } else {
        request::build(event, kind, headers)
    };
    Incoming { request, client, kind }
}

fn refuse(detail: &str, headers: HeaderMap) -> Converted {
    Converted::Refused { error: GatewayError::BadRequest(detail.into()), headers }
}

#[cfg(test)]
mod request_tests;
#[cfg(test)]
mod response_tests;
