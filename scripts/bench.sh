#!/usr/bin/env bash
# Loopback throughput/CPU of `tollgate serve` beside nginx, haproxy and the
# hyper floor, through ../shared/bench/peers.sh (which installs and stops the
# peers itself). Also the criterion figure of the core pipeline.
#   scripts/bench.sh                # peers: direct nginx haproxy hyper-floor + tollgate
#   DUR=5 REPEATS=2 scripts/bench.sh
#   PEERS="direct nginx" scripts/bench.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
PEERS_SH=${PEERS_SH:-$ROOT/../shared/bench/peers.sh}
[ -f "$PEERS_SH" ] || { echo "peers.sh not found at $PEERS_SH (set PEERS_SH)" >&2; exit 1; }

cargo build --release -p tollgate-cli
peers_file=$(mktemp)
trap 'rm -f "$peers_file"' EXIT
# Access logs off for the run (nginx and haproxy in peers.sh log nothing either).
echo "tollgate http://127.0.0.1:18099/api/ping env RUST_LOG=warn $ROOT/target/release/tollgate serve -c $ROOT/bench/gateway.yaml --listen 127.0.0.1:18099" > "$peers_file"

export PEERS=${PEERS:-"direct nginx haproxy hyper-floor"}
EXTRA_PEERS_FILE=$peers_file bash "$PEERS_SH"

if [ "${CRITERION:-1}" = 1 ]; then
  cargo bench -p tollgate-core --bench pipeline -- --noplot
fi
