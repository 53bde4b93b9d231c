"""Scenario 3, passwordless service to service: examples/passwordless-service-to-service/ run as
its README says, the files unchanged, settings from the environment.

A workload (workload.cjs: @azure/identity ManagedIdentityCredential over IMDS, bound to this
process's uid; @azure/keyvault-secrets SecretClient with the same credential) reads its
subscription key from the vault and calls the orders API through the gateway, which validates
the token with validate-azure-ad-token (role Orders.Read), reads its own copy of the
subscription key from the same vault secret, and adds the backend's function key from the
vault. The backend (backend.py) accepts only the allow-listed client id and object id. A role
assignment removed with `gatehouse app unassign` refuses every token issued after it; tokens
issued before it (a workload's cached one) still pass until they expire.
"""

import json
import os
import queue
import re
import secrets
import subprocess
import sys
import time
import unittest
import urllib.parse
import urllib.request
import uuid

import e2e_support
from e2e_support import harness

FOLDER = e2e_support.example("passwordless-service-to-service")
MISSING_KEY = (b'{ "statusCode": 401, "message": "Access denied due to missing subscription key. '
               b'Make sure to include subscription key when making requests to an API." }')
INVALID_KEY = (b'{ "statusCode": 401, "message": "Access denied due to invalid subscription key. '
               b'Make sure to provide a valid key for an active subscription." }')
JWT_NOT_PRESENT = b'{ "statusCode": 401, "message": "JWT not present." }'
INVALID_JWT = b'{ "statusCode": 401, "message": "Invalid JWT." }'


def process(owner, name, argv, env, workdir, lines=False):
    """A long-running process of the scenario (gatehouse, the backend, a looping workload) with
    its output in `workdir` (stdout in a queue of lines with `lines`); killed at cleanup."""
    return harness.Process(owner, argv, env=env, cwd=workdir, name=name,
                           stdout=harness.LINES if lines else os.path.join(workdir, name + ".out"),
                           stderr=os.path.join(workdir, name + ".err"))


