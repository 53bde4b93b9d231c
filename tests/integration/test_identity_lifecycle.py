"""Credential and signing-key lifecycle of the identity role, end to end with the real binary and
the real clients (MSAL Python 1.21, msal-node through tests/clients/entra_client.mjs, and
`gatehouse token get`), every token verified with PyJWT against the JWKS that v2 discovery
advertises:

- overlapping client certificates: A and B both work; once A is removed through the admin API
  the next request signed with A gets 401 invalid_client AADSTS700027 at once (no restart, no
  wait) while B keeps working; a removed secret stops working at once despite the token
  endpoint's verified-secret cache;
- planned key rotations never fail a validator that caches the JWKS (fetched once, or refreshed
  on its own schedule between rotations), while tokens are requested concurrently; an emergency
  rotation makes older tokens fail against a freshly fetched JWKS.
"""

import base64
import hashlib
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid
from unittest import mock

from harness import Conn, Gatehouse, _openssl, free_port, gatehouse_bin, make_pki, request
from harness import require_tool

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS = os.path.abspath(os.path.join(HERE, "..", "clients"))

TENANT = "4d1c8e2a-6f3b-4a7d-9e15-b8c0f2a6d934"
API = "9a3e7c1f-2b5d-4e8a-b6c4-0d7f1e3a5c92"  # api://orders, v2 tokens
CERT_CLIENT = "c1e5a9d3-7b2f-4c6e-8a0d-4f9b3e7c1a58"  # certificates A then B; admin-API secrets
ROT_CLIENT = "e7b3d1f9-5c8a-4e2b-9d6f-1a4c8e2b6d73"  # the key-rotation client
SCOPE = "api://orders/.default"
ROT_SECRET = "gh-test-rot-secret-" + uuid.uuid4().hex
KEY_NOT_FOUND = 700027
BAD_SECRET = 7000215


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def node_available():
    return shutil.which("node") and os.path.isdir(os.path.join(CLIENTS, "node_modules", "@azure"))


