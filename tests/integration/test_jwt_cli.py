"""`gatehouse jwt verify --jwks URL`: the key set is fetched over HTTP or verified HTTPS."""

import http.server
import json
import os
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from jwt.algorithms import RSAAlgorithm

from harness import gatehouse_bin, make_pki, require_tool


class _JwksHandler(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):
        if self.path != "/keys":
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


class JwksUrl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        openssl = require_tool("openssl")
        cls.dir = tempfile.mkdtemp(prefix="gh-jwt-")
        key = os.path.join(cls.dir, "signing.pem")
        subprocess.run([openssl, "genrsa", "-out", key, "2048"], check=True, capture_output=True)
        pub = subprocess.run([openssl, "rsa", "-in", key, "-pubout"], check=True,
                             capture_output=True).stdout
        jwk = json.loads(RSAAlgorithm.to_jwk(RSAAlgorithm(RSAAlgorithm.SHA256).prepare_key(pub)))
        jwk.update({"kid": "k1", "use": "sig", "alg": "RS256"})
        _JwksHandler.body = json.dumps({"keys": [jwk]}).encode()
        claims = json.dumps({"iss": "https://issuer.test/", "aud": "api://demo",
                             "exp": int(time.time()) + 600, "azpacr": "2"})
        cls.token = subprocess.run(
            [gatehouse_bin(), "jwt", "sign", "--key", key, "--claims", claims, "--kid", "k1"],
            check=True, capture_output=True, text=True).stdout.strip()
        os.makedirs(os.path.join(cls.dir, "pki"))
        cls.pki = make_pki(os.path.join(cls.dir, "pki"))
        cls.servers = []
        cls.http_url = cls.serve(None)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cls.pki["server"] + ".pem", cls.pki["server"] + ".key")
        cls.https_url = cls.serve(ctx)

    @classmethod
    def serve(cls, tls):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _JwksHandler)
        if tls:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        cls.servers.append(server)
        scheme = "https" if tls else "http"
        return "%s://127.0.0.1:%d/keys" % (scheme, server.server_address[1])

    @classmethod
    def tearDownClass(cls):
        for s in cls.servers:
            s.shutdown()
            s.server_close()

    def verify(self, *args):
        return subprocess.run([gatehouse_bin(), "jwt", "verify", self.token, *args],
                              capture_output=True, text=True, timeout=30)

    def test_http_url(self):
        r = self.verify("--jwks", self.http_url, "--aud", "api://demo", "--iss", "https://issuer.test/")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_https_url_with_ca(self):
        r = self.verify("--jwks", self.https_url, "--ca", self.pki["ca"] + ".pem", "--aud", "api://demo")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_https_url_untrusted_is_refused(self):
        r = self.verify("--jwks", self.https_url, "--ca", self.pki["ca2"] + ".pem")
        self.assertEqual(r.returncode, 1)
        self.assertIn("TLS handshake failed", r.stderr)

    def test_wrong_audience_still_fails_with_a_reason(self):
        r = self.verify("--jwks", self.http_url, "--aud", "api://other")
        self.assertEqual(r.returncode, 1)
        self.assertIn("aud", (r.stdout + r.stderr).lower())

    def test_missing_document_names_the_status(self):
        r = self.verify("--jwks", self.http_url.replace("/keys", "/nope"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("HTTP 404", r.stderr)


if __name__ == "__main__":
    unittest.main()
