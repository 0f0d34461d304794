//! Embeds the gateway config in the Workers bundle: reads the file named by
//! `TOLLGATE_CONFIG` (relative to the workspace root; default
//! `examples/gateway.yaml`), copies it to `OUT_DIR/gateway.yaml` for
//! `include_str!`, and passes its name on for error messages.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

const DEFAULT_CONFIG: &str = "examples/gateway.yaml";

fn main() {
    println!("cargo:rerun-if-env-changed=TOLLGATE_CONFIG");
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let workspace_root = manifest_dir.join("..").join("..");
    let name =
        env::var("TOLLGATE_CONFIG").ok().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| DEFAULT_CONFIG.to_owned());
    let path = if Path::new(&name).is_absolute() { PathBuf::from(&name) } else { workspace_root.join(&name) };
    println!("cargo:rerun-if-changed={}", path.display());
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!(
                "error: cannot read the gateway config {} ({e}).\n\
                 Set TOLLGATE_CONFIG to a config file, relative to the workspace root \
                 (default: {DEFAULT_CONFIG}).",
                path.display()
            );
            std::process::exit(1);
        }
    };
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    if let Err(e) = fs::write(out_dir.join("gateway.yaml"), text) {
        eprintln!("error: cannot write {}: {e}", out_dir.join("gateway.yaml").display());
        std::process::exit(1);
    }
    println!("cargo:rustc-env=TOLLGATE_CONFIG_NAME={name}");
}
