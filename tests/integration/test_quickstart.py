"""The README's first-hour path stays true: `gatehouse dev` and the examples people start from."""

import base64
import json
import shutil
import uuid
import os
import shlex
import signal
import subprocess
import tempfile
import time
import unittest

from harness import TestBackend, free_port, gatehouse_bin, on_cleanup, require_tool, wait_port

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def read_env_file(path):
    """Parses the `export NAME='value'` lines of dev.env as a shell would."""
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("export "):
                continue
            name, _, value = line[len("export "):].partition("=")
            env[name] = shlex.split(value)[0]
    return env


class DevCommand(unittest.TestCase):
    def start_dev(self, data_dir, port, admin_port):
        out = open(os.path.join(data_dir + ".out"), "w+")
        # The vault listener: one port per data directory, so that a restart reuses it.
        if not hasattr(self, "vault_ports"):
            self.vault_ports = {}
        vault_port = self.vault_ports.setdefault(data_dir, free_port())
        proc = subprocess.Popen(
            [gatehouse_bin(), "dev", "--data-dir", data_dir,
             "--listen", "127.0.0.1:%d" % port, "--admin", "127.0.0.1:%d" % admin_port,
             "--vault", "127.0.0.1:%d" % vault_port],
            stdout=out, stderr=subprocess.PIPE)

        def stop():
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stderr.close()
            out.close()

        on_cleanup(self, stop)
        wait_port(port, proc=proc, what="gatehouse dev")
        # The port accepts before dev.env is (re)written; the banner comes after it.
        deadline = time.monotonic() + 30
        while True:
            out.seek(0)
            if "Gatehouse dev is running" in out.read():
                break
            self.assertIsNone(proc.poll(), "gatehouse dev exited")
            self.assertLess(time.monotonic(), deadline, "no banner from gatehouse dev")
            time.sleep(0.05)
        return proc, out

    def curl(self, env, path, token=None, key=None):
        curl = require_tool("curl")
        headers = []
        if token:
            headers += ["-H", "Authorization: Bearer " + token]
        if key:
            headers += ["-H", "Ocp-Apim-Subscription-Key: " + key]
        return subprocess.run(
            [curl, "-sS", "--cacert", env["GATEHOUSE_CA_BUNDLE"], "-w", "\n%{http_code}"] +
            headers + [env["DEMO_API_URL"] + path], capture_output=True, text=True, timeout=20)

    def token(self, env, flag):
        r = subprocess.run(
            [gatehouse_bin(), "token", "get", "--client-id", env["DEMO_CLIENT_ID"],
             "--scope", env["DEMO_SCOPE"]] + flag,
            env=dict(os.environ, **env), capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def test_dev_serves_the_demo_api_over_tls_and_reuses_its_data_dir(self):
        tmp = tempfile.mkdtemp(prefix="gh-dev-")
        data_dir = os.path.join(tmp, "data")
        port, admin_port = free_port(), free_port()
        proc, out = self.start_dev(data_dir, port, admin_port)

        env = read_env_file(os.path.join(data_dir, "dev.env"))
        self.assertEqual(env["GATEHOUSE_AUTHORITY"], "https://127.0.0.1:%d" % port)
        self.assertEqual(env["DEMO_API_URL"], "https://127.0.0.1:%d/demo" % port)
        self.assertRegex(env["DEMO_SUBSCRIPTION_KEY"], r"^[0-9a-f]{32}$")

        # The demo API is protected like the seeds' APIs: a subscription key, and a token for
        # api://demo with the demo role that was obtained with a certificate (azpacr 2).
        cert_token = self.token(env, ["--cert", env["DEMO_CLIENT_CERT"]])
        result = self.curl(env, "/hello", cert_token, env["DEMO_SUBSCRIPTION_KEY"])
        self.assertEqual(result.returncode, 0, result.stderr)
        body, status = result.stdout.rsplit("\n", 1)
        self.assertEqual(status, "200", body)
        self.assertIn("Hello from the Gatehouse demo API", body)
        self.assertIn('"path": "/demo/hello"', body)
        body, status = self.curl(env, "/hello", cert_token).stdout.rsplit("\n", 1)
        self.assertEqual(status, "401")
        self.assertIn("missing subscription key", body)
        body, status = self.curl(env, "/hello", None, env["DEMO_SUBSCRIPTION_KEY"]).stdout.rsplit(
            "\n", 1)
        self.assertEqual((status, body), ("401", '{ "statusCode": 401, "message": "JWT not present." }'))
        secret_token = self.token(env, ["--secret-env", "DEMO_CLIENT_SECRET"])
        body, status = self.curl(env, "/hello", secret_token,
                                 env["DEMO_SUBSCRIPTION_KEY"]).stdout.rsplit("\n", 1)
        self.assertEqual((status, body), ("401", '{ "statusCode": 401, "message": "Invalid JWT." }'))

        # Private keys, the demo secret and the admin token are not readable by others.
        for key in ("ca.key", "tls.key", "demo-client.pem", "dev.env", "dev-state",
                    "admin.token", "master.key"):
            self.assertEqual(os.stat(os.path.join(data_dir, key)).st_mode & 0o077, 0, key)

        # The identity role: the banner's command gets a token with the demo client's
        # certificate; the secret works too; both are for api://demo with the demo role.
        for name in ("GATEHOUSE_TENANT_ID", "DEMO_CLIENT_ID", "DEMO_CLIENT_CERT",
                     "DEMO_CLIENT_SECRET", "DEMO_SCOPE", "GATEHOUSE_ADMIN_TOKEN"):
            self.assertTrue(env.get(name), name)
        self.assertEqual(env["DEMO_SCOPE"], "api://demo/.default")
        tokens = {}
        for flag in (["--cert", env["DEMO_CLIENT_CERT"]], ["--secret-env", "DEMO_CLIENT_SECRET"]):
            r = subprocess.run(
                [gatehouse_bin(), "token", "get", "--client-id", env["DEMO_CLIENT_ID"],
                 "--scope", env["DEMO_SCOPE"]] + flag,
                env=dict(os.environ, **env), capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            tokens[flag[0]] = json.loads(
                base64.urlsafe_b64decode(r.stdout.strip().split(".")[1] + "=="))
        self.assertEqual(tokens["--cert"]["azpacr"], "2")
        self.assertEqual(tokens["--secret-env"]["azpacr"], "1")
        for claims in tokens.values():
            self.assertEqual(claims["roles"], ["Demo.Read"])
            self.assertEqual(claims["tid"], env["GATEHOUSE_TENANT_ID"])
        out.seek(0)
        banner = out.read()
        self.assertIn("curl --cacert", banner)
        self.assertIn("Ocp-Apim-Subscription-Key: $DEMO_SUBSCRIPTION_KEY", banner)
        self.assertIn("token get --client-id", banner)
        self.assertIn(". %s/dev.env" % data_dir, banner)

        # SIGTERM drains and exits 0.
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=20), 0)

        # A second start on the same data dir keeps the CA, so clients keep trusting it, and the
        # demo tenant, apps and secret, so dev.env stays valid.
        with open(os.path.join(data_dir, "ca.pem")) as f:
            ca_before = f.read()
        proc2, _ = self.start_dev(data_dir, port, admin_port)
        with open(os.path.join(data_dir, "ca.pem")) as f:
            self.assertEqual(f.read(), ca_before)
        env2 = read_env_file(os.path.join(data_dir, "dev.env"))
        for name in ("GATEHOUSE_TENANT_ID", "DEMO_CLIENT_ID", "DEMO_CLIENT_SECRET",
                     "GATEHOUSE_ADMIN_TOKEN", "DEMO_SUBSCRIPTION_KEY"):
            self.assertEqual(env2[name], env[name], name)
        result = self.curl(env, "/again", cert_token, env["DEMO_SUBSCRIPTION_KEY"])
        self.assertTrue(result.stdout.endswith("\n200"), result.stdout + result.stderr)
        proc2.send_signal(signal.SIGTERM)
        self.assertEqual(proc2.wait(timeout=20), 0)

    def test_dev_rejects_a_bad_listen_address(self):
        result = subprocess.run([gatehouse_bin(), "dev", "--listen", "nonsense"],
                                capture_output=True, text=True, timeout=20)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("--listen", result.stderr)


