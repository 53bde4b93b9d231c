"""HTTP/1.1 semantics through the proxy: keep-alive and pooling, chunked bodies both ways,
100-continue, bodiless responses, hop-by-hop removal, forwarding headers, request ids, access
log."""

import hashlib
import json
import os
import socket
import unittest

import backend as test_backend
import harness
from harness import Conn, Gatehouse, GatehouseTestCase, TestBackend, free_port, request

HOP_BY_HOP = ("connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
              "proxy-authorization", "transfer-encoding")


def header_values(headers, name):
    """All values of `name` in a [[name, value]] list, comma-joined in order."""
    return ", ".join(v for k, v in headers if k.lower() == name.lower())


def parse_forwarded(value):
    """Forwarded elements as a list of dicts (quotes removed)."""
    out = []
    for element in value.split(","):
        pairs = {}
        for pair in element.strip().split(";"):
            k, _, v = pair.partition("=")
            pairs[k.strip().lower()] = v.strip().strip('"')
        out.append(pairs)
    return out


class Http11Test(GatehouseTestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = TestBackend(cls)
        cls.v6port = free_port()
        cfg = harness.base_config(free_port(), cls.backend.url)
        cfg["listeners"].append({"name": "v6", "address": "[::1]:%d" % cls.v6port})
        cfg["backends"][0]["max_idle_connections"] = 4
        cls.gh = Gatehouse(cls, cfg)

    def conn(self):
        c = Conn(self.gh.port)
        self.addCleanup(c.close)
        return c

    def test_client_keep_alive(self):
        c = self.conn()
        for i in range(5):
            r = c.request("GET", "/echo/%d" % i)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["target"], "/echo/%d" % i)

    def test_backend_connections_are_pooled(self):
        first = request(self.gh.port, "GET", "/echo/pool").json()
        second = request(self.gh.port, "GET", "/echo/pool").json()
        self.assertEqual(second["conn_id"], first["conn_id"], "backend connection not reused")
        self.assertEqual(second["conn_request"], first["conn_request"] + 1)

    def test_client_abort_mid_response_does_not_poison_the_pool(self):
        c = Conn(self.gh.port)
        c.send(b"GET /stream?size=%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % (64 << 20))
        self.assertEqual(c.read_head()[0], 200)
        c.close()  # the backend is still sending the rest
        for i in range(5):
            r = request(self.gh.port, "GET", "/echo/after-abort-%d" % i)
            self.assertEqual((r.status, r.json()["target"]), (200, "/echo/after-abort-%d" % i))

    def test_chunked_request_body_is_streamed(self):
        parts = [os.urandom(n) for n in (1, 1000, 65536, 7, 300000)]
        body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
        c = self.conn()
        r = c.request("POST", "/upload", [("Transfer-Encoding", "chunked")], body)
        self.assertEqual(r.status, 200, r)
        whole = b"".join(parts)
        self.assertEqual(r.json()["body_length"], len(whole))
        self.assertEqual(r.json()["body_sha256"], hashlib.sha256(whole).hexdigest())
        # The connection stays usable after a chunked body.
        self.assertEqual(c.request("GET", "/echo").status, 200)

    def test_content_length_request_body(self):
        body = os.urandom(3 * 1024 * 1024 + 17)
        r = request(self.gh.port, "PUT", "/upload", body=body)
        self.assertEqual(r.json()["body_length"], len(body))
        self.assertEqual(r.json()["body_sha256"], hashlib.sha256(body).hexdigest())

    def test_chunked_and_content_length_responses(self):
        c = self.conn()
        for target in ("/stream?size=2500000", "/stream?size=2500000&cl=1", "/stream?size=0"):
            with self.subTest(target=target):
                r = c.request("GET", target)
                self.assertEqual(r.status, 200, r)
                size = int(target.split("size=")[1].split("&")[0])
                self.assertEqual(r.body, test_backend.pattern_bytes(size))

    def test_body_bytes_arriving_with_the_head_and_after_it(self):
        # The head's packet ends inside a chunk-size line: what it carried is parsed at once, the
        # rest read later, and the connection stays usable for the next exchange.
        c = self.conn()
        for _ in range(2):
            r = c.request("GET", "/split-chunks")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.body, b"hello")
        self.assertEqual(c.request("GET", "/x").status, 200)

    def test_expect_100_continue(self):
        c = self.conn()
        body = b"x" * 5000
        c.send(b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5000\r\n"
               b"Expect: 100-continue\r\n\r\n")
        status, _, _ = c.read_head()  # must arrive before we send any body
        self.assertEqual(status, 100)
        c.send(body)
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["body_length"], 5000)

    def test_head_204_304_have_no_body(self):
        c = self.conn()
        r = c.request("HEAD", "/echo")
        self.assertEqual(r.status, 200)
        self.assertTrue(int(r.header("Content-Length", "0")) > 0, r)  # GET's length, no bytes
        r = c.request("HEAD", "/stream?size=100000")
        self.assertEqual(r.status, 200)
        for target, status in (("/status/204", 204), ("/status/304", 304)):
            r = c.request("GET", target)
            self.assertEqual(r.status, status)
            self.assertIsNone(r.header("Transfer-Encoding"), r)
        # Had any body bytes followed, this response would be misparsed.
        r = c.request("GET", "/echo/after")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["target"], "/echo/after")

    def test_truncated_backend_body_aborts_client_connection(self):
        # Headers were already relayed: the only honest signal left is closing the connection
        # before the promised length, never padding or reusing it.
        c = self.conn()
        c.send(b"GET /truncate HTTP/1.1\r\nHost: localhost\r\n\r\n")
        try:
            r = c.read_response()
        except (EOFError, ConnectionResetError):
            return
        self.assertEqual(r.status, 502, r)  # or the proxy checked the length before relaying

    def test_backend_response_with_cl_and_te(self):
        # RFC 9112 6.3: an error, or forwarded with Content-Length removed; never both.
        r = request(self.gh.port, "GET", "/both-framing")
        if r.status == 502:
            self.assertApimError(r, 502)
        else:
            self.assertEqual((r.status, r.body), (200, b"hello"))
            self.assertIsNone(r.header("Content-Length"), r)

    def test_hop_by_hop_request_headers_removed(self):
        hdrs = [
            ("Connection", "keep-alive, X-Custom-Hop"),
            ("X-Custom-Hop", "secret"),
            ("Keep-Alive", "timeout=5"),
            ("Proxy-Connection", "keep-alive"),
            ("TE", "trailers"),
            ("Trailer", "X-Foo"),
            ("Proxy-Authorization", "Basic dXNlcjpwYXNz"),
            ("X-End-To-End", "kept"),
        ]
        r = request(self.gh.port, "GET", "/echo/hop", hdrs)
        self.assertEqual(r.status, 200, r)
        seen = {k.lower() for k, _ in r.json()["headers"]}
        for name in HOP_BY_HOP + ("x-custom-hop",):
            if name == "connection":
                # A proxy may send its own `Connection: keep-alive`, never the client's tokens.
                self.assertNotIn("x-custom-hop", header_values(r.json()["headers"], name).lower())
                continue
            self.assertNotIn(name, seen)
        self.assertEqual(header_values(r.json()["headers"], "X-End-To-End"), "kept")

    def test_upgrade_request_header_removed(self):
        hdrs = [("Upgrade", "h2c"), ("Connection", "Upgrade")]
        r = request(self.gh.port, "GET", "/echo/up", hdrs)
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("upgrade", {k.lower() for k, _ in r.json()["headers"]})

    def test_hop_by_hop_response_headers_removed_and_via_appended(self):
        r = request(self.gh.port, "GET", "/echo?resp_hop=1")
        self.assertEqual(r.status, 200, r)
        names = {k.lower() for k, _ in r.headers}
        for name in ("x-resp-hop", "keep-alive", "proxy-connection", "trailer", "upgrade"):
            self.assertNotIn(name, names, r.headers)
        self.assertNotIn("x-resp-hop", ", ".join(r.all("Connection")).lower())
        self.assertEqual(r.header("X-End-To-End"), "kept")
        via = [v.strip() for v in ", ".join(r.all("Via")).split(",")]
        self.assertEqual(via, ["1.0 origin", "1.1 gatehouse"])

    def test_forwarding_headers_appended(self):
        hdrs = [
            ("X-Forwarded-For", "203.0.113.9"),
            ("Forwarded", "for=203.0.113.9;proto=https"),
            ("Via", "1.0 client-proxy"),
        ]
        r = request(self.gh.port, "GET", "/echo/fwd", hdrs, host="api.example.com")
        h = r.json()["headers"]
        self.assertEqual(header_values(h, "X-Forwarded-For"), "203.0.113.9, 127.0.0.1")
        self.assertEqual(header_values(h, "X-Forwarded-Proto"), "http")
        self.assertEqual(header_values(h, "X-Forwarded-Host"), "api.example.com")
        fwd = parse_forwarded(header_values(h, "Forwarded"))
        self.assertEqual(fwd[0], {"for": "203.0.113.9", "proto": "https"})
        self.assertEqual(fwd[-1], {"for": "127.0.0.1", "proto": "http", "host": "api.example.com"})
        self.assertEqual(len(fwd), 2)
        via = [v.strip() for v in header_values(h, "Via").split(",")]
        self.assertEqual(via, ["1.0 client-proxy", "1.1 gatehouse"])

    def test_forwarding_headers_without_incoming_ones(self):
        h = request(self.gh.port, "GET", "/echo/fwd2").json()["headers"]
        self.assertEqual(header_values(h, "X-Forwarded-For"), "127.0.0.1")
        self.assertEqual(header_values(h, "X-Forwarded-Host"), "localhost")
        self.assertEqual(header_values(h, "Via"), "1.1 gatehouse")
        self.assertEqual(parse_forwarded(header_values(h, "Forwarded")),
                         [{"for": "127.0.0.1", "proto": "http", "host": "localhost"}])

    def test_forwarded_ipv6_is_quoted_and_bracketed(self):
        with Conn(self.v6port, host="::1") as c:
            r = c.request("GET", "/echo/v6")
        h = r.json()["headers"]
        self.assertEqual(header_values(h, "X-Forwarded-For"), "::1")
        self.assertIn('for="[::1]"', header_values(h, "Forwarded"))

    def test_request_id_passed_through(self):
        r = request(self.gh.port, "GET", "/echo/rid", [("X-Request-Id", "abc-123.XYZ")])
        self.assertEqual(header_values(r.json()["headers"], "X-Request-Id"), "abc-123.XYZ")
        self.assertEqual(r.header("X-Request-Id"), "abc-123.XYZ")

    def test_request_id_generated_when_absent_or_too_long(self):
        ids = set()
        for hdrs in ([], [("X-Request-Id", "a" * 201)]):
            r = request(self.gh.port, "GET", "/echo/rid", hdrs)
            sent = header_values(r.json()["headers"], "X-Request-Id")
            self.assertTrue(sent and sent != "a" * 201, sent)
            self.assertEqual(r.header("X-Request-Id"), sent)
            ids.add(sent)
        self.assertEqual(len(ids), 2)
        r = request(self.gh.port, "GET", "/echo/rid", [("X-Request-Id", "b" * 200)])
        self.assertEqual(r.header("X-Request-Id"), "b" * 200)
        # obs-text is a legal header byte but not printable: replaced, not echoed.
        r = request(self.gh.port, "GET", "/echo/rid", [("X-Request-Id", "bad\xe9id")])
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("bad", r.header("X-Request-Id"))

    def test_traceparent_unchanged(self):
        tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        r = request(self.gh.port, "GET", "/echo/tp", [("traceparent", tp), ("tracestate", "a=b")])
        self.assertEqual(header_values(r.json()["headers"], "traceparent"), tp)
        self.assertEqual(header_values(r.json()["headers"], "tracestate"), "a=b")

    def test_access_log_fields_and_no_secrets(self):
        target = "/echo/logged?subscription-key=SUBKEY4242&sig=SIG4242&code=CODE4242&keep=1"
        hdrs = [("Authorization", "Bearer TOKEN-4242-SECRET"), ("X-Request-Id", "log-test-1")]
        r = request(self.gh.port, "POST", target, hdrs, body=b"hello")
        self.assertEqual(r.status, 200)
        # A second request: once it is logged, the first one surely is too.
        request(self.gh.port, "GET", "/echo/marker", [("X-Request-Id", "log-test-2")])
        lines = self.gh.access_log(lambda ls: any(l.get("request_id") == "log-test-2" for l in ls))
        entry = [l for l in lines if l.get("request_id") == "log-test-1"]
        self.assertEqual(len(entry), 1, lines)
        e = entry[0]
        fields = ("time", "request_id", "method", "path", "status", "bytes", "duration_ms",
                  "backend")
        for field in fields:
            self.assertIn(field, e)
        self.assertEqual(e["method"], "POST")
        self.assertTrue(e["path"].startswith("/echo/logged"), e)
        self.assertEqual(e["status"], 200)
        self.assertEqual(e["bytes"], len(r.body))
        self.assertEqual(e["backend"], "echo")
        self.assertIsInstance(e["duration_ms"], (int, float))
        self.assertFalse(e.get("client_cert_thumbprint"))
        raw = self.gh.access_log_raw() + open(os.path.join(self.gh.dir, "stderr.log"), "rb").read()
        for secret in (b"TOKEN-4242-SECRET", b"SUBKEY4242", b"SIG4242", b"CODE4242"):
            self.assertNotIn(secret, raw)


