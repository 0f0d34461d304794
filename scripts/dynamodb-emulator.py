#!/usr/bin/env python3
"""A local DynamoDB for tests: moto's server, single-threaded.

    .tools/venv/bin/python scripts/dynamodb-emulator.py [--port 18500] [--host 127.0.0.1]

Prints `ready` on stdout once it listens, then serves until killed (SIGTERM
or SIGINT end it cleanly). Point the AWS SDK at it with
AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:18500 (any credentials, e.g.
test/test, and any region). State lives in memory only; `POST /moto-api/reset`
wipes it.

Why not `moto_server`: it serves every request on its own thread, and then
over-admits on concurrent conditional updates (5-9% of 50-way race rounds
let more than the limit through, where this one was exact). Here werkzeug
serves one request at a time (`threaded=False`, one process), as
`run_simple(..., threaded=False)` would, through moto's own WSGI dispatcher
and request handler; the server is made with `make_server`, which is what
run_simple calls, so that `ready` can be printed once the socket listens.
"""

import argparse
import signal
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=18500, help="port to listen on (default 18500)")
    args = parser.parse_args()

    # Imported late so that --help works without moto installed.
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    def stop(_signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(
        args.host,
        args.port,
        app,
        threaded=False,
        processes=1,
        request_handler=MotoRequestHandler,
    )
    print("ready", flush=True)
    try:
        server.serve_forever()
    except SystemExit:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
