"""The vault's Key Vault REST API with the real npm clients (@azure/keyvault-secrets and
@azure/keyvault-certificates 4.x, changed only in their URL, credential and
disableChallengeResourceVerification), tokens from the identity role through @azure/identity's
ClientCertificateCredential, driven by tests/clients/keyvault_client.mjs. Also: the 401 challenge
on the wire, a client app without a vault role gets 403, and no value reaches Gatehouse's
stdout/stderr, the audit logs or the SQLite files."""

import base64
import glob
import hashlib
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import uuid

from harness import Gatehouse, _openssl, free_port, make_pki, require_tool

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS = os.path.abspath(os.path.join(HERE, "..", "clients"))

TENANT = "3f6a2c1d-7b4e-4f5a-9c8d-1e2f3a4b5c6d"
WRITER = "6b2d8f4a-1c3e-4a5b-9d7f-0e8c6a4b2d1f"  # Secrets Officer + Certificates Officer + User
STRANGER = "9e1c7a5b-3d2f-4b6a-8c0e-5f4d3c2b1a09"  # registered, no vault role
VALUE = "kv-value-" + uuid.uuid4().hex
VALUE2 = "kv-value2-" + uuid.uuid4().hex


def node_available():
    return shutil.which("node") and os.path.isdir(
        os.path.join(CLIENTS, "node_modules", "@azure", "keyvault-secrets"))


