"""The identity role with the real Entra client libraries, unchanged but for their authority:
MSAL Python 1.21 (Debian), msal-node, @azure/identity (certificate, secret, managed identity) and
openid-client; every token they get is verified against the JWKS that discovery advertises (PyJWT
here, npm `jose` in tests/clients/entra_client.mjs)."""

import base64
import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid
from unittest import mock

from harness import Gatehouse, _openssl, free_port, make_pki, require_tool

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS = os.path.abspath(os.path.join(HERE, "..", "clients"))

TENANT = "7c2a3d1e-5b4f-4e8a-9c61-2f0d8e4b7a15"
API_V2 = "0f6b3c2d-8a41-4d2e-b7c9-51e0a3f4d6b8"  # api://orders, v2 tokens, assignment required
API_V1 = "3e9d5a7b-1c2f-4b6e-8d40-a7f1c3e5b9d2"  # https://legacy.example/, v1 tokens
CLIENT = "5a1f7e3c-9b2d-4c8e-a6f0-d3b1e7c5a924"
MI_CLIENT = "8d4c2b6a-7e1f-4a3d-9b5c-c6e2f0a8d317"
STRANGER = "2b7e9c4d-3f1a-4e6b-8c5d-9a0f1e2d3c4b"  # no role assignment anywhere
SECRET = "gh-test-secret-" + uuid.uuid4().hex
IDENTITY_HEADER = "gh-test-identity-header-" + uuid.uuid4().hex


def node_available():
    return shutil.which("node") and os.path.isdir(os.path.join(CLIENTS, "node_modules", "@azure"))


def b64url_sha1(der):
    return base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode()


