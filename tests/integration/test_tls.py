"""TLS listeners: SNI certificate selection, ALPN, TLS 1.2/1.3, client-certificate modes
none/optional/require, and the client-certificate thumbprint in the access log."""

import os
import ssl
import subprocess
import tempfile
import unittest

import harness
from harness import Conn, Gatehouse, GatehouseTestCase, TestBackend, free_port


class TlsTest(GatehouseTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="gh-pki-")
        cls.addClassCleanup(harness.shutil.rmtree, cls.tmp, True)
        cls.pki = harness.make_pki(cls.tmp)
        p = cls.pki
        cls.backend = TestBackend(cls)
        certs = [
            {"cert": p["server"] + ".pem", "key": p["server"] + ".key"},
            {"cert": p["other"] + ".pem", "key": p["other"] + ".key"},
        ]
        cls.ports = {m: free_port() for m in ("none", "optional", "require", "tls13")}
        cfg = harness.base_config(free_port(), cls.backend.url)
        cfg["listeners"] = [
            {"name": "none", "address": "127.0.0.1:%d" % cls.ports["none"],
             "tls": {"certificates": certs, "client_certificate": "none"}},
            {"name": "optional", "address": "127.0.0.1:%d" % cls.ports["optional"],
             "tls": {"certificates": certs[:1], "client_certificate": "optional",
                     "client_ca": p["ca"] + ".pem"}},
            {"name": "require", "address": "127.0.0.1:%d" % cls.ports["require"],
             "tls": {"certificates": certs[:1], "client_certificate": "require",
                     "client_ca": p["ca"] + ".pem"}},
            {"name": "tls13", "address": "127.0.0.1:%d" % cls.ports["tls13"],
             "tls": {"certificates": certs[:1], "min_version": "1.3"}},
        ]
        cls.gh = Gatehouse(cls, cfg)

    def ctx(self, client=None, version=None, verify=True):
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if verify:
            c.load_verify_locations(self.pki["ca"] + ".pem")
        else:
            c.check_hostname = False
            c.verify_mode = ssl.CERT_NONE
        if client:
            c.load_cert_chain(self.pki[client] + ".pem", self.pki[client] + ".key")
        if version:
            c.minimum_version = version
            c.maximum_version = version
        return c

    def get(self, mode, target, client=None, version=None, server_hostname="localhost", rid=None):
        hdrs = [("X-Request-Id", rid)] if rid else []
        tls = self.ctx(client, version)
        with Conn(self.ports[mode], tls=tls, server_hostname=server_hostname) as c:
            return c.request("GET", target, hdrs), c.sock.version()

    def log_entry(self, rid):
        lines = self.gh.access_log(lambda ls: any(l.get("request_id") == rid for l in ls))
        e = [l for l in lines if l.get("request_id") == rid]
        self.assertEqual(len(e), 1, lines)
        return e[0]

    def peer_cert(self, port, server_hostname):
        with Conn(port, tls=self.ctx(verify=False), server_hostname=server_hostname) as c:
            return c.sock.getpeercert(binary_form=True)

    def test_request_over_tls_sets_forwarded_proto_https(self):
        r, _ = self.get("none", "/echo/tls")
        self.assertEqual(r.status, 200, r)
        h = r.json()["headers"]
        self.assertEqual([v for k, v in h if k.lower() == "x-forwarded-proto"], ["https"])
        self.assertIn("proto=https", ";".join(v for k, v in h if k.lower() == "forwarded"))

    def test_sni_selects_certificate(self):
        port = self.ports["none"]
        server = harness.cert_der(self.pki["server"] + ".leaf.pem")
        other = harness.cert_der(self.pki["other"] + ".leaf.pem")
        self.assertEqual(self.peer_cert(port, "localhost"), server)
        self.assertEqual(self.peer_cert(port, "other.test"), other)
        # No SNI (or an unknown name): the first certificate is the default.
        self.assertEqual(self.peer_cert(port, None), server)
        self.assertEqual(self.peer_cert(port, "unknown.test"), server)
        # The chain is served too, so a client that trusts only the CA validates other.test.
        r, _ = self.get("none", "/echo/sni", server_hostname="other.test")
        self.assertEqual(r.status, 200)

    def test_sni_with_openssl_s_client(self):
        for name in ("localhost", "other.test"):
            out = self.s_client(self.ports["none"], ["-servername", name])
            self.assertIn("subject=CN = %s" % name, out)
            self.assertIn("Verify return code: 0 (ok)", out)

    def test_alpn_http11(self):
        c = self.ctx()
        c.set_alpn_protocols(["h2", "http/1.1"])
        with Conn(self.ports["none"], tls=c, server_hostname="localhost") as conn:
            self.assertEqual(conn.sock.selected_alpn_protocol(), "http/1.1")
            self.assertEqual(conn.request("GET", "/echo").status, 200)

    def test_tls12_and_tls13(self):
        for v, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
            with self.subTest(version=name):
                r, got = self.get("none", "/echo/v", version=v)
                self.assertEqual((r.status, got), (200, name))

    def test_min_version_13_rejects_12(self):
        r, got = self.get("tls13", "/echo/v", version=ssl.TLSVersion.TLSv1_3)
        self.assertEqual((r.status, got), (200, "TLSv1.3"))
        with self.assertRaises((ssl.SSLError, ConnectionResetError)):
            self.get("tls13", "/echo/v", version=ssl.TLSVersion.TLSv1_2)

    def s_client(self, port, args, cert=None):
        harness.require_tool("openssl")
        cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
               "-CAfile", self.pki["ca"] + ".pem", "-msg"] + args
        if cert:
            cmd += ["-cert", self.pki[cert] + ".pem", "-key", self.pki[cert] + ".key"]
        r = subprocess.run(cmd, input=b"", capture_output=True, timeout=20)
        self.last_rc = r.returncode
        return (r.stdout + r.stderr).decode("utf-8", "replace")

    def test_mode_none_sends_no_certificate_request(self):
        for flag in ("-tls1_2", "-tls1_3"):
            out = self.s_client(self.ports["none"], ["-servername", "localhost", flag])
            self.assertIn("Verify return code: 0", out)
            self.assertNotIn("CertificateRequest", out)
        out = self.s_client(self.ports["optional"], ["-servername", "localhost", "-tls1_2"])
        self.assertIn("CertificateRequest", out)  # the probe does detect a request
        # A client cert offered to a `none` listener is never sent, so never logged.
        r, _ = self.get("none", "/echo/n", client="client", rid="tls-none-1")
        self.assertEqual(r.status, 200)
        self.assertFalse(self.log_entry("tls-none-1").get("client_cert_thumbprint"))

    def test_mode_optional(self):
        r, _ = self.get("optional", "/echo/o", rid="tls-opt-none")
        self.assertEqual(r.status, 200, r)
        self.assertFalse(self.log_entry("tls-opt-none").get("client_cert_thumbprint"))
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            rid = "tls-opt-cert-%s" % version.name
            r, _ = self.get("optional", "/echo/o", client="client", version=version, rid=rid)
            self.assertEqual(r.status, 200, r)
            thumb = harness.sha1_upper(harness.cert_der(self.pki["client"] + ".leaf.pem"))
            self.assertEqual(self.log_entry(rid).get("client_cert_thumbprint"), thumb)

    def test_mode_require(self):
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            rid = "tls-req-%s" % version.name
            r, _ = self.get("require", "/echo/r", client="client", version=version, rid=rid)
            self.assertEqual(r.status, 200, r)
            thumb = harness.sha1_upper(harness.cert_der(self.pki["client"] + ".leaf.pem"))
            self.assertEqual(self.log_entry(rid).get("client_cert_thumbprint"), thumb)
        self.backend.log(clear=True)
        for client in (None, "client2"):
            for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
                with self.subTest(client=client, version=version.name):
                    # TLS 1.3 reports the server's alert only on the first read.
                    errors = (ssl.SSLError, ConnectionResetError, EOFError, BrokenPipeError)
                    with self.assertRaises(errors):
                        self.get("require", "/echo/denied", client=client, version=version)
        self.assertEqual(self.backend.log(), [])

    def test_require_with_s_client(self):
        args = ["-servername", "localhost", "-tls1_2"]
        out = self.s_client(self.ports["require"], args, cert="client")
        self.assertEqual(self.last_rc, 0, out)
        for cert in ("client2", None):
            with self.subTest(cert=cert):
                out = self.s_client(self.ports["require"], args, cert=cert)
                self.assertNotEqual(self.last_rc, 0, out)
                self.assertIn("alert", out)

if __name__ == "__main__":
    unittest.main()