def make_client_cert(d, name):
    """Self-signed RSA 2048, as Entra apps register them: name.key, name.crt, name.pem (both)."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key",
             "-out", name + ".crt", "-days", "30", "-subj", "/CN=" + name, cwd=d)
    paths = {ext: os.path.join(d, "%s.%s" % (name, ext)) for ext in ("key", "crt", "pem")}
    with open(paths["key"]) as k, open(paths["crt"]) as c:
        paths["key_text"], paths["crt_text"] = k.read(), c.read()
    with open(paths["pem"], "w") as out:
        out.write(paths["key_text"] + paths["crt_text"])
    paths["der"] = ssl.PEM_cert_to_DER_cert(paths["crt_text"])
    paths["thumbprint"] = hashlib.sha1(paths["der"]).hexdigest().upper()
    return paths


class JwksValidator:
    """A relying party that caches the tenant's v2 JWKS: it fetches discovery and the key set only
    when refresh() is called (never on an unknown kid), like a validator with a 24 h cache."""

    def __init__(self, tc):
        self.tc = tc
        self.lock = threading.Lock()
        self.refresh()

    def refresh(self):
        import jwt  # python3-jwt
        from cryptography import x509

        doc = self.tc.get_json("/%s/v2.0/.well-known/openid-configuration" % TENANT)
        self.tc.assertEqual(doc["issuer"], "%s/%s/v2.0" % (self.tc.authority_host, TENANT))
        self.tc.assertTrue(doc["jwks_uri"].startswith(self.tc.authority_host + "/"), doc)
        jwks = self.tc.get_json(doc["jwks_uri"][len(self.tc.authority_host):])
        keys = {}
        for k in jwks["keys"]:
            der = base64.b64decode(k["x5c"][0])
            # Entra's promise that validators rely on: kid == x5t == base64url(SHA-1(x5c[0])).
            self.tc.assertEqual(k["kid"], k["x5t"], k)
            self.tc.assertEqual(k["x5t"], b64url(hashlib.sha1(der).digest()), k)
            self.tc.assertEqual(k["use"], "sig")
            self.tc.assertNotIn(k["kid"], keys, "duplicate kid in the JWKS")
            key = jwt.PyJWK(k).key
            # The certificate in x5c carries the very key of n/e (or x/y).
            self.tc.assertEqual(
                x509.load_der_x509_certificate(der).public_key().public_numbers(),
                key.public_numbers())
            keys[k["kid"]] = key
        self.tc.assertGreaterEqual(len(keys), 2, "a JWKS always holds the successor as well")
        with self.lock:
            self.issuer = doc["issuer"]
            self.keys = keys

    def snapshot(self):
        with self.lock:
            return self.issuer, self.keys

    @staticmethod
    def check(held, token, client_id):
        """The claims, or raises: the kid must be in `held` (issuer, keys), the signature, issuer,
        audience and lifetime valid."""
        import jwt

        issuer, keys = held
        header = jwt.get_unverified_header(token)
        kid = header.get("kid")
        if kid not in keys:
            raise LookupError("kid %r is not in the JWKS the validator holds" % kid)
        if "x5t" in header and header["x5t"] != kid:
            raise ValueError("header x5t %r != kid %r" % (header["x5t"], kid))
        claims = jwt.decode(token, keys[kid], algorithms=["RS256", "ES256"], audience=API,
                            issuer=issuer, options={"require": ["exp", "iat", "nbf"]})
        if (claims.get("ver"), claims.get("azp"), claims.get("tid")) != ("2.0", client_id, TENANT):
            raise ValueError("ver/azp/tid %r" % ((claims.get("ver"), claims.get("azp"),
                                                  claims.get("tid")),))
        return claims

    def verify(self, token, client_id):
        return self.check(self.snapshot(), token, client_id)


class TokenHammer(threading.Thread):
    """Requests tokens with ROT_CLIENT's secret over one keep-alive TLS connection as fast as it
    can (bounded) and checks each against what the validators held when it arrived."""

    MAX_TOKENS = 20000  # a bound, never reached in practice
    PAUSE = 0.002  # leaves the two cores to the server and the test's own clients

    def __init__(self, tc, validator, fixed):
        super().__init__(daemon=True)
        self.tc = tc
        self.validator = validator
        self.fixed = fixed  # the JWKS fetched once at the start, never refreshed
        self.phase = 0  # set by the test before each rotation
        self.stop = threading.Event()
        self.count = 0
        self.per_phase = {}
        self.failures = []
        self.tokens = []
        self.kids = set()

    def run(self):
        conn = None
        body = urllib.parse.urlencode({
            "grant_type": "client_credentials", "client_id": ROT_CLIENT,
            "client_secret": ROT_SECRET, "scope": SCOPE}).encode()
        headers = [("Content-Type", "application/x-www-form-urlencoded")]
        target = "/%s/oauth2/v2.0/token" % TENANT
        try:
            # Stops early on many failures: the test fails on the first one anyway.
            while (not self.stop.is_set() and self.count < self.MAX_TOKENS
                   and len(self.failures) < 20):
                if conn is None:
                    conn = Conn(self.tc.port, tls=self.tc.ctx, server_hostname="localhost")
                try:
                    # The issuer follows the Host the client used, as discovery's does.
                    r = conn.request("POST", target, headers, body, host=self.tc.authority_host[8:])
                except (EOFError, OSError):
                    conn.close()
                    conn = None
                    continue
                # What the validators hold once the token is in hand.
                phase = self.phase
                held = self.validator.snapshot()
                if r.status != 200:
                    self.failures.append("HTTP %d: %r" % (r.status, r.body[:300]))
                    continue
                token = r.json()["access_token"]
                self.count += 1
                self.per_phase[phase] = self.per_phase.get(phase, 0) + 1
                self.tokens.append(token)
                try:
                    claims = JwksValidator.check(held, token, ROT_CLIENT)
                    if claims.get("azpacr") != "1":
                        self.failures.append("azpacr %r" % claims.get("azpacr"))
                    self.kids.add(self.tc.kid_of(token))
                    # Before the second rotation starts, the JWKS fetched once at the start
                    # holds the signer (the first one or the successor it already published).
                    if phase < 2:
                        JwksValidator.check(self.fixed, token, ROT_CLIENT)
                except Exception as e:  # noqa: BLE001 - every failure is recorded and asserted
                    self.failures.append("phase %d: %s: %s" % (phase, type(e).__name__, e))
                time.sleep(self.PAUSE)
        finally:
            if conn is not None:
                conn.close()

    def wait_for(self, n, phase, timeout=20.0):
        deadline = time.monotonic() + timeout
        while self.per_phase.get(phase, 0) < n:
            if not self.is_alive() or time.monotonic() > deadline:
                self.tc.fail("token requests stalled in phase %d: %r, failures %r"
                             % (phase, self.per_phase, self.failures[:5]))
            time.sleep(0.01)


class IdentityLifecycle(unittest.TestCase):
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        require_tool("openssl")
        cls.dir = tempfile.mkdtemp(prefix="gh-idlc-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.pki = make_pki(cls.dir)
        cls.cert_a = make_client_cert(cls.dir, "client-a")
        cls.cert_b = make_client_cert(cls.dir, "client-b")
        cls.cert_rot = make_client_cert(cls.dir, "client-rot")
        cls.port = free_port()
        cls.admin_port = free_port()
        cls.authority_host = "https://127.0.0.1:%d" % cls.port
        cls.token_url = "%s/%s/oauth2/v2.0/token" % (cls.authority_host, TENANT)
        config = {
            "workers": 2,
            "listeners": [{
                "name": "public", "address": "127.0.0.1:%d" % cls.port,
                "tls": {"certificates": [{"cert": cls.pki["server"] + ".pem",
                                          "key": cls.pki["server"] + ".key"}]}}],
            "admin": {"address": "127.0.0.1:%d" % cls.admin_port},
            "apis": [{"name": "none", "path": "/api", "backend_url": "http://127.0.0.1:9"}],
            "identity": {
                "data_dir": os.path.join(cls.dir, "data"),
                "audit_log": "off",
                "tenants": [{
                    "id": TENANT, "name": "Fabrikam",
                    "applications": [
                        {"client_id": API, "name": "orders-api",
                         "identifier_uris": ["api://orders"], "access_token_version": 2,
                         "roles": [{"value": "Orders.Read"}]},
                        {"client_id": CERT_CLIENT, "name": "orders-client",
                         "certificates": [{"file": cls.cert_a["crt"], "name": "cert-a"}],
                         "assignments": [{"resource": "api://orders", "role": "Orders.Read"}]},
                        {"client_id": ROT_CLIENT, "name": "rotation-client",
                         "certificates": [{"file": cls.cert_rot["crt"], "name": "rot"}],
                         "secrets": [{"name": "ci", "value_env": "GH_TEST_ROT_SECRET"}]},
                    ],
                }],
            },
        }
        cls.gh = Gatehouse(cls, config, workdir=cls.dir, env={"GH_TEST_ROT_SECRET": ROT_SECRET})
        with open(os.path.join(cls.dir, "data", "admin.token")) as f:
            cls.admin_token = f.read().strip()
        cls.ca = cls.pki["ca"] + ".pem"
        cls.ctx = ssl.create_default_context(cafile=cls.ca)

    # --- helpers --------------------------------------------------------------------------------

    def get_json(self, path):
        with urllib.request.urlopen(self.authority_host + path, context=self.ctx) as r:
            return json.load(r)

    @staticmethod
    def kid_of(token):
        import jwt

        return jwt.get_unverified_header(token)["kid"]

    def admin(self, method, path, body=None):
        headers = [("Authorization", "Bearer " + self.admin_token)]
        data = b""
        if body is not None:
            data = json.dumps(body).encode()
            headers.append(("Content-Type", "application/json"))
        return request(self.admin_port, method, path, headers, data)

    def app_path(self, client_id, *rest):
        return "/".join(["/v1/tenants", TENANT, "applications", client_id] + list(rest))

    def rotate(self, emergency):
        r = self.admin("POST", "/v1/keys/rotate", {"emergency": emergency})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["state"], "signing", r)
        return r.json()["kid"]

    def signing_keys(self):
        r = self.admin("GET", "/v1/keys")
        self.assertEqual(r.status, 200, r)
        return {k["kid"]: k["state"] for k in r.json()["keys"]}

    def post_token(self, form):
        req = urllib.request.Request(
            self.token_url, data=urllib.parse.urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(req, context=self.ctx) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def assertion(self, cert, client_id):
        """A client assertion signed with `cert`'s key, as MSAL builds it (RS256 + x5t)."""
        import jwt

        now = int(time.time())
        claims = {"aud": self.token_url, "iss": client_id, "sub": client_id,
                  "jti": str(uuid.uuid4()), "nbf": now, "iat": now, "exp": now + 600}
        return jwt.encode(claims, cert["key_text"], algorithm="RS256",
                          headers={"x5t": b64url(hashlib.sha1(cert["der"]).digest())})

    def msal_app(self, client_id, credential):
        import msal
        import requests

        # requests lets REQUESTS_CA_BUNDLE override `verify` (clients.md): point both at the CA.
        # The patch must cover every call: the app's requests session reads it per request.
        patch = mock.patch.dict(os.environ, {"REQUESTS_CA_BUNDLE": self.ca,
                                             "CURL_CA_BUNDLE": self.ca})
        patch.start()
        self.addCleanup(patch.stop)
        session = requests.Session()  # ours, so that its connections are closed at the end
        session.verify = self.ca
        self.addCleanup(session.close)
        return msal.ConfidentialClientApplication(
            client_id, authority="%s/%s" % (self.authority_host, TENANT),
            client_credential=credential, instance_discovery=False, http_client=session)

    def msal_cert_app(self, client_id, cert):
        return self.msal_app(client_id, {"private_key": cert["key_text"],
                                         "thumbprint": cert["thumbprint"],
                                         "public_certificate": cert["crt_text"]})

    def msal_token(self, app):
        """MSAL Python 1.21's acquire_token_for_client always asks the server (no cache lookup)
        and re-sends the assertion it made for ~10 minutes."""
        r = app.acquire_token_for_client([SCOPE])
        self.assertIn("access_token", r, r)
        return r["access_token"]

    def node(self, scenario, cert):
        if not node_available():
            self.fail("tests/clients/node_modules missing: run scripts/bootstrap")
        env = dict(os.environ)
        env.update({
            "AUTHORITY_HOST": self.authority_host, "TENANT_ID": TENANT, "CLIENT_ID": CERT_CLIENT,
            "CLIENT_CERT": cert["pem"], "SCOPE": SCOPE, "EXPECT_AUD": API, "CALLS": "1",
            "NODE_EXTRA_CA_CERTS": self.ca,
        })
        r = subprocess.run(["node", os.path.join(CLIENTS, "entra_client.mjs"), scenario],
                           capture_output=True, env=env, timeout=60, cwd=CLIENTS)
        lines = [l for l in r.stdout.decode().splitlines() if l.startswith("{")]
        self.assertTrue(lines, "no result from %s: %s" % (scenario, r.stderr.decode()[-2000:]))
        out = json.loads(lines[-1])
        self.assertTrue(out["ok"], "%s: %s\nstderr:\n%s"
                        % (scenario, out, self.gh.stderr_text()[-1500:]))
        return out["tokens"]

    def cli_token(self, cert, check=True):
        r = subprocess.run(
            [gatehouse_bin(), "token", "get", "--authority", self.authority_host,
             "--tenant", TENANT, "--client-id", CERT_CLIENT, "--cert", cert["pem"],
             "--scope", SCOPE, "--ca", self.ca, "--json"],
            capture_output=True, text=True, timeout=30)
        if check:
            self.assertEqual(r.returncode, 0, r.stderr)
            return json.loads(r.stdout)["access_token"]
        return r

    def assert_key_not_found(self, body, thumbprint):
        self.assertEqual(body["error"], "invalid_client", body)
        self.assertEqual(body["error_codes"], [KEY_NOT_FOUND], body)
        self.assertTrue(body["error_description"].startswith("AADSTS700027: "), body)
        self.assertIn("The key was not found.", body["error_description"])
        self.assertIn(thumbprint, body["error_description"])

    # --- 1. overlapping client certificates; removal is immediate -------------------------------

    def test_certificate_overlap_then_removal_takes_effect_at_once(self):
        validator = JwksValidator(self)
        a, b = self.cert_a, self.cert_b

        # A, declared in the configuration, works with MSAL Python.
        app_a = self.msal_cert_app(CERT_CLIENT, a)
        claims = validator.verify(self.msal_token(app_a), CERT_CLIENT)
        self.assertEqual((claims["azpacr"], claims["roles"]), ("2", ["Orders.Read"]))

        # B is added through the admin API: both work.
        r = self.admin("POST", self.app_path(CERT_CLIENT, "certificates"),
                       {"certificate": b["crt_text"], "display_name": "cert-b"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["thumbprint"], b["thumbprint"])
        self.assertEqual(r.json()["x5t"], b64url(hashlib.sha1(b["der"]).digest()))
        (node_b,) = self.node("msal-node-cert-sha256", b)  # PS256 + x5t#S256; jose-verified
        self.assertEqual(node_b["claims"]["azp"], CERT_CLIENT)
        self.assertEqual(node_b["claims"]["azpacr"], "2")
        validator.verify(self.cli_token(b), CERT_CLIENT)
        validator.verify(self.msal_token(app_a), CERT_CLIENT)  # A still, same assertion reused

        # A is removed by thumbprint (lower case: any case is accepted).
        r = self.admin("DELETE", self.app_path(CERT_CLIENT, "certificates", a["thumbprint"].lower()))
        self.assertEqual(r.status, 204, r)

        # The very next request signed with A: MSAL re-sends the assertion the server accepted a
        # moment ago, and it is refused now. (A 401 is not cached by MSAL's throttling layer.)
        refused = app_a.acquire_token_for_client([SCOPE])
        self.assertNotIn("access_token", refused)
        self.assert_key_not_found(refused, a["thumbprint"])
        # A fresh assertion signed with A: the same, as a 401 with Entra's shape.
        status, body = self.post_token({
            "grant_type": "client_credentials", "client_id": CERT_CLIENT, "scope": SCOPE,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": self.assertion(a, CERT_CLIENT)})
        self.assertEqual(status, 401, body)
        self.assert_key_not_found(body, a["thumbprint"])
        # `gatehouse token get` with A fails too (PS256 + x5t#S256 this time).
        r = self.cli_token(a, check=False)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("HTTP 401", r.stderr)
        self.assertIn("AADSTS700027", r.stderr)

        # B keeps working, with every client.
        validator.verify(self.cli_token(b), CERT_CLIENT)
        app_b = self.msal_cert_app(CERT_CLIENT, b)
        validator.verify(self.msal_token(app_b), CERT_CLIENT)
        (node_b,) = self.node("msal-node-cert-sha1", b)  # RS256 + x5t
        self.assertEqual(node_b["claims"]["azp"], CERT_CLIENT)
        certs = self.admin("GET", self.app_path(CERT_CLIENT)).json()["certificates"]
        self.assertEqual([c["thumbprint"] for c in certs], [b["thumbprint"]])

        # Registering A again takes effect at once too, for the same MSAL instance: its 401s were
        # not cached, and it still re-sends the assertion it made at the start.
        r = self.admin("POST", self.app_path(CERT_CLIENT, "certificates"),
                       {"certificate": a["crt_text"], "display_name": "cert-a-again"})
        self.assertEqual(r.status, 201, r)
        validator.verify(self.msal_token(app_a), CERT_CLIENT)

    def test_removed_secret_stops_at_once_despite_the_verified_secret_cache(self):
        validator = JwksValidator(self)
        created = []
        for name in ("old", "new"):
            r = self.admin("POST", self.app_path(CERT_CLIENT, "secrets"),
                           {"display_name": name, "lifetime": "1d"})
            self.assertEqual(r.status, 201, r)
            created.append(r.json())
        old, new = created
        app_old = self.msal_app(CERT_CLIENT, old["secret_text"])
        app_new = self.msal_app(CERT_CLIENT, new["secret_text"])
        # The first use runs scrypt; the next ones are answered from the verified-secret cache.
        for _ in range(3):
            claims = validator.verify(self.msal_token(app_old), CERT_CLIENT)
            self.assertEqual(claims["azpacr"], "1")
        validator.verify(self.msal_token(app_new), CERT_CLIENT)

        r = self.admin("DELETE", self.app_path(CERT_CLIENT, "secrets", old["key_id"]))
        self.assertEqual(r.status, 204, r)

        refused = app_old.acquire_token_for_client([SCOPE])
        self.assertNotIn("access_token", refused)
        self.assertEqual(refused["error"], "invalid_client", refused)
        self.assertEqual(refused["error_codes"], [BAD_SECRET], refused)
        status, body = self.post_token({
            "grant_type": "client_credentials", "client_id": CERT_CLIENT, "scope": SCOPE,
            "client_secret": old["secret_text"]})
        self.assertEqual((status, body["error_codes"]), (401, [BAD_SECRET]), body)
        self.assertNotIn(old["secret_text"], json.dumps(body))
        # The other secret is unaffected.
        validator.verify(self.msal_token(app_new), CERT_CLIENT)
        self.assertNotIn(old["secret_text"], self.gh.stderr_text())

    # --- 2. key rotation ---------------------------------------------------------------------

    def test_planned_rotations_never_fail_a_caching_validator(self):
        rotations = 3
        validator = JwksValidator(self)  # refreshed once after each rotation, as on a schedule
        fixed = validator.snapshot()  # fetched once, never refreshed
        app_cert = self.msal_cert_app(ROT_CLIENT, self.cert_rot)
        app_secret = self.msal_app(ROT_CLIENT, ROT_SECRET)
        msal_failures = []

        def msal_round(phase):
            for app in (app_cert, app_secret):
                token = self.msal_token(app)
                try:
                    validator.verify(token, ROT_CLIENT)
                    if phase < 2:
                        JwksValidator.check(fixed, token, ROT_CLIENT)
                except Exception as e:  # noqa: BLE001 - asserted below
                    msal_failures.append("phase %d: %s" % (phase, e))

        hammer = TokenHammer(self, validator, fixed)
        hammer.start()
        self.addCleanup(hammer.join, 10)
        self.addCleanup(hammer.stop.set)
        signers = []
        try:
            for phase in range(rotations + 1):
                if phase > 0:
                    held_issuer, held_keys = validator.snapshot()
                    keys = self.signing_keys()
                    successor = [kid for kid, state in keys.items() if state == "next"]
                    self.assertEqual(len(successor), 1, keys)
                    self.assertIn(successor[0], held_keys, "the successor is published ahead")
                    hammer.phase = phase
                    kid = self.rotate(emergency=False)
                    # A planned rotation promotes the successor the validator already holds.
                    self.assertEqual(kid, successor[0])
                    signers.append(kid)
                    if phase == 2:  # why the validator must refresh within publish_ahead
                        self.assertNotIn(kid, fixed[1])
                hammer.wait_for(5, phase)
                msal_round(phase)
                hammer.wait_for(10, phase)
                if phase > 0:
                    # The validator's periodic refresh: it now also holds the new successor.
                    validator.refresh()
        finally:
            hammer.stop.set()
            hammer.join(10)
        self.assertFalse(hammer.is_alive())
        self.assertEqual(hammer.failures, [])
        self.assertEqual(msal_failures, [])
        self.assertEqual(len(set(signers)), rotations)
        # Every signer did sign tokens, and tokens from every phase still validate against the
        # current JWKS: the retired signers stay published for retire_after.
        self.assertTrue(set(signers) <= hammer.kids, (signers, hammer.kids))
        current = JwksValidator(self).snapshot()
        for token in hammer.tokens[:: max(1, len(hammer.tokens) // 200)] + hammer.tokens[-1:]:
            JwksValidator.check(current, token, ROT_CLIENT)
        states = self.signing_keys()
        self.assertEqual(states[signers[-1]], "signing")
        for kid in signers[:-1]:
            self.assertIn(kid, states)
            self.assertNotEqual(states[kid], "signing")

    def test_emergency_rotation_fails_older_tokens_against_a_fresh_jwks(self):
        stale = JwksValidator(self)
        app = self.msal_app(ROT_CLIENT, ROT_SECRET)
        before = self.msal_token(app)
        stale.verify(before, ROT_CLIENT)
        old_kids = set(stale.snapshot()[1])

        kid = self.rotate(emergency=True)
        self.assertNotIn(kid, old_kids, "an emergency key is new material")

        fresh = JwksValidator(self)
        self.assertEqual(set(fresh.snapshot()[1]) & old_kids, set(),
                         "every older key is unpublished at once")
        self.assertIn(kid, fresh.snapshot()[1])
        with self.assertRaises(LookupError):
            fresh.verify(before, ROT_CLIENT)
        # A validator still holding the old JWKS accepts it until it refreshes (keys.md says so).
        stale.verify(before, ROT_CLIENT)

        after = self.msal_token(app)
        self.assertEqual(self.kid_of(after), kid)
        claims = fresh.verify(after, ROT_CLIENT)
        self.assertEqual(claims["iss"], "%s/%s/v2.0" % (self.authority_host, TENANT))
        self.assertEqual(claims["aud"], API)
        with self.assertRaises(LookupError):
            stale.verify(after, ROT_CLIENT)  # unknown kid: a validator must re-fetch
        self.assertEqual(set(self.signing_keys()) & old_kids, set())


if __name__ == "__main__":
    unittest.main()
