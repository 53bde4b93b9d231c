"""Routing (longest prefix, segment boundary, host, operations), the 404 body, admin endpoints,
`gatehouse config check` and the example config."""

import os
import re
import subprocess
import time
import unittest

import harness
from harness import APIM_404, Gatehouse, GatehouseTestCase, TestBackend, free_port, request


class RoutingTest(GatehouseTestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = TestBackend(cls)
        cls.other = TestBackend(cls)
        cfg = harness.base_config(free_port(), cls.backend.url + "/base", admin_port=free_port())
        cfg["apis"] = [
            {"name": "orders", "path": "/orders", "backend": "echo"},
            {"name": "orders-v2", "path": "/orders/v2", "backend_url": cls.other.url,
             "strip_path": True},
            {"name": "hosted", "path": "/h", "host": "api.example.com",
             "backend_url": cls.other.url},
            {
                "name": "ops",
                "path": "/ops",
                "backend_url": cls.other.url,
                "operations": [
                    {"name": "get-item", "method": "GET", "url_template": "/items/{id}"},
                    {"name": "create-item", "method": "POST", "url_template": "/items"},
                    {"name": "sub", "method": "GET", "url_template": "/items/{id}/parts/{part}"},
                ],
            },
            {
                "name": "anymethod",
                "path": "/any",
                "backend_url": cls.other.url,
                "operations": [{"name": "x", "method": "*", "url_template": "/x"}],
            },
        ]
        cls.gh = Gatehouse(cls, cfg)

    def get(self, target, method="GET", host="localhost", body=b""):
        return request(self.gh.port, method, target, host=host, body=body)

    def assert404(self, resp):
        self.assertEqual(resp.status, 404, resp)
        self.assertEqual(resp.body, APIM_404)
        self.assertEqual(resp.header("Content-Type"), "application/json")
        self.assertEqual(resp.header("Content-Length"), str(len(APIM_404)))

    def test_prefix_matches_on_segment_boundary_and_prepends_base_path(self):
        for target in ("/orders", "/orders/1", "/orders?x=1", "/orders/1/lines?y=2"):
            with self.subTest(target=target):
                r = self.get(target)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["target"], "/base" + target)

    def test_no_match_is_apim_404(self):
        for target in ("/ordersx", "/nothing", "/", "/order", "/h/1"):
            with self.subTest(target=target):
                self.assert404(self.get(target))

    def test_longest_prefix_wins_and_strip_path(self):
        r = self.get("/orders/v2/x?q=1")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["target"], "/x?q=1")
        # /orders/v2x is not under /orders/v2, so the shorter /orders API takes it.
        r = self.get("/orders/v2x")
        self.assertEqual(r.json()["target"], "/base/orders/v2x")

    def test_host_match_ignores_port(self):
        for host in ("api.example.com", "api.example.com:8443"):
            with self.subTest(host=host):
                r = self.get("/h/1", host=host)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["target"], "/h/1")
        self.assert404(self.get("/h/1", host="other.example.com"))

    def test_operations_method_and_template(self):
        ok = [("GET", "/ops/items/42"), ("POST", "/ops/items"), ("GET", "/ops/items/a/parts/b")]
        for method, target in ok:
            with self.subTest(method=method, target=target):
                r = self.get(target, method=method, body=b"x" if method == "POST" else b"")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["target"], target)
        bad = [
            ("DELETE", "/ops/items/42"),  # method not declared
            ("GET", "/ops/items"),  # template needs {id}
            ("GET", "/ops/items/"),  # {id} must be non-empty
            ("GET", "/ops/items/1/2"),  # {id} is one segment
            ("GET", "/ops/other"),
            ("POST", "/ops/items/42"),
        ]
        for method, target in bad:
            with self.subTest(method=method, target=target):
                self.assert404(self.get(target, method=method))

    def test_operation_with_any_method(self):
        for method in ("GET", "PUT", "PATCH", "DELETE"):
            with self.subTest(method=method):
                self.assertEqual(self.get("/any/x", method=method).status, 200)
        self.assert404(self.get("/any/y"))

    def test_healthz_and_metrics(self):
        r = request(self.gh.admin_port, "GET", "/healthz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b'{"status":"ok"}')
        self.get("/orders/1")
        r = request(self.gh.admin_port, "GET", "/metrics")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("Content-Type", "").startswith("text/plain"), r.headers)
        self.assertIn(b"gatehouse_requests_total", r.body)
        # Prometheus text: every non-comment line is `name{labels} value`.
        for line in r.body.decode().splitlines():
            if line and not line.startswith("#"):
                self.assertRegex(
                    line, r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? [-+0-9.eEInfNa]+( \d+)?$")

    def requests_total(self):
        body = request(self.gh.admin_port, "GET", "/metrics").body.decode()
        values = re.findall(r"^gatehouse_requests_total(?:\{[^}]*\})? ([0-9.e+]+)$", body, re.M)
        self.assertTrue(values, body)
        return sum(float(v) for v in values)

    def test_requests_total_counts_proxied_and_404(self):
        before = self.requests_total()
        for target in ("/orders/m1", "/orders/m2", "/nothing/m3"):
            self.get(target)
        after = None
        for _ in range(20):  # per-worker counters may be merged on a short period
            after = self.requests_total()
            if after >= before + 3:
                break
            time.sleep(0.1)
        self.assertGreaterEqual(after, before + 3)


class ConfigCheckTest(unittest.TestCase):
    def check(self, text):
        d = self.enterContext_tmp()
        path = os.path.join(d, "gatehouse.yaml")
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run([harness.gatehouse_bin(), "config", "check", path],
                           capture_output=True, timeout=20)
        return path, r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace")

    def enterContext_tmp(self):
        import tempfile

        t = tempfile.TemporaryDirectory(prefix="gh-check-")
        self.addCleanup(t.cleanup)
        return t.name

    VALID = (
        "listeners:\n"
        "  - address: 127.0.0.1:18000\n"
        "backends:\n"
        "  - id: origin\n"
        "    url: http://127.0.0.1:9000\n"
        "apis:\n"
        "  - name: all\n"
        "    path: /\n"
        "    backend: origin\n"
    )

    def test_valid_file_exits_0(self):
        _, code, out = self.check(self.VALID)
        self.assertEqual(code, 0, out)

    def test_unknown_backend_names_file_and_line(self):
        text = self.VALID.replace("backend: origin", "backend: nope")
        path, code, out = self.check(text)
        self.assertEqual(code, 1, out)
        self.assertIn("%s:9" % path, out)

    def test_bad_duration_names_file_and_line(self):
        text = self.VALID + "timeouts:\n  header_read: banana\n"
        path, code, out = self.check(text)
        self.assertEqual(code, 1, out)
        self.assertIn("%s:11" % path, out)
        self.assertIn("header_read", out)

    def test_yaml_syntax_error_names_file_and_line(self):
        path, code, out = self.check(self.VALID + "apis: [unclosed\n")
        self.assertEqual(code, 1, out)
        self.assertRegex(out, re.escape(path) + r":\d+")


class ExampleConfigTest(GatehouseTestCase):
    """examples/proxy/gatehouse.yaml is where people start: it must keep working."""

    def test_example_proxies_everything_to_origin(self):
        backend = TestBackend(self)
        port, admin = free_port(), free_port()
        example = os.path.join(harness.REPO, "examples", "proxy", "gatehouse.yaml")
        self.assertTrue(os.path.exists(example), "missing " + example)
        gh = Gatehouse(self, {}, start=False)
        gh.config_path = example
        gh.config = {
            "listeners": [{"address": "127.0.0.1:%d" % port}],
            "admin": {"address": "127.0.0.1:%d" % admin},
        }
        gh.env = {
            "GATEHOUSE_LISTEN": "127.0.0.1:%d" % port,
            "GATEHOUSE_ADMIN": "127.0.0.1:%d" % admin,
            "ORIGIN_URL": backend.url,
        }
        gh.start()
        r = request(port, "GET", "/anything/at/all?q=1")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["target"], "/anything/at/all?q=1")
        self.assertEqual(request(admin, "GET", "/healthz").status, 200)


if __name__ == "__main__":
    unittest.main()
