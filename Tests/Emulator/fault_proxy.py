"""A fault-injecting HTTP proxy on loopback, between CostGuard and the emulator.

    fault_proxy.py --port P --upstream http://127.0.0.1:U --rate 0.2 --seed S

Each request is forwarded to the upstream, except that with probability `rate` one fault, chosen uniformly, is
injected instead:
    throttle     400 ThrottlingException (the JSON protocol's shape)
    error500     500 InternalFailure
    error503     503 ServiceUnavailable
    reset        the connection is closed without an answer
    slow         the answer comes 2.5 s late
    truncated    the upstream's answer cut in half (the rest never comes)
    malformed    200 with a body that is not JSON
    wrongtypes   the upstream's answer with every string value replaced by a number
    earlyend     a list answer without its next-page token (a listing that ends early)
    skew         400 InvalidSignatureException "Signature expired" with a Date 15 minutes ahead
--delay OPERATION=SECONDS holds that operation's requests before forwarding them (a window to crash CostGuard in
between its journal intent and the call reaching AWS).
Control (never called by CostGuard): GET /__faults → counts by type; POST /__faults {"rate": R} → new rate.
"""
import argparse
import email.utils
import http.client
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

KINDS = ["throttle", "error500", "error503", "reset", "slow", "truncated", "malformed", "wrongtypes", "earlyend", "skew"]


def numbers_for_strings(value):
    if isinstance(value, dict):
        return {k: numbers_for_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [numbers_for_strings(v) for v in value]
    if isinstance(value, str):
        return 12345
    return value


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--rate", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--delay", action="append", default=[],
                        help="OPERATION=SECONDS: hold requests for that operation before forwarding them")
    args = parser.parse_args()
    delays = {name: float(seconds) for name, seconds in (item.split("=", 1) for item in args.delay)}
    upstream = urlparse(args.upstream)
    assert upstream.hostname in ("127.0.0.1", "localhost"), "loopback only"
    state = {"rate": args.rate, "counts": {k: 0 for k in KINDS}, "forwarded": 0}
    lock = threading.Lock()
    rng = random.Random(args.seed)

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, status, body, headers=()):
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def aws_error(self, status, code, message, extra=()):
            body = json.dumps({"__type": code, "message": message}).encode()
            self.reply(status, body, [("Content-Type", "application/x-amz-json-1.0"), ("X-Amzn-ErrorType", code),
                                      ("x-amzn-RequestId", "fault-injected")] + list(extra))

        def do_GET(self):
            if self.path == "/__faults":
                with lock:
                    body = json.dumps(state).encode()
                return self.reply(200, body)
            self.forward(b"")

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/__faults":
                with lock:
                    state["rate"] = float(json.loads(body)["rate"])
                return self.reply(200, b"{}")
            operation = (self.headers.get("X-Amz-Target") or "").rpartition(".")[2]
            if operation in delays:
                time.sleep(delays[operation])
            with lock:
                kind = rng.choice(KINDS) if rng.random() < state["rate"] else None
                if kind:
                    state["counts"][kind] += 1
                else:
                    state["forwarded"] += 1
            if kind == "throttle":
                return self.aws_error(400, "ThrottlingException", "Rate exceeded")
            if kind == "error500":
                return self.aws_error(500, "InternalFailure", "injected")
            if kind == "error503":
                return self.aws_error(503, "ServiceUnavailable", "injected")
            if kind == "skew":
                ahead = email.utils.formatdate(time.time() + 900, usegmt=True)
                return self.aws_error(400, "InvalidSignatureException", "Signature expired: injected", [("Date", ahead)])
            if kind == "reset":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if kind == "malformed":
                return self.reply(200, b"<html>gateway</html>", [("Content-Type", "application/x-amz-json-1.0")])
            if kind == "slow":
                time.sleep(2.5)
            status, headers, answer = self.upstream("POST", body)
            if kind == "truncated" and len(answer) > 2:
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer[: len(answer) // 2])
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if kind in ("wrongtypes", "earlyend") and status == 200:
                try:
                    document = json.loads(answer)
                    if kind == "wrongtypes":
                        document = numbers_for_strings(document)
                    else:
                        for key in ("nextToken", "NextToken", "Marker"):
                            document.pop(key, None)
                    answer = json.dumps(document).encode()
                except ValueError:
                    pass
            self.reply(status, answer, headers)

        def forward(self, body):
            status, headers, answer = self.upstream(self.command, body)
            self.reply(status, answer, headers)

        def upstream(self, method, body):
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "content-length")}
            connection.request(method, self.path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            keep = [(k, v) for k, v in response.getheaders()
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date")]
            connection.close()
            return response.status, keep, answer

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Proxy)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
