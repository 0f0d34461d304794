#!/usr/bin/env bash
# Builds the Cloudflare Workers bundle (build/index.js + build/index_bg.wasm at
# the workspace root) with the gateway config CONFIG embedded, fully offline:
# worker-build is pointed at the project's own wasm-bindgen, esbuild and
# wasm-opt (scripts/setup.sh installs them) instead of downloading its own.
#
#   scripts/build-worker.sh [--dev] [CONFIG]
#
#   CONFIG   gateway config to embed (default examples/gateway.yaml); a path
#            relative to the current directory or absolute
#   --dev    debug build (no wasm-opt; quick, large); default: the
#            `wasm-release` cargo profile (opt-level z, fat LTO, panic=abort)
#
# Serve the result with `npx wrangler dev -c tests/conformance/wrangler.toml`
# (no [build] step) or deploy it with the root wrangler.toml. Safe to re-run:
# cargo rebuilds only what changed (a different CONFIG rebuilds the adapter).
set -euo pipefail

usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

profile=(--profile wasm-release)
config=""
for arg in "$@"; do
  case "$arg" in
    --dev) profile=(--dev) ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "build-worker: unknown option $arg" >&2; usage >&2; exit 2 ;;
    *)
      if [ -n "$config" ]; then echo "build-worker: one CONFIG only" >&2; exit 2; fi
      config=$arg ;;
  esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "$config" ]; then
  config=examples/gateway.yaml
  config_abs=$ROOT/$config
else
  config_abs=$(realpath -m -- "$config")
fi
if [ ! -f "$config_abs" ]; then
  echo "build-worker: no config file at $config_abs" >&2
  exit 1
fi
# Error messages name the config by its path from the workspace root when it is inside it.
case "$config_abs" in
  "$ROOT"/*) config_name=${config_abs#"$ROOT"/} ;;
  *) config_name=$config_abs ;;
esac

# The cargo-installed tools: .tools/cargo/bin (setup.sh), else the right version on PATH.
cargo_tool() {
  if [ -x "$ROOT/.tools/cargo/bin/$1" ]; then
    echo "$ROOT/.tools/cargo/bin/$1"
  elif command -v "$1" >/dev/null 2>&1; then
    command -v "$1"
  else
    echo "build-worker: $1 not found: run scripts/setup.sh first" >&2
    return 1
  fi
}
worker_build=$(cargo_tool worker-build)
wasm_bindgen=$(cargo_tool wasm-bindgen)
for tool in "$ROOT/node_modules/.bin/esbuild" "$ROOT/node_modules/.bin/wasm-opt"; do
  if [ ! -x "$tool" ]; then
    echo "build-worker: $tool is missing: run scripts/setup.sh first" >&2
    exit 1
  fi
done

cd "$ROOT"
export TOLLGATE_CONFIG=$config_name
export WASM_BINDGEN_BIN=$wasm_bindgen
export ESBUILD_BIN=$ROOT/node_modules/.bin/esbuild
export WASM_OPT_BIN=$ROOT/node_modules/.bin/wasm-opt

echo "[build-worker] config $TOLLGATE_CONFIG, ${profile[*]}" >&2
start=$(date +%s)
# --out-dir is relative to the crate: ../../build is the workspace root's build/.
"$worker_build" "${profile[@]}" --out-dir ../../build crates/cloudflare
if [ "${profile[0]}" != --dev ]; then
  # worker-build keeps the names section (it passes --debuginfo to wasm-opt):
  # dropping it saves ~15% gzipped; panics still print their message and
  # file:line. Same features as worker-build enables (what workerd supports).
  # Written beside and renamed: a `wrangler dev` serving build/ must never see half a file.
  "$ROOT/node_modules/.bin/wasm-opt" build/index_bg.wasm -o build/index_bg.wasm.tmp --strip-debug \
    --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
    --enable-multivalue --enable-reference-types --enable-exception-handling
  mv -f build/index_bg.wasm.tmp build/index_bg.wasm
fi
end=$(date +%s)

wasm=$(find "$ROOT/build" -maxdepth 1 -name '*.wasm' | head -n 1)
if [ -z "$wasm" ]; then
  echo "build-worker: no .wasm in $ROOT/build" >&2
  exit 1
fi
raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
echo "[build-worker] built in $((end - start)) s: ${wasm#"$ROOT"/} $raw bytes raw ($((raw / 1024)) KiB), $gz bytes gzip -9 ($((gz / 1024)) KiB)"
