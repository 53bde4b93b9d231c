"""The vault feeding the gateway: `vault:` references for the listener certificate, the backend
client certificate and a named value, followed live while traffic flows.

nginx is the backend and requires a client certificate (`ssl_verify_client on`); it answers with
the fingerprint and serial of the certificate the gateway presented. A new version of the
backend certificate (Key Vault's "create" with the stored policy, through the REST API with a
token from the identity role) must reach the backend within seconds, with zero failed requests
from a client calling continuously; a new version of the listener certificate must be served to
new connections; a new version of a secret must change the header the policy sets from it.
"""

import base64
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (Conn, Gatehouse, GatehouseTestCase, Nginx, TestBackend,  # noqa: E402
                     cert_der, free_port, gatehouse_bin, make_cert, make_pki, on_cleanup,
                     poll, request)

TENANT = "6e1b1c52-3a57-4f3e-9f58-1b6f3c1d2e4f"
WORKLOAD = "0c6b3f5e-8d1a-4e5b-9c2f-7a8b9c0d1e2f"
SECRET = "workload-secret-value-7Hq"
HEADER_V1 = "function-key-v1-9Zp"
HEADER_V2 = "function-key-v2-4Rk"
API_VERSION = "7.5"
PFX_PASSWORD = "mounted-pfx-pass"


