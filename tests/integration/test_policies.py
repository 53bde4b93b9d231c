"""The policy gateway end to end (issue 5): the real binary, real sockets, APIM's exact answers.

One TestCase class per area, each starting what it needs:
  Subscriptions        keys by header and query, renamed names, scopes, states, products
  Composition          global/product/API/operation with <base/>, choose, return-response,
                       on-error, documents that fail `gatehouse serve`
  JwtIndependentIssuer validate-jwt against an OpenID provider run by the test (tokens signed here)
  JwksRotationOutage   a new kid fetched once; an IdP outage with the last good keys serving
  JwtOwnIdentity       validate-jwt / validate-azure-ad-token on tokens from the identity role
  RateLimits           rate-limit-by-key and rate-limit per subscription (429, Retry-After)
  PolicyReload         a watched policy file changed (or broken) under a running gateway

Tokens are made with PyJWT and cryptography (/usr/bin/python3); no secret or token is printed.
"""

import base64
import hashlib
import http.server
import json
import os
import re
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

from harness import (
    Conn,
    Gatehouse,
    GatehouseTestCase,
    TestBackend,
    base_config,
    free_port,
    gatehouse_bin,
    make_pki,
    to_yaml,
)

MISSING_KEY_BODY = (
    b'{ "statusCode": 401, "message": "Access denied due to missing subscription key. Make sure '
    b'to include subscription key when making requests to an API." }'
)
INVALID_KEY_BODY = (
    b'{ "statusCode": 401, "message": "Access denied due to invalid subscription key. Make sure '
    b'to provide a valid key for an active subscription." }'
)
JWT_NOT_PRESENT = b'{ "statusCode": 401, "message": "JWT not present." }'
INVALID_JWT = b'{ "statusCode": 401, "message": "Invalid JWT." }'
RATE_LIMITED_RE = re.compile(
    rb'^\{ "statusCode": 429, "message": "Rate limit is exceeded. Try again in (\d+) seconds." \}$'
)


# --- helpers -------------------------------------------------------------------------------------


def write_file(path, text):
    """Replaces the file in one step (a watcher never sees it half-written)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    return path


def set_header(name, value, action="override"):
    return '<set-header name="%s" exists-action="%s"><value>%s</value></set-header>' % (
        name, action, value)


def doc(inbound=None, outbound=None, on_error=None, backend=None):
    """A policy document; a section given as None is left out (it then inherits everything)."""
    parts = ["<policies>"]
    for tag, body in (("inbound", inbound), ("backend", backend), ("outbound", outbound),
                      ("on-error", on_error)):
        if body is not None:
            parts.append("  <%s>\n    %s\n  </%s>" % (tag, body, tag))
    parts.append("</policies>\n")
    return "\n".join(parts)


def get(port, target, headers=None, host="localhost"):
    with Conn(port) as c:
        return c.request("GET", target, headers, host=host)


def seen(resp, name):
    """Values of request header `name` as the echo backend received it."""
    return [v for k, v in resp.json()["headers"] if k.lower() == name.lower()]


def poll(fn, timeout, what):
    """Calls fn() until it returns something true; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError("%s: not within %.0f s (last: %r)" % (what, timeout, last))


def rsa_key():
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key, kid):
    import jwt  # python3-jwt

    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
    return jwk


def sign(key, kid, claims):
    import jwt

    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


class OpenIdProvider:
    """A minimal OpenID provider on loopback http: discovery and a JWKS the test can change or
    take down. Counts the JWKS fetches."""

    def __init__(self, owner):
        self.keys = []
        self.jwks_fetches = 0
        self.lock = threading.Lock()
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": provider.issuer, "jwks_uri": provider.url + "/keys",
                            "id_token_signing_alg_values_supported": ["RS256"]}
                elif self.path == "/keys":
                    with provider.lock:
                        provider.jwks_fetches += 1
                        body = {"keys": list(provider.keys)}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.issuer = self.url + "/"
        self.discovery = self.url + "/.well-known/openid-configuration"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.running = True
        if isinstance(owner, type):
            owner.addClassCleanup(self.stop)
        else:
            owner.addCleanup(self.stop)

    def publish(self, *jwks):
        with self.lock:
            self.keys = list(jwks)

    def fetches(self):
        with self.lock:
            return self.jwks_fetches

    def stop(self):
        if self.running:
            self.running = False
            self.server.shutdown()
            self.server.server_close()


# --- subscriptions -------------------------------------------------------------------------------


