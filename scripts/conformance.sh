#!/usr/bin/env bash
# Runs the conformance suite (tests/conformance) against every runtime in
# turn: `tollgate serve`, `wrangler dev` (prebuilt Workers bundle) and
# `cargo lambda watch`, each in front of the same example backends. Starts
# each runtime in its own process group and stops it (and only it) after.
#
#   scripts/conformance.sh                 # all three
#   RUNTIMES="local lambda" scripts/conformance.sh
#   SKIP_WORKER_BUILD=1 ...                # reuse build/ as it is
#   CONFORMANCE_ARGS="test_paths.py -k dot" ...   # extra pytest arguments
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
RUNTIMES=${RUNTIMES:-"local cloudflare lambda"}
CONFIG=$ROOT/tests/conformance/gateway.yaml
# The config a runtime runs: gateway.yaml with that runtime's `#@<runtime> `
# lines switched on (upstream kinds only one platform has, like a Workers
# service binding or a direct Lambda invoke, which the others refuse to start with).
runtime_config() { # runtime -> path
  local out="$LOGS/gateway-$1.yaml"
  sed -E "s/^([[:space:]]*)#@$1 /\1/" "$CONFIG" > "$out"
  echo "$out"
}
PYTHON=$ROOT/.tools/venv/bin/python
export PATH="$ROOT/.tools/cargo/bin:$ROOT/.tools/venv/bin:$PATH"
# The ${...} values of tests/conformance/gateway.yaml (the same as the [vars]
# of tests/conformance/wrangler.toml): backend addresses and test-only secrets.
export ECHO_URL=http://127.0.0.1:18101 SLOW_URL=http://127.0.0.1:18102 \
       FAIL_URL=http://127.0.0.1:18103 DEAD_URL=http://127.0.0.1:18104 \
       JWKS_URL=http://127.0.0.1:18105 PROTO_URL=http://127.0.0.1:18107 \
       JWT_SECRET=conformance-hs256-secret-not-for-production-use-0001 \
       ADMIN_TOKEN=conformance-admin-token
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
LOGS=${LOGS:-$ROOT/target/conformance}
mkdir -p "$LOGS"

GROUPS_STARTED=()
STARTED=""
log() { echo "[conformance] $*" >&2; }
start_group() { # name cmd... : runs cmd as a new process group leader; its pid in $STARTED
  local name=$1; shift
  setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  STARTED=$!
  GROUPS_STARTED+=("$STARTED")
}
stop_group() {
  local pgid=$1
  kill -TERM -- "-$pgid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 -- "-$pgid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL -- "-$pgid" 2>/dev/null || true
}
cleanup() { for g in "${GROUPS_STARTED[@]}"; do stop_group "$g"; done; return 0; }
trap cleanup EXIT INT TERM

wait_http() { # url seconds name
  local deadline=$((SECONDS + $2))
  until curl -s -o /dev/null --max-time 60 "$1"; do
    if [ $SECONDS -ge $deadline ]; then
      log "$3 did not answer at $1 within $2 s; its log:"; tail -n 40 "$LOGS/$3.log" >&2; return 1
    fi
    sleep 0.3
  done
}

# The example backends, shared by every runtime.
start_group backends "$PYTHON" tests/conformance/backends.py
for _ in $(seq 1 100); do grep -q '^ready$' "$LOGS/backends.log" 2>/dev/null && break; sleep 0.1; done
grep -q '^ready$' "$LOGS/backends.log" || { log "backends did not start"; cat "$LOGS/backends.log" >&2; exit 1; }