class VaultWithKeyVaultClients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tool("openssl")
        cls.dir = tempfile.mkdtemp(prefix="gh-vault-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.pki = make_pki(cls.dir)
        for name, cn in (("writer", "vault-writer"), ("stranger", "vault-stranger")):
            _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key",
                     "-out", name + ".crt", "-days", "30", "-subj", "/CN=" + cn, cwd=cls.dir)
            with open(os.path.join(cls.dir, name + ".pem"), "w") as out:
                for ext in (".key", ".crt"):
                    with open(os.path.join(cls.dir, name + ext)) as f:
                        out.write(f.read())
        cls.port = free_port()
        cls.vault_port = free_port()
        cls.authority_host = "https://127.0.0.1:%d" % cls.port
        cls.vault_url = "https://127.0.0.1:%d" % cls.vault_port
        cls.data_dir = os.path.join(cls.dir, "data")
        cls.vault_audit = os.path.join(cls.dir, "vault-audit.log")
        tls = {"certificates": [{"cert": cls.pki["server"] + ".pem",
                                 "key": cls.pki["server"] + ".key"}]}
        config = {
            "workers": 2,
            "listeners": [
                {"name": "public", "address": "127.0.0.1:%d" % cls.port, "tls": tls},
                {"name": "vault", "address": "127.0.0.1:%d" % cls.vault_port, "tls": tls},
            ],
            "apis": [{"name": "none", "path": "/api", "backend_url": "http://127.0.0.1:9"}],
            "identity": {
                "data_dir": cls.data_dir,
                "public_url": cls.authority_host,
                "audit_log": os.path.join(cls.dir, "identity-audit.log"),
                "tenants": [{
                    "id": TENANT, "name": "Contoso",
                    "applications": [
                        {"client_id": WRITER, "name": "vault-writer",
                         "certificates": [{"file": os.path.join(cls.dir, "writer.crt")}]},
                        {"client_id": STRANGER, "name": "vault-stranger",
                         "certificates": [{"file": os.path.join(cls.dir, "stranger.crt")}]},
                    ],
                }],
            },
            "vault": {
                "tenant": TENANT,
                "listeners": ["vault"],
                "audit_log": cls.vault_audit,
                "access": [
                    {"client_id": WRITER, "role": "Key Vault Secrets Officer"},
                    {"client_id": WRITER, "role": "Key Vault Certificates Officer"},
                ],
            },
        }
        cls.gh = Gatehouse(cls, config, workdir=cls.dir)
        cls.ca = cls.pki["ca"] + ".pem"
        cls.ctx = ssl.create_default_context(cafile=cls.ca)

    def node(self, scenario, client, pem, name):
        if not node_available():
            self.skipTest("tests/clients/node_modules missing: run scripts/bootstrap")
        env = dict(os.environ)
        env.update({
            "VAULT_URL": self.vault_url, "AUTHORITY_HOST": self.authority_host,
            "TENANT_ID": TENANT, "CLIENT_ID": client, "CLIENT_CERT": os.path.join(self.dir, pem),
            "NAME": name, "VALUE": VALUE, "VALUE2": VALUE2, "NODE_EXTRA_CA_CERTS": self.ca,
        })
        r = subprocess.run(["node", os.path.join(CLIENTS, "keyvault_client.mjs"), scenario],
                           capture_output=True, env=env, timeout=120, cwd=CLIENTS)
        lines = [l for l in r.stdout.decode().splitlines() if l.startswith("{")]
        self.assertTrue(lines, "no result from %s: %s" % (scenario, r.stderr.decode()[-2000:]))
        out = json.loads(lines[-1])
        if not out["ok"]:
            self.fail("%s failed: %s\nvault audit:\n%s\nstderr:\n%s" % (
                scenario, out, self.read(self.vault_audit)[-1500:],
                self.gh.stderr_text()[-1500:]))
        return out

    @staticmethod
    def read(path):
        if not os.path.exists(path):
            return ""
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def audit_lines(self, wait_for=None, timeout=5.0):
        """The vault audit log's lines; waits (the log is flushed every 200 ms) until
        wait_for(lines) holds."""
        deadline = time.monotonic() + timeout
        while True:
            # Only whole lines: a flush may end in the middle of one.
            whole = self.read(self.vault_audit).split("\n")[:-1]
            lines = [json.loads(l) for l in whole if l.strip()]
            if wait_for is None or wait_for(lines) or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    # --- the npm clients ------------------------------------------------------------------------

    def test_secrets_set_get_versions_list_disable_delete(self):
        name = "orders-key"
        out = self.node("secrets", WRITER, "writer.pem", name)
        prefix = "%s/secrets/%s/" % (self.vault_url, name)
        self.assertTrue(out["id"].startswith(prefix), out["id"])
        self.assertEqual(out["vaultUrl"], self.vault_url)
        self.assertEqual(len(out["versions"]), 2)
        self.assertIn(out["id"][len(prefix):], out["versions"])
        self.assertGreaterEqual(out["pages"], 2, "pages of two over four secrets follow nextLink")
        for n in [name] + ["%s-p%d" % (name, i) for i in range(3)]:
            self.assertIn(n, out["listed"])
        self.assertEqual(len(out["listed"]), len(set(out["listed"])))
        self.assertEqual(out["disabled"]["status"], 403)
        self.assertEqual(out["recoveryId"], "%s/deletedsecrets/%s" % (self.vault_url, name))
        self.assertIsNotNone(out["deletedOn"])
        self.assertEqual(out["afterDelete"]["status"], 404)
        self.assertEqual(out["afterDelete"]["code"], "SecretNotFound")
        self.assertEqual(out["deletedName"], name)
        self.assertEqual(out["reuse"]["status"], 409)

        mine = lambda lines: [(l["operation"], l["outcome"]) for l in lines
                              if l["name"] == name and l["client_id"] == WRITER]
        ops = mine(self.audit_lines(lambda lines: ("get_deleted_secret", "ok") in mine(lines)))
        for expected in (("set_secret", "ok"), ("get_secret", "ok"), ("get_secret", "denied"),
                         ("update_secret", "ok"), ("delete_secret", "ok"),
                         ("get_deleted_secret", "ok"), ("list_secret_versions", "ok")):
            self.assertIn(expected, ops)

    def test_certificate_create_get_secret_versions(self):
        name = "gateway-client"
        out = self.node("certificates", WRITER, "writer.pem", name)
        self.assertEqual(out["createdName"], name)
        self.assertEqual(out["operationStatus"], "completed")
        self.assertEqual(out["id"], "%s/certificates/%s/%s" % (
            self.vault_url, name, out["version"]))
        der = base64.b64decode(out["cer"])
        self.assertEqual(out["x5t"], hashlib.sha1(der).hexdigest())
        self.assertEqual(out["secretId"], "%s/secrets/%s/%s" % (
            self.vault_url, name, out["version"]))
        self.assertEqual(out["secretContentType"], "application/x-pem-file")
        self.assertTrue(out["secretManaged"])
        self.assertTrue(out["pemHasKey"])
        self.assertTrue(out["pemHasCertificate"])
        self.assertNotEqual(out["secondVersion"], out["version"])
        self.assertEqual(sorted(out["versions"]), sorted([out["version"], out["secondVersion"]]))
        self.assertIn(name, out["listed"])
        self.assertEqual(out["policySubject"], "CN=kv-integration.test")
        self.assertEqual(out["policyIssuer"], "Self")
        # The certificate is a real X.509 certificate with that subject.
        pem = "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % out["cer"]
        path = os.path.join(self.dir, "issued.pem")
        with open(path, "w") as f:
            f.write(pem)
        r = subprocess.run(["openssl", "x509", "-in", path, "-noout", "-subject"],
                           capture_output=True, check=True)
        self.assertIn("kv-integration.test", r.stdout.decode())

    def test_client_without_a_vault_role_gets_403(self):
        out = self.node("forbidden", STRANGER, "stranger.pem", "orders-key")
        for op in ("get", "set", "cert"):
            self.assertEqual(out[op]["status"], 403, out)
            self.assertEqual(out[op]["code"], "Forbidden", out)
        strangers = lambda lines: [l for l in lines if l["client_id"] == STRANGER]
        denied = strangers(self.audit_lines(lambda lines: len(strangers(lines)) >= 3))
        self.assertGreaterEqual(len(denied), 3)
        self.assertTrue(all(l["outcome"] == "denied" for l in denied), denied)

    # --- the wire -------------------------------------------------------------------------------

    def test_challenge_names_the_authority_and_resource(self):
        req = urllib.request.Request(self.vault_url + "/secrets/anything?api-version=7.6")
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, context=self.ctx)
        self.assertEqual(e.exception.code, 401)
        self.assertEqual(e.exception.headers["WWW-Authenticate"],
                         'Bearer authorization="%s/%s", resource="https://vault.azure.net"'
                         % (self.authority_host, TENANT))
        body = json.load(e.exception)
        self.assertEqual(body["error"]["code"], "Unauthorized")

    # --- no value anywhere it should not be -----------------------------------------------------

    def test_zz_values_never_logged_or_stored_in_plaintext(self):
        # Runs last (name order): after the clients above wrote VALUE and VALUE2.
        self.node("secrets", WRITER, "writer.pem", "leak-check")
        self.gh.terminate()  # flushes the logs and the database
        logs = [os.path.join(self.dir, f) for f in ("stdout.log", "stderr.log")]
        logs += [self.vault_audit, os.path.join(self.dir, "identity-audit.log"),
                 self.gh.access_log_path]
        files = glob.glob(os.path.join(self.data_dir, "*"))
        self.assertTrue(any(f.endswith(".db") or "sqlite" in f for f in files), files)
        for path in logs + files:
            if not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                data = f.read()
            for value in (VALUE, VALUE2):
                self.assertNotIn(value.encode(), data, "%s holds a secret value" % path)
        for path in files:
            with open(path, "rb") as f:
                self.assertNotIn(b"PRIVATE KEY", f.read(), path)
        self.assertTrue(self.audit_lines(), "the vault audit log is empty")


if __name__ == "__main__":
    unittest.main()