class Subscriptions(GatehouseTestCase):
    """apim-policies.md §5: the built-in key check before inbound, scopes, states, products."""

    @classmethod
    def setUpClass(cls):
        cls.backend = TestBackend(cls)
        cls.dir = tempfile.mkdtemp(prefix="gh-subs-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.keys = {n: "k-%s-%s" % (n, uuid.uuid4().hex) for n in (
            "orders", "orders2", "gold", "all_apis", "all_access", "suspended", "billing",
            "hashed", "public")}
        # The API shows which subscription and product the request ran in.
        api_doc = doc(inbound="<base />" + set_header(
            "X-Sub-Id", '@(context.Subscription?.Id ?? "none")'))
        # Product policies: applied only in that product's context (§1.2 rule 5).
        gold = write_file(os.path.join(cls.dir, "gold.xml"), doc(
            inbound="<base />" + set_header("X-Product-Policy", "@(context.Product.Id)")))
        free = write_file(os.path.join(cls.dir, "free.xml"), doc(
            inbound="<base />" + set_header("X-Product-Policy", "@(context.Product.Name)")))
        cls.port = free_port()
        k = cls.keys
        config = base_config(cls.port, cls.backend.url)
        config["apis"] = [
            {"name": "orders", "path": "/orders", "backend": "echo",
             "subscription_required": True, "policy_xml": api_doc},
            {"name": "billing", "path": "/billing", "backend": "echo",
             "subscription_required": True, "policy_xml": api_doc,
             "subscription_key": {"header": "X-Partner-Token", "query": "partner-key"}},
            {"name": "catalog", "path": "/catalog", "backend": "echo",
             "subscription_required": True, "policy_xml": api_doc},
            {"name": "public", "path": "/public", "backend": "echo", "policy_xml": api_doc},
            {"name": "plain", "path": "/plain", "backend": "echo"},  # no policy at all
        ]
        config["products"] = [
            {"id": "gold", "name": "Gold", "subscription_required": True,
             "apis": ["orders"], "policy": gold},
            {"id": "free", "name": "Free", "subscription_required": False,
             "apis": ["catalog"], "policy": free},
        ]
        config["subscriptions"] = [
            {"id": "orders-sub", "scope": "/apis/orders", "primary_key": k["orders"],
             "secondary_key": k["orders2"]},
            {"id": "gold-sub", "scope": "/products/gold", "primary_key": k["gold"]},
            {"id": "all-apis-sub", "scope": "/apis", "primary_key": k["all_apis"]},
            {"id": "all-access-sub", "scope": "/", "primary_key": k["all_access"]},
            {"id": "suspended-sub", "scope": "/apis/orders", "primary_key": k["suspended"],
             "state": "suspended"},
            {"id": "billing-sub", "scope": "/apis/billing", "primary_key": k["billing"]},
            {"id": "hashed-sub", "scope": "/apis/orders",
             "primary_key": "sha256:" + hashlib.sha256(k["hashed"].encode()).hexdigest()},
            {"id": "public-sub", "scope": "/apis/public", "primary_key": k["public"]},
        ]
        cls.gh = Gatehouse(cls, config, workdir=cls.dir)

    def call(self, target, key=None, header="Ocp-Apim-Subscription-Key", extra=None):
        headers = [(header, key)] if key is not None else []
        return get(self.port, target, headers + list(extra or []))

    def assert_refused(self, resp, body, header_name="Ocp-Apim-Subscription-Key", path="/orders"):
        self.assertEqual(resp.status, 401, resp)
        self.assertEqual(resp.body, body)
        self.assertEqual(resp.header("Content-Length"), str(len(body)))
        self.assertEqual(resp.header("Content-Type"), "application/json")
        self.assertEqual(
            resp.all("WWW-Authenticate"),
            ['AzureApiManagementKey realm="http://localhost%s",name="%s",type="header"'
             % (path, header_name)])

    def assert_granted(self, resp, sub_id, product_policy=None):
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(seen(resp, "X-Sub-Id"), [sub_id])
        self.assertEqual(seen(resp, "X-Product-Policy"), [product_policy] if product_policy else [])

    def test_missing_key_is_apims_401_and_never_reaches_the_backend(self):
        marker = "/orders/missing-" + uuid.uuid4().hex
        r = self.call(marker)
        self.assert_refused(r, MISSING_KEY_BODY)
        self.assertEqual(len(MISSING_KEY_BODY), 152)  # the Content-Length of APIM's capture (§0)
        self.assertNotIn(marker, [e["target"] for e in self.backend.log()])
        lines = self.gh.access_log(lambda ls: any(marker in json.dumps(l) for l in ls))
        self.assertEqual([l.get("error") for l in lines if marker in json.dumps(l)],
                         ["SubscriptionKeyNotFound"])

    def test_invalid_key_is_apims_401(self):
        r = self.call("/orders/x", "not-a-key-" + uuid.uuid4().hex)
        self.assert_refused(r, INVALID_KEY_BODY)
        self.assertEqual(len(INVALID_KEY_BODY), 143)  # the Content-Length of APIM's capture (§0)
        # An empty header is a presented (invalid) key.
        self.assert_refused(self.call("/orders/x", ""), INVALID_KEY_BODY)

    def test_key_by_header_by_query_and_which_wins(self):
        k = self.keys
        self.assert_granted(self.call("/orders/h", k["orders"]), "orders-sub")
        self.assert_granted(self.call("/orders/h", k["orders2"]), "orders-sub")  # secondary
        self.assert_granted(self.call("/orders/q?subscription-key=" + k["orders"]), "orders-sub")
        # The query is read only when the header is absent (§5.1).
        self.assert_granted(self.call("/orders/q?subscription-key=bogus", k["orders"]),
                            "orders-sub")
        self.assert_refused(self.call("/orders/q?subscription-key=" + k["orders"], "bogus"),
                            INVALID_KEY_BODY)
        # APIM forwards the key as it came (users strip it with set-header if they want).
        r = self.call("/orders/h", k["orders"])
        self.assertEqual(seen(r, "Ocp-Apim-Subscription-Key"), [k["orders"]])

    def test_renamed_header_and_query(self):
        k = self.keys
        self.assert_granted(self.call("/billing/a", k["billing"], header="X-Partner-Token"),
                            "billing-sub")
        self.assert_granted(self.call("/billing/a?partner-key=" + k["billing"]), "billing-sub")
        # The default names mean nothing to this API: the key is missing.
        self.assert_refused(self.call("/billing/a", k["billing"]), MISSING_KEY_BODY,
                            "X-Partner-Token", "/billing")
        self.assert_refused(self.call("/billing/a?subscription-key=" + k["billing"]),
                            MISSING_KEY_BODY, "X-Partner-Token", "/billing")

    def test_scopes(self):
        k = self.keys
        # API scope: that API only, outside any product.
        self.assert_granted(self.call("/orders/s", k["orders"]), "orders-sub")
        self.assert_refused(self.call("/billing/s", k["orders"], header="X-Partner-Token"),
                            INVALID_KEY_BODY, "X-Partner-Token", "/billing")
        # Product scope: the product's APIs, with the product's policy.
        self.assert_granted(self.call("/orders/s", k["gold"]), "gold-sub", "gold")
        self.assert_refused(self.call("/billing/s", k["gold"], header="X-Partner-Token"),
                            INVALID_KEY_BODY, "X-Partner-Token", "/billing")
        # All APIs and all access: every API, never a product context.
        for key, sub in ((k["all_apis"], "all-apis-sub"), (k["all_access"], "all-access-sub")):
            self.assert_granted(self.call("/orders/s", key), sub)
            self.assert_granted(self.call("/billing/s", key, header="X-Partner-Token"), sub)
            self.assert_granted(self.call("/catalog/s", key), sub)

    def test_suspended_subscription_is_an_invalid_key(self):
        self.assert_refused(self.call("/orders/x", self.keys["suspended"]), INVALID_KEY_BODY)

    def test_key_configured_as_its_sha256(self):
        self.assert_granted(self.call("/orders/x", self.keys["hashed"]), "hashed-sub")
        digest = hashlib.sha256(self.keys["hashed"].encode()).hexdigest()
        self.assert_refused(self.call("/orders/x", digest), INVALID_KEY_BODY)
        self.assert_refused(self.call("/orders/x", "sha256:" + digest), INVALID_KEY_BODY)

    def test_open_product_needs_no_key_and_runs_its_policy(self):
        self.assert_granted(self.call("/catalog/item"), "none", "Free")
        # A product-scoped key of another product does not open the API.
        self.assert_refused(self.call("/catalog/item", self.keys["gold"]), INVALID_KEY_BODY,
                            path="/catalog")

    def test_api_without_required_key(self):
        self.assert_granted(self.call("/public/p"), "none")
        self.assert_granted(self.call("/public/p", self.keys["public"]), "public-sub")
        # A key that is presented must be valid (apim-policies.md §5.4), policies or not.
        self.assert_refused(self.call("/public/p", "bogus"), INVALID_KEY_BODY, path="/public")
        self.assertEqual(self.call("/plain/p").status, 200)
        self.assertEqual(self.call("/plain/p", self.keys["all_apis"]).status, 200)
        self.assert_refused(self.call("/plain/p", "bogus"), INVALID_KEY_BODY, path="/plain")
        self.assert_refused(self.call("/plain/p", self.keys["orders"]), INVALID_KEY_BODY,
                            path="/plain")

    def test_keys_never_logged(self):
        self.call("/orders/log", self.keys["orders"])
        self.call("/orders/log", "bogus-" + self.keys["orders"])
        self.gh.access_log(lambda ls: len(ls) > 0)
        text = self.gh.access_log_raw().decode("utf-8", "replace") + self.gh.stderr_text()
        for key in self.keys.values():
            self.assertNotIn(key, text)


