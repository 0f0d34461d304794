#!/usr/bin/env bash
# Load and abuse test of the local server (issue 9; not in CI). Loopback only,
# bounded in time (~2 min plus the build). Two phases against one
# `tollgate serve`:
#   1. 1,000 concurrent keep-alive connections for DURATION (60 s) through a
#      JWT + rate-limited route (wrk): every answer must be a 200.
#   2. 500 slow-body clients (a declared 1,000-byte body, one byte a second)
#      and 500 slow-reader clients (a 6 MiB answer, more than the kernel's
#      socket buffers hold, never read, 4 KiB receive buffer) beside normal traffic (wrk, 100 connections, 30 s):
#      normal traffic must get 0 errors, every slow client must be cut off
#      (408 after body_timeout for the slow bodies; the connection closed
#      after send_timeout for the slow readers).
# Prints requests, errors, peak RSS (VmHWM) of the gateway, and when the slow
# clients were cut off. The upstream is a second `tollgate serve` (its
# /_gateway/health) for phase 1 and backends.py's echo (?bytes=) for phase 2,
# on ports 186xx of their own. RESPONSE_MEMORY sets limits.max_response_memory
# (default here 256 MiB): slow readers past it get 503 overloaded.
#
#   scripts/load-abuse.sh                  # debug build of tollgate
#   TOLLGATE_BIN=target/release/tollgate DURATION=60s scripts/load-abuse.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
DURATION=${DURATION:-60s}
BIN=${TOLLGATE_BIN:-$ROOT/target/debug/tollgate}
PYTHON=${PYTHON:-python3}
OUT=${OUT:-$ROOT/target/load-abuse}
GW_PORT=18601 BACK_PORT=18602 ECHO_PORT=18611
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
[ -n "${TOLLGATE_BIN:-}" ] || cargo build -q -p tollgate-cli
ulimit -n "$(ulimit -Hn)" || true

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

SECRET=load-abuse-secret-not-for-production-0001
cat > "$OUT/backend.yaml" <<YAML
version: 1
YAML
cat > "$OUT/gateway.yaml" <<YAML
version: 1
limits: { max_body_bytes: 4096, body_timeout: 5s, send_timeout: 5s, header_timeout: 10s, max_upstream_body: 8388608, max_response_memory: ${RESPONSE_MEMORY:-268435456} }
auth:
  jwt:
    hs: { algorithms: [HS256], secret: "$SECRET" }
upstreams:
  back: { targets: [ { url: "http://127.0.0.1:$BACK_PORT" } ], timeout: 10s }
  echo: { targets: [ { url: "http://127.0.0.1:$ECHO_PORT" } ], timeout: 30s }
routes:
  - id: load
    path: /load
    auth: [jwt:hs]
    rate_limit: { requests: 100000000, per: 1m, key: ip }
    upstream: back
    rewrite: /_gateway/health
  - { id: echo, path: "/echo/{*rest}", upstream: echo }
YAML

"$BIN" serve -c "$OUT/backend.yaml" --listen 127.0.0.1:$BACK_PORT >"$OUT/backend.log" 2>&1 & PIDS+=($!)
# backends.py on ports of its own (the conformance suite's 181xx stay free).
"$PYTHON" tests/conformance/backends.py --echo-port $ECHO_PORT --slow-port 18612 --fail-port 18613 \
  --dead-port 18614 --jwks-port 18615 --proto-port 18617 >"$OUT/backends.log" 2>&1 & PIDS+=($!)
RUST_LOG=warn "$BIN" serve -c "$OUT/gateway.yaml" --listen 127.0.0.1:$GW_PORT >"$OUT/gateway.log" 2>&1 & GW=$!; PIDS+=($GW)
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$GW_PORT/_gateway/health" && break; sleep 0.1; done
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$ECHO_PORT/" && break; sleep 0.1; done
TOKEN=$("$BIN" token --secret "$SECRET" --sub load-client --ttl 1h)
peak() { awk '/VmHWM/ {print $2}' "/proc/$GW/status"; }

echo "== phase 1: 1000 keep-alive connections, $DURATION, JWT + rate limit"
wrk -t2 -c1000 -d"$DURATION" --timeout 10s -H "Authorization: Bearer $TOKEN" \
  "http://127.0.0.1:$GW_PORT/load" | tee "$OUT/phase1.txt"
echo "peak RSS after phase 1: $(peak) KiB"

echo "== phase 2: 500 slow bodies + 500 slow readers beside 100 normal connections for 30 s"
wrk -t1 -c100 -d30s --timeout 10s -H "Authorization: Bearer $TOKEN" \
  "http://127.0.0.1:$GW_PORT/load" > "$OUT/phase2-normal.txt" & WRK=$!
"$PYTHON" - "$GW_PORT" <<'PY' | tee "$OUT/phase2-slow.txt"
import asyncio, socket, statistics, sys, time
PORT = int(sys.argv[1])

async def slow_body():
    r, w = await asyncio.open_connection("127.0.0.1", PORT)
    start = time.monotonic()
    w.write(b"POST /echo/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
    await w.drain()
    reader = asyncio.ensure_future(r.read())  # until the server closes
    try:
        for _ in range(1000):
            if reader.done():
                break
            w.write(b"z")
            await w.drain()
            await asyncio.sleep(1)
    except (ConnectionError, OSError):
        pass
    try:
        data = await asyncio.wait_for(reader, 60)
    except (asyncio.TimeoutError, ConnectionError, OSError):
        data = b""
    w.close()
    return data.startswith(b"HTTP/1.1 408"), time.monotonic() - start

async def slow_reader():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(s, ("127.0.0.1", PORT))
    start = time.monotonic()
    await loop.sock_sendall(s, b"GET /echo/big?bytes=6291456 HTTP/1.1\r\nHost: x\r\n\r\n")
    await asyncio.sleep(20)  # never read while the gateway writes
    got = 0
    while True:  # then drain: a cut-off connection ends short of the answer
        try:
            chunk = await asyncio.wait_for(loop.sock_recv(s, 65536), 30)
        except (asyncio.TimeoutError, ConnectionError, OSError):
            break
        if not chunk:
            break
        got += len(chunk)
    s.close()
    return got < 6291456, got

async def main():
    bodies = [asyncio.ensure_future(slow_body()) for _ in range(500)]
    readers = [asyncio.ensure_future(slow_reader()) for _ in range(500)]
    b = await asyncio.gather(*bodies)
    r = await asyncio.gather(*readers)
    times = [t for ok, t in b if ok]
    print(f"slow bodies: {sum(ok for ok, _ in b)}/500 got 408; cut off after "
          f"min {min(times, default=0):.1f} s, median {statistics.median(times) if times else 0:.1f} s, "
          f"max {max(times, default=0):.1f} s (body_timeout 5 s)")
    print(f"slow readers: {sum(ok for ok, _ in r)}/500 cut off before the whole 6 MiB answer "
          f"(read after 20 s; bytes got: max {max(g for _, g in r)})")

asyncio.run(main())
PY
wait $WRK
cat "$OUT/phase2-normal.txt"
echo "peak RSS (VmHWM) of the gateway over the whole run: $(peak) KiB"
echo "open connections left: $(ss -Htn state established "( sport = :$GW_PORT )" | wc -l)"
