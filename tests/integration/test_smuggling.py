"""Request smuggling defences: each malformed request gets APIM's 400, the connection is closed,
and the backend never receives the request (nor the request smuggled behind it)."""

import socket
import ssl
import time
import unittest

import harness
from harness import Conn, Gatehouse, GatehouseTestCase, TestBackend, free_port

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"

# (name, header lines between Host and the blank line, body). Every body carries a second request
# that a desynchronised parser would forward as its own.
HEADER_CASES = [
    ("cl_and_te", b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n" + SMUGGLED),
    ("te_and_cl", b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", b"0\r\n\r\n" + SMUGGLED),
    ("two_cl_equal", b"Content-Length: 5\r\nContent-Length: 5\r\n", b"hello" + SMUGGLED),
    ("two_cl_differ", b"Content-Length: 5\r\nContent-Length: 44\r\n", b"hello" + SMUGGLED),
    ("cl_plus", b"Content-Length: +5\r\n", b"hello" + SMUGGLED),
    ("cl_hex", b"Content-Length: 0x5\r\n", b"hello" + SMUGGLED),
    ("cl_negative", b"Content-Length: -1\r\n", b"hello" + SMUGGLED),
    ("cl_empty", b"Content-Length: \r\n", b"hello" + SMUGGLED),
    ("cl_two_numbers", b"Content-Length: 5 5\r\n", b"hello" + SMUGGLED),
    ("cl_word", b"Content-Length: five\r\n", b"hello" + SMUGGLED),
    ("te_xchunked", b"Transfer-Encoding: xchunked\r\n", b"0\r\n\r\n" + SMUGGLED),
    ("te_chunked_identity", b"Transfer-Encoding: chunked, identity\r\n", b"0\r\n\r\n" + SMUGGLED),
    ("te_identity", b"Transfer-Encoding: identity\r\n", b"0\r\n\r\n" + SMUGGLED),
    ("te_gzip_chunked", b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n" + SMUGGLED),
    ("te_twice", b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
     b"0\r\n\r\n" + SMUGGLED),
    ("te_space_before_colon", b"Transfer-Encoding : chunked\r\n", b"0\r\n\r\n" + SMUGGLED),
    ("te_tab_before_colon", b"Transfer-Encoding\t: chunked\r\n", b"0\r\n\r\n" + SMUGGLED),
    ("te_obs_fold", b"Transfer-Encoding:\r\n\tchunked\r\n", b"0\r\n\r\n" + SMUGGLED),
    ("te_cl_obs_fold_cl", b"Content-Length: 5\r\nTransfer-Encoding:\r\n chunked\r\n",
     b"0\r\n\r\n" + SMUGGLED),
    ("obs_fold", b"X-Foo: a\r\n b\r\nContent-Length: 0\r\n", b""),
    ("bare_cr", b"X-Foo: a\rTransfer-Encoding: chunked\r\nContent-Length: 0\r\n", b""),
    ("bare_lf", b"X-Foo: a\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n", b"0\r\n\r\n"),
    ("nul_in_value", b"X-Foo: a\x00b\r\nContent-Length: 0\r\n", b""),
    ("space_in_name", b"X Foo: a\r\nContent-Length: 0\r\n", b""),
]

class SmugglingTest(GatehouseTestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = TestBackend(cls)
        cls.gh = Gatehouse(cls, harness.base_config(free_port(), cls.backend.url))

    def setUp(self):
        self.backend.log(clear=True)

    def send_raw(self, data):
        c = Conn(self.gh.port, timeout=5)
        self.addCleanup(c.close)
        c.send(data)
        try:
            r = c.read_response()
        except (ConnectionResetError, EOFError) as e:
            self.fail("no response, connection %s" % e)
        return c, r

    def assert_rejected(self, data, backend_may_see_head=False):
        c, r = self.send_raw(data)
        self.assertApimError(r, 400)
        self.assertTrue(c.is_closed(), "connection left open after a 400")
        log = self.backend.log()
        self.assertFalse([e for e in log if e["target"] == "/smuggled"], log)
        if backend_may_see_head:
            self.assertFalse([e for e in log if e["completed"]], log)
        else:
            self.assertEqual(log, [])

    def test_header_cases(self):
        for name, headers, body in HEADER_CASES:
            with self.subTest(case=name):
                data = b"POST /echo HTTP/1.1\r\nHost: localhost\r\n" + headers + b"\r\n" + body
                self.assert_rejected(data)

    def test_bad_request_line(self):
        for line in (b"GET /echo HTTP/1.1 extra", b"GET  /echo HTTP/1.1", b"GET /echo HTTP/9.9",
                     b"G\x00T /echo HTTP/1.1", b"GET /ec ho HTTP/1.1"):
            with self.subTest(line=line):
                c, r = self.send_raw(line + b"\r\nHost: localhost\r\n\r\n")
                self.assertIn(r.status, (400, 505), r)
                self.assertTrue(harness.APIM_ERROR_RE.match(r.body), r.body)
                self.assertEqual(self.backend.log(), [])

    def test_dot_segments_never_reach_the_backend(self):
        # Routing sees the path as written; nginx and others resolve dot-segments, so such a
        # path could reach an API the gateway did not choose. Refused before routing.
        for target in (b"/echo/../admin", b"/echo/./x", b"/echo/%2e%2e/admin", b"/echo/%2E",
                       b"/echo/x%2f..%2f..%2fadmin", b"/echo/..\\admin"):
            with self.subTest(target=target):
                self.assert_rejected(b"GET " + target + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")

    def test_valid_requests_still_pass(self):
        # Controls: the same shapes, well-formed, are forwarded; a pipelined second request too.
        c = Conn(self.gh.port)
        self.addCleanup(c.close)
        c.send(b"POST /echo/a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n0\r\n\r\n"
               b"POST /echo/b HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello")
        a = c.read_response()
        b = c.read_response()
        for r, target in ((a, "/echo/a"), (b, "/echo/b")):
            self.assertEqual((r.status, r.json()["target"], r.json()["body_length"]),
                             (200, target, 5))
        self.assertEqual([e["target"] for e in self.backend.log()], ["/echo/a", "/echo/b"])


if __name__ == "__main__":
    unittest.main()
