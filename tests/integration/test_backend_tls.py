"""HTTPS to backends (nginx with TLS): CA validation, hostname check, pinned SHA-256 thumbprint,
and backend mTLS with the gateway's client certificate."""

import hashlib
import tempfile
import unittest

import harness
from harness import Gatehouse, GatehouseTestCase, Nginx, free_port, request


class BackendTlsTest(GatehouseTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="gh-pki-")
        cls.addClassCleanup(harness.shutil.rmtree, cls.tmp, True)
        p = cls.pki = harness.make_pki(cls.tmp)
        tls_port, mtls_port = free_port(), free_port()
        server = """
  server {{
    listen 127.0.0.1:{tls} ssl;
    ssl_certificate {b}.pem; ssl_certificate_key {b}.key;
    location / {{ return 200 "tls-ok $ssl_protocol sni=$ssl_server_name\\n"; }}
  }}
  server {{
    listen 127.0.0.1:{mtls} ssl;
    ssl_certificate {b}.pem; ssl_certificate_key {b}.key;
    ssl_verify_client on; ssl_client_certificate {ca}.pem;
    location / {{ return 200 "mtls-ok $ssl_client_s_dn\\n"; }}
  }}""".format(tls=tls_port, mtls=mtls_port, b=p["backend"], ca=p["ca"])
        cls.nginx = Nginx(cls, server)
        cls.nginx.wait(tls_port)
        cls.nginx.wait(mtls_port)
        pin = hashlib.sha256(harness.cert_der(p["backend"] + ".leaf.pem")).hexdigest()
        ca = p["ca"] + ".pem"
        tls_url = "https://127.0.0.1:%d" % tls_port
        mtls_url = "https://127.0.0.1:%d" % mtls_port
        backends = [
            ("ca-name", tls_url, {"ca": ca, "server_name": "backend.test"}),
            ("ca-ip", tls_url, {"ca": ca}),  # hostname check against the IP SAN
            ("wrong-name", tls_url, {"ca": ca, "server_name": "wrong.test"}),
            ("untrusted", tls_url, {"ca": p["ca2"] + ".pem", "server_name": "backend.test"}),
            ("system-store", tls_url, {"server_name": "backend.test"}),
            ("no-verify", tls_url, {"ca": p["ca2"] + ".pem", "server_name": "wrong.test",
                                    "verify": False}),
            ("pin-ok", tls_url, {"ca": ca, "server_name": "backend.test", "pinned_sha256": pin}),
            ("pin-wrong", tls_url, {"ca": ca, "server_name": "backend.test",
                                    "pinned_sha256": hashlib.sha256(b"not it").hexdigest()}),
            ("mtls", mtls_url, {"ca": ca, "server_name": "backend.test",
                                "client_cert": p["client"] + ".pem",
                                "client_key": p["client"] + ".key"}),
            ("mtls-nocert", mtls_url, {"ca": ca, "server_name": "backend.test"}),
        ]
        cfg = harness.base_config(free_port(), "http://127.0.0.1:1")
        cfg["backends"] = [{"id": i, "url": u, "tls": t} for i, u, t in backends]
        cfg["apis"] = [
            {"name": i, "path": "/" + i, "backend": i, "strip_path": True} for i, _, _ in backends
        ]
        cls.gh = Gatehouse(cls, cfg)

    def get(self, api):
        return request(self.gh.port, "GET", "/%s/x" % api)

    def test_ca_validation_with_server_name(self):
        r = self.get("ca-name")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.body.startswith(b"tls-ok TLSv1."), r.body)
        self.assertIn(b"sni=backend.test", r.body)

    def test_ca_validation_against_ip_san(self):
        self.assertEqual(self.get("ca-ip").status, 200)

    def test_hostname_mismatch_502(self):
        self.assertApimError(self.get("wrong-name"), 502)

    def test_untrusted_ca_502(self):
        self.assertApimError(self.get("untrusted"), 502)
        self.assertApimError(self.get("system-store"), 502)

    def test_verify_false_accepts_any_certificate(self):
        self.assertEqual(self.get("no-verify").status, 200)

    def test_pinned_thumbprint(self):
        self.assertEqual(self.get("pin-ok").status, 200)
        self.assertApimError(self.get("pin-wrong"), 502)

    def test_backend_mtls_with_client_cert(self):
        r = self.get("mtls")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"mtls-ok CN=client\n")

    def test_backend_mtls_without_client_cert_relays_nginx_400(self):
        # nginx with `ssl_verify_client on` completes the handshake without a client certificate
        # and answers HTTP 400 "No required SSL certificate was sent"; the gateway relays that
        # response as it is (it is the backend's answer, not a gateway error).
        r = self.get("mtls-nocert")
        self.assertEqual(r.status, 400, r)
        self.assertIn(b"No required SSL certificate was sent", r.body)

    def test_tls_backend_keep_alive(self):
        for _ in range(3):
            self.assertEqual(self.get("ca-name").status, 200)


if __name__ == "__main__":
    unittest.main()
