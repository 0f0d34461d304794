#!/usr/bin/env bash
# Runs the conformance suite against a gateway that is already running with
# tests/conformance/gateway.yaml.
#
#   tests/conformance/run.sh RUNTIME BASE_URL [pytest args...]
#   tests/conformance/run.sh local http://127.0.0.1:18200
#   tests/conformance/run.sh cloudflare http://127.0.0.1:18300
#   tests/conformance/run.sh lambda http://127.0.0.1:18400   # cargo lambda watch -p tollgate-lambda --disable-cors
#
# Starts the example backends (backends.py) if the echo port does not answer
# yet, and stops them again at the end (only the process it started).
# Env: PYTHON (default .tools/venv/bin/python), ECHO_URL SLOW_URL FAIL_URL
# DEAD_URL JWKS_URL PROTO_URL (defaults 127.0.0.1:18101..18105, 18107), JWT_SECRET and
# ADMIN_TOKEN (defaults below): all must match what the gateway got.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 local|cloudflare|lambda BASE_URL [pytest args...]" >&2
  exit 2
fi
RUNTIME=$1
BASE_URL=$2
shift 2
case "$RUNTIME" in
  local|cloudflare|lambda) ;;
  *) echo "run.sh: RUNTIME must be local, cloudflare or lambda (got '$RUNTIME')" >&2; exit 2 ;;
esac

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PYTHON=${PYTHON:-$ROOT/.tools/venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3

export ECHO_URL=${ECHO_URL:-http://127.0.0.1:18101}
export SLOW_URL=${SLOW_URL:-http://127.0.0.1:18102}
export FAIL_URL=${FAIL_URL:-http://127.0.0.1:18103}
export DEAD_URL=${DEAD_URL:-http://127.0.0.1:18104}
export JWKS_URL=${JWKS_URL:-http://127.0.0.1:18105}
export PROTO_URL=${PROTO_URL:-http://127.0.0.1:18107}
export JWT_SECRET=${JWT_SECRET:-conformance-hs256-secret-not-for-production-use-0001}
export ADMIN_TOKEN=${ADMIN_TOKEN:-conformance-admin-token}
export TOLLGATE_RUNTIME=$RUNTIME
export TOLLGATE_URL=$BASE_URL
export PYTHONDONTWRITEBYTECODE=1

port_of() { local p=${1##*:}; echo "${p%%/*}"; }
host_of() { local h=${1#*://}; echo "${h%:*}"; }

backends_pid=""
cleanup() {
  if [ -n "$backends_pid" ]; then
    kill "$backends_pid" 2>/dev/null || true
    wait "$backends_pid" 2>/dev/null || true
  fi
  if [ -n "${log:-}" ]; then rm -f "$log"; fi
}
trap cleanup EXIT

if ! "$PYTHON" -c "import socket,sys; socket.create_connection(('$(host_of "$ECHO_URL")', $(port_of "$ECHO_URL")), 1).close()" 2>/dev/null; then
  log=$(mktemp)
  "$PYTHON" "$HERE/backends.py" --host "$(host_of "$ECHO_URL")" \
    --echo-port "$(port_of "$ECHO_URL")" --slow-port "$(port_of "$SLOW_URL")" \
    --fail-port "$(port_of "$FAIL_URL")" --dead-port "$(port_of "$DEAD_URL")" \
    --jwks-port "$(port_of "$JWKS_URL")" --proto-port "$(port_of "$PROTO_URL")" >"$log" 2>&1 &
  backends_pid=$!
  for _ in $(seq 1 100); do
    grep -q '^ready$' "$log" && break
    if ! kill -0 "$backends_pid" 2>/dev/null; then
      cat "$log" >&2; backends_pid=""; echo "run.sh: the backends did not start" >&2; exit 3
    fi
    sleep 0.1
  done
  grep -q '^ready$' "$log" || { cat "$log" >&2; echo "run.sh: the backends did not become ready" >&2; exit 3; }
  echo "run.sh: started backends.py (pid $backends_pid)"
else
  echo "run.sh: backends already running at $ECHO_URL"
fi

echo "run.sh: runtime=$RUNTIME url=$BASE_URL"
set +e
(cd "$HERE" && "$PYTHON" -m pytest -q -rfEsP "$@")
status=$?
set -e
exit $status
