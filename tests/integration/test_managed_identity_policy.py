"""authentication-managed-identity end to end: the gateway gets a token for the backend from the
identity role over its IMDS listener (the same process, as `gatehouse dev` runs it), puts it in
the forwarded Authorization header, and asks once per token however many requests miss the
cache together (the identity role's audit log counts the issuances)."""
import base64
import json
import os
import shutil
import tempfile
import time
import unittest

from harness import Conn, Gatehouse, TestBackend, free_port, json_lines, poll, request

TENANT = "6b1d2c3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
API = "7c2d3e4f-5a6b-4c7d-9e8f-0a1b2c3d4e5f"  # api://inventory
MI_CLIENT = "8d3e4f5a-6b7c-4d8e-af90-1b2c3d4e5f60"

POLICY = """<policies>
  <inbound>
    <base />
    <authentication-managed-identity resource="api://inventory" />
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>"""


def jwt_payload(token):
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


class ManagedIdentityPolicy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="gh-mi-policy-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.backend = TestBackend(cls)
        cls.port = free_port()
        cls.mi_port = free_port()
        cls.audit = os.path.join(cls.dir, "audit.log")
        config = {
            "workers": 2,
            "listeners": [
                {"name": "public", "address": "127.0.0.1:%d" % cls.port},
                {"name": "imds", "address": "127.0.0.1:%d" % cls.mi_port},
            ],
            "backends": [{"id": "inventory", "url": cls.backend.url}],
            "apis": [{"name": "inventory", "path": "/inventory", "backend": "inventory",
                      "policy_xml": POLICY}],
            "policies": {
                "managed_identity_endpoint":
                    "http://127.0.0.1:%d/metadata/identity/oauth2/token" % cls.mi_port,
            },
            "identity": {
                "data_dir": os.path.join(cls.dir, "data"),
                "public_url": "http://127.0.0.1:%d" % cls.port,
                "audit_log": cls.audit,
                "managed_identity_listeners": ["imds"],
                # The gateway is the caller: this process's own user id.
                "managed_identities": [{"name": "gateway", "tenant": TENANT,
                                        "client_id": MI_CLIENT, "local_uids": [os.getuid()]}],
                "tenants": [{
                    "id": TENANT, "name": "Fabrikam",
                    "applications": [
                        {"client_id": API, "name": "inventory-api",
                         "identifier_uris": ["api://inventory"], "access_token_version": 2,
                         "assignment_required": True, "roles": [{"value": "Inventory.Read"}]},
                        {"client_id": MI_CLIENT, "name": "gateway-identity",
                         "assignments": [{"resource": "api://inventory",
                                          "role": "Inventory.Read"}]},
                    ],
                }],
            },
        }
        cls.gh = Gatehouse(cls, config, workdir=cls.dir)

    def issued(self):
        """Managed-identity tokens the identity role issued so far (its audit log)."""
        if not os.path.exists(self.audit):
            return []
        return [r for r in json_lines(self.audit)
                if r.get("outcome") == "issued" and r.get("method") == "managed_identity"]

    def test_concurrent_first_requests_share_one_token_request(self):
        self.backend.log(clear=True)
        # 48 connections open first, then every request sent at once, so that all of them miss
        # the empty cache while the first token is still being fetched.
        conns = [Conn(self.port) for _ in range(48)]
        try:
            for i, c in enumerate(conns):
                c.send(b"GET /inventory/items/%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % i)
            results = [c.read_response() for c in conns]
        finally:
            for c in conns:
                c.close()
        for r in results:
            self.assertEqual(r.status, 200, r)
        seen = self.backend.log()
        self.assertEqual(len(seen), 48)
        bearers = {dict((k.lower(), v) for k, v in s["headers"]).get("authorization")
                   for s in seen}
        self.assertEqual(len(bearers), 1, "every request carries the one token fetched")
        bearer = bearers.pop()
        self.assertTrue(bearer.startswith("Bearer "), bearer)
        claims = jwt_payload(bearer[len("Bearer "):])
        self.assertEqual(claims["aud"], API)
        self.assertEqual(claims["azp"], MI_CLIENT)
        self.assertEqual(claims["roles"], ["Inventory.Read"])
        poll(lambda: len(self.issued()) >= 1, "the token issuance in the audit log", 5)
        time.sleep(0.5)  # the audit log is flushed every 200 ms: let any second issuance show
        self.assertEqual(len(self.issued()), 1, self.issued())

        # Later requests use the cached token: still one issuance.
        for i in range(5):
            self.assertEqual(request(self.port, "GET", "/inventory/again/%d" % i).status, 200)
        time.sleep(0.5)
        self.assertEqual(len(self.issued()), 1)


if __name__ == "__main__":
    unittest.main()
