"""Edge cases of the proxy contract: invalid chunk framing (400 + close), slowloris (408 after
timeouts.header_read), Content-Length above limits.max_body_bytes (413), and timeouts that bound
silences rather than whole transfers (a body trickling in from the backend or the client is not
cut while it keeps moving)."""

import time
import unittest

import harness
from harness import Conn, Gatehouse, GatehouseTestCase, TestBackend, free_port
import backend as test_backend
import test_limits
import test_smuggling

SMUGGLED = test_smuggling.SMUGGLED

# Malformed chunked framing: only detectable once the body is read.
CHUNK_CASES = [
    ("chunk_size_not_hex", b"zz\r\nhello\r\n0\r\n\r\n"),
    ("chunk_size_overflow", b"ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
    ("chunk_size_negative", b"-5\r\nhello\r\n0\r\n\r\n"),
    ("chunk_missing_crlf", b"5\r\nhelloXX0\r\n\r\n"),
]



class PendingSmugglingTest(GatehouseTestCase):
    setUpClass = classmethod(test_smuggling.SmugglingTest.setUpClass.__func__)
    setUp = test_smuggling.SmugglingTest.setUp
    send_raw = test_smuggling.SmugglingTest.send_raw
    assert_rejected = test_smuggling.SmugglingTest.assert_rejected

    def test_invalid_chunk_framing(self):
        for name, body in CHUNK_CASES:
            with self.subTest(case=name):
                data = (b"POST /echo HTTP/1.1\r\nHost: localhost\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n"
                        + body + SMUGGLED)
                # Headers may already be forwarded while the body streams; the request must
                # never complete at the backend.
                self.assert_rejected(data, backend_may_see_head=True)


class PendingLimitsTest(GatehouseTestCase):
    setUpClass = classmethod(test_limits.LimitsTest.setUpClass.__func__)
    req = test_limits.LimitsTest.req

    def test_backend_response_timeout_covers_headers_only(self):
        # Headers arrive at once; the body trickles for ~2.4 s, past backend_response (1 s).
        r = self.req("GET", "/stream?size=4000&delay_ms=600")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, test_backend.pattern_bytes(4000))

    def test_content_length_body_too_large_413(self):
        self.assertApimError(self.req("POST", "/upload", body=b"x" * 1001), 413)

    def test_slowloris_408_and_close(self):
        c = Conn(self.gh.port, timeout=10)
        self.addCleanup(c.close)
        c.send(b"GET /echo HTTP/1.1\r\nHost: localhost\r\n")
        # Keep dribbling header bytes: the deadline is for the whole head, not per byte.
        t0 = time.monotonic()
        try:
            for i in range(15):
                c.send(b"X-Slow-%d: x\r\n" % i)
                time.sleep(0.25)
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = c.read_response()
        self.assertApimError(r, 408)
        self.assertTrue(c.is_closed())
        self.assertLess(time.monotonic() - t0, 5.0, "header_read deadline not enforced")
        self.assertFalse([e for e in self.backend.log() if e["target"] == "/echo" and
                          any(k == "X-Slow-0" for k, _ in e["headers"])])



class PendingIdleTest(GatehouseTestCase):
    def test_idle_timeout_does_not_cut_a_steady_upload(self):
        backend = TestBackend(self)
        cfg = harness.base_config(free_port(), backend.url)
        cfg["timeouts"] = {"header_read": "10s", "idle": "1s", "backend_response": "10s"}
        gh = Gatehouse(self, cfg)
        c = Conn(gh.port)
        self.addCleanup(c.close)
        c.send(b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 30000\r\n\r\n")
        for _ in range(30):  # 3 s in all, never silent for more than 0.1 s
            c.send(b"x" * 1000)
            time.sleep(0.1)
        r = c.read_response()
        self.assertEqual((r.status, r.json()["body_length"]), (200, 30000))


if __name__ == "__main__":
    unittest.main()