# --- composition ---------------------------------------------------------------------------------


class Composition(GatehouseTestCase):
    """apim-policies.md §1.1-1.2, §7.8, §7.10: scopes composed through <base/>, choose,
    return-response and on-error, on the request path."""

    @classmethod
    def setUpClass(cls):
        cls.backend = TestBackend(cls)
        cls.dir = tempfile.mkdtemp(prefix="gh-comp-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.hmac = os.urandom(32)
        cls.key = "k-" + uuid.uuid4().hex

        def trace(value):
            return set_header("X-Trace", value, "append")

        def out(value):
            return set_header("X-Out", value, "append")

        def f(name, text):
            return write_file(os.path.join(cls.dir, name), text)

        glob = f("global.xml", doc(inbound=trace("global"), outbound=out("global")))
        product = f("product.xml", doc(inbound="<base />" + trace("product"),
                                       outbound="<base />" + out("product")))
        api = f("api.xml", doc(inbound=trace("api-before") + "<base />" + trace("api-after"),
                               outbound="<base />" + out("api")))
        layered = f("layered.xml", doc(inbound="<base />" + trace("operation"),
                                       outbound=out("operation") + "<base />"))
        # No <base/> in inbound: the parents' inbound is dropped; outbound is absent: inherited.
        alone = f("alone.xml", doc(inbound=trace("alone")))
        branch = f("branch.xml", doc(inbound="""<base />
    <choose>
      <when condition='@(context.Request.Headers.GetValueOrDefault("X-Tier", "") == "gold")'>
        %s
      </when>
      <when condition='@(context.Request.Url.Query.GetValueOrDefault("tier", "") == "silver")'>
        %s
      </when>
      <otherwise>
        %s
      </otherwise>
    </choose>""" % (set_header("X-Branch", "gold"), set_header("X-Branch", "silver"),
                    set_header("X-Branch", '@("other:" + context.Request.Method)'))))
        teapot = f("teapot.xml", doc(inbound="""<base />
    <return-response>
      <set-status code="418" reason="I'm a teapot" />
      %s
      <set-body>short and stout</set-body>
    </return-response>""" % set_header("X-Returned", "@(context.Operation.Name)")))
        guarded = f("guarded.xml", doc(
            inbound="""<base />
    <validate-jwt header-name="Authorization" require-scheme="Bearer">
      <issuer-signing-keys><key>{{jwt-hmac-key}}</key></issuer-signing-keys>
      <audiences><audience>api://composition</audience></audiences>
    </validate-jwt>""",
            on_error="""<base />
    <return-response>
      <set-status code="403" reason="Forbidden" />
      %s
      %s
      <set-body>{"error":"token rejected"}</set-body>
    </return-response>""" % (
                set_header("X-Error",
                           '@(context.LastError.Source + "/" + context.LastError.Reason)'),
                set_header("Content-Type", "application/json"))))
        cls.port = free_port()
        config = base_config(cls.port, cls.backend.url)
        config["policies"] = {"global": glob}
        config["named_values"] = [{"name": "jwt-hmac-key",
                                   "value": base64.b64encode(cls.hmac).decode(), "secret": True}]

        def op(name, policy):
            return {"name": name, "method": "GET", "url_template": "/" + name, "policy": policy}

        config["apis"] = [{
            "name": "comp", "path": "/comp", "backend": "echo", "policy": api,
            "operations": [op("layered", layered), op("alone", alone), op("branch", branch),
                           op("teapot", teapot), op("guarded", guarded)],
        }]
        config["products"] = [{"id": "tiered", "name": "Tiered", "apis": ["comp"],
                               "policy": product}]
        config["subscriptions"] = [{"id": "tiered-sub", "scope": "/products/tiered",
                                    "primary_key": cls.key}]
        cls.gh = Gatehouse(cls, config, workdir=cls.dir)

    def call(self, target, headers=None):
        return get(self.port, target, headers)

    def test_base_places_the_parents_statements(self):
        r = self.call("/comp/layered")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(seen(r, "X-Trace"), ["api-before,global,api-after,operation"])
        self.assertEqual(r.all("X-Out"), ["operation,global,api"])

    def test_product_scope_in_a_product_context(self):
        r = self.call("/comp/layered", [("Ocp-Apim-Subscription-Key", self.key)])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(seen(r, "X-Trace"), ["api-before,global,product,api-after,operation"])
        self.assertEqual(r.all("X-Out"), ["operation,global,product,api"])

    def test_section_without_base_drops_the_parents(self):
        r = self.call("/comp/alone", [("Ocp-Apim-Subscription-Key", self.key)])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(seen(r, "X-Trace"), ["alone"])
        self.assertEqual(r.all("X-Out"), ["global,product,api"])  # outbound absent: inherited

    def test_choose_when_otherwise(self):
        self.assertEqual(seen(self.call("/comp/branch", [("X-Tier", "gold")]), "X-Branch"),
                         ["gold"])
        self.assertEqual(seen(self.call("/comp/branch?tier=silver", [("X-Tier", "bronze")]),
                              "X-Branch"), ["silver"])
        # The first true `when` wins: the second is not evaluated.
        self.assertEqual(seen(self.call("/comp/branch?tier=silver", [("X-Tier", "gold")]),
                              "X-Branch"), ["gold"])
        self.assertEqual(seen(self.call("/comp/branch"), "X-Branch"), ["other:GET"])

    def test_return_response_skips_backend_and_outbound(self):
        marker = uuid.uuid4().hex
        r = self.call("/comp/teapot?m=" + marker)
        self.assertEqual((r.status, r.reason, r.body), (418, "I'm a teapot", b"short and stout"))
        self.assertEqual(r.all("X-Returned"), ["teapot"])
        self.assertEqual(r.all("X-Out"), [])
        self.assertFalse([e for e in self.backend.log() if marker in e["target"]])

    def test_on_error_replaces_a_validate_jwt_refusal(self):
        import jwt

        now = int(time.time())
        good = jwt.encode({"aud": "api://composition", "exp": now + 600, "sub": "s"}, self.hmac,
                          algorithm="HS256")
        r = self.call("/comp/guarded", [("Authorization", "Bearer " + good)])
        self.assertEqual(r.status, 200, r)
        for headers, reason in (
            ([], "TokenNotPresent"),
            ([("Authorization", "Bearer " + jwt.encode(
                {"aud": "api://other", "exp": now + 600}, self.hmac, algorithm="HS256"))],
             "TokenAudienceNotAllowed"),
            ([("Authorization", "Bearer " + jwt.encode(
                {"aud": "api://composition", "exp": now + 600}, os.urandom(32),
                algorithm="HS256"))], "TokenSignatureInvalid"),
        ):
            r = self.call("/comp/guarded", headers)
            self.assertEqual((r.status, r.reason), (403, "Forbidden"), r)
            self.assertEqual(r.body, b'{"error":"token rejected"}')
            self.assertEqual(r.header("Content-Type"), "application/json")
            self.assertEqual(r.all("X-Error"), ["validate-jwt/" + reason])
            self.assertEqual(r.all("WWW-Authenticate"), [])  # return-response built it anew

    def serve_fails(self, name, text):
        """`gatehouse serve` on a configuration whose API policy is `text`; returns stderr."""
        d = tempfile.mkdtemp(prefix="gh-bad-", dir=self.dir)
        path = write_file(os.path.join(d, name), text)
        cfg = base_config(free_port(), self.backend.url)
        cfg["apis"][0]["policy"] = path
        cfg_path = write_file(os.path.join(d, "gatehouse.yaml"), to_yaml(cfg) + "\n")
        r = subprocess.run([gatehouse_bin(), "serve", "--config", cfg_path], capture_output=True,
                           timeout=20, cwd=d)
        self.assertNotEqual(r.returncode, 0, "serve accepted %s" % name)
        return path, r.stderr.decode("utf-8", "replace")

    def test_unknown_element_fails_serve_with_file_and_line(self):
        path, err = self.serve_fails("unknown.xml", doc(inbound="<base />\n    <frobnicate />"))
        self.assertIn("%s:4" % path, err)
        self.assertIn("frobnicate", err)

    def test_unsupported_expression_fails_serve_with_file_and_line(self):
        path, err = self.serve_fails("expr.xml", doc(
            inbound="<base />\n    " + set_header("X-User", "@(context.User.Email)")))
        self.assertIn("%s:4" % path, err)
        self.assertIn("'context.User' is not supported", err)

    def test_policy_lint_reports_every_problem(self):
        path = write_file(os.path.join(self.dir, "lint.xml"), doc(
            inbound="<frobnicate />\n    " + set_header("X-A", "@(context.User.Email)")))
        r = subprocess.run([gatehouse_bin(), "policy", "lint", path], capture_output=True,
                           timeout=20)
        out = (r.stdout + r.stderr).decode("utf-8", "replace")
        self.assertNotEqual(r.returncode, 0, out)
        self.assertIn("%s:3" % path, out)
        self.assertIn("%s:4" % path, out)


# --- validate-jwt with an independent issuer -----------------------------------------------------

AUDIENCE = "api://orders"


class JwtIndependentIssuer(GatehouseTestCase):
    """apim-policies.md §2: validate-jwt with openid-config against a provider the test runs,
    tokens signed by the test."""

    @classmethod
    def setUpClass(cls):
        cls.idp = OpenIdProvider(cls)
        cls.signing = rsa_key()
        cls.idp.publish(public_jwk(cls.signing, "k1"))
        cls.backend = TestBackend(cls)
        jwt_policy = """<validate-jwt header-name="Authorization" require-scheme="Bearer"%s
        output-token-variable-name="jwt">
      <openid-config url="%s" />
      <audiences><audience>%s</audience></audiences>
      <issuers><issuer>%s</issuer></issuers>
      <required-claims>
        <claim name="roles" match="any">
          <value>Orders.Read</value><value>Orders.Write</value>
        </claim>
        <claim name="azpacr"><value>2</value></claim>
      </required-claims>
    </validate-jwt>
    """ + set_header("X-Jwt-Subject", '@(((Jwt)context.Variables["jwt"]).Subject)')

        def api(name, extra=""):
            return {"name": name, "path": "/" + name, "backend": "echo", "policy_xml": doc(
                inbound="<base />" + jwt_policy % (extra, cls.idp.discovery, AUDIENCE,
                                                   cls.idp.issuer))}

        cls.port = free_port()
        config = base_config(cls.port, cls.backend.url)
        config["apis"] = [
            api("orders"),
            api("custom", ' failed-validation-error-message="Access token is missing or invalid."'),
            api("forbidden", ' failed-validation-httpcode="403"'),
        ]
        cls.gh = Gatehouse(cls, config)

    def claims(self, **over):
        now = int(time.time())
        c = {"iss": self.idp.issuer, "aud": AUDIENCE, "sub": "user-" + uuid.uuid4().hex[:8],
             "iat": now, "nbf": now, "exp": now + 600, "roles": ["Orders.Write"], "azpacr": "2"}
        c.update(over)
        return {k: v for k, v in c.items() if v is not None}

    def call(self, api, token=None, scheme="Bearer"):
        headers = [("Authorization", "%s %s" % (scheme, token))] if token else []
        return get(self.port, "/%s/x" % api, headers)

    def assert_refused(self, r, body, challenge):
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.body, body)
        self.assertEqual(r.header("Content-Type"), "application/json")
        self.assertEqual(r.all("WWW-Authenticate"), [challenge])

    def access_log_error(self, sub):
        lines = self.gh.access_log(lambda ls: any(sub in json.dumps(l) for l in ls))
        hits = [l for l in lines if sub in json.dumps(l)]
        return hits[-1].get("error") if hits else None

    def test_valid_token_reaches_the_backend_with_its_claims(self):
        c = self.claims()
        r = self.call("orders", sign(self.signing, "k1", c))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(seen(r, "X-Jwt-Subject"), [c["sub"]])
        # The same token again (verified-token cache) and a number claim for azpacr.
        self.assertEqual(self.call("orders", sign(self.signing, "k1", c)).status, 200)
        self.assertEqual(self.call("orders", sign(self.signing, "k1", self.claims(
            azpacr=2, roles=["Orders.Read", "Other"]))).status, 200)

    def test_no_token(self):
        self.assert_refused(self.call("orders"), JWT_NOT_PRESENT, "Bearer")
        # Another scheme than the required one counts as no token.
        token = sign(self.signing, "k1", self.claims())
        self.assert_refused(self.call("orders", token, scheme="Basic"), JWT_NOT_PRESENT, "Bearer")

    def test_each_failure_is_invalid_jwt_with_its_reason_logged(self):
        now = int(time.time())
        stranger = rsa_key()
        good = sign(self.signing, "k1", self.claims())
        head, _, sig = good.split(".")
        tampered_payload = base64.urlsafe_b64encode(json.dumps(self.claims(
            roles=["Orders.Admin"])).encode()).rstrip(b"=").decode()
        cases = {
            "TokenAudienceNotAllowed": sign(self.signing, "k1", self.claims(aud="api://other")),
            "TokenIssuerNotAllowed": sign(self.signing, "k1", self.claims(
                iss="https://evil.example/")),
            "TokenExpired": sign(self.signing, "k1", self.claims(iat=now - 900, nbf=now - 900,
                                                                 exp=now - 300)),
            "TokenClaimValueNotAllowed": sign(self.signing, "k1", self.claims(azpacr="1")),
            "TokenClaimNotFound": sign(self.signing, "k1", self.claims(roles=None)),
            "TokenSignatureInvalid": ".".join((head, tampered_payload, sig)),
            "JwtInvalid": sign(self.signing, "k1", self.claims(exp=None)),
        }
        # Signed by a key the provider never published, under its kid: the signature fails.
        cases["TokenSignatureInvalid-key"] = sign(stranger, "k1", self.claims())
        # A kid nobody published, within 5 minutes of the last fetch: refused without a fetch.
        fetches = self.idp.fetches()
        cases["TokenSignatureKeyNotFound"] = sign(stranger, "k9", self.claims())
        for reason, token in cases.items():
            marker = uuid.uuid4().hex
            r = get(self.port, "/orders/" + marker, [("Authorization", "Bearer " + token)])
            self.assert_refused(r, INVALID_JWT, 'Bearer error="invalid_token"')
            self.assertEqual(self.access_log_error(marker), reason.split("-")[0], reason)
        self.assertEqual(self.idp.fetches(), fetches)

    def test_custom_message_and_status(self):
        r = self.call("custom")
        self.assert_refused(
            r, b'{ "statusCode": 401, "message": "Access token is missing or invalid." }',
            "Bearer")
        r = self.call("custom", sign(self.signing, "k1", self.claims(aud="api://other")))
        self.assert_refused(
            r, b'{ "statusCode": 401, "message": "Access token is missing or invalid." }',
            'Bearer error="invalid_token"')
        r = self.call("forbidden", sign(self.signing, "k1", self.claims(azpacr="1")))
        self.assertEqual(r.status, 403, r)
        self.assertEqual(r.body, b'{ "statusCode": 403, "message": "Invalid JWT." }')
        self.assertEqual(r.all("WWW-Authenticate"), [])  # a challenge belongs to 401 only
        self.assertEqual(self.call("custom", sign(self.signing, "k1", self.claims())).status, 200)

    def test_tokens_never_logged(self):
        token = sign(self.signing, "k1", self.claims(aud="api://other"))
        self.call("orders", token)
        self.gh.access_log(lambda ls: len(ls) > 0)
        text = self.gh.access_log_raw().decode("utf-8", "replace") + self.gh.stderr_text()
        self.assertNotIn(token.split(".")[2], text)
        self.assertNotIn(token.split(".")[1], text)


