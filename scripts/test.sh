#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run): installs what is missing
# (scripts/setup.sh, idempotent), then fmt, clippy -D warnings (native and
# wasm32), the module layers (no import cycle), core's docs without a
# warning, native tests, a short run of each fuzz target, the Workers bundle
# build, and the conformance suite
# against tollgate serve, wrangler dev and cargo lambda watch.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
export PATH="$PWD/.tools/cargo/bin:$PWD/.tools/venv/bin:$PATH"
step() { echo; echo "==> $* ($(date +%H:%M:%S))"; }

step "cargo fmt --check"
cargo fmt --all -- --check
step "clippy (native)"
cargo clippy --workspace --all-targets --features tollgate-core/fuzzing --locked -- -D warnings
step "clippy (wasm32: core and the Workers adapter)"
cargo clippy -p tollgate-core -p tollgate-cloudflare --target wasm32-unknown-unknown --locked -- -D warnings
step "module layers: no import cycle between a crate's top-level modules"
python3 scripts/check-layers.py crates/core/src crates/native/src crates/cli/src crates/cloudflare/src crates/lambda/src
step "cargo doc (core, -D warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc -p tollgate-core --no-deps --locked
step "sam validate --lint (template.yaml)"
AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
  SAM_CLI_TELEMETRY=0 sam validate --lint -t template.yaml
step "native tests"
cargo test --workspace --locked
step "fuzz targets, 5 s each on their seeds (nightly; fuzz/run.sh)"
FUZZ_DEV=1 bash fuzz/run.sh 5
step "conformance suite (builds the Workers bundle)"
bash scripts/conformance.sh
step "all green"
