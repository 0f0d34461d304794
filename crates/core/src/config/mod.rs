//! Config loading: text → located YAML tree (with `${NAME}` substituted) →
//! serde model, section by section so that one mistake does not hide the
//! next. Semantic checks happen in `crate::compile`, which uses the tree to
//! point at the offending line.

mod duration;
mod error;
mod model;
pub(crate) mod yaml;

pub use duration::{ConfigDuration, parse_duration};
pub(crate) use error::Problems;
pub use error::{ConfigError, ConfigErrors, Location};
pub use model::*;

use serde::de::DeserializeOwned;
use yaml::Node;

/// A config read from text, with the tree it came from (for locations).
pub struct Parsed {
    /// The file read into the serde model; a section or list entry that failed
    /// to read is left at its default or out.
    pub config: Config,
    pub(crate) tree: Node,
    /// For each entry of `config.routes`, its index in the file's `routes` list.
    pub(crate) route_nodes: Vec<usize>,
    /// Problems found so far (compile adds its own, then reports them all).
    pub(crate) problems: Problems,
    /// Upstreams that failed to read (routes naming them get no second error).
    pub(crate) broken_upstreams: Vec<String>,
}

impl Parsed {
    /// Where the `i`-th compiled route's `field` (or the route itself) was written.
    pub(crate) fn route_loc(&self, i: usize, field: &str) -> Location {
        let Some(node) =
            self.route_nodes.get(i).and_then(|n| self.tree.get("routes").and_then(|(r, _)| r.items().get(*n)))
        else {
            return self.tree.loc;
        };
        node.get(field).map_or(node.loc, |(v, _)| v.loc)
    }

    /// Where `section.key...` was written (the deepest part that exists).
    pub(crate) fn loc(&self, path: &[&str]) -> Location {
        let mut node = &self.tree;
        for key in path {
            match node.get(key) {
                Some((n, _)) => node = n,
                None => break,
            }
        }
        node.loc
    }
}

fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

/// Deserialises one node into `T`, recording a located problem on failure.
/// An unknown key is reported and dropped, and the rest read again, so that
/// one typo does not hide the problems after it.
pub(crate) fn read<T: DeserializeOwned>(node: &Node, context: &str, problems: &mut Problems) -> Option<T> {
    let mut node = node.clone();
    for _ in 0..32 {
        match serde_path_to_error::deserialize::<_, T>(node.to_json()) {
            Ok(v) => return Some(v),
            Err(err) => {
                let message = err.inner().to_string();
                let field = unknown_field(&message).map(str::to_owned);
                let loc = node.locate(err.path(), field.as_deref());
                let path = err.path().to_string();
                match &field {
                    Some(f) => {
                        let parent = path.strip_suffix(f.as_str()).unwrap_or("").trim_end_matches('.');
                        if parent.is_empty() {
                            problems.push(loc, format!("{context}{message}"));
                        } else {
                            problems.push(loc, format!("{context}{parent}: {message}"));
                        }
                        if !node.remove_at(err.path(), f) {
                            return None;
                        }
                    }
                    None => {
                        if path == "." || path.is_empty() {
                            problems.push(loc, format!("{context}{message}"));
                        } else {
                            problems.push(loc, format!("{context}{path}: {message}"));
                        }
                        return None;
                    }
                }
            }
        }
    }
    None
}

/// Refuses keys of capabilities that are not built yet, naming the capability.
fn refuse_not_built(node: &Node, what: &str, keys: &[(&str, &str)], problems: &mut Problems) -> Node {
    let yaml::Kind::Map(entries) = &node.kind else {
        return node.clone();
    };
    let mut kept = Vec::with_capacity(entries.len());
    for (key, loc, value) in entries {
        if let Some((_, feature)) = keys.iter().find(|(k, _)| k == key) {
            problems.push(*loc, format!("{what} key `{key}`: {feature} is not built yet in this version of tollgate"));
        } else {
            kept.push((key.clone(), *loc, value.clone()));
        }
    }
    Node { kind: yaml::Kind::Map(kept), loc: node.loc }
}

const TOP_KEYS: &[&str] = &[
    "version",
    "admin",
    "limits",
    "cors",
    "client_ip",
    "trusted_hops",
    "ipv6_key_prefix",
    "auth_failures",
    "auth",
    "consumers",
    "plans",
    "upstreams",
    "routes",
];