class JwksRotationOutage(GatehouseTestCase):
    """apim-policies.md §2.5: an unknown kid fetches the JWKS once (at most once per interval);
    while the IdP is down the keys fetched last keep validating."""

    @classmethod
    def setUpClass(cls):
        cls.idp = OpenIdProvider(cls)
        cls.old = rsa_key()
        cls.new = rsa_key()
        cls.idp.publish(public_jwk(cls.old, "old"))
        cls.backend = TestBackend(cls)
        cls.port = free_port()
        config = base_config(cls.port, cls.backend.url)
        # Refetches for an unknown kid at most every 2 s (APIM: 5 min), so that a rotation can
        # be watched in a test; the hourly refresh stays.
        config["policies"] = {"openid": {"min_refetch_interval": "2s"}}
        config["apis"][0]["policy_xml"] = doc(inbound="""<base />
    <validate-jwt header-name="Authorization">
      <openid-config url="%s" />
      <audiences><audience>%s</audience></audiences>
    </validate-jwt>""" % (cls.idp.discovery, AUDIENCE))
        cls.gh = Gatehouse(cls, config)

    def token(self, key, kid):
        now = int(time.time())
        return sign(key, kid, {"iss": self.idp.issuer, "aud": AUDIENCE, "iat": now,
                               "exp": now + 600, "jti": uuid.uuid4().hex})

    def call(self, token):
        return get(self.port, "/x", [("Authorization", "Bearer " + token)])

    def test_rotation_then_outage(self):
        # The keys at start.
        self.assertEqual(self.call(self.token(self.old, "old")).status, 200)
        before = self.idp.fetches()
        self.assertGreaterEqual(before, 1)
        # Rotation: the provider publishes a new kid; a token with it is accepted after one
        # refetch (the first try may fall within the refetch interval of the start-up fetch).
        self.idp.publish(public_jwk(self.old, "old"), public_jwk(self.new, "new"))
        poll(lambda: self.call(self.token(self.new, "new")).status == 200, 15,
             "a token with the new kid")
        self.assertEqual(self.idp.fetches(), before + 1)
        # Many tokens with the new kid later: no further fetch.
        for _ in range(5):
            self.assertEqual(self.call(self.token(self.new, "new")).status, 200)
        self.assertEqual(self.idp.fetches(), before + 1)

        # Outage: the provider goes away. Fresh tokens (never seen, so verified again) signed
        # with either known key keep validating; an unknown kid is refused, not a 5xx.
        self.idp.stop()
        time.sleep(2.5)  # past the refetch interval, so that the unknown kid does try a fetch
        unknown = self.call(self.token(rsa_key(), "unknown"))
        self.assertEqual(unknown.status, 401, unknown)
        self.assertEqual(unknown.body, INVALID_JWT)
        for key, kid in ((self.old, "old"), (self.new, "new"), (self.new, "new")):
            r = self.call(self.token(key, kid))
            self.assertEqual(r.status, 200, r)
        poll(lambda: "openid-config fetch failed" in self.gh.stderr_text(), 5,
             "the failed fetch in the log")


