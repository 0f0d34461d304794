#!/usr/bin/env bash
# Installs everything the test suite and the local emulators need, idempotently:
# the wasm32 target, worker-build and wasm-bindgen-cli (pinned, into .tools/cargo
# unless the right version is already on PATH), cargo-fuzz and a nightly
# toolchain for the fuzz targets, wrangler/esbuild/binaryen (npm,
# lockfile), cargo-lambda, moto, aws-sam-cli and pytest (pip, into .tools/venv).
# Only the package registries are needed; a second run does nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
TOOLS=$ROOT/.tools
WORKER_BUILD_VERSION=0.8.7
# must equal the wasm-bindgen in Cargo.lock exactly (schema check in worker-build)
WASM_BINDGEN_VERSION=0.2.130
# the fuzz targets under fuzz/ (built with `cargo +nightly fuzz`)
CARGO_FUZZ_VERSION=0.13.2

log() { echo "[setup] $*" >&2; }
mkdir -p "$TOOLS/cargo/bin"
export PATH="$TOOLS/cargo/bin:$PATH"

# --- Rust targets and components
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
for comp in clippy rustfmt; do
  if ! rustup component list --installed | grep -q "^$comp"; then
    rustup component add "$comp"
  fi
done

# --- cargo-installed tools (version-checked before reinstalling)
have_version() { # cmd version
  command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -q " $2\b"
}
if ! have_version worker-build "$WORKER_BUILD_VERSION"; then
  log "cargo install worker-build $WORKER_BUILD_VERSION"
  cargo install --locked --root "$TOOLS/cargo" worker-build --version "$WORKER_BUILD_VERSION"
fi
if ! have_version wasm-bindgen "$WASM_BINDGEN_VERSION"; then
  log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # not --locked: its lockfile wants a webpki-roots the registry lacks
  cargo install --root "$TOOLS/cargo" wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
if ! have_version cargo-fuzz "$CARGO_FUZZ_VERSION"; then
  log "cargo install cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install --locked --root "$TOOLS/cargo" cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi
# libFuzzer needs a nightly toolchain beside the pinned stable one (only fuzz/ uses it).
if ! rustup toolchain list | grep -q '^nightly-'; then
  log "rustup toolchain install nightly --profile minimal"
  rustup toolchain install nightly --profile minimal
fi

# --- npm tools (wrangler 4.86.0 is the last that runs on Node 20)
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
   || [ ! -x node_modules/.bin/wrangler ]; then
  log "npm ci"
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  else
    npm install --no-audit --no-fund --loglevel=error
  fi
fi

# --- Python tools
if [ ! -x "$TOOLS/venv/bin/python" ]; then
  log "python3 -m venv .tools/venv"
  python3 -m venv "$TOOLS/venv"
fi
stamp=$TOOLS/venv/.requirements
if ! cmp -s scripts/requirements.txt "$stamp"; then
  log "pip install -r scripts/requirements.txt (a few minutes the first time)"
  "$TOOLS/venv/bin/pip" install -q -r scripts/requirements.txt
  cp scripts/requirements.txt "$stamp"
fi
log "ready"
