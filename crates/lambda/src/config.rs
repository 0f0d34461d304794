//! Finding and loading the gateway config once, at cold start.
//!
//! Where the config comes from, first match wins:
//! 1. `TOLLGATE_CONFIG`: the YAML text itself;
//! 2. `TOLLGATE_CONFIG_FILE`: the path of a file (an error if it cannot be read);
//! 3. `gateway.yaml` next to the `bootstrap` binary (bundled with the function);
//! 4. `examples/gateway.yaml` relative to the working directory (handy under
//!    `cargo lambda watch`).
//!
//! `${NAME}` placeholders resolve from the process environment. A config that
//! asks for something Lambda cannot do (a Workers service binding) is refused
//! like one that does not load.

use std::path::{Path, PathBuf};
use tollgate_core::Gateway;
use tollgate_core::platform::Runtime;

/// Where the config was found (for the startup log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Env,
    File(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Env => f.write_str("$TOLLGATE_CONFIG"),
            Source::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Loads the gateway; on failure, every problem as one line
/// (`file:line:col: message` for config errors and for what Lambda cannot do).
pub fn load_from_environment() -> Result<(Gateway, Source), Vec<String>> {
    let env = |name: &str| std::env::var(name).ok();
    let exe_dir = std::env::current_exe().ok().and_then(|p| p.parent().map(Path::to_path_buf));
    let (source, text) = locate(&env, exe_dir.as_deref())?;
    let label = match &source {
        Source::Env => "TOLLGATE_CONFIG".to_owned(),
        Source::File(p) => p.display().to_string(),
    };
    match tollgate_core::load(&label, &text, &env) {
        Ok(gateway) => refuse_unsupported(&label, gateway).map(|gateway| (gateway, source)),
        Err(errors) => Err(errors.0.iter().map(ToString::to_string).collect()),
    }
}

/// The gateway, or what it asks of Lambda that Lambda cannot do, one line
/// each (`file:line:col: message`, as load errors are).
fn refuse_unsupported(label: &str, gateway: Gateway) -> Result<Gateway, Vec<String>> {
    let cannot = gateway.unsupported_on(Runtime::Lambda);
    if cannot.is_empty() {
        return Ok(gateway);
    }
    Err(cannot.iter().map(|f| f.render(label)).collect())
}

/// Picks the config source and reads its text.
fn locate(env: &dyn Fn(&str) -> Option<String>, exe_dir: Option<&Path>) -> Result<(Source, String), Vec<String>> {
    if let Some(text) = env("TOLLGATE_CONFIG").filter(|t| !t.trim().is_empty()) {
        return Ok((Source::Env, text));
    }
    if let Some(path) = env("TOLLGATE_CONFIG_FILE").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return read(&path).map(|text| (Source::File(path), text));
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = exe_dir {
        candidates.push(dir.join("gateway.yaml"));
    }
    candidates.push(PathBuf::from("examples/gateway.yaml"));
    for path in &candidates {
        if path.is_file() {
            return read(path).map(|text| (Source::File(path.clone()), text));
        }
    }
    let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    Err(vec![format!(
        "no gateway config: set TOLLGATE_CONFIG (the YAML text) or TOLLGATE_CONFIG_FILE (a path), \
         or bundle one of: {}",
        tried.join(", ")
    )])
}

fn read(path: &Path) -> Result<String, Vec<String>> {
    std::fs::read_to_string(path).map_err(|e| vec![format!("{}: cannot read the gateway config: {e}", path.display())])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn inline_text_wins_over_a_file() {
        let env = env_of(&[("TOLLGATE_CONFIG", "version: 1\n"), ("TOLLGATE_CONFIG_FILE", "/nonexistent.yaml")]);
        let (source, text) = locate(&env, None).expect("inline config");
        assert_eq!(source, Source::Env);
        assert_eq!(text, "version: 1\n");
    }

    #[test]
    fn a_named_file_that_is_missing_is_an_error_naming_it() {
        let env = env_of(&[("TOLLGATE_CONFIG_FILE", "/nonexistent/tollgate.yaml")]);
        let errors = locate(&env, None).expect_err("missing file");
        assert!(errors[0].starts_with("/nonexistent/tollgate.yaml: cannot read"), "{errors:?}");
    }

    #[test]
    fn the_file_next_to_the_binary_is_used() {
        let dir = std::env::temp_dir().join(format!("tollgate-lambda-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("gateway.yaml"), "version: 1\n").expect("write");
        let (source, _) = locate(&env_of(&[]), Some(&dir)).expect("bundled config");
        assert_eq!(source, Source::File(dir.join("gateway.yaml")));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn what_lambda_cannot_do_is_refused_with_its_location() {
        let yaml = "version: 1\nupstreams:\n  orders: { binding: ORDERS }\n  pricing: { lambda: pricing-fn }\n\
                    routes:\n  - { id: o, path: /o, upstream: orders }\n  - { id: p, path: /p, upstream: pricing }\n";
        let gateway = tollgate_core::load("gw.yaml", yaml, &|_| None).expect("loads");
        let Err(lines) = refuse_unsupported("gw.yaml", gateway) else {
            panic!("a service binding cannot run on Lambda");
        };
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with("gw.yaml:3:"), "{lines:?}");
        assert!(lines[0].contains("ORDERS"), "{lines:?}");
        let direct_only = "version: 1\nupstreams:\n  pricing: { lambda: pricing-fn }\n\
                           routes:\n  - { id: p, path: /p, upstream: pricing }\n";
        let gateway = tollgate_core::load("gw.yaml", direct_only, &|_| None).expect("loads");
        assert!(refuse_unsupported("gw.yaml", gateway).is_ok());
    }

    #[test]
    fn config_errors_carry_their_location() {
        let yaml = "version: 1\nroutes:\n  - { id: a, path: /a, upstream: nope }\n";
        let Err(errors) = tollgate_core::load("TOLLGATE_CONFIG", yaml, &|_| None) else {
            panic!("the config should not load");
        };
        let line = errors.0[0].to_string();
        assert!(line.starts_with("TOLLGATE_CONFIG:3:"), "{line}");
    }
}
