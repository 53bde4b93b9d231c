"""Reload (SIGHUP and file change) without dropping connections, rejection of an invalid new
config, and SIGTERM graceful drain."""

import signal
import ssl
import tempfile
import threading
import time
import unittest

import harness
from harness import (Conn, Gatehouse, GatehouseTestCase, TestBackend, free_port, port_refuses,
                     request)


def poll(fn, timeout):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


class InFlight(threading.Thread):
    """A request running in the background; .result is the Response or the exception."""

    def __init__(self, port, target):
        super().__init__(daemon=True)
        self.port, self.target, self.result = port, target, None
        self.conn = Conn(port, timeout=20)

    def run(self):
        try:
            self.result = self.conn.request("GET", self.target)
        except Exception as e:  # reported by the test's assertion
            self.result = e
        finally:
            self.conn.close()


class LifecycleTest(GatehouseTestCase):
    def setUp(self):
        self.backend = TestBackend(self)
        self.cfg = harness.base_config(free_port(), self.backend.url)
        self.cfg["apis"] = [{"name": "a", "path": "/a", "backend": "echo", "strip_path": True}]
        self.cfg["timeouts"]["drain"] = "10s"
        self.gh = Gatehouse(self, self.cfg)

    def status(self, target):
        try:
            return request(self.gh.port, "GET", target).status
        except OSError:
            return None

    def with_api(self, name):
        cfg = dict(self.cfg)
        cfg["apis"] = self.cfg["apis"] + [
            {"name": name, "path": "/" + name, "backend": "echo", "strip_path": True}
        ]
        return cfg

    def test_sighup_valid_config_keeps_connections(self):
        keep = Conn(self.gh.port)
        self.addCleanup(keep.close)
        self.assertEqual(keep.request("GET", "/a/1").status, 200)
        self.assertEqual(self.status("/b/1"), 404)
        slow = InFlight(self.gh.port, "/a/slow?ms=1500")
        slow.start()
        time.sleep(0.3)
        self.gh.write_config(self.with_api("b"))
        self.gh.signal(signal.SIGHUP)
        self.assertTrue(poll(lambda: self.status("/b/1") == 200, 5),
                        "new route not served after SIGHUP")
        slow.join(10)
        self.assertEqual(getattr(slow.result, "status", slow.result), 200)
        self.assertEqual(keep.request("GET", "/a/2").status, 200)  # keep-alive survived
        self.assertEqual(keep.request("GET", "/b/2").status, 200)
        self.assertIsNone(self.gh.proc.poll())

    def test_sighup_invalid_config_is_rejected(self):
        keep = Conn(self.gh.port)
        self.addCleanup(keep.close)
        self.assertEqual(keep.request("GET", "/a/1").status, 200)
        text = harness.to_yaml(self.cfg).replace('backend: "echo"', 'backend: "nope"') + "\n"
        line = 1 + text.splitlines().index('    backend: "nope"')
        self.gh.write_config(text)
        self.gh.signal(signal.SIGHUP)
        where = "%s:%d" % (self.gh.config_path, line)
        self.assertTrue(poll(lambda: where in self.gh.stderr_text(), 5),
                        "no error naming %s; stderr: %s" % (where, self.gh.stderr_text()[-2000:]))
        self.assertIsNone(self.gh.proc.poll(), "gatehouse exited on an invalid reload")
        self.assertEqual(keep.request("GET", "/a/2").status, 200)
        self.assertEqual(self.status("/a/3"), 200)

    def test_file_change_triggers_reload(self):
        # In-place rewrite (what editors with backup copies and `cat >` do).
        with open(self.gh.config_path, "w") as f:
            f.write(harness.to_yaml(self.with_api("c")) + "\n")
        self.assertTrue(poll(lambda: self.status("/c/1") == 200, 4), "in-place edit not picked up")
        # Atomic replace by rename (what config-management tools do).
        self.cfg = self.with_api("c")
        self.gh.write_config(self.with_api("d"))
        self.assertTrue(poll(lambda: self.status("/d/1") == 200, 4), "renamed file not picked up")
        self.assertEqual(self.status("/c/1"), 200)

    def test_sigterm_drains_in_flight_then_exits_0(self):
        slow = InFlight(self.gh.port, "/a/slow?ms=1500")
        slow.start()
        time.sleep(0.3)
        self.gh.signal(signal.SIGTERM)
        self.assertTrue(poll(lambda: port_refuses(self.gh.port), 1.0),
                        "new connections still accepted after SIGTERM")
        self.assertIsNone(self.gh.proc.poll(), "exited before the in-flight request finished")
        slow.join(10)
        self.assertEqual(getattr(slow.result, "status", slow.result), 200)
        self.assertEqual(self.gh.proc.wait(10), 0)

    def test_sighup_rotates_tls_certificate(self):
        tmp = tempfile.mkdtemp(prefix="gh-pki-")
        self.addCleanup(harness.shutil.rmtree, tmp, True)
        pki = harness.make_pki(tmp)
        self.gh.kill()
        tls_port = free_port()
        listener = {"name": "tls", "address": "127.0.0.1:%d" % tls_port,
                    "tls": {"certificates": [{"cert": pki["server"] + ".pem",
                                              "key": pki["server"] + ".key"}]}}
        self.cfg["listeners"].append(listener)
        self.gh = Gatehouse(self, self.cfg)

        def served_cert():
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            with Conn(tls_port, tls=ctx, server_hostname="localhost") as c:
                return c.sock.getpeercert(binary_form=True)

        self.assertEqual(served_cert(), harness.cert_der(pki["server"] + ".leaf.pem"))
        listener["tls"]["certificates"] = [{"cert": pki["other"] + ".pem",
                                            "key": pki["other"] + ".key"}]
        self.gh.write_config(self.cfg)
        self.gh.signal(signal.SIGHUP)
        other = harness.cert_der(pki["other"] + ".leaf.pem")
        self.assertTrue(poll(lambda: served_cert() == other, 5), "certificate not rotated")

    def test_drain_deadline_bounds_shutdown(self):
        self.gh.kill()
        self.cfg["timeouts"]["drain"] = "1s"
        self.gh = Gatehouse(self, self.cfg)
        slow = InFlight(self.gh.port, "/a/slow?ms=8000")
        slow.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        self.gh.signal(signal.SIGTERM)
        self.gh.proc.wait(6)  # raises TimeoutExpired if the drain deadline is ignored
        self.assertLess(time.monotonic() - t0, 6)
        slow.join(10)
        self.assertNotEqual(getattr(slow.result, "status", None), 200)


if __name__ == "__main__":
    unittest.main()
