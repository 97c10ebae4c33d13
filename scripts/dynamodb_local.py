#!/usr/bin/env python3
"""The local DynamoDB-API server: moto's server, with each request handled atomically.

Real DynamoDB applies every write, conditional write and transaction atomically, so two requests
never see each other half-done. moto checks conditions and then writes in Python, on a thread per
connection, with no lock: two concurrent transactions could both pass the same condition. Serving
one request at a time restores DynamoDB's semantics, which the concurrency tests rely on.

Usage: dynamodb_local.py [PORT]   (default 8000, on 127.0.0.1)
"""
import os
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialized(environ, start_response):
        with lock:
            return list(app(environ, start_response))

    run_simple("127.0.0.1", port, serialized, threaded=True)


if __name__ == "__main__":
    main()
