"""A loopback HTTP proxy that speaks CONNECT only (as clients use for HTTPS, and async-http-client for every target),
for the proxy tests: it writes each tunnel it opens to a log file, one line "CONNECT host:port", and can require
Basic credentials (407 otherwise).

    connect_proxy.py --port P --log FILE [--credentials user:password]

Only loopback targets are allowed (the tests' network is loopback only).
"""
import argparse
import base64
import socket
import socketserver
import threading


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = (lines[0].split(" ") + ["", "", ""])[:3]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if method != "CONNECT":
            self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        if self.server.credentials is not None:
            expected = "Basic " + base64.b64encode(self.server.credentials.encode()).decode()
            if headers.get("proxy-authorization") != expected:
                self.request.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                                     b"Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n")
                with self.server.lock, open(self.server.log, "a") as handle:
                    handle.write(f"REFUSED {target}\n")
                return
        host, _, port = target.rpartition(":")
        if host not in ("127.0.0.1", "localhost", "[::1]"):
            self.request.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        except OSError:
            self.request.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        with self.server.lock, open(self.server.log, "a") as handle:
            handle.write(f"CONNECT {target}\n")
        self.request.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        if rest:
            upstream.sendall(rest)

        def pump(source, sink):
            try:
                while True:
                    chunk = source.recv(65536)
                    if not chunk:
                        break
                    sink.sendall(chunk)
            except OSError:
                pass
            finally:
                try:
                    sink.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

        other = threading.Thread(target=pump, args=(upstream, self.request), daemon=True)
        other.start()
        pump(self.request, upstream)
        other.join()
        upstream.close()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--credentials")
    args = parser.parse_args()
    server = Server(("127.0.0.1", args.port), Handler)
    server.log = args.log
    server.credentials = args.credentials
    server.lock = threading.Lock()
    open(args.log, "a").close()
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
