"""examples/third-party-certificates end to end, with the example's files unchanged:

HAProxy (the Application Gateway's role) terminates TLS with a certificate from a CA this test
makes and forwards plain HTTP to Gatehouse, which serves the identity role (public_url = the
front's origin, so the token endpoint too is reached through the front) and the orders API behind
APIM's validate-jwt (openid-config read through the front). The partner makes its own key pair
with `gatehouse cert new`; the operator adds only the public certificate with `gatehouse app cert
add` over the admin API; the partner gets a token with MSAL Python (certificate credential) and
calls the API: 200, and the backend learns the caller's client id and the client's address.

Refused with APIM's 401 (exact body): a token the same app obtained with a client secret
(azpacr 1), a token for another audience (api://reports), a token of an app holding another role
of the orders API, no token. Each refusal's reason is in the access log.
"""

import base64
import hashlib
import json
import os
import ssl
import subprocess
import sys
import unittest
import urllib.error
import urllib.request
import uuid

import e2e_support
from e2e_support import harness

EXAMPLE = e2e_support.example("third-party-certificates")
INVALID_JWT = b'{ "statusCode": 401, "message": "Invalid JWT." }'
NO_JWT = b'{ "statusCode": 401, "message": "JWT not present." }'


def claims_of(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class ThirdPartyCertificates(unittest.TestCase):
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        harness.require_tool("openssl")
        harness.require_tool("haproxy")
        cls.dir = harness.temp_dir(cls, "gh-e2e-3p-")
        d = cls.dir

        # The front's certificate, from a CA of our own (HAProxy wants chain and key in one file).
        harness.make_ca(d, "front-ca")
        harness.make_cert(d, "front", "front-ca", "localhost", "DNS:localhost,IP:127.0.0.1")
        cls.ca = os.path.join(d, "front-ca.pem")
        front_bundle = os.path.join(d, "front-bundle.pem")
        with open(front_bundle, "w") as out:
            for part in ("front.pem", "front.key"):
                with open(os.path.join(d, part)) as f:
                    out.write(f.read())

        cls.backend = harness.TestBackend(cls)
        front_port, gh_port, admin_port = (harness.free_port() for _ in range(3))
        cls.front_port = front_port
        cls.public_url = "https://127.0.0.1:%d" % front_port
        cls.tenant, cls.orders_api, cls.reports_api, cls.partner = (
            str(uuid.uuid4()) for _ in range(4))
        cls.env = {
            "GATEHOUSE_LISTEN": "127.0.0.1:%d" % gh_port,
            "GATEHOUSE_ADMIN": "127.0.0.1:%d" % admin_port,
            "GATEHOUSE_DATA_DIR": os.path.join(d, "data"),
            "PUBLIC_URL": cls.public_url,
            "FRONT_LISTEN": "127.0.0.1:%d" % front_port,
            "FRONT_TLS_PEM": front_bundle,
            "FRONT_CA_PEM": cls.ca,
            "TENANT_ID": cls.tenant,
            "ORDERS_API_CLIENT_ID": cls.orders_api,
            "REPORTS_API_CLIENT_ID": cls.reports_api,
            "PARTNER_CLIENT_ID": cls.partner,
            "ORDERS_BACKEND_URL": cls.backend.url + "/echo",
        }
        cls.gh = harness.GatehouseWithConfigFile(
            cls, os.path.join(EXAMPLE, "gatehouse.yaml"), cls.env,
            [("127.0.0.1", gh_port), ("127.0.0.1", admin_port)], d)
        cls.front = harness.Haproxy(cls, os.path.join(EXAMPLE, "haproxy.cfg"), d,
                                    env=dict(os.environ, **cls.env))
        cls.front.wait(front_port)

        # The admin CLI's connection (docs/cli.md), as the README exports it.
        cls.cli_env = e2e_support.admin_cli_env(admin_port, os.path.join(d, "data"),
                                                GATEHOUSE_TENANT_ID=cls.tenant)

        # The partner makes its key pair; only partner.pem leaves its hands.
        cls.partner_key, cls.partner_cert = cls.cert_new("partner")
        added = cls.cli_json("app", "cert", "add", cls.partner, cls.partner_cert,
                             "--name", "partner-2026")
        cls.partner_thumbprint = added["thumbprint"]

    # --- helpers ---------------------------------------------------------------------------------

    @classmethod
    def run_cli(cls, *args):
        return harness.run_command([harness.gatehouse_bin()] + list(args), env=cls.cli_env,
                                   cwd=cls.dir).stdout

    @classmethod
    def cli_json(cls, *args):
        return json.loads(cls.run_cli(*args, "--json"))

    @classmethod
    def cert_new(cls, name):
        """`gatehouse cert new` as the README runs it: (key file, certificate file)."""
        prefix = os.path.join(cls.dir, name)
        out = cls.run_cli("cert", "new", "--subject", "CN=" + name, "--key-type", "rsa2048",
                          "--days", "30", "--out", prefix)
        assert "key:" in out and "BEGIN" not in out, "cert new must not print the key"
        return prefix + ".key", prefix + ".pem"

    def msal_app(self, client_id, credential):
        return e2e_support.msal_client(self, client_id, credential,
                                       "%s/%s" % (self.public_url, self.tenant), self.ca)

    @staticmethod
    def cert_credential(key_file, cert_file):
        with open(key_file) as k, open(cert_file) as c:
            key, cert = k.read(), c.read()
        return {"private_key": key, "public_certificate": cert,
                "thumbprint": hashlib.sha1(ssl.PEM_cert_to_DER_cert(cert)).hexdigest()}

    def token(self, app, scope="api://orders/.default"):
        r = app.acquire_token_for_client([scope])
        self.assertIn("access_token", r, {k: v for k, v in r.items() if k != "access_token"})
        return r["access_token"]

    def call(self, token=None, path="/orders", headers=()):
        """GET through the front, like any client: (status, headers, body)."""
        hdrs = [("Host", "127.0.0.1:%d" % self.front_port)] + list(headers)
        if token is not None:
            hdrs.append(("Authorization", "Bearer " + token))
        return harness.request(self.front_port, "GET", path, hdrs,
                               tls=harness.tls_context(self.ca), server_hostname="localhost")

    def assertApim401(self, resp, body):
        self.assertEqual(resp.status, 401, resp)
        self.assertEqual(resp.header("Content-Type"), "application/json", resp)
        self.assertEqual(resp.body, body)

    def refusal_reason(self, path):
        """The access log's `error` for the request to `path` (the log is the server's stdout)."""
        lines = harness.poll(
            lambda: [l for l in self.gh.stdout_json() if path in json.dumps(l)],
            "an access-log line for " + path, timeout=5.0, interval=0.05)
        return lines[-1].get("error")

    def run_partner_client(self, *args, extra_env=None):
        env = dict(os.environ)
        env.update({
            "PUBLIC_URL": self.public_url, "TENANT_ID": self.tenant,
            "PARTNER_CLIENT_ID": self.partner, "PARTNER_KEY": self.partner_key,
            "PARTNER_CERT": self.partner_cert, "FRONT_CA_PEM": self.ca,
        })
        env.pop("REQUESTS_CA_BUNDLE", None)
        env.update(extra_env or {})
        return subprocess.run([sys.executable, os.path.join(EXAMPLE, "partner_client.py")]
                              + list(args), capture_output=True, text=True, env=env, timeout=60)

    # --- the scenario ----------------------------------------------------------------------------

    def test_1_discovery_through_the_front_names_the_front(self):
        url = "%s/%s/v2.0/.well-known/openid-configuration" % (self.public_url, self.tenant)
        with urllib.request.urlopen(url, context=harness.tls_context(self.ca), timeout=10) as r:
            doc = json.load(r)
        self.assertEqual(doc["issuer"], "%s/%s/v2.0" % (self.public_url, self.tenant))
        self.assertEqual(doc["token_endpoint"],
                         "%s/%s/oauth2/v2.0/token" % (self.public_url, self.tenant))
        self.assertTrue(doc["jwks_uri"].startswith(self.public_url + "/"), doc["jwks_uri"])
        # The admin API lists the certificate the operator added, and only the public part.
        shown = self.cli_json("app", "show", self.partner)
        self.assertEqual([c["thumbprint"] for c in shown["certificates"]],
                         [self.partner_thumbprint])

    def test_2_partner_with_certificate_calls_the_api(self):
        # The example's own client script, as the README runs it.
        r = self.run_partner_client()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("aud=%s azpacr=2 roles=Orders.Read" % self.orders_api, r.stdout)
        self.assertIn("GET %s/orders -> 200" % self.public_url, r.stdout)
        with open(self.partner_key) as f:
            key_text = f.read()
        self.assertNotIn(key_text.splitlines()[1], r.stdout + r.stderr)

        # The same with MSAL in process, checking the token and what the backend received.
        app = self.msal_app(self.partner, self.cert_credential(self.partner_key,
                                                               self.partner_cert))
        token = self.token(app)
        claims = claims_of(token)
        self.assertEqual(claims["iss"], "%s/%s/v2.0" % (self.public_url, self.tenant))
        self.assertEqual(claims["aud"], self.orders_api)
        self.assertEqual(claims["azp"], self.partner)
        self.assertEqual((claims["azpacr"], claims["roles"]), ("2", ["Orders.Read"]))
        self.backend.log(clear=True)
        # A client cannot choose what the front says about it.
        resp = self.call(token, "/orders/42", [("X-Forwarded-For", "203.0.113.9"),
                                               ("X-Client-App-Id", "forged")])
        self.assertEqual(resp.status, 200, resp)
        seen = resp.json()
        self.assertEqual(seen["target"], "/echo/orders/42")
        headers = {}
        for name, value in seen["headers"]:
            headers.setdefault(name.lower(), []).append(value)
        self.assertEqual(headers["x-client-app-id"], [self.partner])
        xff = ",".join(headers["x-forwarded-for"]).replace(" ", "")
        self.assertEqual(xff, "127.0.0.1,127.0.0.1")  # the client (via the front), the front
        # The front is a trusted proxy: its scheme stands (the client used HTTPS).
        self.assertEqual(headers["x-forwarded-proto"], ["https"])
        self.assertNotIn("203.0.113.9", json.dumps(seen))
        self.assertEqual(headers["authorization"], ["Bearer " + token])

    def test_3_token_from_a_client_secret_is_refused(self):
        created = self.cli_json("app", "secret", "add", self.partner, "--name", "legacy",
                                "--lifetime", "1d")
        secret = created["secret_text"]
        # The identity role issues it (the secret is valid) but marks it azpacr 1...
        r = self.run_partner_client("--secret", "--path", "/orders/secret",
                                    extra_env={"PARTNER_SECRET": secret})
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("azpacr=1 roles=Orders.Read", r.stdout)
        self.assertIn("-> 401", r.stdout)
        self.assertIn(INVALID_JWT.decode(), r.stdout)
        self.assertNotIn(secret, r.stdout + r.stderr)
        # ...and the gateway refuses it with APIM's 401.
        token = self.token(self.msal_app(self.partner, secret))
        self.assertEqual(claims_of(token)["azpacr"], "1")
        resp = self.call(token, "/orders/secret-again")
        self.assertApim401(resp, INVALID_JWT)
        self.assertEqual(resp.header("WWW-Authenticate"), 'Bearer error="invalid_token"')
        self.assertEqual(self.refusal_reason("/orders/secret-again"), "TokenClaimValueNotAllowed")
        self.run_cli("app", "secret", "remove", self.partner, created["key_id"])

    def test_4_token_for_another_audience_is_refused(self):
        app = self.msal_app(self.partner, self.cert_credential(self.partner_key,
                                                               self.partner_cert))
        token = self.token(app, "api://reports/.default")
        claims = claims_of(token)
        self.assertEqual((claims["aud"], claims["azpacr"], claims["roles"]),
                         (self.reports_api, "2", ["Reports.Read"]))
        resp = self.call(token, "/orders/reports-token")
        self.assertApim401(resp, INVALID_JWT)
        self.assertEqual(self.refusal_reason("/orders/reports-token"), "TokenAudienceNotAllowed")
        r = self.run_partner_client("--scope", "api://reports/.default")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(INVALID_JWT.decode(), r.stdout)

    def test_5_another_role_of_the_api_is_refused(self):
        # A second third party holds Orders.Write only; the gateway wants Orders.Read.
        created = self.cli_json("app", "create", "writer")
        writer = created["client_id"]
        key, cert = self.cert_new("writer")
        self.run_cli("app", "cert", "add", writer, cert, "--name", "writer-2026")
        self.run_cli("app", "assign", writer, "--resource", "api://orders", "--role",
                     "Orders.Write")
        token = self.token(self.msal_app(writer, self.cert_credential(key, cert)))
        claims = claims_of(token)
        self.assertEqual((claims["aud"], claims["azpacr"], claims["roles"]),
                         (self.orders_api, "2", ["Orders.Write"]))
        resp = self.call(token, "/orders/writer")
        self.assertApim401(resp, INVALID_JWT)
        self.assertEqual(self.refusal_reason("/orders/writer"), "TokenClaimValueNotAllowed")

    def test_6_no_token_and_a_forged_token(self):
        resp = self.call(None, "/orders/anonymous")
        self.assertApim401(resp, NO_JWT)
        self.assertEqual(resp.header("WWW-Authenticate"), "Bearer")
        # Signed by the partner's own key: right claims, but not the token service's key.
        forged = subprocess.run(
            [harness.gatehouse_bin(), "jwt", "sign", "--key", self.partner_key, "--alg", "RS256",
             "--claims", json.dumps({
                 "iss": "%s/%s/v2.0" % (self.public_url, self.tenant), "aud": self.orders_api,
                 "azpacr": "2", "roles": ["Orders.Read"], "exp": 4102444800})],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(forged.returncode, 0, forged.stderr)
        resp = self.call(forged.stdout.strip(), "/orders/forged")
        self.assertApim401(resp, INVALID_JWT)
        self.assertIn(self.refusal_reason("/orders/forged"),
                      ("TokenSignatureKeyNotFound", "TokenSignatureInvalid"))


if __name__ == "__main__":
    unittest.main()
