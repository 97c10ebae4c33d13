#!/usr/bin/env python3
"""A fault-injecting proxy for the DynamoDB API, between the functions and the local server.

    fault_proxy.py PORT UPSTREAM        (PORT 0: any free port, printed as "listening on N")

Every request is forwarded to UPSTREAM as it is, unless a rule picks it for a fault. The rules
are driven over HTTP by the test that started the proxy:

    PUT    /_faults  {"seed": 7, "rules": [RULE, ...]}   replace the rules, zero the counts
    GET    /_faults  the counts: requests per operation, faults injected per kind, forwarded
    DELETE /_faults  no more faults; requests held by a hang are let go (and dropped)

    RULE = {"fault": KIND, "rate": 0.3 | "nth": [1, 5], "ops": ["GetItem", ...],
            "latency_ms": 200}

KIND (or a list of kinds, one picked at random each time) is one of: latency (forwarded after latency_ms), hang (no answer until the rules are
cleared, or 120 s, then the connection is closed), throttle (ThrottlingException), provisioned
(ProvisionedThroughputExceededException), conflict (TransactionCanceledException with
TransactionConflict reasons on TransactWriteItems, TransactionConflictException elsewhere),
internal (InternalServerError, HTTP 500), drop (the connection is closed with no answer).
A rule applies to the operations in "ops" (all when absent), either at random with probability
"rate" or to the Nth matching requests ("nth", counted from 1 per rule). The first rule that
picks a request decides; faults other than latency are injected before the request reaches the
server, so a refused request changed nothing.
"""

import http.client
import json
import random
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

PREFIX = "com.amazonaws.dynamodb.v20120810#"
HANG_LIMIT_SECONDS = 120


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []
        self.random = random.Random(0)
        self.released = threading.Event()
        self.reset_counts()

    def reset_counts(self):
        self.requests = {}
        self.injected = {}
        self.forwarded = 0
        self.seen = []

    def configure(self, spec):
        with self.lock:
            self.released.set()
            self.released = threading.Event()
            self.rules = spec.get("rules", [])
            self.random = random.Random(spec.get("seed", 0))
            self.reset_counts()
            self.seen = [0] * len(self.rules)

    def clear(self):
        with self.lock:
            self.rules = []
            self.released.set()

    def pick(self, op):
        """The rule for this request, if any, counting it."""
        with self.lock:
            self.requests[op] = self.requests.get(op, 0) + 1
            for i, rule in enumerate(self.rules):
                ops = rule.get("ops")
                if ops and op not in ops:
                    continue
                self.seen[i] += 1
                if "nth" in rule:
                    hit = self.seen[i] in rule["nth"]
                else:
                    hit = self.random.random() < float(rule.get("rate", 1.0))
                if hit:
                    rule = dict(rule)
                    if isinstance(rule["fault"], list):
                        rule["fault"] = self.random.choice(rule["fault"])
                    kind = rule["fault"]
                    self.injected[kind] = self.injected.get(kind, 0) + 1
                    return rule, self.released
            return None, self.released

    def counts(self):
        with self.lock:
            return {
                "requests": dict(self.requests),
                "injected": dict(self.injected),
                "forwarded": self.forwarded,
            }

    def note_forwarded(self):
        with self.lock:
            self.forwarded += 1


FAULTS = Faults()
UPSTREAM = None


def error_body(kind, op, body):
    if kind == "throttle":
        return 400, "ThrottlingException", {"message": "Rate of requests exceeds the allowed throughput."}
    if kind == "provisioned":
        return 400, "ProvisionedThroughputExceededException", {
            "message": "The level of configured provisioned throughput for the table was exceeded."
        }
    if kind == "internal":
        return 500, "InternalServerError", {"message": "Internal server error"}
    if kind == "conflict":
        if op == "TransactWriteItems":
            try:
                count = len(json.loads(body or b"{}").get("TransactItems", []))
            except ValueError:
                count = 1
            reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}]
            reasons += [{"Code": "None"}] * max(0, count - 1)
            codes = ", ".join(r["Code"] for r in reasons)
            return 400, "TransactionCanceledException", {
                "message": f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
                "CancellationReasons": reasons,
            }
        return 400, "TransactionConflictException", {"message": "Transaction is ongoing for the item"}
    raise ValueError(f"unknown fault {kind}")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def answer(self, status, payload, content_type="application/json", extra=()):
        data = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def control(self, method):
        if method == "GET":
            return self.answer(200, FAULTS.counts())
        if method == "DELETE":
            FAULTS.clear()
            return self.answer(200, FAULTS.counts())
        try:
            FAULTS.configure(json.loads(self.body() or b"{}"))
        except (ValueError, KeyError) as e:
            return self.answer(400, {"error": str(e)})
        return self.answer(200, {"rules": len(FAULTS.rules)})

    def drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def proxy(self, method):
        if self.path.startswith("/_faults"):
            return self.control(method)
        body = self.body()
        target = self.headers.get("x-amz-target", "")
        op = target.split(".")[-1] if target else method
        rule, released = FAULTS.pick(op)
        kind = rule["fault"] if rule else None
        if kind == "hang":
            released.wait(HANG_LIMIT_SECONDS)
            return self.drop()
        if kind == "drop":
            return self.drop()
        if kind == "latency":
            released.wait(float(rule.get("latency_ms", 100)) / 1000)
        elif kind is not None:
            status, code, payload = error_body(kind, op, body)
            payload["__type"] = PREFIX + code
            return self.answer(
                status,
                payload,
                "application/x-amz-json-1.0",
                [("x-amzn-requestid", "fault-proxy"), ("x-amzn-errortype", code)],
            )
        self.forward(method, body)

    def forward(self, method, body):
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        headers["host"] = UPSTREAM.netloc
        try:
            conn.request(method, self.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except OSError:
            return self.drop()
        finally:
            conn.close()
        FAULTS.note_forwarded()
        self.send_response(response.status)
        for k, v in response.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.proxy("GET")

    def do_POST(self):
        self.proxy("POST")

    def do_PUT(self):
        self.proxy("PUT")

    def do_DELETE(self):
        self.proxy("DELETE")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        # A client that gave up (its own timeout) closes its end: nothing to report.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def main():
    global UPSTREAM
    port, upstream = int(sys.argv[1]), sys.argv[2]
    UPSTREAM = urlsplit(upstream)
    server = Server(("127.0.0.1", port), Handler)
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