class ProxyExample(unittest.TestCase):
    def test_examples_proxy_runs_unchanged_with_environment(self):
        backend = TestBackend(self)
        port, admin_port = free_port(), free_port()
        env = dict(os.environ, ORIGIN_URL=backend.url,
                   GATEHOUSE_LISTEN="127.0.0.1:%d" % port,
                   GATEHOUSE_ADMIN="127.0.0.1:%d" % admin_port)
        config = os.path.join(REPO, "examples", "proxy", "gatehouse.yaml")
        check = subprocess.run([gatehouse_bin(), "config", "check", config], env=env,
                               capture_output=True, text=True, timeout=20)
        self.assertEqual(check.returncode, 0, check.stderr)
        proc = subprocess.Popen([gatehouse_bin(), "serve", "--config", config], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def stop():
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stderr.close()

        on_cleanup(self, stop)
        wait_port(port, proc=proc, what="gatehouse serve")
        from harness import request
        r = request(port, "GET", "/echo/anything?x=1")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["target"], "/echo/anything?x=1")
        self.assertEqual(request(admin_port, "GET", "/healthz").status, 200)

    def test_examples_proxy_without_origin_fails_clearly(self):
        config = os.path.join(REPO, "examples", "proxy", "gatehouse.yaml")
        env = {k: v for k, v in os.environ.items() if k != "ORIGIN_URL"}
        result = subprocess.run([gatehouse_bin(), "config", "check", config], env=env,
                                capture_output=True, text=True, timeout=20)
        self.assertEqual(result.returncode, 1)
        self.assertIn("ORIGIN_URL", result.stderr)
        self.assertIn("gatehouse.yaml:", result.stderr)


