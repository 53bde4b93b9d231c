"""CORS preflights (apim-policies.md §6.3): on a browser's preflight `OPTIONS` only the inbound
section's `cors` policy runs — no subscription key, no token, no other policy — while the actual
request still goes through everything. An operation that defines OPTIONS itself is routed as any
request.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Gatehouse, GatehouseTestCase, TestBackend, base_config, free_port, request  # noqa: E402

KEY = "cors-test-subscription-key-1"
ORIGIN = "https://app.contoso.example"
MISSING_KEY_BODY = (
    b'{ "statusCode": 401, "message": "Access denied due to missing subscription key. Make sure '
    b'to include subscription key when making requests to an API." }'
)
POLICY = """<policies><inbound>
  <cors allow-credentials="true">
    <allowed-origins><origin>%s</origin></allowed-origins>
    <allowed-methods preflight-result-max-age="600"><method>GET</method><method>POST</method></allowed-methods>
    <allowed-headers><header>Authorization</header><header>Ocp-Apim-Subscription-Key</header></allowed-headers>
  </cors>
  <check-header name="Authorization" failed-check-httpcode="401" failed-check-error-message="No token" ignore-case="false" />
  <set-header name="X-Inbound-Ran" exists-action="override"><value>yes</value></set-header>
</inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>""" % ORIGIN


def preflight(port, path, origin=ORIGIN, method="GET", headers="authorization"):
    return request(port, "OPTIONS", path, [("Origin", origin),
                                           ("Access-Control-Request-Method", method),
                                           ("Access-Control-Request-Headers", headers)])


class CorsPreflight(GatehouseTestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = TestBackend(cls)
        cls.port = free_port()
        config = base_config(cls.port, cls.backend.url)
        config["apis"] = [
            {"name": "orders", "path": "/orders", "backend": "echo", "policy_xml": POLICY,
             "subscription_required": True},
            {"name": "own-options", "path": "/own", "backend": "echo", "policy_xml": POLICY,
             "subscription_required": True,
             "operations": [{"name": "options", "method": "OPTIONS", "url_template": "/{id}"},
                            {"name": "get", "method": "GET", "url_template": "/{id}"}]},
        ]
        config["subscriptions"] = [{"id": "s1", "name": "S1", "scope": "/apis", "primary_key": KEY}]
        cls.gh = Gatehouse(cls, config)

    def test_preflight_runs_only_cors_without_a_key_or_token(self):
        self.backend.log(clear=True)
        r = preflight(self.port, "/orders/1")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Access-Control-Allow-Origin"), ORIGIN)
        self.assertEqual(r.header("Access-Control-Allow-Credentials"), "true")
        self.assertEqual(r.header("Access-Control-Allow-Methods"), "GET")
        self.assertEqual(r.header("Access-Control-Max-Age"), "600")
        self.assertIsNone(r.header("X-Inbound-Ran"))
        self.assertEqual(self.backend.log(), [], "a preflight never reaches the backend")

    def test_unmatched_preflight_gets_an_empty_200_without_cors_headers(self):
        r = preflight(self.port, "/orders/1", origin="https://evil.example")
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.header("Access-Control-Allow-Origin"))
        r = preflight(self.port, "/orders/1", method="DELETE")
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.header("Access-Control-Allow-Origin"))

    def test_the_actual_request_still_runs_every_step(self):
        r = request(self.port, "GET", "/orders/1", [("Origin", ORIGIN)])
        self.assertEqual((r.status, r.body), (401, MISSING_KEY_BODY), r)
        r = request(self.port, "GET", "/orders/1",
                    [("Origin", ORIGIN), ("Ocp-Apim-Subscription-Key", KEY)])
        self.assertEqual(r.status, 401, r)  # check-header: no Authorization
        r = request(self.port, "GET", "/orders/1",
                    [("Origin", ORIGIN), ("Ocp-Apim-Subscription-Key", KEY),
                     ("Authorization", "Bearer x")])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Access-Control-Allow-Origin"), ORIGIN)

    def test_an_operation_that_defines_options_gets_it_like_any_request(self):
        r = preflight(self.port, "/own/1")
        self.assertEqual((r.status, r.body), (401, MISSING_KEY_BODY), r)
        # An OPTIONS that is not a preflight (no Origin) is never treated as one either.
        r = request(self.port, "OPTIONS", "/orders/1", [])
        self.assertEqual((r.status, r.body), (401, MISSING_KEY_BODY), r)


if __name__ == "__main__":
    unittest.main()