declare -A RESULT
failed=0
xff_suite() { # runtime url: test_security_xff.py against a gateway running gateway-xff.yaml
  local out="$LOGS/suite-$1-xff.txt" status=0
  TOLLGATE_XFF=1 tests/conformance/run.sh "$1" "$2" test_security_xff.py 2>&1 | tee "$out" || status=$?
  RESULT[$1-xff]=$(grep -E '(passed|failed|skipped|error)' "$out" | tail -n 1)
  [ $status -eq 0 ] || failed=1
}
start_dynamodb() { # a fresh single-threaded moto with the table template.yaml declares; its pid in $STARTED
  start_group dynamodb "$PYTHON" scripts/dynamodb-emulator.py --port 18500
  local pid=$STARTED
  for _ in $(seq 1 300); do grep -q '^ready$' "$LOGS/dynamodb.log" 2>/dev/null && break; sleep 0.1; done
  grep -q '^ready$' "$LOGS/dynamodb.log" || { log "the DynamoDB emulator did not start"; cat "$LOGS/dynamodb.log" >&2; exit 1; }
  "$PYTHON" -c '
import sys, boto3
ddb = boto3.client("dynamodb", endpoint_url=sys.argv[1])
ddb.create_table(TableName=sys.argv[2], BillingMode="PAY_PER_REQUEST",
                 AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                 KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
ddb.update_time_to_live(TableName=sys.argv[2], TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})
' "$DYNAMODB_ENDPOINT" tollgate
  STARTED=$pid
}
start_lambda() { # config-path: cargo lambda watch on :18400 with that config; its pid in $STARTED
  start_group lambda bash -c "cd crates/lambda && exec cargo lambda watch -A 127.0.0.1 -P 18400 -p tollgate-lambda --disable-cors --ignore-changes \
        --env-var TOLLGATE_CONFIG_FILE=$1 --env-var ECHO_URL=$ECHO_URL --env-var SLOW_URL=$SLOW_URL \
        --env-var FAIL_URL=$FAIL_URL --env-var DEAD_URL=$DEAD_URL --env-var JWKS_URL=$JWKS_URL --env-var PROTO_URL=$PROTO_URL \
        --env-var JWT_SECRET=$JWT_SECRET --env-var ADMIN_TOKEN=$ADMIN_TOKEN --env-var RUST_LOG=info \
        --env-var TOLLGATE_TABLE=tollgate --env-var AWS_ENDPOINT_URL_DYNAMODB=$DYNAMODB_ENDPOINT \
        --env-var AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:18400 \
        --env-var AWS_ACCESS_KEY_ID=test --env-var AWS_SECRET_ACCESS_KEY=test --env-var AWS_REGION=us-east-1"
}
suite() { # runtime url
  local out="$LOGS/suite-$1.txt" status=0
  # shellcheck disable=SC2086 # CONFORMANCE_ARGS: extra pytest arguments (a file, -k), split on spaces
  tests/conformance/run.sh "$1" "$2" ${CONFORMANCE_ARGS:-} 2>&1 | tee "$out" || status=$?
  RESULT[$1]=$(grep -E '^[0-9]+ (passed|failed)|(passed|failed|skipped|error)' "$out" | tail -n 1)
  [ $status -eq 0 ] || failed=1
}