# --- validate-jwt / validate-azure-ad-token with Gatehouse's identity role -----------------------

TENANT = "4f1c2b9a-7d3e-4a5b-9c8d-1e2f3a4b5c6d"
API_APP = "9a8b7c6d-5e4f-4321-8765-0a1b2c3d4e5f"  # api://orders, v2 tokens
REPORTS_APP = "1b2c3d4e-5f60-4718-9a0b-c1d2e3f40516"  # api://reports, no roles for the client
CLIENT = "2c3d4e5f-6071-4829-a0b1-c2d3e4f50617"
OTHER_CLIENT = "3d4e5f60-7182-493a-b1c2-d3e4f5061728"
SECRET = "gh-test-secret-" + uuid.uuid4().hex


class JwtOwnIdentity(GatehouseTestCase):
    """Tokens from Gatehouse's identity role (client credentials, secret), validated by the same
    process through its own https discovery (policies.fetch_ca trusts the listener's CA)."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="gh-own-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.pki = make_pki(cls.dir)
        cls.ca = cls.pki["ca"] + ".pem"
        cls.backend = TestBackend(cls)
        cls.tls_port = free_port()
        cls.port = free_port()
        cls.authority = "https://127.0.0.1:%d" % cls.tls_port
        discovery = "%s/%s/v2.0/.well-known/openid-configuration" % (cls.authority, TENANT)
        validate_jwt = doc(inbound="""<base />
    <validate-jwt header-name="Authorization" require-scheme="Bearer"
        output-token-variable-name="jwt">
      <openid-config url="%s" />
      <audiences><audience>%s</audience></audiences>
      <required-claims>
        <claim name="roles" match="any">
          <value>Orders.Read</value><value>Orders.Write</value>
        </claim>
      </required-claims>
    </validate-jwt>
    %s""" % (discovery, API_APP, set_header(
            "X-Caller", '@(((Jwt)context.Variables["jwt"]).Claims.GetValueOrDefault("azp", ""))')))
        validate_aad = doc(inbound="""<base />
    <validate-azure-ad-token tenant-id="%s" authentication-endpoint="%s">
      <client-application-ids><application-id>%s</application-id></client-application-ids>
      <audiences><audience>%s</audience></audiences>
      <required-claims><claim name="roles"><value>Orders.Read</value></claim></required-claims>
    </validate-azure-ad-token>""" % (TENANT, cls.authority, CLIENT, API_APP))
        config = {
            "workers": 2,
            "listeners": [
                {"name": "public", "address": "127.0.0.1:%d" % cls.tls_port,
                 "tls": {"certificates": [{"cert": cls.pki["server"] + ".pem",
                                           "key": cls.pki["server"] + ".key"}]}},
                {"name": "plain", "address": "127.0.0.1:%d" % cls.port},
            ],
            "timeouts": {"header_read": "2s", "backend_connect": "1s",
                         "backend_response": "5s", "drain": "2s"},
            "backends": [{"id": "echo", "url": cls.backend.url}],
            "apis": [
                {"name": "jwt", "path": "/jwt", "backend": "echo", "policy_xml": validate_jwt},
                {"name": "aad", "path": "/aad", "backend": "echo", "policy_xml": validate_aad},
            ],
            "policies": {"fetch_ca": cls.ca},
            "identity": {
                "data_dir": os.path.join(cls.dir, "data"),
                "public_url": cls.authority,
                "audit_log": os.path.join(cls.dir, "audit.log"),
                "tenants": [{
                    "id": TENANT, "name": "Policies",
                    "applications": [
                        {"client_id": API_APP, "name": "orders-api",
                         "identifier_uris": ["api://orders"], "access_token_version": 2,
                         "roles": [{"value": "Orders.Read"}, {"value": "Orders.Write"}]},
                        {"client_id": REPORTS_APP, "name": "reports-api",
                         "identifier_uris": ["api://reports"], "access_token_version": 2},
                        {"client_id": CLIENT, "name": "orders-client",
                         "secrets": [{"name": "ci", "value_env": "GH_TEST_CLIENT_SECRET"}],
                         "assignments": [{"resource": "api://orders", "role": "Orders.Read"}]},
                        {"client_id": OTHER_CLIENT, "name": "other-client",
                         "secrets": [{"name": "ci", "value_env": "GH_TEST_CLIENT_SECRET"}],
                         "assignments": [{"resource": "api://orders", "role": "Orders.Write"}]},
                    ],
                }],
            },
        }
        cls.gh = Gatehouse(cls, config, workdir=cls.dir, env={"GH_TEST_CLIENT_SECRET": SECRET})
        cls.tls = ssl.create_default_context(cafile=cls.ca)

    def token(self, client, scope):
        form = {"grant_type": "client_credentials", "client_id": client, "client_secret": SECRET,
                "scope": scope}
        req = urllib.request.Request(
            "%s/%s/oauth2/v2.0/token" % (self.authority, TENANT),
            data=urllib.parse.urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(req, context=self.tls, timeout=10) as r:
                return json.load(r)["access_token"]
        except urllib.error.HTTPError as e:
            raise AssertionError("token request refused: %d %s" % (e.code, e.read()[:300]))

    def call(self, path, token=None):
        headers = [("Authorization", "Bearer " + token)] if token else []
        return get(self.port, path, headers)

    def test_validate_jwt_with_the_gateways_own_discovery(self):
        r = self.call("/jwt/x", self.token(CLIENT, "api://orders/.default"))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(seen(r, "X-Caller"), [CLIENT])
        r = self.call("/jwt/x", self.token(OTHER_CLIENT, "api://orders/.default"))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(seen(r, "X-Caller"), [OTHER_CLIENT])
        # A token for another API: wrong audience and no role.
        r = self.call("/jwt/x", self.token(CLIENT, "api://reports/.default"))
        self.assertEqual((r.status, r.body), (401, INVALID_JWT), r)
        self.assertEqual(r.all("WWW-Authenticate"), ['Bearer error="invalid_token"'])
        r = self.call("/jwt/x")
        self.assertEqual((r.status, r.body), (401, JWT_NOT_PRESENT), r)

    def test_validate_azure_ad_token_with_the_gateway_as_authority(self):
        r = self.call("/aad/x", self.token(CLIENT, "api://orders/.default"))
        self.assertEqual(r.status, 200, r)
        # The other client has a valid token for the API but is not a listed client.
        r = self.call("/aad/x", self.token(OTHER_CLIENT, "api://orders/.default"))
        self.assertEqual((r.status, r.body), (401, INVALID_JWT), r)
        r = self.call("/aad/x", self.token(CLIENT, "api://reports/.default"))
        self.assertEqual((r.status, r.body), (401, INVALID_JWT), r)
        r = self.call("/aad/x")
        self.assertEqual((r.status, r.body), (401, JWT_NOT_PRESENT), r)
        self.assertEqual(r.all("WWW-Authenticate"), ["Bearer"])


# --- rate limits ---------------------------------------------------------------------------------


class RateLimits(GatehouseTestCase):
    """apim-policies.md §6.4-6.5: 429 with APIM's body and Retry-After; remaining-calls."""

    @classmethod
    def setUpClass(cls):
        cls.backend = TestBackend(cls)
        cls.keys = {n: "k-%s-%s" % (n, uuid.uuid4().hex) for n in ("a", "b")}
        cls.port = free_port()
        config = base_config(cls.port, cls.backend.url)
        config["apis"] = [
            {"name": "by-key", "path": "/by-key", "backend": "echo", "policy_xml": doc(
                inbound="""<base />
    <rate-limit-by-key calls="3" renewal-period="60"
        counter-key='@(context.Request.Headers.GetValueOrDefault("X-Client", "anonymous"))'
        remaining-calls-header-name="X-Remaining" total-calls-header-name="X-Limit" />""")},
            {"name": "metered", "path": "/metered", "backend": "echo",
             "subscription_required": True, "policy_xml": doc(inbound="""<base />
    <rate-limit calls="2" renewal-period="30" remaining-calls-header-name="X-Remaining" />""")},
        ]
        config["subscriptions"] = [
            {"id": "sub-" + n, "scope": "/apis/metered", "primary_key": k}
            for n, k in cls.keys.items()]
        cls.gh = Gatehouse(cls, config)

    def assert_limited(self, r, period):
        self.assertEqual(r.status, 429, r)
        self.assertEqual(r.header("Content-Type"), "application/json")
        m = RATE_LIMITED_RE.match(r.body)
        self.assertIsNotNone(m, r.body)
        self.assertEqual(r.all("Retry-After"), [m.group(1).decode()])
        self.assertTrue(1 <= int(m.group(1)) <= period, r.body)

    def test_rate_limit_by_key(self):
        alice = [("X-Client", "alice-" + uuid.uuid4().hex)]
        for remaining in ("2", "1", "0"):
            r = get(self.port, "/by-key/x", alice)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.all("X-Remaining"), [remaining])
            self.assertEqual(r.all("X-Limit"), ["3"])
        marker = uuid.uuid4().hex
        r = get(self.port, "/by-key/" + marker, alice)
        self.assert_limited(r, 60)
        self.assertEqual(r.all("X-Remaining"), ["0"])
        self.assertFalse([e for e in self.backend.log() if marker in e["target"]])
        lines = self.gh.access_log(lambda ls: any(marker in json.dumps(l) for l in ls))
        self.assertEqual([l.get("error") for l in lines if marker in json.dumps(l)],
                         ["RateLimitExceeded"])
        # Another key value has its own counter.
        r = get(self.port, "/by-key/x", [("X-Client", "bob-" + uuid.uuid4().hex)])
        self.assertEqual((r.status, r.all("X-Remaining")), (200, ["2"]))

    def test_rate_limit_per_subscription(self):
        a = [("Ocp-Apim-Subscription-Key", self.keys["a"])]
        b = [("Ocp-Apim-Subscription-Key", self.keys["b"])]
        for remaining in ("1", "0"):
            r = get(self.port, "/metered/x", a)
            self.assertEqual((r.status, r.all("X-Remaining")), (200, [remaining]), r)
        self.assert_limited(get(self.port, "/metered/x", a), 30)
        # The other subscription is counted on its own.
        r = get(self.port, "/metered/x", b)
        self.assertEqual((r.status, r.all("X-Remaining")), (200, ["1"]), r)


