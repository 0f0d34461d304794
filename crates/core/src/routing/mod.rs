//! Routing: the compiled routes and the table that matches a normalised
//! path and method to one of them (spec §4 Matching).

mod route;
mod table;

pub(crate) use route::{Route, compile_route};
pub(crate) use table::{Match, RouteTable, build_table};
