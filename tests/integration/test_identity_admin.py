"""The identity role's admin REST API and the `gatehouse app|creds|keys` CLI over it, against the
real binary: create an application, add a certificate and a secret, list, see them in
`creds expiring`, delete; unauthenticated requests get 401."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import Gatehouse, cert_der, free_port, gatehouse_bin, make_pki, request, sha1_upper

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
MASTER_KEY = "5a" * 32  # 32 bytes as hex: signing keys at rest (test value)


class IdentityAdmin(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="gh-admin-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        pki_dir = os.path.join(cls.dir, "pki")
        os.makedirs(pki_dir)
        cls.pki = make_pki(pki_dir)
        cls.admin_port = free_port()
        config = {
            "workers": 1,
            "listeners": [
                {
                    "name": "public",
                    "address": "127.0.0.1:%d" % free_port(),
                    "tls": {
                        "certificates": [
                            {"cert": cls.pki["server"] + ".pem", "key": cls.pki["server"] + ".key"}
                        ]
                    },
                }
            ],
            "admin": {"address": "127.0.0.1:%d" % cls.admin_port},
            "apis": [{"name": "all", "path": "/", "backend_url": "http://127.0.0.1:9"}],
            "identity": {
                "data_dir": "data",
                "audit_log": "off",
                "signing": {"algorithm": "ES256"},
                "tenants": [{"id": TENANT, "name": "Contoso", "aliases": ["contoso.example"]}],
            },
        }
        cls.gh = Gatehouse(cls, config, env={"GATEHOUSE_MASTER_KEY": MASTER_KEY})
        cls.token_file = os.path.join(cls.gh.dir, "data", "admin.token")
        cls.env = dict(os.environ)
        cls.env.pop("GATEHOUSE_ADMIN_TOKEN", None)
        cls.env.update(
            {
                "GATEHOUSE_ADMIN_URL": "http://127.0.0.1:%d" % cls.admin_port,
                "GATEHOUSE_ADMIN_TOKEN_FILE": cls.token_file,
                "GATEHOUSE_TENANT_ID": TENANT,
            }
        )

    def cli(self, *args, check=True):
        r = subprocess.run(
            [gatehouse_bin()] + list(args), env=self.env, capture_output=True, text=True, timeout=60
        )
        if check and r.returncode != 0:
            self.fail("gatehouse %s: exit %d\n%s" % (" ".join(args), r.returncode, r.stderr))
        return r

    def cli_json(self, *args):
        return json.loads(self.cli(*(list(args) + ["--json"])).stdout)

    def admin(self, method, path, body=b"", token=None):
        headers = [("Authorization", "Bearer " + token)] if token else []
        if body:
            headers.append(("Content-Type", "application/json"))
        return request(self.admin_port, method, path, headers, body)

    def test_token_file_is_private(self):
        mode = os.stat(self.token_file).st_mode & 0o777
        self.assertEqual(mode, 0o600)
        with open(self.token_file) as f:
            self.assertEqual(len(f.read().strip()), 43)

    def test_unauthenticated_requests_get_401(self):
        r = self.admin("GET", "/v1/tenants")
        self.assertEqual(r.status, 401, r)
        self.assertIn("Bearer", r.header("WWW-Authenticate", ""))
        self.assertEqual(r.json()["error"], "unauthorized")
        r = self.admin("GET", "/v1/tenants", token="not-the-token")
        self.assertEqual(r.status, 401, r)
        # The health endpoint stays open.
        self.assertEqual(request(self.admin_port, "GET", "/healthz").status, 200)
        with open(self.token_file) as f:
            token = f.read().strip()
        r = self.admin("GET", "/v1/tenants", token=token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["tenants"][0]["id"], TENANT)

    def test_application_lifecycle(self):
        created = self.cli_json("app", "create", "orders-worker")
        app = created["client_id"]
        self.assertEqual(created["tenant_id"], TENANT)

        # A certificate, shown with its SHA-1 thumbprint.
        cert_file = self.pki["client"] + ".leaf.pem"
        added = self.cli_json("app", "cert", "add", app, cert_file, "--name", "partner")
        thumbprint = sha1_upper(cert_der(cert_file))
        self.assertEqual(added["thumbprint"], thumbprint)

        # A secret: its value printed once, with a warning, never again.
        r = self.cli("app", "secret", "add", app, "--name", "ci", "--lifetime", "10d", "--json")
        secret = json.loads(r.stdout)
        self.assertTrue(secret["secret_text"])
        self.assertIn("cannot be shown again", r.stderr)
        shown = self.cli("app", "show", app)
        self.assertIn(thumbprint, shown.stdout)
        self.assertIn(secret["key_id"], shown.stdout)
        self.assertNotIn(secret["secret_text"], shown.stdout)
        self.assertNotIn(secret["secret_text"], self.cli("app", "show", app, "--json").stdout)

        listed = self.cli("app", "list")
        self.assertIn(app, listed.stdout)
        self.assertIn("orders-worker", listed.stdout)

        # Both credentials end within 30 days (the test certificate lives 2 days): soonest first.
        expiring = self.cli_json("creds", "expiring", "--within", "30d")["credentials"]
        mine = [c for c in expiring if c["client_id"] == app]
        self.assertEqual([c["kind"] for c in mine], ["certificate", "secret"])
        self.assertEqual(mine[0]["thumbprint"], thumbprint)
        self.assertEqual(mine[1]["key_id"], secret["key_id"])
        self.assertIn(mine[1]["days_left"], (9, 10))  # 10 days less the time since creation
        table = self.cli("creds", "expiring", "--within", "30d").stdout
        self.assertIn("DAYS LEFT", table)
        self.assertIn(thumbprint, table)
        self.assertIn("orders-worker", table)
        narrow = self.cli_json("creds", "expiring", "--within", "1h")["credentials"]
        self.assertEqual([c for c in narrow if c["client_id"] == app], [])

        self.cli("app", "delete", app)
        gone = self.cli("app", "show", app, check=False)
        self.assertEqual(gone.returncode, 1)
        self.assertIn("not found", gone.stderr)
        self.assertIn("HTTP 404", gone.stderr)
        expiring = self.cli_json("creds", "expiring", "--within", "30d")["credentials"]
        self.assertEqual([c for c in expiring if c["client_id"] == app], [])

    def test_errors_name_the_field_and_exit_nonzero(self):
        with open(self.token_file) as f:
            token = f.read().strip()
        r = self.admin(
            "POST",
            "/v1/tenants/%s/applications" % TENANT,
            body=b'{"display_nme": "x"}',
            token=token,
        )
        self.assertEqual(r.status, 400, r)
        self.assertIn("display_nme", r.json()["message"])
        r = self.cli("app", "cert", "remove", "0b0b0b0b-0000-4000-8000-000000000000", "00" * 20,
                     check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not found", r.stderr)

    def test_keys_list_and_rotate(self):
        before = self.cli_json("keys", "list")["keys"]
        signing = [k["kid"] for k in before if k["state"] == "signing"]
        self.assertEqual(len(signing), 1)
        rotated = self.cli_json("keys", "rotate")
        self.assertNotEqual(rotated["kid"], signing[0])
        after = {k["kid"]: k["state"] for k in self.cli_json("keys", "list")["keys"]}
        self.assertEqual(after[rotated["kid"]], "signing")
        self.assertIn(signing[0], after)  # still published for tokens it signed


if __name__ == "__main__":
    unittest.main()
