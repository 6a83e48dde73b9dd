"""Shared plumbing for the test fakes: a threaded HTTP server on loopback,
a ledger of every call, and failure injection (POST /__fail).

Run with /usr/bin/python3 (Debian's, which sees python3-cryptography)."""

import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Faults:
    """Rules from POST /__fail, consumed call by call.

    {"action": "AddOrder" | "*", "mode": "status" | "rate_limit" | "reset" |
     "delay" | "lost_reply", "status": 503, "retry_after": 1,
     "delay_ms": 2000, "count": 1, "for_s": 30}
    "delay" waits and then answers normally; "lost_reply" does the work and
    then resets the connection instead of answering (the caller cannot tell
    whether it happened); the others replace the answer. With "for_s" the
    rule applies to every matching call for that many seconds (an outage)
    instead of "count" calls. "path" limits a rule to calls on that path.
    DELETE /__fail drops every rule.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []

    def add(self, rule):
        mode = rule.get("mode", "status")
        if mode not in ("status", "rate_limit", "reset", "delay",
                        "lost_reply"):
            raise ValueError("unknown mode %r" % mode)
        rule = dict(rule)
        rule.setdefault("action", "*")
        rule.setdefault("count", 1)
        rule["mode"] = mode
        if rule.get("for_s") is not None:
            rule["until"] = time.time() + float(rule["for_s"])
        with self.lock:
            self.rules.append(rule)

    def clear(self):
        with self.lock:
            self.rules = []

    def take(self, action, path=None):
        with self.lock:
            now = time.time()
            for rule in self.rules:
                if rule["action"] not in ("*", action):
                    continue
                if rule.get("path") and rule["path"] != path:
                    continue
                if "until" in rule:
                    if now < rule["until"]:
                        return dict(rule)
                    continue
                if rule["count"] > 0:
                    rule["count"] -= 1
                    return dict(rule)
        return None


class Ledger:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls = []

    def record(self, **entry):
        with self.lock:
            entry["seq"] = len(self.calls) + 1
            entry["at"] = time.time()
            self.calls.append(entry)

    def snapshot(self):
        with self.lock:
            return list(self.calls)

    def clear(self):
        with self.lock:
            self.calls = []


class FakeApp:
    """What every fake holds: its failure rules, its ledger and a lock over
    its state. Subclasses define reset, seed, state_view, route, action_of
    and failure_body (see FakeHandler)."""

    def __init__(self):
        self.faults = Faults()
        self.ledger = Ledger()
        self.lock = threading.Lock()
        self.reset()

    def control(self, method, path, body):
        return 404, {}, {"error": "unknown control endpoint"}


class FakeHandler(BaseHTTPRequestHandler):
    """Subclasses set self.server.app, an object with:
    route(handler, method, path, query, body) -> (status, headers, body)
    action_of(method, path, body) -> str (for faults and the ledger)
    failure_body(status) -> (content_type, bytes)"""

    protocol_version = "HTTP/1.1"
    wbufsize = -1   # one write per response: no Nagle + delayed-ACK stall

    def log_message(self, fmt, *args):   # keep test output quiet
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status, headers, body):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = dict(headers or {})
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        body = body or b""
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _reset(self):
        # SO_LINGER 0 then close: the peer sees a connection reset
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _control(self, method, path, body):
        app = self.server.app
        if path == "/__ledger" and method == "GET":
            return 200, {}, {"calls": app.ledger.snapshot(), **app.state_view()}
        if path == "/__fail" and method == "POST":
            try:
                app.faults.add(json.loads(body or b"{}"))
            except (ValueError, TypeError) as e:
                return 400, {}, {"error": str(e)}
            return 204, {}, b""
        if path == "/__fail" and method == "DELETE":
            app.faults.clear()
            return 204, {}, b""
        if path == "/__reset" and method == "POST":
            app.faults.clear()
            app.ledger.clear()
            app.reset()
            return 204, {}, b""
        if path == "/__seed" and method == "POST":
            app.seed(json.loads(body or b"{}"))
            return 204, {}, b""
        return None

    def _handle(self):
        from urllib.parse import urlsplit, parse_qs
        app = self.server.app
        parts = urlsplit(self.path)
        body = self._body()
        if parts.path.startswith("/__"):
            res = self._control(self.command, parts.path, body)
            if res is None:
                res = app.control(self.command, parts.path, body)
            self._send(*res)
            return
        query = parse_qs(parts.query, keep_blank_values=True)
        action = app.action_of(self.command, parts.path, body)
        fault = app.faults.take(action, parts.path)
        if fault and fault["mode"] == "delay":
            time.sleep(fault.get("delay_ms", 1000) / 1000.0)
            fault = None
        if fault and fault["mode"] == "lost_reply":
            app.route(self, self.command, parts.path, query, body)
            app.ledger.record(action=action, method=self.command,
                              path=parts.path, outcome="injected_lost_reply")
            self._reset()
            return
        if fault:
            app.ledger.record(action=action, method=self.command,
                              path=parts.path, outcome="injected_" +
                              fault["mode"], status=fault.get("status"))
            if fault["mode"] == "reset":
                self._reset()
                return
            if fault["mode"] == "rate_limit":
                ctype, text = app.failure_body(429)
                self._send(429, {"Content-Type": ctype, "Retry-After":
                                 fault.get("retry_after", 1)}, text)
                return
            status = int(fault.get("status", 503))
            ctype, text = app.failure_body(status)
            self._send(status, {"Content-Type": ctype}, text)
            return
        status, headers, out = app.route(self, self.command, parts.path,
                                         query, body)
        self._send(status, headers, out)

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def do_PATCH(self):
        self._handle()

    def do_DELETE(self):
        self._handle()

    def do_PUT(self):
        self._handle()


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass   # resets and clients that hang up are part of the tests


def serve(app_factory, host, port, ready_file=None):
    """Binds first (port 0 picks a free one), then builds the app with the
    server's base URL, writes the port to ready_file and serves."""
    server = QuietServer((host, port), FakeHandler)
    server.app = app_factory("http://%s:%d" % (host,
                                               server.server_address[1]))
    if ready_file:
        with open(ready_file, "w") as f:
            f.write("%d\n" % server.server_address[1])
    server.serve_forever()


def arg_parser():
    """--host, --port, --ready-file and --seed, which every fake takes."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--seed", help="JSON file for POST /__seed at start")
    ap.add_argument("--ready-file")
    return ap


def run(args, build):
    """Serves build(base_url) (seeded from args.seed) as serve() does."""
    def make(base_url):
        app = build(base_url)
        if args.seed:
            with open(args.seed) as f:
                app.seed(json.load(f))
        return app

    serve(make, args.host, args.port, args.ready_file)
