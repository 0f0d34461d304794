//! The JSON payloads Lambda uses for HTTP, typed once and used both ways:
//!
//! - [`Event`]: the invocation event of function URLs and API Gateway HTTP
//!   APIs (payload 2.0), API Gateway REST APIs (payload 1.0) and ALB target
//!   groups. The gateway reads it from the platform ([`crate::convert`]) and
//!   writes it, as payload 2.0, to the functions it invokes
//!   ([`crate::invoke`]).
//! - [`ProxyResponse`]: the answer those integrations expect. The gateway
//!   writes it to the platform and reads it back from the functions it
//!   invokes ([`Answer`]: a proxy response, or any other JSON; a function
//!   error's payload is a [`FunctionFailure`]).
//!
//! Reading is lenient in the ways the platforms are: every field optional,
//! `null` read as absent, unknown fields ignored, objects kept in document
//! order ([`Pairs`]). A well-formed event therefore never fails to
//! deserialise, and the conversions answer anything odd inside it (a header
//! that is not valid, a method that is not one) with a gateway error instead.
//! Fields the gateway only writes are not read at all (write-only). Writing
//! is exact: what each integration expects, nothing more.
//!
//! The types are ours, not `aws_lambda_events`'s: that crate parses headers
//! and methods while deserialising (one bad header fails the whole event),
//! keeps query parameters in a hash map (REST and ALB queries would be
//! rebuilt in a random order), requires fields the platforms may omit, and
//! writes only the first value of a repeated header (docs/runtimes.md).
//!
//! No gateway logic and no `http` conversions here: this module knows the
//! format, not what a request means.

mod answer;
mod event;
mod header_values;
mod lenient;
mod pairs;
mod response;

pub use answer::{Answer, AnswerError, FunctionFailure};
pub use event::{ElbContext, Event, HttpDescription, Identity, Kind, RequestContext};
pub use pairs::Pairs;
pub use response::{Body, ProxyResponse};

#[cfg(test)]
mod round_trip_tests;
