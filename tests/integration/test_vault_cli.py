"""The vault's admin REST API (/v1/vault/) and the `gatehouse vault secret|cert` commands over it,
against the real binary with a `vault:` section: every command, values only from stdin or a file
and never in the server's logs, exports written 0600, errors that say what is missing and where,
`creds expiring` listing vault items, and 404 vault_not_enabled on a server without a vault."""

import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
import unittest

from harness import Gatehouse, free_port, gatehouse_bin, make_pki, request, require_tool

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
MASTER_KEY = "5a" * 32  # 32 bytes as hex (test value)
SECRET = "s3cr3t-value-that-must-not-leak-7f3a"
SECRET2 = "second-version-9c1e\nwith two lines"
PFX_PASSWORD = "pfx-password-4b2d"


def identity_section():
    return {
        "data_dir": "data",
        "audit_log": "off",
        "listeners": ["public"],
        "signing": {"algorithm": "ES256"},
        "tenants": [{"id": TENANT, "name": "Contoso"}],
    }


def server_config(pki, admin_port, vault):
    tls = {"certificates": [{"cert": pki["server"] + ".pem", "key": pki["server"] + ".key"}]}
    config = {
        "workers": 1,
        "listeners": [
            {"name": "public", "address": "127.0.0.1:%d" % free_port(), "tls": tls},
        ],
        "admin": {"address": "127.0.0.1:%d" % admin_port},
        "apis": [{"name": "all", "path": "/", "backend_url": "http://127.0.0.1:9"}],
        "identity": identity_section(),
    }
    if vault:
        config["listeners"].append(
            {"name": "vault", "address": "127.0.0.1:%d" % free_port(), "tls": tls}
        )
        config["vault"] = {
            "tenant": TENANT,
            "listeners": ["vault"],
            "audit_log": "vault-audit.log",
            "issuers": [{"name": "dev-ca", "cert": pki["ca"] + ".pem", "key": pki["ca"] + ".key"}],
        }
    return config


class VaultCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tool("openssl")
        cls.dir = tempfile.mkdtemp(prefix="gh-vault-cli-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        pki_dir = os.path.join(cls.dir, "pki")
        os.makedirs(pki_dir)
        cls.pki = make_pki(pki_dir)
        cls.admin_port = free_port()
        cls.gh = Gatehouse(
            cls,
            server_config(cls.pki, cls.admin_port, vault=True),
            env={"GATEHOUSE_MASTER_KEY": MASTER_KEY},
        )
        cls.token_file = os.path.join(cls.gh.dir, "data", "admin.token")
        cls.admin_url = "http://127.0.0.1:%d" % cls.admin_port
        cls.env = dict(os.environ)
        cls.env.pop("GATEHOUSE_ADMIN_TOKEN", None)
        cls.env.update(
            {"GATEHOUSE_ADMIN_URL": cls.admin_url, "GATEHOUSE_ADMIN_TOKEN_FILE": cls.token_file}
        )

    # ----- helpers -----

    def run_cli(self, *args, stdin=None, env=None):
        return subprocess.run(
            [gatehouse_bin()] + list(args),
            env=env or self.env,
            input=stdin,
            capture_output=True,
            timeout=60,
        )

    def cli(self, *args, stdin=None, env=None):
        r = self.run_cli(*args, stdin=stdin, env=env)
        if r.returncode != 0:
            self.fail(
                "gatehouse %s: exit %d\n%s" % (" ".join(args), r.returncode, r.stderr.decode())
            )
        return r

    def cli_json(self, *args, stdin=None):
        return json.loads(self.cli(*(list(args) + ["--json"]), stdin=stdin).stdout)

    def cli_fails(self, *args, stdin=None):
        r = self.run_cli(*args, stdin=stdin)
        self.assertNotEqual(r.returncode, 0, "gatehouse %s succeeded" % " ".join(args))
        self.assertEqual(r.stdout, b"", "nothing on stdout when a command fails")
        return r.stderr.decode()

    def token(self):
        with open(self.token_file) as f:
            return f.read().strip()

    def admin(self, method, path, body=b"", token=None):
        headers = [("Authorization", "Bearer " + token)] if token else []
        if body:
            headers.append(("Content-Type", "application/json"))
        return request(self.admin_port, method, path, headers, body)

    def audit_records(self, wait_for=None, timeout=10.0):
        """Complete lines of the vault audit log (it is buffered and flushed periodically, so a
        last line may still be partial); waits until wait_for(records) is true."""
        path = os.path.join(self.gh.dir, "vault-audit.log")
        deadline = time.monotonic() + timeout
        while True:
            records = []
            if os.path.exists(path):
                with open(path) as f:
                    text = f.read()
                complete = text[: text.rfind("\n") + 1]
                records = [json.loads(line) for line in complete.splitlines() if line.strip()]
            if wait_for is None or wait_for(records) or time.monotonic() > deadline:
                return records
            time.sleep(0.1)

    def assert_never_logged(self, *values):
        """No value appears in the server's stdout, stderr, access log or vault audit log."""
        logs = {}
        for name in ("stdout.log", "stderr.log", "access.log", "vault-audit.log"):
            path = os.path.join(self.gh.dir, name)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    logs[name] = f.read()
        for value in values:
            for name, text in logs.items():
                self.assertNotIn(value.encode(), text, "a secret value is in %s" % name)

    def write(self, name, data, mode=0o600):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        os.chmod(path, mode)
        return path

    # ----- secrets -----

    def test_secret_lifecycle(self):
        # A value from stdin (the trailing newline of `echo` is dropped) ...
        first = self.cli_json(
            "vault", "secret", "set", "backend-key", "--value-stdin",
            "--content-type", "text/plain", "--tag", "env=test", "--tag", "team=orders",
            stdin=(SECRET + "\n").encode(),
        )
        self.assertEqual(first["name"], "backend-key")
        self.assertEqual(len(first["version"]), 32)
        self.assertEqual(first["tags"], {"env": "test", "team": "orders"})
        self.assertNotIn("value", first)
        # ... prints exactly the value on stdout, and nothing else.
        got = self.cli("vault", "secret", "get", "backend-key")
        self.assertEqual(got.stdout, SECRET.encode())
        self.assertEqual(got.stderr, b"")

        # A second version from a file, byte for byte (its newlines kept).
        value_file = self.write("second.txt", SECRET2 + "\n")
        second = self.cli_json(
            "vault", "secret", "set", "backend-key", "--file", value_file, "--expires", "5d"
        )
        self.assertNotEqual(second["version"], first["version"])
        self.assertIsNotNone(second["expires"])
        self.assertEqual(
            self.cli("vault", "secret", "get", "backend-key").stdout, (SECRET2 + "\n").encode()
        )
        # The first version is still readable by id.
        old = self.cli("vault", "secret", "get", "backend-key", "--version", first["version"])
        self.assertEqual(old.stdout, SECRET.encode())

        versions = self.cli_json("vault", "secret", "versions", "backend-key")["versions"]
        self.assertEqual([v["version"] for v in versions], [first["version"], second["version"]])
        self.assertEqual([v["current"] for v in versions], [False, True])
        table = self.cli("vault", "secret", "versions", "backend-key").stdout.decode()
        self.assertIn("VERSION", table.splitlines()[0])
        self.assertIn(first["version"], table)

        listed = self.cli("vault", "secret", "list").stdout.decode()
        self.assertIn("NAME", listed.splitlines()[0])
        row = [line for line in listed.splitlines() if line.startswith("backend-key ")]
        self.assertEqual(len(row), 1, listed)
        self.assertIn(second["version"], row[0])
        listed_json = self.cli_json("vault", "secret", "list")["secrets"]
        self.assertIn("backend-key", [s["name"] for s in listed_json])
        for s in listed_json:
            self.assertNotIn("value", s)

        # Every operation is audited through the admin API, without the value.
        wanted = {"set_secret", "get_secret", "list_secret_versions"}
        records = [
            r
            for r in self.audit_records(
                lambda rs: wanted <= {r["operation"] for r in rs if r.get("name") == "backend-key"}
            )
            if r.get("name") == "backend-key"
        ]
        operations = [r["operation"] for r in records]
        for op in ("set_secret", "get_secret", "list_secret_versions"):
            self.assertIn(op, operations)
        for r in records:
            self.assertEqual(r["via"], "admin")
            self.assertEqual(r["client_id"], "admin")
        self.assertIn(second["version"], [r["version"] for r in records])
        self.assert_never_logged(SECRET, SECRET2.split("\n")[0])

    def test_secret_delete_and_purge(self):
        self.cli("vault", "secret", "set", "short-lived", "--value-stdin", stdin=b"x1")
        deleted = self.cli("vault", "secret", "delete", "short-lived").stdout.decode()
        self.assertIn("recoverable until", deleted)
        err = self.cli_fails("vault", "secret", "get", "short-lived")
        self.assertIn("short-lived", err)
        # Soft-deleted: the name stays taken until purged.
        err = self.cli_fails("vault", "secret", "set", "short-lived", "--value-stdin", stdin=b"x2")
        self.assertIn("HTTP 409", err)
        purged = self.cli_json("vault", "secret", "delete", "short-lived", "--purge")
        self.assertTrue(purged["purged"])
        self.cli("vault", "secret", "set", "short-lived", "--value-stdin", stdin=b"x3")
        self.assertEqual(self.cli("vault", "secret", "get", "short-lived").stdout, b"x3")
        self.cli("vault", "secret", "delete", "short-lived", "--purge")

    def test_missing_names_say_what_and_where(self):
        for args in (
            ["vault", "secret", "get", "no-such-secret"],
            ["vault", "secret", "versions", "no-such-secret"],
            ["vault", "secret", "delete", "no-such-secret"],
        ):
            err = self.cli_fails(*args)
            self.assertIn("gatehouse vault secret", err)
            self.assertIn("no-such-secret", err)
            self.assertIn("HTTP 404", err)
            self.assertIn(self.admin_url, err)
        for args in (
            ["vault", "cert", "renew", "no-such-cert"],
            ["vault", "cert", "export", "no-such-cert", "--out", os.path.join(self.dir, "x")],
        ):
            err = self.cli_fails(*args)
            self.assertIn("no-such-cert", err)
            self.assertIn("HTTP 404", err)
            self.assertIn(self.admin_url, err)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "x")))
        err = self.cli_fails("vault", "secret", "get", "bad_name!")
        self.assertIn("HTTP 400", err)
        self.assertIn("invalid name", err)

    def test_values_never_come_from_arguments(self):
        # A positional value is refused by the parser, and no option takes one.
        err = self.cli_fails("vault", "secret", "set", "arg-secret", "plain-value")
        self.assertNotIn("plain-value", self.cli("vault", "secret", "list").stdout.decode())
        err = self.cli_fails("vault", "secret", "set", "arg-secret")
        self.assertIn("--value-stdin", err)
        err = self.cli_fails("vault", "secret", "set", "arg-secret", "--value-stdin", stdin=b"")
        self.assertIn("empty", err)
        err = self.cli_fails(
            "vault", "secret", "set", "arg-secret", "--file", os.path.join(self.dir, "missing")
        )
        self.assertIn("missing", err)
        self.assertIn("cannot read", err)

    # ----- certificates -----

    def test_certificate_lifecycle(self):
        created = self.cli_json(
            "vault", "cert", "create", "gw-client", "--subject", "CN=gateway",
            "--dns", "gw.example", "--issuer", "dev-ca", "--months", "1", "--key-type", "EC",
            "--renew-days", "10",
        )
        self.assertEqual(created["name"], "gw-client")
        self.assertIn("CN=gateway", created["subject"])
        self.assertEqual(created["issuer"], "dev-ca")

        listed = self.cli("vault", "cert", "list").stdout.decode()
        self.assertIn("SUBJECT", listed.splitlines()[0])
        row = [line for line in listed.splitlines() if line.startswith("gw-client ")]
        self.assertEqual(len(row), 1, listed)
        self.assertIn("10d before expiry", row[0])

        renewed = self.cli_json("vault", "cert", "renew", "gw-client")
        self.assertNotEqual(renewed["version"], created["version"])
        versions = self.cli_json("vault", "cert", "versions", "gw-client")["versions"]
        self.assertEqual([v["version"] for v in versions], [created["version"], renewed["version"]])
        self.assertIn(created["version"], self.cli("vault", "cert", "versions", "gw-client").stdout.decode())

        # PEM export: key then chain, written 0600 even over an existing readable file.
        pem_out = self.write("gw-client.pem", "old", mode=0o644)
        r = self.cli("vault", "cert", "export", "gw-client", "--out", pem_out)
        self.assertIn("0600", r.stdout.decode())
        self.assertEqual(stat.S_IMODE(os.stat(pem_out).st_mode), 0o600)
        with open(pem_out) as f:
            pem = f.read()
        self.assertIn("PRIVATE KEY-----", pem)
        self.assertIn("BEGIN CERTIFICATE", pem)
        self.assertLess(pem.index("PRIVATE KEY"), pem.index("BEGIN CERTIFICATE"))
        subject = subprocess.run(
            ["openssl", "x509", "-noout", "-subject", "-issuer"],
            input=pem[pem.index("-----BEGIN CERTIFICATE"):].encode(), capture_output=True,
        ).stdout.decode()
        self.assertIn("CN = gateway", subject)
        self.assertIn("CN = ca", subject)  # issued by the configured dev CA

        # PKCS#12 export with a password from the environment; openssl reads it back.
        pfx_out = os.path.join(self.dir, "gw-client.pfx")
        env = dict(self.env, PFX_PW=PFX_PASSWORD)
        self.cli(
            "vault", "cert", "export", "gw-client", "--out", pfx_out, "--format", "pfx",
            "--password-env", "PFX_PW", env=env,
        )
        self.assertEqual(stat.S_IMODE(os.stat(pfx_out).st_mode), 0o600)
        opened = subprocess.run(
            ["openssl", "pkcs12", "-in", pfx_out, "-nodes", "-passin", "env:PFX_PW"],
            env=env, capture_output=True,
        )
        self.assertEqual(opened.returncode, 0, opened.stderr)
        self.assertIn(b"CN = gateway", opened.stdout)
        wrong = subprocess.run(
            ["openssl", "pkcs12", "-in", pfx_out, "-nodes", "-passin", "pass:wrong"],
            capture_output=True,
        )
        self.assertNotEqual(wrong.returncode, 0)

        # That PKCS#12 imports under another name; a PEM file (key + chain) too.
        imported = json.loads(self.cli(
            "vault", "cert", "import", "gw-copy", "--file", pfx_out, "--password-env", "PFX_PW",
            "--json", env=env,
        ).stdout)
        self.assertEqual(imported["thumbprint_sha256"], renewed["thumbprint_sha256"])
        bundle = ""
        for part in (".key", ".pem"):
            with open(self.pki["client"] + part) as f:
                bundle += f.read()
        pem_in = self.write("client-bundle.pem", bundle)
        partner = self.cli_json("vault", "cert", "import", "partner", "--file", pem_in)
        self.assertIn("CN=client", partner["subject"].replace(" ", ""))
        self.assertEqual(partner["issuer"], "Unknown")
        # Imported certificates have no policy to renew from.
        err = self.cli_fails("vault", "cert", "renew", "partner")
        self.assertIn("HTTP 400", err)
        # A PKCS#12 with a wrong password is refused.
        err = self.cli_fails(
            "vault", "cert", "import", "gw-bad", "--file", pfx_out, "--password-env", "HOME"
        )
        self.assertIn("HTTP 400", err)

        wanted = {"create_certificate", "renew_certificate", "export_certificate",
                  "import_certificate", "list_certificates"}
        audit = self.audit_records(lambda rs: wanted <= {r["operation"] for r in rs})
        operations = {r["operation"] for r in audit if r.get("kind") == "certificate"}
        for op in wanted:
            self.assertIn(op, operations)
        self.assert_never_logged(PFX_PASSWORD, pem[pem.index("\n") + 1:pem.index("\n") + 40])

        self.cli("vault", "cert", "delete", "gw-copy", "--purge")
        self.assertNotIn("gw-copy", self.cli("vault", "cert", "list").stdout.decode())

    def test_creds_expiring_lists_vault_items(self):
        self.cli(
            "vault", "secret", "set", "expiring-soon", "--value-stdin", "--expires", "3d",
            stdin=b"soon",
        )
        self.cli(
            "vault", "secret", "set", "expiring-later", "--value-stdin", "--expires", "90d",
            stdin=b"later",
        )
        self.cli("vault", "cert", "create", "short-cert", "--subject", "CN=short", "--months", "1",
                 "--renew-days", "7")
        report = self.cli_json("creds", "expiring", "--within", "40d")
        items = {i["name"]: i for i in report["vault"]}
        self.assertIn("expiring-soon", items)
        self.assertNotIn("expiring-later", items)
        self.assertEqual(items["expiring-soon"]["kind"], "secret")
        self.assertFalse(items["expiring-soon"]["auto_renew"])
        self.assertIn(items["expiring-soon"]["days_left"], (2, 3))
        self.assertEqual(items["short-cert"]["kind"], "certificate")
        self.assertTrue(items["short-cert"]["auto_renew"])
        table = self.cli("creds", "expiring", "--within", "40d").stdout.decode()
        self.assertIn("VAULT ITEM", table)
        row = [line for line in table.splitlines() if line.startswith("short-cert ")]
        self.assertEqual(len(row), 1, table)
        self.assertTrue(row[0].rstrip().endswith("yes"), row[0])
        narrow = self.cli_json("creds", "expiring", "--within", "1h")
        self.assertNotIn("expiring-soon", [i["name"] for i in narrow["vault"]])

    # ----- the API itself -----

    def test_api_requires_the_admin_credential(self):
        r = self.admin("GET", "/v1/vault/secrets")
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.json()["error"], "unauthorized")
        r = self.admin("GET", "/v1/vault/secrets", token="not-the-token")
        self.assertEqual(r.status, 401, r)
        r = self.admin("GET", "/v1/vault/secrets", token=self.token())
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        r = self.admin("PATCH", "/v1/vault/secrets/x", token=self.token())
        self.assertEqual(r.status, 405, r)
        self.assertIn("PUT", r.header("Allow"))
        r = self.admin("PUT", "/v1/vault/secrets/x", b'{"value":"v","expire":1}', token=self.token())
        self.assertEqual(r.status, 400, r)
        self.assertIn("did you mean 'expires'", r.json()["message"])

    def test_server_without_vault_says_so(self):
        admin_port = free_port()
        other = Gatehouse(
            self, server_config(self.pki, admin_port, vault=False),
            env={"GATEHOUSE_MASTER_KEY": MASTER_KEY},
        )
        env = dict(self.env)
        env["GATEHOUSE_ADMIN_URL"] = "http://127.0.0.1:%d" % admin_port
        env["GATEHOUSE_ADMIN_TOKEN_FILE"] = os.path.join(other.dir, "data", "admin.token")
        r = self.run_cli("vault", "secret", "list", env=env)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no vault role", r.stderr.decode())
        self.assertIn("vault:", r.stderr.decode())
        with open(env["GATEHOUSE_ADMIN_TOKEN_FILE"]) as f:
            token = f.read().strip()
        resp = request(
            admin_port, "GET", "/v1/vault/secrets", [("Authorization", "Bearer " + token)]
        )
        self.assertEqual(resp.status, 404, resp)
        self.assertEqual(resp.json()["error"], "vault_not_enabled")
        # Unauthenticated callers learn nothing about it.
        self.assertEqual(request(admin_port, "GET", "/v1/vault/secrets").status, 401)
        # creds expiring still works, without vault items.
        r = self.run_cli("creds", "expiring", "--json", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("vault", json.loads(r.stdout))


if __name__ == "__main__":
    unittest.main()