for rt in $RUNTIMES; do
  case "$rt" in
    local)
      cargo build -q -p tollgate-cli
      start_group local "$ROOT/target/debug/tollgate" serve -c "$(runtime_config local)" --listen 127.0.0.1:18200; g=$STARTED
      wait_http http://127.0.0.1:18200/_gateway/health 60 local
      suite local http://127.0.0.1:18200
      stop_group "$g"
      # The same server behind a trusted proxy (client_ip: x-forwarded-for), issue 9 findings 1 and 5b.
      start_group local-xff "$ROOT/target/debug/tollgate" serve -c tests/conformance/gateway-xff.yaml --listen 127.0.0.1:18201; g=$STARTED
      wait_http http://127.0.0.1:18201/_gateway/health 60 local-xff
      xff_suite local http://127.0.0.1:18201
      stop_group "$g" ;;
    cloudflare)
      [ "${SKIP_WORKER_BUILD:-0}" = 1 ] || bash scripts/build-worker.sh "$(runtime_config cloudflare)"
      # A fresh state per run: Durable Object counters (daily quotas, limits
      # of an hour) and KV entries of a previous run would change the answers.
      rm -rf "$LOGS/wrangler-state"
      # Two Workers in one `wrangler dev`: the gateway (the first -c, the primary, on the port) and
      # backend-worker, which the gateway's service binding BACKEND reaches (test_upstream_kinds.py).
      start_group cloudflare npx --no-install wrangler dev -c tests/conformance/wrangler.toml \
            -c tests/conformance/backend-worker/wrangler.toml --ip 127.0.0.1 \
            --port 18300 --show-interactive-dev-session=false --persist-to "$LOGS/wrangler-state"; g=$STARTED
      wait_http http://127.0.0.1:18300/_gateway/health 120 cloudflare
      export WRANGLER_STATE="$LOGS/wrangler-state"
      suite cloudflare http://127.0.0.1:18300
      stop_group "$g"
      # Behind a trusted proxy (client_ip: x-forwarded-for), issue 9 findings 1 and 5b: the config is
      # compiled into the bundle, so this builds another one into build/ (a later SKIP_WORKER_BUILD=1
      # run would serve it: rebuild first).
      bash scripts/build-worker.sh tests/conformance/gateway-xff.yaml
      rm -rf "$LOGS/wrangler-state-xff"
      start_group cloudflare-xff npx --no-install wrangler dev -c tests/conformance/wrangler.toml --ip 127.0.0.1 \
            --port 18300 --show-interactive-dev-session=false --persist-to "$LOGS/wrangler-state-xff"; g=$STARTED
      wait_http http://127.0.0.1:18300/_gateway/health 120 cloudflare-xff
      xff_suite cloudflare http://127.0.0.1:18300
      stop_group "$g" ;;
    lambda)
      # DynamoDB for the key-value port: moto, single-threaded (scripts/dynamodb-emulator.py),
      # with the table template.yaml declares. The suite writes into it (DYNAMODB_ENDPOINT).
      export DYNAMODB_ENDPOINT=http://127.0.0.1:18500
      start_dynamodb; ddb=$STARTED
      log "the DynamoDB key-value and limiter stores against the emulator"
      TOLLGATE_TEST_DYNAMODB=$DYNAMODB_ENDPOINT cargo test -q -p tollgate-lambda --test dynamo_kv -- --ignored || failed=1
      TOLLGATE_TEST_DYNAMODB=$DYNAMODB_ENDPOINT cargo test -q -p tollgate-lambda --test dynamo_limiter -- --ignored || failed=1
      # Both functions of crates/lambda: `-p`, not `--bin tollgate-lambda` (with --bin, cargo-lambda starts
      # any other function as `cargo run --bin tollgate-lambda --bin <other>`, which cargo refuses); the
      # package's [package.metadata.lambda.watch.router] sends every plain URL to the gateway, and the
      # gateway invokes tollgate-conformance-backend (a `lambda:` upstream) through the Invoke API here.
      start_lambda "$(runtime_config lambda)"; g=$STARTED
      # the function is compiled on the first invoke: allow for it
      wait_http http://127.0.0.1:18400/_gateway/health 900 lambda
      # ... and so is the invoked one (the gateway's 10 s upstream timeout would not wait for its build)
      curl -s -o /dev/null --max-time 900 -X POST -d '{}' \
        http://127.0.0.1:18400/2015-03-31/functions/tollgate-conformance-backend/invocations || true
      suite lambda http://127.0.0.1:18400
      # Store down: stop the emulator under the running function; limits with
      # on_store_error closed must answer 503, open ones admit.
      stop_group "$ddb"
      log "lambda with the DynamoDB emulator stopped (on_store_error)"
      out="$LOGS/suite-lambda-store-down.txt"
      TOLLGATE_STORE_DOWN=1 tests/conformance/run.sh lambda http://127.0.0.1:18400 test_zzz_store_down.py 2>&1 | tee "$out" \
        || failed=1
      RESULT[lambda-store-down]=$(grep -E '(passed|failed|skipped|error)' "$out" | tail -n 1)
      stop_group "$g"
      # Behind a trusted proxy (client_ip: x-forwarded-for), issue 9 findings 1 and 5b; a fresh store.
      start_dynamodb; ddb=$STARTED
      start_lambda "$ROOT/tests/conformance/gateway-xff.yaml"; g=$STARTED
      wait_http http://127.0.0.1:18400/_gateway/health 900 lambda
      xff_suite lambda http://127.0.0.1:18400
      stop_group "$g"; stop_group "$ddb" ;;
    *) log "unknown runtime $rt"; exit 2 ;;
  esac
done

echo
echo "conformance summary:"
for rt in $RUNTIMES; do printf '  %-11s %s\n' "$rt" "${RESULT[$rt]:-did not run}"; done
[ -z "${RESULT[lambda-store-down]:-}" ] || printf '  %-11s %s\n' "lambda, store down" "${RESULT[lambda-store-down]}"
for rt in local cloudflare lambda; do
  [ -z "${RESULT[$rt-xff]:-}" ] || printf '  %-11s %s\n' "$rt, x-forwarded-for" "${RESULT[$rt-xff]}"
done
exit $failed