class PasswordlessServiceToService(harness.GatehouseTestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_tool("openssl")
        cls.node = harness.require_tool("node")
        node_modules = os.path.join(e2e_support.CLIENTS, "node_modules")
        if not os.path.isdir(os.path.join(node_modules, "@azure", "keyvault-secrets")):
            raise AssertionError("tests/clients/node_modules is missing: run scripts/bootstrap")
        cls.dir = harness.temp_dir(cls, "gh-e2e-s2s-")
        gatehouse = harness.gatehouse_bin()
        cls.gatehouse = gatehouse

        # README step 1: a TLS certificate for the listeners (self-signed; clients trust it).
        tls = os.path.join(cls.dir, "tls")
        subprocess.run([gatehouse, "cert", "new", "--subject", "CN=localhost",
                        "--san", "DNS:localhost,IP:127.0.0.1", "--out", tls],
                       check=True, capture_output=True)

        # README step 2: the environment.
        ports = {k: harness.free_port() for k in ("api", "identity", "vault", "imds", "admin",
                                                  "backend")}
        cls.ports = ports
        cls.ids = {k: str(uuid.uuid4()) for k in ("tenant", "orders_api", "orders_worker",
                                                  "reports_worker")}
        cls.function_key = secrets.token_hex(16)
        cls.data_dir = os.path.join(cls.dir, "data")
        cls.env = dict(os.environ)
        cls.env.update({
            "TLS_CERT": tls + ".pem", "TLS_KEY": tls + ".key",
            "TENANT_ID": cls.ids["tenant"],
            "ORDERS_API_CLIENT_ID": cls.ids["orders_api"],
            "ORDERS_WORKER_CLIENT_ID": cls.ids["orders_worker"],
            "REPORTS_WORKER_CLIENT_ID": cls.ids["reports_worker"],
            "WORKLOAD_UID": str(os.getuid()),
            "ORDERS_SUBSCRIPTION_KEY": secrets.token_hex(16),
            "BACKEND_FUNCTION_KEY": cls.function_key,
            "GATEHOUSE_API_LISTEN": "127.0.0.1:%d" % ports["api"],
            "GATEHOUSE_IDENTITY_LISTEN": "127.0.0.1:%d" % ports["identity"],
            "GATEHOUSE_VAULT_LISTEN": "127.0.0.1:%d" % ports["vault"],
            "GATEHOUSE_IMDS_LISTEN": "127.0.0.1:%d" % ports["imds"],
            "GATEHOUSE_ADMIN": "127.0.0.1:%d" % ports["admin"],
            "GATEHOUSE_DATA_DIR": cls.data_dir,
            "BACKEND_URL": "http://127.0.0.1:%d" % ports["backend"],
            "VAULT_AUDIT_LOG": os.path.join(cls.dir, "vault-audit.log"),
            # The CLI's connection to the admin API.
            "GATEHOUSE_ADMIN_URL": "http://127.0.0.1:%d" % ports["admin"],
            "GATEHOUSE_ADMIN_TOKEN_FILE": os.path.join(cls.data_dir, "admin.token"),
            # The workload's: where Azure's SDKs find the managed-identity endpoint and the vault.
            "AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:%d" % ports["imds"],
            "VAULT_URL": "https://127.0.0.1:%d" % ports["vault"],
            "API_URL": "https://127.0.0.1:%d/orders/status" % ports["api"],
            "NODE_EXTRA_CA_CERTS": tls + ".pem",
            "NODE_PATH": node_modules,
        })
        for var in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IMDS_ENDPOINT", "MSI_ENDPOINT",
                    "AZURE_CLIENT_ID", "GATEHOUSE_ADMIN_TOKEN", "GATEHOUSE_MASTER_KEY"):
            cls.env.pop(var, None)  # they would choose other protocols or credentials
        cls.config = os.path.join(FOLDER, "gatehouse.yaml")
        cls.tls = harness.tls_context(tls + ".pem")

        # README step 3: check the file, then serve it.
        cls.cli("config", "check", cls.config)
        cls.gh = process(cls, "gatehouse", [gatehouse, "serve", "--config", cls.config], cls.env,
                         cls.dir)
        cls.gh.wait_ports([ports[name] for name in ("api", "identity", "vault", "imds", "admin")],
                          timeout=15.0)

        # README step 4: grant orders-worker the role; look up the object ids.
        out = cls.cli("app", "assign", cls.ids["orders_worker"], "--resource", "api://orders",
                         "--role", "Orders.Read")
        cls.assignment = re.search(r"assignment ([0-9a-f-]{36})", out).group(1)
        cls.oid = {w: cls.object_id(cls.ids[w]) for w in ("orders_worker", "reports_worker")}

        # README step 5: the backend, allowing orders-worker only.
        backend_env = dict(cls.env)
        backend_env.update({
            "FUNCTION_KEY": cls.function_key,
            "ALLOWED_CLIENT_IDS": cls.ids["orders_worker"],
            "ALLOWED_OBJECT_IDS": cls.oid["orders_worker"],
            "BACKEND_LISTEN": "127.0.0.1:%d" % ports["backend"],
        })
        cls.backend = process(cls, "backend", [sys.executable, os.path.join(FOLDER, "backend.py")],
                              backend_env, cls.dir)
        cls.backend.wait_ports([ports["backend"]], timeout=15.0)

    # --- the README's commands ---------------------------------------------------------------

    @classmethod
    def cli(cls, *args, stdin=None):
        """`gatehouse ARGS...`: its stdout; fails the test when it fails."""
        return harness.run_command([cls.gatehouse] + list(args), env=cls.env, input=stdin,
                                   timeout=30).stdout

    @classmethod
    def object_id(cls, client_id):
        return json.loads(cls.cli("app", "show", client_id, "--json"))["service_principal_id"]

    def workload(self, identity, *args):
        """`node workload.cjs --json` as `identity`: one call with a new credential."""
        env = dict(self.env, AZURE_CLIENT_ID=self.ids[identity])
        r = subprocess.run([self.node, os.path.join(FOLDER, "workload.cjs"), "--json"] +
                           list(args), env=env, capture_output=True, timeout=60, cwd=self.dir)
        lines = [l for l in r.stdout.decode().splitlines() if l.startswith("{")]
        self.assertTrue(lines, "workload printed nothing: %s\ngatehouse stderr:\n%s" % (
            r.stderr.decode()[-2000:], self.gh.stderr_text()[-2000:]))
        out = json.loads(lines[-1])
        self.assertNotIn("error", out, r.stderr.decode()[-2000:])
        self.assertEqual(r.returncode, 0 if out["status"] == 200 else 1)
        return out

    def subscription_key(self):
        """The current key, read from the vault as the workload does (with the admin CLI)."""
        return self.cli("vault", "secret", "get", "orders-subscription-key").strip()

    def imds_token(self, identity):
        """A token straight from the IMDS endpoint (the README's curl)."""
        query = urllib.parse.urlencode({"api-version": "2018-02-01", "resource": "api://orders",
                                        "client_id": self.ids[identity]})
        req = urllib.request.Request(
            "http://127.0.0.1:%d/metadata/identity/oauth2/token?%s" % (self.ports["imds"], query),
            headers={"Metadata": "true"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)["access_token"]

    def call_api(self, token=None, key=None):
        headers = []
        if token:
            headers.append(("Authorization", "Bearer " + token))
        if key:
            headers.append(("Ocp-Apim-Subscription-Key", key))
        return harness.request(self.ports["api"], "GET", "/orders/status", headers,
                               tls=self.tls, server_hostname="localhost")

    # --- the scenario ------------------------------------------------------------------------

    def test_the_allow_listed_workload_gets_through_with_no_credential_of_its_own(self):
        out = self.workload("orders_worker")
        self.assertEqual(out["status"], 200, out)
        body = json.loads(out["body"])
        self.assertEqual(body["caller"], self.ids["orders_worker"])
        self.assertEqual(body["object_id"], self.oid["orders_worker"])
        self.assertEqual(body["roles"], ["Orders.Read"])
        self.assertEqual(out["client_id"], self.ids["orders_worker"])
        self.assertEqual(out["object_id"], self.oid["orders_worker"])
        self.assertRegex(out["secret_version"], r"^[0-9a-f]{32}$")
        # The backend saw the caller; the vault audited both identities' reads by client id.
        harness.poll(lambda: "200 GET /orders/status caller %s" % self.ids["orders_worker"]
                     in self.backend.stdout_text(), "the backend's line")
        with open(self.env["VAULT_AUDIT_LOG"]) as f:
            audit = f.read()
        self.assertIn('"name":"orders-subscription-key"', audit)
        self.assertIn(self.ids["orders_worker"], audit)
        # No key or token in any log.
        key = self.subscription_key()
        for text in (self.gh.stdout_text(), self.gh.stderr_text(), self.backend.stdout_text(),
                     audit):
            self.assertNotIn(key, text)
            self.assertNotIn(self.function_key, text)

    def test_another_identity_with_the_role_passes_the_gateway_but_not_the_backend(self):
        out = self.workload("reports_worker")
        self.assertEqual(out["roles"], ["Orders.Read"])
        self.assertEqual(out["status"], 403, out)
        self.assertEqual(json.loads(out["body"]),
                         {"error": "client application %s is not allowed"
                                   % self.ids["reports_worker"]})

    def test_the_gateway_wants_the_key_and_the_token_and_the_backend_the_function_key(self):
        token = self.imds_token("orders_worker")
        key = self.subscription_key()
        self.assertEqual(self.call_api(token, key).status, 200)
        r = self.call_api(token)
        self.assertApimError(r, 401)
        self.assertEqual(r.body, MISSING_KEY)
        r = self.call_api(token, key[::-1])
        self.assertEqual((r.status, r.body), (401, INVALID_KEY))
        r = self.call_api(None, key)
        self.assertEqual((r.status, r.body), (401, JWT_NOT_PRESENT))
        r = self.call_api(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"), key)
        self.assertEqual((r.status, r.body), (401, INVALID_JWT))
        # Straight to the backend, around the gateway: no function key.
        r = harness.request(self.ports["backend"], "GET", "/orders/status",
                            [("Authorization", "Bearer " + token)])
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json(), {"error": "missing or wrong function key"})

    def test_a_removed_role_assignment_refuses_the_tokens_issued_after_it(self):
        def restore():
            out = self.cli("app", "assign", self.ids["orders_worker"], "--resource",
                              "api://orders", "--role", "Orders.Read")
            type(self).assignment = re.search(r"assignment ([0-9a-f-]{36})", out).group(1)
        # A long-running workload calling every 0.3 s, even with a new ManagedIdentityCredential
        # for each call (msal-node's managed-identity token cache is process-wide).
        env = dict(self.env, AZURE_CLIENT_ID=self.ids["orders_worker"])
        loop = process(self, "workload-loop", [self.node, os.path.join(FOLDER, "workload.cjs"),
                                               "--json", "--every", "0.3", "--new-credential"],
                       env, self.dir, lines=True)
        first = self.next_call(loop, after=0)
        self.assertEqual(first["status"], 200, first)
        before = self.imds_token("orders_worker")  # issued before the removal

        self.cli("app", "unassign", self.assignment)
        self.addCleanup(restore)
        removed_at = time.monotonic()

        # A new token (a new process, so a new credential) has no role: the gateway refuses it.
        out = self.workload("orders_worker")
        self.assertEqual(out["roles"], [])
        self.assertEqual((out["status"], out["body"].encode()), (401, INVALID_JWT))
        self.assertNotEqual(out["token_sha256"], first["token_sha256"])
        # Tokens issued before the removal still carry the role until they expire: the raw one,
        # and the long-running workload's, which the SDK keeps reusing from its cache.
        self.assertEqual(self.call_api(before, self.subscription_key()).status, 200)
        later = self.next_call(loop, after=removed_at)
        self.assertEqual(later["status"], 200, later)
        self.assertEqual(later["token_sha256"], first["token_sha256"])
        loop.stop()

        # Granted again: the next new token passes.
        restore()
        self.assertEqual(self.workload("orders_worker")["status"], 200)

    def next_call(self, loop, after):
        """The first call result the looping workload printed after `after` (monotonic)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                at, line = loop.lines.get(timeout=1)
            except queue.Empty:
                continue
            if at <= after or not line.startswith("{"):
                continue
            out = json.loads(line)
            self.assertNotIn("error", out, loop.stderr_text()[-2000:])
            return out
        raise AssertionError("the looping workload printed nothing: %s"
                             % loop.stderr_text()[-2000:])

    def test_a_new_subscription_key_in_the_vault_reaches_the_gateway_and_the_workload(self):
        old = self.subscription_key()
        new = secrets.token_hex(16)
        self.cli("vault", "secret", "set", "orders-subscription-key", "--value-stdin",
                    stdin=new + "\n")
        token = self.imds_token("orders_worker")
        # The gateway reads the key from the vault secret and follows its new version.
        harness.poll(lambda: self.call_api(token, old).status == 401, "the old key refused")
        self.assertEqual(self.call_api(token, new).status, 200)
        out = self.workload("orders_worker")
        self.assertEqual(out["status"], 200, out)
        self.assertNotIn(new, self.gh.stderr_text() + self.gh.stdout_text())


if __name__ == "__main__":
    unittest.main()
