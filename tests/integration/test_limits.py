"""Limits and timeouts: 408/413/414/431 for clients, 502/504 for backends, each with APIM's JSON
error body, plus the idle keep-alive timeout."""

import socket
import time
import unittest

import harness
from harness import Conn, Gatehouse, GatehouseTestCase, TestBackend, free_port, request


class BlackholeListener:
    """A listener whose accept queue is full: further connects hang (SYNs are dropped)."""

    def __init__(self, testcase):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fillers = []
        for _ in range(3):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self.fillers.append(s)
        testcase.addClassCleanup(self.close)

    def close(self):
        for s in self.fillers + [self.sock]:
            s.close()


class LimitsTest(GatehouseTestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = TestBackend(cls)
        cls.blackhole = BlackholeListener(cls)
        cfg = harness.base_config(free_port(), cls.backend.url)
        cfg["limits"] = {
            "max_header_bytes": 4096,
            "max_header_count": 20,
            "max_uri_length": 1024,
            "max_body_bytes": 1000,
        }
        cfg["timeouts"] = {
            "header_read": "1s",
            "idle": "2s",
            "backend_connect": "1s",
            "backend_response": "1s",
            "drain": "2s",
        }
        cfg["apis"] = [
            {"name": "echo", "path": "/", "backend": "echo"},
            {"name": "dead", "path": "/dead", "backend_url": "http://127.0.0.1:%d" % free_port()},
            {"name": "hole", "path": "/hole",
             "backend_url": "http://127.0.0.1:%d" % cls.blackhole.port},
        ]
        cls.gh = Gatehouse(cls, cfg)

    def req(self, method, target, headers=None, body=b""):
        return request(self.gh.port, method, target, headers, body)

    def test_uri_too_long_414(self):
        self.assertEqual(self.req("GET", "/echo?q=" + "a" * 900).status, 200)
        self.assertApimError(self.req("GET", "/echo?q=" + "a" * 2000), 414)

    def test_too_many_headers_431(self):
        ok = [("X-H%d" % i, "v") for i in range(10)]
        self.assertEqual(self.req("GET", "/echo", ok).status, 200)
        many = [("X-H%d" % i, "v") for i in range(30)]
        self.assertApimError(self.req("GET", "/echo", many), 431)

    def test_headers_too_large_431(self):
        self.assertApimError(self.req("GET", "/echo", [("X-Big", "b" * 5000)]), 431)

    def test_chunked_body_too_large_413(self):
        self.assertEqual(self.req("POST", "/upload", body=b"x" * 1000).status, 200)
        chunked = b"".join(b"200\r\n" + b"y" * 512 + b"\r\n" for _ in range(4)) + b"0\r\n\r\n"
        r = self.req("POST", "/upload", [("Transfer-Encoding", "chunked")], chunked)
        self.assertApimError(r, 413)

    def test_idle_keep_alive_closed(self):
        c = Conn(self.gh.port)
        self.addCleanup(c.close)
        self.assertEqual(c.request("GET", "/echo").status, 200)
        self.assertTrue(c.is_closed(timeout=5.0), "idle keep-alive connection not closed")

    def test_backend_refused_502(self):
        self.assertApimError(self.req("GET", "/dead/x"), 502)

    def test_backend_closes_without_answer_502(self):
        self.assertApimError(self.req("GET", "/close"), 502)

    def test_backend_invalid_response_502(self):
        self.assertApimError(self.req("GET", "/garbage"), 502)

    def test_backend_response_timeout_504(self):
        self.assertEqual(self.req("GET", "/slow?ms=100").status, 200)
        self.assertApimError(self.req("GET", "/slow?ms=3000"), 504)

    def test_timed_out_backend_connection_is_not_reused(self):
        # The late answer to the timed-out request must never be handed to the next client.
        self.assertApimError(self.req("GET", "/slow?ms=1500"), 504)
        deadline = time.monotonic() + 2.5
        i = 0
        while time.monotonic() < deadline:
            r = self.req("GET", "/echo/after-timeout-%d" % i)
            self.assertEqual((r.status, r.json()["target"]), (200, "/echo/after-timeout-%d" % i))
            i += 1
            time.sleep(0.05)

    def test_backend_connect_timeout_504(self):
        self.assertApimError(self.req("GET", "/hole/x"), 504)

    def test_client_connection_close_is_honoured(self):
        c = Conn(self.gh.port)
        self.addCleanup(c.close)
        r = c.request("GET", "/echo", [("Connection", "close")])
        self.assertEqual(r.status, 200)
        self.assertTrue(c.is_closed(timeout=1.5), "connection kept open after Connection: close")

    def test_error_keeps_client_connection_usable(self):
        # 502/504 are the backend's fault: the client connection may be kept alive.
        c = Conn(self.gh.port)
        self.addCleanup(c.close)
        r = c.request("GET", "/dead/x")
        self.assertApimError(r, 502)
        if (r.header("Connection") or "").lower() != "close":
            self.assertEqual(c.request("GET", "/echo").status, 200)


if __name__ == "__main__":
    unittest.main()
