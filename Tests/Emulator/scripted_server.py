"""A small HTTP server on 127.0.0.1 whose answers follow a script: for the IMDS and container credential tests
and for fault injection (throttling, 5xx, connection resets, slow and truncated responses).

    scripted_server.py --port P --script FILE --log FILE [--tls DIR]

With --tls, it speaks HTTPS with a certificate for localhost and 127.0.0.1 that it makes at start, signed by a
throw-away CA whose certificate it writes to DIR/ca.pem (for the client to trust, or not).

The script is a JSON list of rules, tried in order for each request:
    {"method": "PUT", "path": "/latest/api/token", "times": 1,          # optional matchers and a use limit
     "target": "ListExecutions", "body_contains": "mapRunArn",            # AWS JSON protocol matchers
     "require_header": ["X-aws-ec2-metadata-token-ttl-seconds", "21600"],  # else 401
     "status": 200, "headers": {"X-Amzn-ErrorType": "..."}, "body": "text" or {"json": ...},
     "delay": 1.5,            # seconds before answering
     "reset": true,           # close the connection with a TCP reset instead of answering
     "truncate": true}        # announce the full length, send half the body, close
Each request is appended to the log as one JSON line: method, path, headers, body, rule index, and the client's
port (one port per connection: how a test sees that a connection was reused).
Exits when its parent process goes away.
"""
import argparse
import json
import os
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        with LOCK:
            self.server.current_headers = self.headers
            self.server.current_body = body
            index, rule = self.server.pick(self.command, self.path)
            with open(self.server.log_path, "a") as log:
                log.write(json.dumps({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                      "body": body, "rule": index, "peer": self.client_address[1]}) + "\n")
        if rule is None:
            return self.answer(404, {}, "no rule matches")
        if rule.get("delay"):
            time.sleep(rule["delay"])
        required = rule.get("require_header")
        if required and self.headers.get(required[0]) != required[1]:
            return self.answer(401, {}, "missing or wrong " + required[0])
        if rule.get("reset"):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        payload = rule.get("body", "")
        if isinstance(payload, dict) and "json" in payload:
            payload = json.dumps(payload["json"])
        data = payload.encode()
        if rule.get("truncate"):
            self.send_response(rule.get("status", 200))
            for name, value in rule.get("headers", {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.answer(rule.get("status", 200), rule.get("headers", {}), data)

    def answer(self, status, headers, data):
        if isinstance(data, str):
            data = data.encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port, rules, log_path):
        super().__init__(("127.0.0.1", port), Handler)
        self.rules = rules
        self.used = [0] * len(rules)
        self.log_path = log_path

    def pick(self, method, path):
        for index, rule in enumerate(self.rules):
            if "method" in rule and rule["method"] != method:
                continue
            if "path" in rule and rule["path"] != path.split("?")[0]:
                continue
            if "target" in rule and not (self.current_headers.get("X-Amz-Target") or "").endswith("." + rule["target"]):
                continue
            if "body_contains" in rule and rule["body_contains"] not in self.current_body:
                continue
            if "times" in rule and self.used[index] >= rule["times"]:
                continue
            self.used[index] += 1
            return index, rule
        return None, None


def make_certificates(directory):
    """A CA and a server certificate for localhost/127.0.0.1 it signed, valid for a day (cryptography: moto's)."""
    import datetime
    import ipaddress
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CostGuard test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    with open(os.path.join(directory, "ca.pem"), "wb") as handle:
        handle.write(ca.public_bytes(pem))
    with open(os.path.join(directory, "server.pem"), "wb") as handle:
        handle.write(cert.public_bytes(pem))
        handle.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return os.path.join(directory, "server.pem")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--script", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--tls")
    args = parser.parse_args()
    with open(args.script) as handle:
        rules = json.load(handle)
    server = Server(args.port, rules, args.log)
    if args.tls:
        import ssl
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(make_certificates(args.tls))
        server.socket = context.wrap_socket(server.socket, server_side=True)
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
