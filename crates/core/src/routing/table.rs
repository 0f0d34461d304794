//! The route table: a matchit router from path pattern to a group of routes
//! sharing that pattern, then a method check within the group.

use super::Route;
use crate::config::{Parsed, Problems};
use http::{HeaderValue, Method};

#[derive(Debug, Clone)]
struct Group {
    routes: Vec<usize>,
    allow: HeaderValue,
}

/// The outcome of matching a request against the table.
#[derive(Debug)]
pub(crate) enum Match {
    Found { route: usize, params: Vec<(String, String)> },
    MethodNotAllowed(HeaderValue),
    NotFound,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct RouteTable {
    router: matchit::Router<usize>,
    groups: Vec<Group>,
    patterns: Vec<String>,
}

impl RouteTable {
    pub(crate) fn lookup(&self, routes: &[Route], path: &str, method: &Method) -> Match {
        let Ok(m) = self.router.at(path) else {
            return Match::NotFound;
        };
        let Some(group) = self.groups.get(*m.value) else {
            return Match::NotFound;
        };
        let found = group.routes.iter().copied().find(|r| routes.get(*r).is_some_and(|r| r.accepts(method)));
        match found {
            Some(route) => {
                Match::Found { route, params: m.params.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect() }
            }
            None => Match::MethodNotAllowed(group.allow.clone()),
        }
    }
}

/// Builds the table, reporting duplicate ids, overlapping methods and path conflicts.
pub(crate) fn build_table(routes: &[Route], parsed: &Parsed, problems: &mut Problems) -> RouteTable {
    let mut table = RouteTable::default();
    for (i, route) in routes.iter().enumerate() {
        if routes[..i].iter().any(|r| r.id == route.id) && !route.id.is_empty() {
            problems.push(parsed.route_loc(i, "id"), format!("duplicate route id `{}`", route.id));
        }
        if let Some(g) = table.patterns.iter().position(|p| *p == route.pattern) {
            let group = &mut table.groups[g];
            for other in &group.routes {
                let o = &routes[*other];
                let overlap = match (&o.methods, &route.methods) {
                    (None, _) | (_, None) => true,
                    (Some(a), Some(b)) => a.iter().any(|m| b.contains(m)),
                };
                if overlap {
                    problems.push(
                        parsed.route_loc(i, "methods"),
                        format!(
                            "routes `{}` and `{}` both answer the same method on `{}`",
                            o.id, route.id, route.pattern
                        ),
                    );
                }
            }
            group.routes.push(i);
            continue;
        }
        if route.pattern.starts_with('/')
            && let Err(e) = table.router.insert(route.pattern.clone(), table.groups.len())
        {
            problems.push(parsed.route_loc(i, "path"), format!("route `{}`: path `{}`: {e}", route.id, route.pattern));
            continue;
        }
        table.patterns.push(route.pattern.clone());
        table.groups.push(Group { routes: vec![i], allow: HeaderValue::from_static("") });
    }
    for group in &mut table.groups {
        let mut allow: Vec<String> = Vec::new();
        for r in &group.routes {
            if let Some(ms) = &routes[*r].methods {
                for m in ms {
                    allow.push(m.to_string());
                    if *m == Method::GET {
                        allow.push("HEAD".into());
                    }
                }
            }
        }
        allow.sort();
        allow.dedup();
        group.allow = HeaderValue::from_str(&allow.join(", ")).unwrap_or(HeaderValue::from_static(""));
    }
    table
}
