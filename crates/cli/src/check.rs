//! `tollgate check`: validates a config and prints a one-screen summary, or
//! every problem as `file:line:col: message` (exit 1). With `--target`, also
//! the platform's limits: impossible things are errors, limited ones warnings.
//! Warnings that hold on every runtime (client-chosen limit keys on public
//! routes) are printed with or without `--target`.

use crate::Target;
use std::path::Path;
use std::process::ExitCode;
use tollgate_core::Gateway;

pub(crate) fn read_config(path: &Path) -> Result<(String, String), String> {
    let name = path.display().to_string();
    std::fs::read_to_string(path)
        .map(|text| (name.clone(), text))
        .map_err(|e| format!("{name}: cannot read the config: {e}"))
}

pub(crate) fn load(path: &Path) -> Result<Gateway, String> {
    let (name, text) = read_config(path)?;
    tollgate_core::load(&name, &text, &|k| std::env::var(k).ok()).map_err(|e| e.to_string())
}

pub(crate) fn run(path: &Path, target: Option<Target>) -> ExitCode {
    let gateway = match load(path) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    let target = target.map(|t| match t {
        Target::Cloudflare => tollgate_core::TargetPlatform::Cloudflare,
        Target::Lambda => tollgate_core::TargetPlatform::Lambda,
    });
    let mut findings = gateway.check_warnings();
    findings.extend(target.map(|t| gateway.check_target(t)).unwrap_or_default());
    let mut failed = false;
    let file = path.display().to_string();
    for f in &findings {
        failed |= f.error;
        eprintln!("{}", f.render(&file));
    }
    if failed {
        return ExitCode::from(1);
    }
    print_summary(path, &gateway);
    ExitCode::SUCCESS
}

fn print_summary(path: &Path, gateway: &Gateway) {
    let routes = gateway.routes();
    let upstreams = gateway.upstreams();
    println!(
        "{}: ok — {} routes, {} upstreams, {} consumers",
        path.display(),
        routes.len(),
        upstreams.len(),
        gateway.consumer_count()
    );
    println!("routes:");
    let width = routes.iter().map(|r| r.id.len()).max().unwrap_or(0);
    for r in &routes {
        println!("  {:width$}  {:<20} {} -> {}", r.id, r.methods.join(","), r.path, r.upstream);
        if let Some(limit) = &r.rate_limit {
            println!("  {:width$}  rate_limit {limit}", "");
        }
    }
    let plans = gateway.plans();
    if !plans.is_empty() {
        println!("plans:");
        for p in &plans {
            let who = if p.consumers.is_empty() { String::new() } else { format!(" ({})", p.consumers.join(", ")) };
            println!("  {}  {}{who}", p.name, p.limits.join(", "));
        }
    }
    println!("upstreams:");
    for u in &upstreams {
        println!("  {}  {} (timeout {} ms)", u.name, u.targets.join(", "), u.timeout_ms);
    }
}
