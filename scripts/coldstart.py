#!/usr/bin/env python3
"""Cold start of each function, measured against a minimal local Lambda Runtime API.

    coldstart.py BIN_DIR ENV_FILE OUT_JSON [STARTS]

For each function, STARTS times (default 20): exec its release binary with the Runtime API
pointed here, and time
  - ready: from exec to its first `GET /runtime/invocation/next` (its init is done);
  - first response: from exec to the `POST .../response` for the first event, which is the
    function's file in events/ (its first request builds its clients and reads the table);
and, once it has answered, its peak resident memory (VmHWM). The process is then killed.
Starts run back to back, each against a Runtime API server of its own, after one unmeasured
start that brings the binary into the page cache. Medians, and the worst start, go to OUT_JSON;
every start is printed.
"""

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Function -> the event it is started with (a file in events/).
FUNCTIONS = {
    "answer": "answer-known.json",
    "event": "event-answered.json",
    "sms": "sms-inbound-unknown.json",
    "conversations": "conversations-list.json",
    "numbers": "numbers-list.json",
    "expiry": "expiry-schedule.json",
}
PREFIX = "/2018-06-01/runtime"


class Run:
    """What one start has done so far."""

    def __init__(self, event: bytes):
        self.event = event
        self.ready = None
        self.responded = None
        self.status = None
        self.body = b""
        self.served = False
        self.done = threading.Event()


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a killed function drops its waiting connection; that is expected


class RuntimeApi(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    run: Run = None  # each start has its own server, and its own subclass naming its Run

    def log_message(self, *args):
        pass

    def do_GET(self):
        now = time.perf_counter()
        run = self.run
        if self.path != f"{PREFIX}/invocation/next":
            return self.reply(404, b"{}")
        if run.served:
            # The function is waiting for its next event: there is none; it is killed instead.
            run.done.wait(30)
            return self.reply(410, b"{}")
        run.ready = run.ready or now
        run.served = True
        deadline = int(time.time() * 1000) + 30_000
        self.reply(
            200,
            run.event,
            {
                "Lambda-Runtime-Aws-Request-Id": "00000000-0000-4000-8000-000000000001",
                "Lambda-Runtime-Deadline-Ms": str(deadline),
                "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:bench",
                "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000001",
            },
        )

    def do_POST(self):
        now = time.perf_counter()
        run = self.run
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.endswith("/response"):
            run.responded, run.status, run.body = now, "ok", body
        else:  # /error or /init/error
            run.responded, run.status, run.body = now, "error", body
        self.reply(202, b"{}")
        run.done.set()

    def reply(self, code, body, headers=None):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def start_once(binary, env, event):
    """One start, with a Runtime API of its own: a request still in flight from the previous
    (killed) start cannot be taken for this one's."""
    run = Run(event)
    server = Server(("127.0.0.1", 0), type("Api", (RuntimeApi,), {"run": run}))
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}")
    t0 = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    finished = run.done.wait(30)
    exited = proc.poll()
    rss = peak_rss_kib(proc.pid) if exited is None else 0
    proc.kill()
    logs, _ = proc.communicate()
    run.done.set()
    server.shutdown()
    server.server_close()
    if not finished or run.status != "ok" or run.ready is None:
        raise SystemExit(
            f"{binary}: no answer to its first event (asked for work: {run.ready is not None}, "
            f"answer: {run.status}, exit status: {exited}): {run.body[:300]!r}\n"
            f"{logs.decode(errors='replace')[-2000:]}"
        )
    return {
        "ready_ms": (run.ready - t0) * 1000,
        "first_response_ms": (run.responded - t0) * 1000,
        "peak_rss_mib": rss / 1024,
        "answer": run.body.decode(errors="replace")[:200],
    }


def main():
    sys.setswitchinterval(0.0001)  # a request waits as little as possible for another thread
    bin_dir, env_file, out = sys.argv[1:4]
    starts = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    for line in open(env_file):
        line = line.strip()
        if line and not line.startswith("#"):
            k, v = line.split("=", 1)
            base[k] = v
    base.update(
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/bench",
        AWS_LAMBDA_LOG_STREAM_NAME="bench",
        RUST_LOG="warn",
    )
    results = {}
    for name, event_file in FUNCTIONS.items():
        event = open(os.path.join(root, "events", event_file), "rb").read()
        env = dict(base, AWS_LAMBDA_FUNCTION_NAME=name)
        binary = os.path.join(bin_dir, name)
        start_once(binary, env, event)  # page the binary in: every start below finds it cached
        runs = [start_once(binary, env, event) for _ in range(starts)]
        for i, r in enumerate(runs):
            print(
                f"{name} #{i + 1}: ready {r['ready_ms']:.2f} ms, first response "
                f"{r['first_response_ms']:.2f} ms, peak RSS {r['peak_rss_mib']:.1f} MiB"
            )
        results[name] = {
            "starts": starts,
            "event": event_file,
            "ready_ms_median": statistics.median(r["ready_ms"] for r in runs),
            "ready_ms_max": max(r["ready_ms"] for r in runs),
            "first_response_ms_median": statistics.median(r["first_response_ms"] for r in runs),
            "first_response_ms_max": max(r["first_response_ms"] for r in runs),
            "peak_rss_mib_max": max(r["peak_rss_mib"] for r in runs),
            "first_answer": runs[0]["answer"],
        }
        print(json.dumps({name: results[name]}, indent=1))
    json.dump(results, open(out, "w"), indent=1)


if __name__ == "__main__":
    main()