# --- reload --------------------------------------------------------------------------------------


class PolicyReload(GatehouseTestCase):
    """A watched policy file: a change applies without a restart; a broken one is refused and
    the configuration before it keeps serving."""

    @classmethod
    def setUpClass(cls):
        cls.backend = TestBackend(cls)
        cls.dir = tempfile.mkdtemp(prefix="gh-reload-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.policy = os.path.join(cls.dir, "live.xml")
        cls.write_version("one")
        cls.port = free_port()
        config = base_config(cls.port, cls.backend.url)
        config["apis"][0]["policy"] = cls.policy
        cls.gh = Gatehouse(cls, config, workdir=cls.dir)

    @classmethod
    def write_version(cls, version, broken=False):
        extra = "\n    <frobnicate />" if broken else ""
        write_file(cls.policy, doc(inbound="<base />\n    " + set_header(
            "X-Policy-Version", version) + extra))

    def version(self):
        r = get(self.port, "/v")
        self.assertEqual(r.status, 200, r)
        return seen(r, "X-Policy-Version")

    def test_changes_apply_without_restart_and_broken_files_are_refused(self):
        pid = self.gh.proc.pid
        self.assertEqual(self.version(), ["one"])
        self.write_version("two")
        poll(lambda: self.version() == ["two"], 10, "the changed policy")

        # Broken: refused with file:line; the previous policy keeps serving.
        self.write_version("three", broken=True)
        poll(lambda: "%s:5" % self.policy in self.gh.stderr_text(), 10,
             "the refusal in the log")
        self.assertIn("frobnicate", self.gh.stderr_text())
        self.assertEqual(self.version(), ["two"])

        self.write_version("four")
        poll(lambda: self.version() == ["four"], 10, "the repaired policy")
        self.assertEqual(self.gh.proc.pid, pid)
        self.assertIsNone(self.gh.proc.poll())


if __name__ == "__main__":
    unittest.main()
