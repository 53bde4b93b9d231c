"""examples/certificate-rotation end to end, with the example's files unchanged: zero-downtime
rotation of a client's certificate and of the token service's signing key, through the gateway.

The example's load generator (load.py, imported: worker threads, each call a fresh MSAL Python
token from the certificate in a PEM file, then GET /orders through validate-jwt) runs the whole
time; the directory is changed with the CLI, as the README does:

1. certificate A in use; B added (`gatehouse app cert add`); the client's credential file
   replaced with B (every worker switches); A removed (`gatehouse app cert remove`): zero failed
   calls, and calls were made with A, with both registered, and with B alone. Then a fresh
   assertion signed with A is refused with 401 invalid_client AADSTS700027 (raw, MSAL and
   `gatehouse token get`).
2. `gatehouse keys rotate` while the gateway validates: zero failed calls; tokens from the new
   key pass without the gateway fetching the key set again (the successor was published ahead
   and is in the key set it fetched at start), and a token signed before the rotation still
   passes.
"""

import base64
import hashlib
import importlib.util
import json
import os
import shutil
import ssl
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid
from unittest import mock

import e2e_support
from e2e_support import harness

EXAMPLE = e2e_support.example("certificate-rotation")
SCOPE = "api://orders/.default"


def load_example_module():
    spec = importlib.util.spec_from_file_location("certificate_rotation_load",
                                                  os.path.join(EXAMPLE, "load.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class CertificateRotation(unittest.TestCase):
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        harness.require_tool("openssl")
        cls.load = load_example_module()
        cls.dir = harness.temp_dir(cls, "gh-e2e-rot-")
        d = cls.dir
        harness.make_ca(d, "ca")
        harness.make_cert(d, "server", "ca", "localhost", "DNS:localhost,IP:127.0.0.1")
        cls.ca = os.path.join(d, "ca.pem")

        cls.backend = harness.TestBackend(cls)
        port, admin_port = harness.free_port(), harness.free_port()
        cls.public_url = "https://127.0.0.1:%d" % port
        cls.tenant, cls.orders_api, cls.partner = (str(uuid.uuid4()) for _ in range(3))
        env = {
            "GATEHOUSE_LISTEN": "127.0.0.1:%d" % port,
            "GATEHOUSE_ADMIN": "127.0.0.1:%d" % admin_port,
            "GATEHOUSE_TLS_CERT": os.path.join(d, "server.pem"),
            "GATEHOUSE_TLS_KEY": os.path.join(d, "server.key"),
            "TLS_CA_PEM": cls.ca,
            "GATEHOUSE_DATA_DIR": os.path.join(d, "data"),
            "PUBLIC_URL": cls.public_url,
            "TENANT_ID": cls.tenant,
            "ORDERS_API_CLIENT_ID": cls.orders_api,
            "PARTNER_CLIENT_ID": cls.partner,
            "ORDERS_BACKEND_URL": cls.backend.url + "/echo",
        }
        cls.gh = harness.GatehouseWithConfigFile(
            cls, os.path.join(EXAMPLE, "gatehouse.yaml"), env,
            [("127.0.0.1", port), ("127.0.0.1", admin_port)], d)
        cls.cli_env = e2e_support.admin_cli_env(admin_port, os.path.join(d, "data"),
                                                GATEHOUSE_TENANT_ID=cls.tenant)

        # Two key pairs of the partner, made as the README makes them; A is registered.
        cls.certs = {name: cls.cert_new("partner-" + name) for name in ("a", "b")}
        cls.run_cli("app", "cert", "add", cls.partner, cls.certs["a"]["pem"], "--name", "a")
        cls.credential_file = os.path.join(d, "partner-current.pem")
        cls.install_credential("a")

    # --- helpers ---------------------------------------------------------------------------------

    @classmethod
    def run_cli(cls, *args, check=True):
        return harness.run_command([harness.gatehouse_bin()] + list(args), env=cls.cli_env,
                                   cwd=cls.dir, check=check)

    @classmethod
    def cert_new(cls, name):
        prefix = os.path.join(cls.dir, name)
        cls.run_cli("cert", "new", "--subject", "CN=" + name, "--key-type", "rsa2048",
                    "--days", "30", "--out", prefix)
        with open(prefix + ".key") as k, open(prefix + ".pem") as c:
            key_text, cert_text = k.read(), c.read()
        bundle = prefix + "-bundle.pem"
        with open(bundle, "w") as f:
            f.write(key_text + cert_text)
        der = ssl.PEM_cert_to_DER_cert(cert_text)
        return {"key": prefix + ".key", "pem": prefix + ".pem", "bundle": bundle,
                "key_text": key_text, "der": der,
                "thumbprint": hashlib.sha1(der).hexdigest().upper()}

    @classmethod
    def install_credential(cls, name):
        """What the README does: a complete new file, then mv (rename) over the old one."""
        tmp = cls.credential_file + ".new"
        shutil.copyfile(cls.certs[name]["bundle"], tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, cls.credential_file)

    def start_load(self):
        # load.py points REQUESTS_CA_BUNDLE at the CA; keep that from leaking into other tests.
        patch = mock.patch.dict(os.environ)
        patch.start()
        self.addCleanup(patch.stop)
        gen = self.load.LoadGenerator(self.credential_file, self.public_url, self.tenant,
                                      self.partner, ca=self.ca, workers=4)
        gen.start()
        self.addCleanup(gen.stop)
        return gen

    def wait_for(self, gen, what, predicate, timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            s = gen.snapshot()
            if s["failed"]:
                self.fail("failed calls while waiting for %s: %r" % (what, s["failures"]))
            if predicate(s):
                return s
            if time.monotonic() > deadline:
                self.fail("timed out waiting for %s: %r\nserver:\n%s"
                          % (what, s, self.gh.stderr_text()[-1500:]))
            time.sleep(0.02)

    @staticmethod
    def calls_with(s, thumbprint=None, kid=None):
        return sum(n for (tp, k), n in s["by_key"].items()
                   if (thumbprint is None or tp == thumbprint) and (kid is None or k == kid))

    def token_url(self):
        return "%s/%s/oauth2/v2.0/token" % (self.public_url, self.tenant)

    def fresh_assertion(self, cert):
        """A client assertion signed with `cert`'s key as MSAL builds it (RS256, x5t)."""
        import jwt

        now = int(time.time())
        claims = {"aud": self.token_url(), "iss": self.partner, "sub": self.partner,
                  "jti": str(uuid.uuid4()), "nbf": now, "iat": now, "exp": now + 600}
        return jwt.encode(claims, cert["key_text"], algorithm="RS256",
                          headers={"x5t": b64url(hashlib.sha1(cert["der"]).digest())})

    def post_token(self, form):
        req = urllib.request.Request(self.token_url(), data=urllib.parse.urlencode(form).encode(),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(req, context=harness.tls_context(self.ca),
                                        timeout=30) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def assert_key_not_found(self, body, thumbprint):
        self.assertEqual(body["error"], "invalid_client", body)
        self.assertEqual(body["error_codes"], [700027], body)
        self.assertTrue(body["error_description"].startswith("AADSTS700027: "), body)
        self.assertIn("The key was not found.", body["error_description"])
        self.assertIn(thumbprint, body["error_description"])

    def msal_app(self, cert):
        """MSAL Python with `cert`'s key, as the partner would build it."""
        return e2e_support.msal_client(
            self, self.partner,
            {"private_key": cert["key_text"], "thumbprint": cert["thumbprint"]},
            "%s/%s" % (self.public_url, self.tenant), self.ca)

    def keys_fetches(self):
        """How often the key set was fetched: only the gateway's openid-config cache reads it
        (MSAL reads discovery, never the keys)."""
        return sum(1 for line in self.gh.stdout_json()
                   if line.get("path", "").endswith("/discovery/v2.0/keys"))

    def api_call(self, token):
        port = int(self.public_url.rsplit(":", 1)[1])
        return harness.request(port, "GET", "/orders", [("Authorization", "Bearer " + token)],
                               tls=harness.tls_context(self.ca), server_hostname="localhost")

    # --- 1. the client's certificate ---------------------------------------------------------------

    def test_1_certificate_rotation_under_load_has_no_failed_call(self):
        a, b = self.certs["a"], self.certs["b"]
        gen = self.start_load()
        self.wait_for(gen, "calls with A", lambda s: self.calls_with(s, a["thumbprint"]) >= 40)

        # B is added: both are registered; the client still uses A.
        self.run_cli("app", "cert", "add", self.partner, b["pem"], "--name", "b")
        base = gen.snapshot()["ok"]
        self.wait_for(gen, "calls with A and B registered", lambda s: s["ok"] >= base + 40)

        # The client switches: the credential file is replaced; every worker moves to B.
        self.install_credential("b")
        s = self.wait_for(gen, "every worker on B", lambda s: (
            len(s["worker_generation"]) == gen.workers
            and all(g >= 2 for g in s["worker_generation"].values())
            and self.calls_with(s, b["thumbprint"]) >= 20))
        with_a = self.calls_with(s, a["thumbprint"])

        # A is removed while B carries the load.
        r = self.run_cli("app", "cert", "remove", self.partner, a["thumbprint"])
        self.assertIn(a["thumbprint"], r.stdout)
        base_b = self.calls_with(gen.snapshot(), b["thumbprint"])
        self.wait_for(gen, "calls with B alone",
                      lambda s: self.calls_with(s, b["thumbprint"]) >= base_b + 60)
        gen.stop()
        s = gen.snapshot()
        self.assertEqual(s["failures"], [])
        self.assertEqual(s["failed"], 0)
        self.assertEqual(self.calls_with(s, a["thumbprint"]), with_a, "A used after the switch")
        self.assertEqual(set(tp for tp, _ in s["by_key"]), {a["thumbprint"], b["thumbprint"]})

        # A fresh assertion signed with A, now: refused at once, as Entra does.
        status, body = self.post_token({
            "grant_type": "client_credentials", "client_id": self.partner, "scope": SCOPE,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": self.fresh_assertion(a)})
        self.assertEqual(status, 401, body)
        self.assert_key_not_found(body, a["thumbprint"])
        # MSAL with A gets the same answer...
        refused = self.msal_app(a).acquire_token_for_client([SCOPE])
        self.assertNotIn("access_token", refused)
        self.assert_key_not_found(refused, a["thumbprint"])
        # ...and so does the README's `gatehouse token get` (PS256, x5t#S256).
        r = self.run_cli("token", "get", "--authority", self.public_url, "--tenant", self.tenant,
                         "--client-id", self.partner, "--cert", a["bundle"], "--scope", SCOPE,
                         "--ca", self.ca, check=False)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("HTTP 401: AADSTS700027", r.stderr)
        self.assertEqual(r.stdout, "")
        # The directory holds B alone.
        shown = json.loads(self.run_cli("app", "show", self.partner, "--json").stdout)
        self.assertEqual([c["thumbprint"] for c in shown["certificates"]], [b["thumbprint"]])

    # --- 2. the token service's signing key ----------------------------------------------------------

    def test_2_signing_key_rotation_under_load_has_no_failed_call(self):
        keys = json.loads(self.run_cli("keys", "list", "--json").stdout)["keys"]
        states = {k["kid"]: k["state"] for k in keys}
        (signing,) = [kid for kid, st in states.items() if st == "signing"]
        (successor,) = [kid for kid, st in states.items() if st == "next"]

        gen = self.start_load()
        self.wait_for(gen, "calls signed by the current key",
                      lambda s: self.calls_with(s, kid=signing) >= 40)
        fetched = self.keys_fetches()
        self.assertGreaterEqual(fetched, 1, "the gateway fetched the key set at start")
        # A token signed by the current key, kept to be presented after the rotation.
        old_token = self.token_signed_now()
        self.assertEqual(self.load.kid_of(old_token), signing)

        r = self.run_cli("keys", "rotate", "--json")
        self.assertEqual(json.loads(r.stdout)["kid"], successor,
                         "a planned rotation promotes the successor published ahead")
        self.wait_for(gen, "calls signed by the new key",
                      lambda s: self.calls_with(s, kid=successor) >= 60)
        gen.stop()
        s = gen.snapshot()
        self.assertEqual(s["failures"], [])
        self.assertEqual(set(k for _, k in s["by_key"]), {signing, successor})
        # The gateway already held the new key: it did not fetch the key set again.
        self.assertEqual(self.keys_fetches(), fetched)
        # A token the old key signed keeps passing until it expires (retire_after).
        resp = self.api_call(old_token)
        self.assertEqual(resp.status, 200, resp)

    def token_signed_now(self):
        """A token from the partner's current certificate, with MSAL."""
        with open(self.credential_file) as f:
            text = f.read()
        cert = self.certs["a" if self.certs["a"]["key_text"] in text else "b"]
        r = self.msal_app(cert).acquire_token_for_client([SCOPE])
        self.assertIn("access_token", r, r)
        return r["access_token"]


if __name__ == "__main__":
    unittest.main()
