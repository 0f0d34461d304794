//! YAML (and JSON, a subset) into a tree that remembers where every key and
//! value was written, with `${NAME}` substituted in scalars. The tree becomes a
//! `serde_json::Value` for the serde model; locations answer "where was that?".

use super::error::{Location, Problems};
use serde_json::Value;
use yaml_rust2::Yaml;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Scalar(Value),
    Seq(Vec<Node>),
    Map(Vec<(String, Location, Node)>),
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: Kind,
    pub loc: Location,
}

impl Node {
    pub(crate) fn to_json(&self) -> Value {
        match &self.kind {
            Kind::Scalar(v) => v.clone(),
            Kind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Kind::Map(entries) => Value::Object(entries.iter().map(|(k, _, v)| (k.clone(), v.to_json())).collect()),
        }
    }

    /// The value under `key` in a map node, with the key's location.
    pub(crate) fn get(&self, key: &str) -> Option<(&Node, Location)> {
        match &self.kind {
            Kind::Map(entries) => entries.iter().find(|(k, _, _)| k == key).map(|(_, l, v)| (v, *l)),
            _ => None,
        }
    }

    pub(crate) fn entries(&self) -> &[(String, Location, Node)] {
        match &self.kind {
            Kind::Map(entries) => entries,
            _ => &[],
        }
    }

    pub(crate) fn items(&self) -> &[Node] {
        match &self.kind {
            Kind::Seq(items) => items,
            _ => &[],
        }
    }

    /// Follows a serde path (`routes[2].request.headers`) as far as it goes;
    /// for an unknown field, `field` names the offending key to point at.
    pub(crate) fn locate(&self, path: &serde_path_to_error::Path, field: Option<&str>) -> Location {
        use serde_path_to_error::Segment;
        let mut node = self;
        let mut loc = self.loc;
        for seg in path.iter() {
            let next = match seg {
                Segment::Seq { index } => node.items().get(*index).map(|n| (n, n.loc)),
                Segment::Map { key } => node.get(key),
                Segment::Enum { .. } | Segment::Unknown => None,
            };
            match next {
                Some((n, l)) => {
                    node = n;
                    loc = l;
                }
                None => return loc,
            }
        }
        if let Some(f) = field
            && let Some((_, l)) = node.get(f)
        {
            return l;
        }
        loc
    }
}

impl Node {
    /// Removes `key` from the map at `path`; false when there is none.
    pub(crate) fn remove_at(&mut self, path: &serde_path_to_error::Path, key: &str) -> bool {
        let segments: Vec<&serde_path_to_error::Segment> = path.iter().collect();
        self.remove_in(&segments, key)
    }

    fn remove_in(&mut self, segments: &[&serde_path_to_error::Segment], key: &str) -> bool {
        use serde_path_to_error::Segment;
        if let Some((seg, rest)) = segments.split_first() {
            let child = match (seg, &mut self.kind) {
                (Segment::Seq { index }, Kind::Seq(items)) => items.get_mut(*index),
                (Segment::Map { key: k }, Kind::Map(entries)) if k != key => {
                    entries.iter_mut().find(|(name, _, _)| name == k).map(|(_, _, v)| v)
                }
                _ => None,
            };
            if let Some(child) = child {
                return child.remove_in(rest, key);
            }
        }
        match &mut self.kind {
            Kind::Map(entries) => {
                let before = entries.len();
                entries.retain(|(k, _, _)| k != key);
                entries.len() < before
            }
            _ => false,
        }
    }
}

fn location(m: &Marker) -> Location {
    Location { line: u32::try_from(m.line()).unwrap_or(u32::MAX), col: u32::try_from(m.col() + 1).unwrap_or(u32::MAX) }
}

enum Frame {
    Seq(Vec<Node>, Location, usize),
    Map(Vec<(String, Location, Node)>, Option<(String, Location)>, Location, usize),
}

struct Builder<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    problems: &'a mut Problems,
    stack: Vec<Frame>,
    anchors: Vec<(usize, Node)>,
    root: Option<Node>,
    documents: usize,
}

impl Builder<'_> {
    fn substitute(&mut self, text: &str, loc: Location) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                self.problems.push(
                    loc,
                    format!("`${{{name}}}` is not a valid variable reference (letters, digits and `_` only)"),
                );
            } else if let Some(v) = (self.env)(name) {
                out.push_str(&v);
            } else {
                self.problems.unresolved(loc, format!("environment variable `{name}` is not set"));
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn scalar(&mut self, text: String, style: TScalarStyle, loc: Location) -> Node {
        let text = if text.contains("${") { self.substitute(&text, loc) } else { text };
        let value = if style == TScalarStyle::Plain {
            match Yaml::from_str(&text) {
                Yaml::Null => Value::Null,
                Yaml::Boolean(b) => Value::Bool(b),
                Yaml::Integer(i) => Value::from(i),
                Yaml::Real(r) => r
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::String(text), Value::Number),
                _ => Value::String(text),
            }
        } else {
            Value::String(text)
        };
        Node { kind: Kind::Scalar(value), loc }
    }

    fn push_value(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.push((anchor, node.clone()));
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq(items, _, _)) => items.push(node),
            Some(Frame::Map(entries, pending, _, _)) => match pending.take() {
                None => {
                    let key = match &node.kind {
                        Kind::Scalar(Value::String(s)) => s.clone(),
                        Kind::Scalar(v) => v.to_string(),
                        _ => {
                            self.problems.push(node.loc, "map keys must be plain strings");
                            String::new()
                        }
                    };
                    *pending = Some((key, node.loc));
                }
                Some((key, kloc)) => {
                    if entries.iter().any(|(k, _, _)| *k == key) {
                        self.problems.push(kloc, format!("duplicate key `{key}`"));
                    } else {
                        entries.push((key, kloc, node));
                    }
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let loc = location(&mark);
        match ev {
            Event::DocumentStart => self.documents += 1,
            Event::Scalar(text, style, anchor, _tag) => {
                let node = self.scalar(text, style, loc);
                self.push_value(node, anchor);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq(Vec::new(), loc, anchor)),
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Map(Vec::new(), None, loc, anchor)),
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq(items, l, a)) => (Node { kind: Kind::Seq(items), loc: l }, a),
                    Some(Frame::Map(entries, _, l, a)) => (Node { kind: Kind::Map(entries), loc: l }, a),
                    None => return,
                };
                self.push_value(node, anchor);
            }
            Event::Alias(id) => {
                let found = self.anchors.iter().rev().find(|(a, _)| *a == id).map(|(_, n)| n.clone());
                match found {
                    Some(n) => self.push_value(n, 0),
                    None => self.problems.push(loc, "alias to an unknown anchor"),
                }
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

/// Parses `text`; `None` when it is not YAML at all (the problem is recorded).
pub(crate) fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>, problems: &mut Problems) -> Option<Node> {
    let mut builder = Builder { env, problems, stack: Vec::new(), anchors: Vec::new(), root: None, documents: 0 };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, true) {
        let loc = location(e.marker());
        builder.problems.push(loc, format!("not valid YAML: {}", e.info()));
        return None;
    }
    if builder.documents > 1 {
        builder.problems.push(Location { line: 1, col: 1 }, "only one YAML document is allowed");
    }
    match builder.root {
        Some(root) => Some(root),
        None => {
            builder.problems.push(Location { line: 1, col: 1 }, "the config is empty");
            None
        }
    }
}