class VaultIntoGateway(GatehouseTestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="gh-vault-gw-")
        cls.pki = make_pki(cls.dir)
        cls.ca = cls.pki["ca"] + ".pem"
        cls.backend_port, cls.port, cls.id_port = free_port(), free_port(), free_port()
        cls.file_tls_port = free_port()
        # A certificate the platform mounts as a file (PEM now, PKCS#12 later).
        cls.mounted = os.path.join(cls.dir, "mounted-tls.bundle")
        with open(cls.mounted, "w") as out:
            for part in (cls.pki["server"] + ".key", cls.pki["server"] + ".pem"):
                with open(part) as f:
                    out.write(f.read())
        cls.vault_port, admin_port = free_port(), free_port()
        # The backend: mutual TLS, trusting only the test CA (which the vault issues from).
        cls.nginx = Nginx(cls, """
server {{
  listen 127.0.0.1:{port} ssl;
  ssl_certificate {backend}.pem; ssl_certificate_key {backend}.key;
  ssl_verify_client on; ssl_client_certificate {ca}.pem;
  location / {{
    add_header X-Client-Fingerprint $ssl_client_fingerprint always;
    add_header X-Client-Serial $ssl_client_serial always;
    add_header X-Function-Key $http_x_function_key always;
    return 200 "ok";
  }}
}}""".format(port=cls.backend_port, backend=cls.pki["backend"], ca=cls.pki["ca"]))
        cls.nginx.wait(cls.backend_port)
        cls.authority = "https://localhost:%d" % cls.id_port
        policy = """<policies><inbound><base />
  <set-header name="X-Function-Key" exists-action="override"><value>{{function-key}}</value></set-header>
</inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>"""
        config = {
            "listeners": [
                {"name": "edge", "address": "127.0.0.1:%d" % cls.port,
                 "tls": {"certificates": [{"cert": "vault:certificates/edge-tls",
                                           "key": "vault:certificates/edge-tls"}]}},
                {"name": "identity", "address": "127.0.0.1:%d" % cls.id_port,
                 "tls": {"certificates": [{"cert": cls.pki["server"] + ".pem",
                                           "key": cls.pki["server"] + ".key"}]}},
                {"name": "mounted", "address": "127.0.0.1:%d" % cls.file_tls_port,
                 "tls": {"certificates": [{"cert": "vault:certificates/mounted-tls",
                                           "key": "vault:certificates/mounted-tls"}]}},
                {"name": "kv", "address": "127.0.0.1:%d" % cls.vault_port,
                 "tls": {"certificates": [{"cert": cls.pki["server"] + ".pem",
                                           "key": cls.pki["server"] + ".key"}]}},
            ],
            "admin": {"address": "127.0.0.1:%d" % admin_port},
            "timeouts": {"drain": "2s"},
            "backends": [{"id": "mtls", "url": "https://127.0.0.1:%d" % cls.backend_port,
                          "tls": {"ca": cls.ca, "server_name": "backend.test",
                                  "client_cert": "vault:certificates/gateway-client",
                                  "client_key": "vault:certificates/gateway-client"}}],
            "apis": [{"name": "orders", "path": "/orders", "backend": "mtls",
                      "policy_xml": policy}],
            "named_values": [{"name": "function-key", "file": "vault:secrets/function-key",
                              "secret": True}],
            "identity": {
                "data_dir": os.path.join(cls.dir, "data"),
                "public_url": cls.authority,
                "listeners": ["identity"],
                "audit_log": os.path.join(cls.dir, "audit.log"),
                "tenants": [{"id": TENANT, "name": "Vault", "applications": [
                    {"client_id": WORKLOAD, "name": "workload",
                     "secrets": [{"name": "ci", "value_env": "GH_TEST_WORKLOAD_SECRET"}]}]}],
            },
            "vault": {
                "tenant": TENANT,
                "listeners": ["kv"],
                "audit_log": os.path.join(cls.dir, "vault-audit.log"),
                "issuers": [{"name": "test-ca", "cert": cls.ca, "key": cls.pki["ca"] + ".key"}],
                "access": [{"client_id": WORKLOAD, "role": "Key Vault Administrator"}],
                "secrets": [{"name": "function-key", "value_env": "GH_TEST_FUNCTION_KEY"}],
                "certificates": [
                    {"name": "gateway-client",
                     "policy": {"subject": "CN=gateway-client", "issuer": "test-ca",
                                "validity_months": 1, "key_type": "EC"}},
                    {"name": "edge-tls",
                     "policy": {"subject": "CN=localhost", "dns_names": ["localhost"],
                                "issuer": "test-ca", "validity_months": 1}},
                    {"name": "mounted-tls", "file": cls.mounted,
                     "password_env": "GH_TEST_PFX_PASSWORD"},
                ],
            },
        }
        cls.gh = Gatehouse(cls, config, workdir=cls.dir,
                           env={"GH_TEST_WORKLOAD_SECRET": SECRET,
                                "GH_TEST_FUNCTION_KEY": HEADER_V1,
                                "GH_TEST_PFX_PASSWORD": PFX_PASSWORD})
        cls.tls = ssl.create_default_context(cafile=cls.ca)
        cls.vault_url = "https://localhost:%d" % cls.vault_port

    # --- helpers ---

    def token(self):
        form = {"grant_type": "client_credentials", "client_id": WORKLOAD, "client_secret": SECRET,
                "scope": "https://vault.azure.net/.default"}
        req = urllib.request.Request(
            "%s/%s/oauth2/v2.0/token" % (self.authority, TENANT),
            data=urllib.parse.urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(req, context=self.tls, timeout=10) as r:
            return json.load(r)["access_token"]

    def vault(self, method, path, body=None):
        req = urllib.request.Request(
            "%s%s?api-version=%s" % (self.vault_url, path, API_VERSION), method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": "Bearer " + self.token(),
                     "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self.tls, timeout=10) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            raise AssertionError("%s %s: %d %s" % (method, path, e.code, e.read()[:400]))

    def current_x5t_hex(self, name):
        _, cert = self.vault("GET", "/certificates/" + name)
        x5t = cert["x5t"]
        return base64.urlsafe_b64decode(x5t + "=" * (-len(x5t) % 4)).hex()

    def call(self, conn=None):
        own = conn is None
        conn = conn or Conn(self.port, tls=self.tls, server_hostname="localhost")
        try:
            return conn.request("GET", "/orders/1")
        finally:
            if own:
                conn.close()

    def metrics(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.gh.admin_port,
                                    timeout=5) as r:
            return r.read().decode()

    # --- tests ---

    def test_backend_certificate_renewed_under_load_with_zero_failures(self):
        before = self.current_x5t_hex("gateway-client")
        r = self.call()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("X-Client-Fingerprint"), before)

        stop = threading.Event()
        results = {"ok": 0, "failed": [], "fingerprints": set()}

        def load():
            conn = None
            while not stop.is_set():
                try:
                    conn = conn or Conn(self.port, tls=self.tls, server_hostname="localhost")
                    resp = conn.request("GET", "/orders/1")
                    if resp.status == 200:
                        results["ok"] += 1
                        results["fingerprints"].add(resp.header("X-Client-Fingerprint"))
                    else:
                        results["failed"].append(resp.status)
                    if resp.header("Connection", "").lower() == "close":
                        conn.close()
                        conn = None
                except OSError as e:  # a dropped connection is a failed request too
                    results["failed"].append(repr(e))
                    conn = None
            if conn:
                conn.close()

        workers = [threading.Thread(target=load) for _ in range(3)]
        for w in workers:
            w.start()
        try:
            poll(lambda: results["ok"] > 20, "traffic before the renewal")
            status, op = self.vault("POST", "/certificates/gateway-client/create", {})
            self.assertEqual(status, 202, op)
            after = poll(lambda: (lambda v: v if v != before else None)(
                self.current_x5t_hex("gateway-client")), "a new certificate version")
            # New backend connections present the new certificate within seconds.
            poll(lambda: after in results["fingerprints"], "the backend to see the new certificate")
            seen_before = results["ok"]
            poll(lambda: results["ok"] > seen_before + 20, "traffic after the renewal")
        finally:
            stop.set()
            for w in workers:
                w.join(30)
        self.assertEqual(results["failed"], [], "failed requests during the renewal")
        self.assertIn(before, results["fingerprints"])
        self.assertIn(after, results["fingerprints"])
        self.assertEqual(self.call().header("X-Client-Fingerprint"), after)
        # The version served is visible in the metrics.
        _, cert = self.vault("GET", "/certificates/gateway-client")
        version = cert["id"].rstrip("/").rsplit("/", 1)[1]
        self.assertRegex(self.metrics(), r'gatehouse_reference_version_info\{reference='
                         r'"vault:certificates/gateway-client",version="%s"\} 1' % version)

    def test_listener_certificate_follows_new_versions(self):
        def served_der():
            with Conn(self.port, tls=self.tls, server_hostname="localhost") as c:
                return c.sock.getpeercert(binary_form=True)
        import hashlib
        first = hashlib.sha1(served_der()).hexdigest()
        self.assertEqual(first, self.current_x5t_hex("edge-tls"))
        # An open connection survives the change and keeps working.
        held = Conn(self.port, tls=self.tls, server_hostname="localhost")
        on_cleanup(self, held.close)
        self.assertEqual(self.call(held).status, 200)
        self.vault("POST", "/certificates/edge-tls/create", {})
        new = poll(lambda: (lambda v: v if v != first else None)(
            self.current_x5t_hex("edge-tls")), "a new listener certificate version")
        poll(lambda: hashlib.sha1(served_der()).hexdigest() == new,
             "new connections to get the new certificate")
        self.assertEqual(self.call(held).status, 200)

    def test_certificate_file_replaced_on_disk_becomes_a_new_version(self):
        import hashlib

        def served():
            with Conn(self.file_tls_port, tls=self.tls, server_hostname="localhost") as c:
                return hashlib.sha1(c.sock.getpeercert(binary_form=True)).hexdigest()

        first = served()
        self.assertEqual(first, self.current_x5t_hex("mounted-tls"))
        # The platform replaces the file (atomically) with a PKCS#12 of a new certificate.
        make_cert(self.dir, "server-next", self.pki["ca"], "localhost", "DNS:localhost")
        pfx = self.mounted + ".tmp"
        subprocess.run(["openssl", "pkcs12", "-export", "-inkey",
                        os.path.join(self.dir, "server-next.key"), "-in",
                        os.path.join(self.dir, "server-next.pem"), "-out", pfx, "-passout",
                        "pass:" + PFX_PASSWORD], check=True, capture_output=True, timeout=60)
        os.replace(pfx, self.mounted)
        new = hashlib.sha1(cert_der(os.path.join(self.dir, "server-next.leaf.pem"))).hexdigest()
        self.assertNotEqual(new, first)
        poll(lambda: served() == new, "new connections to get the replaced certificate")
        self.assertEqual(self.current_x5t_hex("mounted-tls"), new)
        _, versions = self.vault("GET", "/certificates/mounted-tls/versions")
        self.assertEqual(len(versions["value"]), 2)

    def test_named_value_from_a_vault_secret_follows_new_versions(self):
        self.assertEqual(self.call().header("X-Function-Key"), HEADER_V1)
        status, _ = self.vault("PUT", "/secrets/function-key", {"value": HEADER_V2})
        self.assertEqual(status, 200)
        poll(lambda: self.call().header("X-Function-Key") == HEADER_V2,
             "the policy to use the new secret version")

    def test_values_never_reach_the_logs_and_the_database_holds_no_plaintext(self):
        self.call()
        time.sleep(0.5)  # the audit logs flush every 200 ms
        logs = self.gh.stderr_text()
        for name in ("stdout.log", "vault-audit.log", "audit.log", "access.log"):
            path = os.path.join(self.dir, name)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    logs += f.read()
        for value in (HEADER_V1, HEADER_V2, SECRET, "PRIVATE KEY"):
            self.assertNotIn(value, logs)
        raw = b""
        for suffix in ("", "-wal"):
            path = os.path.join(self.dir, "data", "gatehouse.db" + suffix)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    raw += f.read()
        self.assertGreater(len(raw), 0)
        for value in (HEADER_V1, HEADER_V2, "PRIVATE KEY"):
            self.assertNotIn(value.encode(), raw)
        # The audit trail names who read what, without the value.
        with open(os.path.join(self.dir, "vault-audit.log")) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        self.assertTrue(any(r["via"] == "gateway" and r["name"] == "function-key" for r in lines))


class MasterKeyRotation(GatehouseTestCase):
    """`gatehouse master-key rotate`: offline, everything sealed moves to the new key."""

    def test_rotate_then_start_with_the_new_key(self):
        d = tempfile.mkdtemp(prefix="gh-mk-")
        on_cleanup(self, shutil.rmtree, d, True)
        old_key = os.path.join(d, "master.key")
        with open(os.open(old_key, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
            f.write(os.urandom(32))
        backend = TestBackend(self)
        port, id_port, kv_port = free_port(), free_port(), free_port()
        pki = make_pki(d)
        tls = {"certificates": [{"cert": pki["server"] + ".pem", "key": pki["server"] + ".key"}]}
        policy = """<policies><inbound><base /></inbound><backend><base /></backend><outbound><base />
  <set-header name="X-From-Vault" exists-action="override"><value>{{k}}</value></set-header>
</outbound><on-error><base /></on-error></policies>"""
        config = {
            "listeners": [{"name": "plain", "address": "127.0.0.1:%d" % port},
                          {"name": "identity", "address": "127.0.0.1:%d" % id_port, "tls": tls},
                          {"name": "kv", "address": "127.0.0.1:%d" % kv_port, "tls": tls}],
            "timeouts": {"drain": "1s"},
            "apis": [{"name": "a", "path": "/", "backend_url": backend.url, "policy_xml": policy}],
            "named_values": [{"name": "k", "file": "vault:secrets/k", "secret": True}],
            "identity": {"data_dir": os.path.join(d, "data"), "master_key_file": old_key,
                         "listeners": ["identity"], "audit_log": "off",
                         "tenants": [{"id": TENANT, "name": "T"}]},
            "vault": {"tenant": TENANT, "listeners": ["kv"], "audit_log": "off",
                      "secrets": [{"name": "k", "value_env": "GH_TEST_K"}]},
        }
        env = {"GH_TEST_K": HEADER_V1}
        gh = Gatehouse(self, config, workdir=d, env=env)
        self.assertEqual(request(port, "GET", "/x").header("X-From-Vault"), HEADER_V1)
        self.assertEqual(gh.terminate(), 0)

        new_key = os.path.join(d, "new.key")
        with open(os.open(new_key, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
            f.write(os.urandom(32))
        with open(old_key, "rb") as f:
            before = f.read()
        rotate = [gatehouse_bin(), "master-key", "rotate", "--config", gh.config_path,
                  "--new-key-file", new_key]
        r = subprocess.run(rotate, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("re-wrapped every vault data key", r.stdout)
        with open(old_key, "rb") as f, open(new_key, "rb") as g:
            self.assertEqual(f.read(), g.read())
        self.assertEqual(os.stat(old_key).st_mode & 0o777, 0o600)
        # The same key again is refused, and names why.
        again = subprocess.run(rotate, capture_output=True, text=True, timeout=60)
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("holds the current master key", again.stderr)

        # The old key no longer opens anything: the server refuses to start with it...
        stale = os.path.join(d, "stale.key")
        with open(os.open(stale, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
            f.write(before)
        stale_config = json.loads(json.dumps(config))
        stale_config["identity"]["master_key_file"] = stale
        stale_dir = os.path.join(d, "stale")
        os.makedirs(stale_dir)
        bad = Gatehouse(self, stale_config, workdir=stale_dir, env=env, start=False)
        r = subprocess.run([gatehouse_bin(), "serve", "--config", bad.config_path],
                                         capture_output=True, text=True, timeout=60,
                                         env=dict(os.environ, **env))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("master key", r.stderr)
        # ...and with the new one everything reads as before.
        gh2 = Gatehouse(self, config, workdir=d, env=env)
        self.assertEqual(request(port, "GET", "/x").header("X-From-Vault"), HEADER_V1)
        gh2.terminate()


class ConfigCheck(unittest.TestCase):
    def test_config_check_reports_a_certificate_policy_issuance_would_refuse(self):
        d = tempfile.mkdtemp(prefix="gh-vault-check-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "gatehouse.yaml")
        with open(path, "w") as f:
            f.write("""listeners:
  - {name: a, address: 127.0.0.1:1}
  - {name: kv, address: 127.0.0.1:2}
apis:
  - {name: all, backend_url: "http://127.0.0.1:9000"}
identity: {data_dir: data}
vault:
  tenant: %s
  listeners: [kv]
  certificates:
    - name: edge
      policy: {subject: "no equals sign here"}
""" % TENANT)
        r = subprocess.run([gatehouse_bin(), "config", "check", path], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("vault.certificates edge (line 11): policy.subject", r.stderr)


if __name__ == "__main__":
    unittest.main()
