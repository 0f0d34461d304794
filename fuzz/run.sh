#!/usr/bin/env bash
# Builds the fuzz targets (nightly, cargo-fuzz) and runs each one for
# SECONDS (default 5) on its checked-in seeds, one after the other:
#   bash fuzz/run.sh [SECONDS] [TARGET...]
# New inputs go to fuzz/target/corpus/<target> (not checked in), crashes to
# fuzz/artifacts/<target>/; the seeds under fuzz/corpus/ are only read.
# Exits non-zero on the first target that fails. FUZZ_JOBS_NICE=1 runs the
# build and the fuzzers under `nice -n 19`; FUZZ_DEV=1 builds unoptimised.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
SECONDS_PER_TARGET=${1:-5}
shift || true
export PATH="$PWD/../.tools/cargo/bin:$PATH"
# Safe Rust (`unsafe_code = "forbid"` in the workspace): AddressSanitizer
# would find little and costs 2-3x the executions; overflow checks stay on.
FLAGS=(-s none -a)
# FUZZ_DEV=1: an unoptimised build, half the compile time (CI's short runs).
[ "${FUZZ_DEV:-0}" = 1 ] && FLAGS+=(--dev)
NICE=()
[ "${FUZZ_JOBS_NICE:-0}" = 1 ] && NICE=(nice -n 19)
"${NICE[@]}" cargo +nightly fuzz build "${FLAGS[@]}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
for t in "${targets[@]}"; do
  mkdir -p "target/corpus/$t" "artifacts/$t"
  echo "[fuzz] $t: ${SECONDS_PER_TARGET}s"
  log="target/fuzz-$t.log"
  if ! "${NICE[@]}" cargo +nightly fuzz run "${FLAGS[@]}" "$t" "target/corpus/$t" "corpus/$t" -- \
    -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -artifact_prefix="artifacts/$t/" -print_final_stats=1 >"$log" 2>&1; then
    grep -v '^#[0-9]' "$log" | tail -40 >&2
    echo "[fuzz] $t FAILED; reproduce: cargo +nightly fuzz run ${FLAGS[*]} $t artifacts/$t/<file>" >&2
    exit 1
  fi
  grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$log" | tr '\n' ' '
  echo
done
echo "[fuzz] ${#targets[@]} targets passed"
