#!/usr/bin/python3
"""Tiny HTTP/1.1 test backend for Gatehouse's integration tests (stdlib only).

Raw sockets rather than http.server, so that it can read chunked request bodies, stream large
bodies fast and misbehave on purpose. Prints its port on stdout once it listens.

Endpoints (any method):
  /echo*          JSON: method, target, headers [[name, value], ...] in order, body_length,
                  body_sha256, conn_id, conn_request (n-th request on this TCP connection).
                  ?resp_hop=1 adds hop-by-hop response headers (for the removal tests).
  /upload         like /echo; ?nohash=1 skips hashing (1 GiB uploads).
  /stream?size=N  N bytes of a repeating pattern, chunked (&cl=1: Content-Length instead;
                  &delay_ms=D: four chunks, each after a D ms pause).
  /status/N       status N; 204 and 304 carry no body.
  /slow?ms=N      sleeps N ms, then answers like /echo.
  /close          closes the socket without answering.
  /garbage        answers with bytes that are not HTTP.
  /truncate       promises Content-Length 1000, sends 10 bytes and closes.
  /both-framing   a response with Content-Length and Transfer-Encoding: chunked.
  /log            JSON list of the requests seen so far (never itself), each with "completed"
                  (false while or if its body never fully arrived); ?clear=1 empties it.
HEAD gets the GET headers without a body. `Expect: 100-continue` gets an interim 100.
"""

import argparse
import hashlib
import json
import socket
import sys
import threading
import time
import urllib.parse

PATTERN = bytes(range(33, 127)) * 11  # 1034 printable bytes; a size that is not a power of two
BUF = 1 << 20


def pattern_bytes(size):
    """The first `size` bytes of the infinite repetition of PATTERN (tests recompute it)."""
    reps = size // len(PATTERN) + 1
    return (PATTERN * reps)[:size]


class BadRequest(Exception):
    pass