class MultiWorkerTest(GatehouseTestCase):
    def test_two_workers_serve_many_connections(self):
        backend = TestBackend(self)
        gh = Gatehouse(self, harness.base_config(free_port(), backend.url, workers=2))
        conns = [Conn(gh.port) for _ in range(40)]
        for c in conns:
            self.addCleanup(c.close)
        for round_ in range(2):
            for i, c in enumerate(conns):
                r = c.request("GET", "/echo/%d/%d" % (round_, i))
                self.assertEqual((r.status, r.json()["target"]), (200, "/echo/%d/%d" % (round_, i)))


class AccessLogStdoutTest(GatehouseTestCase):
    def test_access_log_to_stdout(self):
        backend = TestBackend(self)
        cfg = harness.base_config(free_port(), backend.url, access_log="stdout")
        gh = Gatehouse(self, cfg)
        r = request(gh.port, "GET", "/echo/out", [("X-Request-Id", "stdout-1")])
        self.assertEqual(r.status, 200)
        self.assertEqual(gh.terminate(), 0)  # exit flushes the log
        with open(os.path.join(gh.dir, "stdout.log")) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        self.assertEqual([l["path"] for l in lines if l.get("request_id") == "stdout-1"],
                         ["/echo/out"])


class AccessLogNotFoundTest(GatehouseTestCase):
    def test_404_is_logged_with_body_bytes(self):
        backend = TestBackend(self)
        cfg = harness.base_config(free_port(), backend.url)
        cfg["apis"][0]["path"] = "/only"
        gh = Gatehouse(self, cfg)
        r = request(gh.port, "GET", "/missing", [("X-Request-Id", "nf-1")])
        self.assertEqual(r.body, harness.APIM_404)
        lines = gh.access_log(lambda ls: any(l.get("request_id") == "nf-1" for l in ls))
        e = [l for l in lines if l.get("request_id") == "nf-1"]
        self.assertEqual(len(e), 1, lines)
        self.assertEqual(e[0]["status"], 404)
        self.assertEqual(e[0]["bytes"], len(harness.APIM_404))


if __name__ == "__main__":
    unittest.main()