class IdentityWithRealClients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tool("openssl")
        cls.dir = tempfile.mkdtemp(prefix="gh-id-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.pki = make_pki(cls.dir)
        # The client's certificate: self-signed RSA 2048, as Entra apps register them.
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "app.key",
                 "-out", "app.crt", "-days", "30", "-subj", "/CN=orders-client", cwd=cls.dir)
        cls.app_key = os.path.join(cls.dir, "app.key")
        cls.app_crt = os.path.join(cls.dir, "app.crt")
        cls.app_pem = os.path.join(cls.dir, "app.pem")
        with open(cls.app_pem, "w") as out:
            for p in (cls.app_key, cls.app_crt):
                with open(p) as f:
                    out.write(f.read())
        with open(cls.app_crt) as f:
            cls.app_der = ssl.PEM_cert_to_DER_cert(f.read())
        cls.port = free_port()
        cls.mi_port = free_port()
        cls.authority_host = "https://127.0.0.1:%d" % cls.port
        config = {
            "workers": 2,
            "listeners": [
                {"name": "public", "address": "127.0.0.1:%d" % cls.port,
                 "tls": {"certificates": [{"cert": cls.pki["server"] + ".pem",
                                           "key": cls.pki["server"] + ".key"}]}},
                {"name": "imds", "address": "127.0.0.1:%d" % cls.mi_port},
            ],
            "apis": [{"name": "none", "path": "/api", "backend_url": "http://127.0.0.1:9"}],
            "identity": {
                "data_dir": os.path.join(cls.dir, "data"),
                # Managed-identity tokens are requested on the plain IMDS listener; their issuer
                # must still be the public one that validators discover.
                "public_url": cls.authority_host,
                "audit_log": os.path.join(cls.dir, "audit.log"),
                "managed_identity_listeners": ["imds"],
                "managed_identities": [{
                    "name": "worker", "tenant": TENANT, "client_id": MI_CLIENT,
                    "local_uids": [os.getuid()],
                    "identity_header_env": "GH_TEST_IDENTITY_HEADER",
                }],
                "tenants": [{
                    "id": TENANT, "name": "Contoso", "aliases": ["contoso.example"],
                    "applications": [
                        {"client_id": API_V2, "name": "orders-api",
                         "identifier_uris": ["api://orders"], "access_token_version": 2,
                         "assignment_required": True,
                         "roles": [{"value": "Orders.Read"}, {"value": "Orders.Write"}]},
                        {"client_id": API_V1, "name": "legacy-api",
                         "identifier_uris": ["https://legacy.example/"], "access_token_version": 1,
                         "roles": [{"value": "Legacy.Call"}]},
                        {"client_id": CLIENT, "name": "orders-client",
                         "certificates": [{"file": cls.app_crt, "name": "client-2026"}],
                         "secrets": [{"name": "ci", "value_env": "GH_TEST_CLIENT_SECRET"}],
                         "assignments": [{"resource": "api://orders", "role": "Orders.Read"},
                                         {"resource": "https://legacy.example/",
                                          "role": "Legacy.Call"}]},
                        {"client_id": STRANGER, "name": "stranger",
                         "secrets": [{"name": "ci", "value_env": "GH_TEST_CLIENT_SECRET"}]},
                        {"client_id": MI_CLIENT, "name": "worker-identity",
                         "assignments": [{"resource": "api://orders", "role": "Orders.Write"}]},
                    ],
                }],
            },
        }

        cls.gh = Gatehouse(cls, config, workdir=cls.dir, env={
            "GH_TEST_CLIENT_SECRET": SECRET, "GH_TEST_IDENTITY_HEADER": IDENTITY_HEADER})
        cls.ca = cls.pki["ca"] + ".pem"
        cls.ctx = ssl.create_default_context(cafile=cls.ca)

    # --- helpers ----------------------------------------------------------------------------

    def get_json(self, path):
        with urllib.request.urlopen(self.authority_host + path, context=self.ctx) as r:
            return json.load(r)

    def verify(self, token, audience):
        """Signature against the JWKS from discovery, issuer from the matching discovery doc."""
        import jwt  # python3-jwt

        unverified = jwt.decode(token, options={"verify_signature": False})
        doc = self.get_json("/%s%s/.well-known/openid-configuration" % (
            TENANT, "/v2.0" if unverified.get("ver") == "2.0" else ""))
        jwks = self.get_json(doc["jwks_uri"][len(self.authority_host):])
        kid = jwt.get_unverified_header(token)["kid"]
        key = next(k for k in jwks["keys"] if k["kid"] == kid)
        self.assertEqual(key["x5t"], b64url_sha1(base64.b64decode(key["x5c"][0])))
        public = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(key))
        return jwt.decode(token, public, algorithms=["RS256"], audience=audience,
                          issuer=doc["issuer"])

    def node(self, scenario, extra_env=None):
        if not node_available():
            self.skipTest("tests/clients/node_modules missing: run scripts/bootstrap")
        env = dict(os.environ)
        env.update({
            "AUTHORITY_HOST": self.authority_host, "TENANT_ID": TENANT, "CLIENT_ID": CLIENT,
            "CLIENT_CERT": self.app_pem, "CLIENT_SECRET": SECRET, "SCOPE": "api://orders/.default",
            "EXPECT_AUD": API_V2, "NODE_EXTRA_CA_CERTS": self.ca, "MI_CLIENT_ID": MI_CLIENT,
        })
        env.update(extra_env or {})
        r = subprocess.run(["node", os.path.join(CLIENTS, "entra_client.mjs"), scenario],
                           capture_output=True, env=env, timeout=120, cwd=CLIENTS)
        lines = [l for l in r.stdout.decode().splitlines() if l.startswith("{")]
        self.assertTrue(lines, "no result from %s: %s" % (scenario, r.stderr.decode()[-2000:]))
        out = json.loads(lines[-1])
        if not out["ok"]:
            log = self.gh.access_log_raw().decode("utf-8", "replace")[-1500:]
            self.fail("%s failed: %s\naccess log:\n%s\nstderr:\n%s"
                      % (scenario, out, log, self.gh.stderr_text()[-1500:]))
        return out["tokens"]

    def msal_python(self, credential, scopes=("api://orders/.default",), calls=2):
        import msal

        # requests lets REQUESTS_CA_BUNDLE override `verify` (clients.md): point both at the CA.
        with mock.patch.dict(os.environ, {"REQUESTS_CA_BUNDLE": self.ca, "CURL_CA_BUNDLE": self.ca}):
            app = msal.ConfidentialClientApplication(
                CLIENT, authority="%s/%s" % (self.authority_host, TENANT),
                client_credential=credential, instance_discovery=False, verify=self.ca)
            results = [app.acquire_token_for_client(list(scopes)) for _ in range(calls)]
        for r in results:
            self.assertIn("access_token", r, r)
        return [r["access_token"] for r in results]

    def assert_v2_app_token(self, claims, acr, roles):
        self.assertEqual(claims["ver"], "2.0")
        self.assertEqual(claims["aud"], API_V2)
        self.assertEqual(claims["tid"], TENANT)
        self.assertEqual(claims["azpacr"], acr)
        self.assertEqual(sorted(claims.get("roles", [])), sorted(roles))
        self.assertEqual(claims["oid"], claims["sub"])
        self.assertEqual(claims["iat"], claims["nbf"])
        self.assertGreater(claims["exp"] - claims["iat"], 3000)

    # --- MSAL Python 1.21 ------------------------------------------------------------------

    def test_msal_python_certificate_reuses_its_assertion(self):
        thumb = hashlib.sha1(self.app_der).hexdigest().upper()
        with open(self.app_key) as k, open(self.app_crt) as c:
            cred = {"private_key": k.read(), "thumbprint": thumb, "public_certificate": c.read()}
        tokens = self.msal_python(cred, calls=2)  # 1.21 re-sends the same assertion (same jti)
        for t in tokens:
            claims = self.verify(t, API_V2)
            self.assert_v2_app_token(claims, "2", ["Orders.Read"])
            self.assertEqual(claims["azp"], CLIENT)

    def test_msal_python_secret(self):
        claims = self.verify(self.msal_python(SECRET, calls=1)[0], API_V2)
        self.assert_v2_app_token(claims, "1", ["Orders.Read"])

    def test_msal_python_v1_resource_gets_a_v1_token(self):
        token = self.msal_python(SECRET, scopes=("https://legacy.example//.default",), calls=1)[0]
        claims = self.verify(token, "https://legacy.example/")
        self.assertEqual(claims["ver"], "1.0")
        self.assertEqual(claims["appid"], CLIENT)
        self.assertEqual(claims["appidacr"], "1")
        self.assertEqual(claims["iss"], "%s/%s/" % (self.authority_host, TENANT))
        self.assertEqual(claims["roles"], ["Legacy.Call"])

    # --- msal-node, @azure/identity, openid-client --------------------------------------------

    def test_msal_node_ps256_with_sha256_thumbprint(self):
        tokens = self.node("msal-node-cert-sha256")
        self.assertEqual(len(tokens), 2)
        for t in tokens:
            self.assert_v2_app_token(t["claims"], "2", ["Orders.Read"])
            self.assertEqual(t["header"]["alg"], "RS256")

    def test_msal_node_rs256_with_sha1_thumbprint(self):
        for t in self.node("msal-node-cert-sha1"):
            self.assert_v2_app_token(t["claims"], "2", ["Orders.Read"])

    def test_msal_node_secret(self):
        for t in self.node("msal-node-secret"):
            self.assert_v2_app_token(t["claims"], "1", ["Orders.Read"])

    def test_azure_identity_certificate_credential(self):
        (t,) = self.node("azid-cert")
        self.assert_v2_app_token(t["claims"], "2", ["Orders.Read"])

    def test_azure_identity_secret_credential(self):
        (t,) = self.node("azid-secret")
        self.assert_v2_app_token(t["claims"], "1", ["Orders.Read"])

    def test_azure_identity_managed_identity_over_imds(self):
        (t,) = self.node("azid-managed-identity", {
            "AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:%d" % self.mi_port})
        self.assertEqual(t["claims"]["azp"], MI_CLIENT)
        self.assert_v2_app_token(t["claims"], "2", ["Orders.Write"])

    def test_azure_identity_managed_identity_over_app_service(self):
        (t,) = self.node("azid-managed-identity", {
            "IDENTITY_ENDPOINT": "http://127.0.0.1:%d/msi/token" % self.mi_port,
            "IDENTITY_HEADER": IDENTITY_HEADER})
        self.assertEqual(t["claims"]["azp"], MI_CLIENT)

    def test_openid_client_basic_and_post(self):
        for scenario in ("openid-client-basic", "openid-client-post"):
            (t,) = self.node(scenario)
            self.assert_v2_app_token(t["claims"], "1", ["Orders.Read"])

    # --- the wire, directly --------------------------------------------------------------------

    def post_token(self, form, path=None, headers=None):
        body = urllib.parse.urlencode(form).encode()
        req = urllib.request.Request(
            self.authority_host + (path or "/%s/oauth2/v2.0/token" % TENANT), data=body,
            headers=dict({"Content-Type": "application/x-www-form-urlencoded"}, **(headers or {})))
        try:
            with urllib.request.urlopen(req, context=self.ctx) as r:
                return r.status, dict(r.headers), json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), json.load(e)

    def test_token_request_body_split_across_reads(self):
        # Part of the form arrives with the head and is parsed at once; the rest comes later.
        body = urllib.parse.urlencode({
            "grant_type": "client_credentials", "client_id": CLIENT, "client_secret": SECRET,
            "scope": "api://orders/.default"}).encode()
        head = ("POST /%s/oauth2/v2.0/token HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n"
                "Connection: close\r\n\r\n" % (TENANT, self.port, len(body))).encode()
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as raw:
            with self.ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(head + body[:20])
                time.sleep(0.05)
                tls.sendall(body[20:])
                response = b""
                while chunk := tls.recv(65536):
                    response += chunk
        status_line, _, rest = response.partition(b"\r\n")
        self.assertIn(b" 200 ", status_line, response[:300])
        self.assertIn("access_token", json.loads(rest.partition(b"\r\n\r\n")[2]))

    def test_wrong_secret_is_entra_shaped_401(self):
        status, headers, body = self.post_token({
            "grant_type": "client_credentials", "client_id": CLIENT,
            "client_secret": "not-the-secret", "scope": "api://orders/.default"},
            headers={"client-request-id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427"})
        self.assertEqual(status, 401)
        self.assertEqual(body["error"], "invalid_client")
        self.assertEqual(body["error_codes"], [7000215])
        self.assertTrue(body["error_description"].startswith("AADSTS7000215: "))
        self.assertEqual(body["correlation_id"], "1b4e28ba-2fa1-11d2-883f-0016d3cca427")
        self.assertEqual(headers.get("x-ms-request-id"), body["trace_id"])
        self.assertNotIn("not-the-secret", json.dumps(body))
        self.assertNotIn("not-the-secret", self.gh.stderr_text())

    def test_unassigned_client_gets_501051_where_assignment_is_required(self):
        status, _, body = self.post_token({
            "grant_type": "client_credentials", "client_id": STRANGER, "client_secret": SECRET,
            "scope": "api://orders/.default"})
        self.assertEqual(status, 400, body)
        self.assertEqual(body["error_codes"], [501051])
        # The legacy API does not require assignment: a token without roles.
        status, _, body = self.post_token({
            "grant_type": "client_credentials", "client_id": STRANGER, "client_secret": SECRET,
            "scope": "https://legacy.example//.default"})
        self.assertEqual(status, 200, body)
        claims = self.verify(body["access_token"], "https://legacy.example/")
        self.assertNotIn("roles", claims)

    def test_tenant_alias_and_unknown_tenant(self):
        form = {"grant_type": "client_credentials", "client_id": CLIENT, "client_secret": SECRET,
                "scope": "api://orders/.default"}
        status, _, body = self.post_token(form, path="/contoso.example/oauth2/v2.0/token")
        self.assertEqual(status, 200, body)
        self.assertEqual(self.verify(body["access_token"], API_V2)["tid"], TENANT)
        status, _, body = self.post_token(form, path="/%s/oauth2/v2.0/token" % uuid.uuid4())
        self.assertEqual((status, body["error"], body["error_codes"]),
                         (400, "invalid_request", [90002]))

    def test_audit_log_records_issuance_and_failure_without_secrets(self):
        self.msal_python(SECRET, calls=1)
        self.post_token({"grant_type": "client_credentials", "client_id": CLIENT,
                         "client_secret": "wrong-" + SECRET, "scope": "api://orders/.default"})
        deadline = time.monotonic() + 5
        while True:  # the audit log is flushed every 200 ms
            with open(os.path.join(self.dir, "audit.log")) as f:
                text = f.read()
            events = [json.loads(l) for l in text.splitlines() if l.strip()]
            issued = [e for e in events if e.get("outcome") == "issued" and e.get("client_id") == CLIENT]
            failed = [e for e in events if e.get("outcome") == "failed" and e.get("aadsts") == 7000215]
            if (issued and failed) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertTrue(issued, events[-3:])
        self.assertTrue(failed, events[-3:])
        self.assertEqual(issued[-1]["method"], "secret")
        self.assertEqual(failed[-1]["source_ip"], "127.0.0.1")
        self.assertNotIn(SECRET, text)


if __name__ == "__main__":
    unittest.main()