/// Reads a config file's text. `env` resolves `${NAME}` (environment variables,
/// Workers vars and secrets).
pub fn parse(file: &str, text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Parsed, ConfigErrors> {
    let mut problems = Problems::new(file);
    let Some(tree) = yaml::parse(text, env, &mut problems) else {
        return Err(problems.finish());
    };
    let (config, route_nodes, broken_upstreams) = read_sections(&tree, &mut problems);
    Ok(Parsed { config, tree, route_nodes, problems, broken_upstreams })
}

fn read_sections(tree: &Node, problems: &mut Problems) -> (Config, Vec<usize>, Vec<String>) {
    let mut config = Config::default();
    let mut route_nodes = Vec::new();
    let mut broken = Vec::new();
    let yaml::Kind::Map(entries) = &tree.kind else {
        problems.push(tree.loc, "the config must be a map with `version: 1` at the top");
        return (config, route_nodes, broken);
    };
    let root = refuse_not_built(tree, "top-level", model::NOT_BUILT_TOP, problems);
    for (key, loc, _) in entries {
        if !TOP_KEYS.contains(&key.as_str()) && !model::NOT_BUILT_TOP.iter().any(|(k, _)| k == key) {
            problems.push(*loc, format!("unknown top-level key `{key}`, expected one of {}", TOP_KEYS.join(", ")));
        }
    }
    match root.get("version") {
        None => problems.push(tree.loc, "missing `version: 1`"),
        Some((node, _)) => match read::<u32>(node, "version: ", problems) {
            Some(1) => config.version = 1,
            Some(v) => {
                problems.push(node.loc, format!("unsupported config version {v}: this tollgate reads version 1"))
            }
            None => {}
        },
    }
    if let Some((node, _)) = root.get("admin") {
        config.admin = read(node, "admin: ", problems).unwrap_or_default();
    }
    if let Some((node, _)) = root.get("limits") {
        config.limits = read(node, "limits: ", problems).unwrap_or_default();
    }
    if let Some((node, _)) = root.get("cors") {
        config.cors = read(node, "cors: ", problems);
    }
    if let Some((node, _)) = root.get("client_ip") {
        config.client_ip = read(node, "client_ip: ", problems).unwrap_or_default();
    }
    config.trusted_hops = 1;
    if let Some((node, _)) = root.get("trusted_hops") {
        config.trusted_hops = read(node, "trusted_hops: ", problems).unwrap_or(1);
    }
    if let Some((node, _)) = root.get("ipv6_key_prefix") {
        config.ipv6_key_prefix = read(node, "ipv6_key_prefix: ", problems);
    }
    if let Some((node, _)) = root.get("auth") {
        config.auth = read(node, "auth: ", problems).unwrap_or_default();
    }
    if let Some((node, _)) = root.get("auth_failures") {
        config.auth_failures = read(node, "auth_failures: ", problems);
    }
    if let Some((node, _)) = root.get("plans") {
        if !matches!(node.kind, yaml::Kind::Map(_)) {
            problems.push(node.loc, "`plans` must be a map from name to plan");
        }
        for (name, _, value) in node.entries() {
            if let Some(plan) = read::<PlanConfig>(value, &format!("plan `{name}`: "), problems) {
                config.plans.insert(name.clone(), plan);
            }
        }
    }
    if let Some((node, _)) = root.get("consumers") {
        if !matches!(node.kind, yaml::Kind::Seq(_)) {
            problems.push(node.loc, "`consumers` must be a list");
        }
        for (n, item) in node.items().iter().enumerate() {
            let item = refuse_not_built(item, "consumer", model::NOT_BUILT_CONSUMER, problems);
            if let Some(c) = read::<ConsumerConfig>(&item, &format!("consumer #{}: ", n + 1), problems) {
                config.consumers.push(c);
            }
        }
    }
    if let Some((node, _)) = root.get("upstreams") {
        if !matches!(node.kind, yaml::Kind::Map(_)) {
            problems.push(node.loc, "`upstreams` must be a map from name to upstream");
        }
        for (name, _, value) in node.entries() {
            let value = refuse_not_built(value, "upstream", model::NOT_BUILT_UPSTREAM, problems);
            match read::<UpstreamConfig>(&value, &format!("upstream `{name}`: "), problems) {
                Some(u) => {
                    config.upstreams.insert(name.clone(), u);
                }
                None => broken.push(name.clone()),
            }
        }
    }
    match root.get("routes") {
        None => {}
        Some((node, _)) => {
            if !matches!(node.kind, yaml::Kind::Seq(_)) {
                problems.push(node.loc, "`routes` must be a list");
            }
            for (n, item) in node.items().iter().enumerate() {
                let item = refuse_not_built(item, "route", model::NOT_BUILT_ROUTE, problems);
                let id = item.get("id").and_then(|(n, _)| n.to_json().as_str().map(str::to_owned));
                let context = id.map_or_else(|| format!("route #{}: ", n + 1), |id| format!("route `{id}`: "));
                if let Some(r) = read::<RouteConfig>(&item, &context, problems) {
                    config.routes.push(r);
                    route_nodes.push(n);
                }
            }
        }
    }
    (config, route_nodes, broken)
}