class Reader:
    """Buffered reader over a socket with line and exact-length reads."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def _fill(self):
        data = self.sock.recv(BUF)
        if not data:
            raise EOFError
        self.buf += data

    def read_line(self, limit=65536):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[: i + 1])
                del self.buf[: i + 1]
                return line
            if len(self.buf) > limit:
                raise BadRequest("line too long")
            self._fill()

    def read_some(self, maxlen):
        if not self.buf:
            self._fill()
        n = min(maxlen, len(self.buf))
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data


class Backend:
    def __init__(self, host, port):
        self.log = []
        self.log_lock = threading.Lock()
        self.conn_counter = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(512)

    def serve_forever(self):
        while True:
            conn, _ = self.sock.accept()
            self.conn_counter += 1
            threading.Thread(
                target=self.handle_conn, args=(conn, self.conn_counter), daemon=True
            ).start()

    def handle_conn(self, conn, conn_id):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = Reader(conn)
        n = 0
        try:
            while True:
                n += 1
                if not self.handle_request(conn, reader, conn_id, n):
                    break
        except (EOFError, ConnectionError, BadRequest, OSError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def read_head(self, reader):
        line = reader.read_line()
        while line in (b"\r\n", b"\n"):  # tolerate stray CRLF between requests
            line = reader.read_line()
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3:
            raise BadRequest("request line")
        headers = []
        while True:
            h = reader.read_line()
            if h in (b"\r\n", b"\n"):
                break
            name, sep, value = h.decode("latin-1").rstrip("\r\n").partition(":")
            if not sep:
                raise BadRequest("header")
            headers.append([name, value.strip(" \t")])
        return parts[0], parts[1], parts[2], headers

    def iter_body(self, reader, headers):
        """Yields the request body in pieces (chunked or Content-Length)."""
        te = [v for k, v in headers if k.lower() == "transfer-encoding"]
        cl = [v for k, v in headers if k.lower() == "content-length"]
        if te:
            while True:
                size_line = reader.read_line().split(b";")[0].strip()
                size = int(size_line, 16)
                if size == 0:
                    while reader.read_line() not in (b"\r\n", b"\n"):
                        pass  # trailers
                    return
                left = size
                while left:
                    d = reader.read_some(left)
                    left -= len(d)
                    yield d
                reader.read_line()
        elif cl:
            left = int(cl[0])
            while left:
                d = reader.read_some(min(left, BUF))
                left -= len(d)
                yield d

    def handle_request(self, conn, reader, conn_id, n):
        method, target, version, headers = self.read_head(reader)
        url = urllib.parse.urlsplit(target)
        path = url.path
        query = dict(urllib.parse.parse_qsl(url.query))
        lower = {k.lower(): v for k, v in headers}
        entry = {"method": method, "target": target, "headers": headers, "completed": False}
        if path != "/log":
            with self.log_lock:
                self.log.append(entry)
        keep_alive = version == "HTTP/1.1" and lower.get("connection", "").lower() != "close"

        if path == "/close":
            conn.close()
            return False
        if path == "/truncate":  # promises 1000 bytes, sends 10, closes
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
            conn.close()
            return False
        if path == "/both-framing":  # Content-Length and Transfer-Encoding together
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
            conn.close()
            return False
        if path == "/split-chunks":  # a chunk-size line cut between the head's packet and the next
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r")
            time.sleep(0.05)
            conn.sendall(b"\nhello\r\n")
            time.sleep(0.05)
            conn.sendall(b"0\r\n\r\n")
            return keep_alive
        if path == "/garbage":
            conn.sendall(b"this is not an HTTP response\r\n\r\n")
            conn.close()
            return False

        if lower.get("expect", "").lower() == "100-continue":
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

        hasher = None if query.get("nohash") else hashlib.sha256()
        length = 0
        for piece in self.iter_body(reader, headers):
            length += len(piece)
            if hasher:
                hasher.update(piece)

        entry["completed"] = True  # the whole request (head and body) arrived intact
        extra = []
        status = 200
        body = b""
        chunked_size = None
        if path == "/log":
            with self.log_lock:
                body = json.dumps(self.log).encode()
                if query.get("clear"):
                    self.log = []
        elif path.startswith("/status/"):
            status = int(path[len("/status/"):])
            body = b"" if status in (204, 304) else json.dumps({"status": status}).encode()
        elif path == "/stream":
            size = int(query.get("size", "0"))
            if query.get("cl"):
                return self.send_stream_cl(conn, method, size, keep_alive)
            chunked_size = size
        else:
            if path == "/slow":
                time.sleep(int(query.get("ms", "1000")) / 1000.0)
            if query.get("resp_hop"):
                extra = [
                    ("Connection", "X-Resp-Hop"),
                    ("X-Resp-Hop", "must-not-reach-client"),
                    ("Keep-Alive", "timeout=5"),
                    ("Proxy-Connection", "keep-alive"),
                    ("Trailer", "X-Foo"),
                    ("Upgrade", "websocket"),
                    ("Via", "1.0 origin"),
                    ("X-End-To-End", "kept"),
                ]
            body = json.dumps(
                {
                    "method": method,
                    "target": target,
                    "headers": headers,
                    "body_length": length,
                    "body_sha256": hasher.hexdigest() if hasher else None,
                    "conn_id": conn_id,
                    "conn_request": n,
                }
            ).encode()

        out = ["HTTP/1.1 %d %s" % (status, "Status")]
        if chunked_size is not None:
            out.append("Content-Type: application/octet-stream")
            out.append("Transfer-Encoding: chunked")
        elif status not in (204, 304):
            out.append("Content-Type: application/json")
            out.append("Content-Length: %d" % len(body))
        for k, v in extra:
            out.append("%s: %s" % (k, v))
        if not keep_alive and not extra:
            out.append("Connection: close")
        head = ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")
        if method == "HEAD" or status in (204, 304):
            conn.sendall(head)
        elif chunked_size is not None:
            conn.sendall(head)
            self.send_chunked(conn, chunked_size, int(query.get("delay_ms", "0")) / 1000.0)
        else:
            conn.sendall(head + body)
        return keep_alive

    def send_chunked(self, conn, size, delay=0.0):
        block = pattern_bytes(BUF + len(PATTERN))
        sent = 0
        step = min(BUF, max(1, size // 4)) if delay else BUF
        while sent < size:
            if delay:
                time.sleep(delay)
            n = min(step, size - sent)
            off = sent % len(PATTERN)
            conn.sendall(b"%x\r\n" % n + block[off : off + n] + b"\r\n")
            sent += n
        conn.sendall(b"0\r\n\r\n")

    def send_stream_cl(self, conn, method, size, keep_alive):
        head = "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n" % size
        head += "Content-Type: application/octet-stream\r\n"
        if not keep_alive:
            head += "Connection: close\r\n"
        conn.sendall((head + "\r\n").encode())
        if method != "HEAD":
            block = pattern_bytes(BUF + len(PATTERN))
            sent = 0
            while sent < size:
                n = min(BUF, size - sent)
                off = sent % len(PATTERN)
                conn.sendall(block[off : off + n])
                sent += n
        return keep_alive


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    b = Backend(args.host, args.port)
    print(b.sock.getsockname()[1], flush=True)
    try:
        b.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