class IdentityExample(unittest.TestCase):
    """examples/identity runs as its README says: certificates from `gatehouse cert new`,
    identifiers from the environment, a token from `gatehouse token get`."""

    def test_examples_identity_issues_a_certificate_token_as_the_readme_says(self):
        d = tempfile.mkdtemp(prefix="gh-example-id-")
        on_cleanup(self, shutil.rmtree, d, True)
        gh = gatehouse_bin()

        def run(*args, **kw):
            r = subprocess.run([gh] + list(args), capture_output=True, text=True, timeout=60,
                               **kw)
            self.assertEqual(r.returncode, 0, "%s: %s" % (args, r.stderr))
            return r.stdout

        run("cert", "new", "--subject", "CN=localhost", "--san", "DNS:localhost,IP:127.0.0.1",
            "--out", os.path.join(d, "tls"))
        run("cert", "new", "--subject", "CN=partner", "--key-type", "rsa2048", "--out",
            os.path.join(d, "partner"))
        port, admin_port = free_port(), free_port()
        ids = {name: str(uuid.uuid4())
               for name in ("TENANT_ID", "ORDERS_API_CLIENT_ID", "PARTNER_CLIENT_ID")}
        env = dict(os.environ, GATEHOUSE_TLS_CERT=os.path.join(d, "tls.pem"),
                   GATEHOUSE_TLS_KEY=os.path.join(d, "tls.key"),
                   PARTNER_CERT=os.path.join(d, "partner.pem"),
                   GATEHOUSE_LISTEN="127.0.0.1:%d" % port,
                   GATEHOUSE_ADMIN="127.0.0.1:%d" % admin_port,
                   GATEHOUSE_PUBLIC_URL="https://127.0.0.1:%d" % port,
                   GATEHOUSE_DATA_DIR=os.path.join(d, "data"), **ids)
        config = os.path.join(REPO, "examples", "identity", "gatehouse.yaml")
        run("config", "check", config, env=env)
        proc = subprocess.Popen([gh, "serve", "--config", config], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def stop():
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stderr.close()

        on_cleanup(self, stop)
        wait_port(port, proc=proc, what="gatehouse serve")
        with open(os.path.join(d, "bundle.pem"), "w") as out:
            for part in ("partner.key", "partner.pem"):
                with open(os.path.join(d, part)) as f:
                    out.write(f.read())
        token = run("token", "get", "--authority", "https://127.0.0.1:%d" % port,
                    "--tenant", ids["TENANT_ID"], "--client-id", ids["PARTNER_CLIENT_ID"],
                    "--cert", os.path.join(d, "bundle.pem"), "--scope", "api://orders/.default",
                    "--ca", os.path.join(d, "tls.pem"), env=env).strip()
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        self.assertEqual(claims["iss"], "https://127.0.0.1:%d/%s/v2.0" % (port, ids["TENANT_ID"]))
        self.assertEqual(claims["aud"], ids["ORDERS_API_CLIENT_ID"])
        self.assertEqual(claims["azp"], ids["PARTNER_CLIENT_ID"])
        self.assertEqual(claims["azpacr"], "2")
        self.assertEqual(claims["roles"], ["Orders.Read"])
        # ... and the token verifies against the published keys.
        jwks = "https://127.0.0.1:%d/%s/discovery/v2.0/keys" % (port, ids["TENANT_ID"])
        run("jwt", "verify", token, "--jwks", jwks, "--ca", os.path.join(d, "tls.pem"),
            "--aud", ids["ORDERS_API_CLIENT_ID"])


class ValidateJwtExample(unittest.TestCase):
    """examples/validate-jwt runs unchanged with its environment: a key pair from openssl, tokens
    from `gatehouse jwt sign` as its README says; only the right RS256 token gets through."""

    ISSUER = "https://issuer.example/"
    AUDIENCE = "api://demo"

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gh-example-jwt-")
        on_cleanup(self, shutil.rmtree, self.dir, True)
        openssl = require_tool("openssl")
        for name in ("jwt", "other"):
            key = os.path.join(self.dir, name + ".key")
            subprocess.run([openssl, "genpkey", "-algorithm", "RSA", "-pkeyopt",
                            "rsa_keygen_bits:2048", "-out", key],
                           check=True, capture_output=True, timeout=60)
            subprocess.run([openssl, "pkey", "-in", key, "-pubout", "-out",
                            os.path.join(self.dir, name + ".pub.pem")],
                           check=True, capture_output=True, timeout=60)
        self.backend = TestBackend(self)
        self.port, self.admin_port = free_port(), free_port()
        self.env = dict(os.environ, ORIGIN_URL=self.backend.url,
                        JWT_PUBLIC_KEY_PEM=os.path.join(self.dir, "jwt.pub.pem"),
                        JWT_ISSUER=self.ISSUER, JWT_AUDIENCE=self.AUDIENCE,
                        GATEHOUSE_LISTEN="127.0.0.1:%d" % self.port,
                        GATEHOUSE_ADMIN="127.0.0.1:%d" % self.admin_port)
        self.config = os.path.join(REPO, "examples", "validate-jwt", "gatehouse.yaml")

    def token(self, key="jwt", alg="RS256", **changes):
        claims = {"iss": self.ISSUER, "aud": self.AUDIENCE, "azpacr": "2", "sub": "client-1",
                  "exp": int(time.time()) + 3600}
        claims.update(changes)
        claims = {k: v for k, v in claims.items() if v is not None}
        r = subprocess.run([gatehouse_bin(), "jwt", "sign", "--key",
                            os.path.join(self.dir, key + ".key"), "--alg", alg,
                            "--claims", json.dumps(claims)],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def config_check(self, env):
        return subprocess.run([gatehouse_bin(), "config", "check", self.config], env=env,
                              capture_output=True, text=True, timeout=20)

    def serve(self):
        out = open(os.path.join(self.dir, "access.log"), "w")
        proc = subprocess.Popen([gatehouse_bin(), "serve", "--config", self.config],
                                env=self.env, stdout=out, stderr=subprocess.PIPE)

        def stop():
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stderr.close()
            out.close()

        on_cleanup(self, stop)
        wait_port(self.port, proc=proc, what="gatehouse serve")

    def get(self, authorization=None):
        from harness import request
        headers = [("Authorization", authorization)] if authorization else []
        return request(self.port, "GET", "/echo/orders/1", headers)

    def assertRefused(self, r, message, challenge):
        # Messages name the status, never the body: the origin's echo would show the token.
        self.assertEqual(r.status, 401, "answered %d" % r.status)
        self.assertEqual(r.header("Content-Type"), "application/json")
        self.assertEqual(r.body, ('{ "statusCode": 401, "message": "%s" }' % message).encode())
        self.assertEqual(r.header("WWW-Authenticate"), challenge)

    def test_examples_validate_jwt_lets_through_only_the_right_tokens(self):
        check = self.config_check(self.env)
        self.assertEqual(check.returncode, 0, check.stderr)
        self.serve()

        good = self.token()
        for _ in range(2):  # the second use is served from the verified-token cache
            r = self.get("Bearer " + good)
            self.assertEqual(r.status, 200, "answered %d" % r.status)
            self.assertEqual(r.json()["target"], "/echo/orders/1")
        self.assertEqual(self.get("bearer " + good).status, 200)  # schemes are case-insensitive

        self.assertRefused(self.get(), "JWT not present.", "Bearer")
        self.assertRefused(self.get("Basic " + good), "JWT not present.", "Bearer")
        invalid = 'Bearer error="invalid_token"'
        refused = {
            "azpacr 1": self.token(azpacr="1"),
            "no azpacr": self.token(azpacr=None),
            "issuer": self.token(iss="https://evil.example/"),
            "audience": self.token(aud="api://other"),
            "expired": self.token(exp=int(time.time()) - 60),
            "no exp": self.token(exp=None),
            "other key": self.token(key="other"),
            "PS256": self.token(alg="PS256"),
            "RS384": self.token(alg="RS384"),
            "tampered": good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
            "not a JWT": "abc.def",
        }
        for what, token in refused.items():
            with self.subTest(what):
                self.assertRefused(self.get("Bearer " + token), "Invalid JWT.", invalid)
        # Nothing refused reached the origin.
        targets = [e["target"] for e in self.backend.log()]
        self.assertEqual(len(targets), 3, targets)

        # The reasons are in the access log (never the token).
        deadline = time.monotonic() + 5
        while True:
            with open(os.path.join(self.dir, "access.log")) as f:
                log = f.read()
            if "TokenExpired" in log or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        for reason in ("TokenNotPresent", "TokenClaimValueNotAllowed", "TokenClaimNotFound",
                       "TokenIssuerNotAllowed", "TokenAudienceNotAllowed", "TokenExpired",
                       "TokenSignatureInvalid"):
            self.assertIn(reason, log)
        self.assertNotIn(good.split(".")[2], log)

    def test_examples_validate_jwt_refuses_a_private_key_and_missing_settings(self):
        env = dict(self.env, JWT_PUBLIC_KEY_PEM=os.path.join(self.dir, "jwt.key"))
        check = self.config_check(env)
        self.assertNotEqual(check.returncode, 0)
        self.assertIn("private key", check.stderr)
        self.assertIn("policy.xml:", check.stderr)
        with open(os.path.join(self.dir, "jwt.key")) as f:
            key_line = f.read().splitlines()[1]
        self.assertNotIn(key_line, check.stderr)

        env = {k: v for k, v in self.env.items() if k != "JWT_ISSUER"}
        check = self.config_check(env)
        self.assertEqual(check.returncode, 1)
        self.assertIn("JWT_ISSUER", check.stderr)
        self.assertIn("gatehouse.yaml:", check.stderr)


if __name__ == "__main__":
    unittest.main()
