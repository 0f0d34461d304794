"""What a client or a backend can make the gateway hold (issue 9, finding 6;
spec §3 `limits`). gateway.yaml sets limits.max_upstream_body to 256 KiB and
limits.body_timeout to 3 s (the latter is the local server's: on Workers and
Lambda the platform reads the whole body before the gateway runs).

The connection cap, the header and send timeouts and the other deadlines of
the local server are pinned over raw sockets in crates/cli/tests/serve_bounds.rs
(they need configs of their own)."""


from conftest import BASE_URL, assert_problem, raw_exchange, skip_on
from urllib.parse import urlsplit

CAP = 262144  # gateway.yaml limits.max_upstream_body


def test_an_answer_at_the_cap_passes_whole(gw):
    for query in (f"bytes={CAP}", f"chunked_bytes={CAP}"):
        r = gw.get(f"/echo/big?{query}", timeout=60)
        assert r.status == 200, r.describe()
        assert len(r.body) == CAP and r.body == b"x" * CAP, f"{query}: {len(r.body)} bytes"


def test_an_answer_past_the_cap_is_a_502_problem(gw):
    # One byte over, declared and streamed; and far over (never held whole).
    for query in (f"bytes={CAP + 1}", f"chunked_bytes={CAP + 1}", f"bytes={40 * CAP}", f"chunked_bytes={40 * CAP}"):
        r = gw.get(f"/echo/big?{query}", timeout=60)
        assert_problem(r, 502, "upstream-bad-response")


def test_the_gateway_keeps_answering_after_refusing_large_answers(gw):
    for _ in range(3):
        gw.get(f"/echo/big?chunked_bytes={40 * CAP}", timeout=60)
    r = gw.get("/echo/after-large")
    assert r.status == 200, r.describe()


def test_a_dribbling_answer_is_cut_at_the_route_deadline(gw):
    # /slow has a 500 ms timeout; the backend sends its head at once, then
    # 1 KiB every 100 ms for 3 s: the deadline covers the whole answer.
    r = gw.get("/slow?dribble=30&every_ms=100", timeout=60)
    assert_problem(r, 504, "upstream-timeout")


@skip_on(("cloudflare", "lambda"), "the platform reads the whole request body before the gateway runs "
         "(workerd: the Worker's body stream; Lambda: the event); its own deadlines apply, see docs/runtimes.md")
def test_a_body_that_never_finishes_gets_408_and_the_connection_closed(gw):
    prefix = urlsplit(BASE_URL).path.rstrip("/")
    head = f"POST {prefix}/echo/slow-body HTTP/1.1\r\nHost: {gw.host_header}\r\n".encode()
    for framing, partial in ((b"Content-Length: 100\r\n\r\n", b"abc"),
                             (b"Transfer-Encoding: chunked\r\n\r\n", b"3\r\nabc\r\n")):
        out, closed = raw_exchange(head + framing + partial, wait=30)
        assert closed, f"still open after 30 s: {out!r}"
        assert out.startswith(b"HTTP/1.1 408"), out
        assert b"application/problem+json" in out and b"request-timeout" in out, out
