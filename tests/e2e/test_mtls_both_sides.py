"""Scenario 4, mutual TLS on both sides: examples/mtls-both-sides/ run as its README says.

The example's own files, unchanged: make-pki.sh makes the PKI with openssl, nginx.conf.template
is filled in with envsubst and runs the backend (it requires a client certificate from the
internal CA), gatehouse.yaml runs Gatehouse with every address and path from the environment.

- Callers: validate-client-certificate by thumbprint (/by-thumbprint) and by subject + issuer
  (/by-subject). Expired, not-yet-valid, revoked (CRL), impostor (a CA that copies the issuer's
  name) and missing certificates each get APIM's 401 body, and the access log names the reason.
  A certificate revoked while Gatehouse runs is refused once the new CRL is written.
- Backend: nginx refuses a direct call without the gateway's certificate; through Gatehouse it
  sees the certificate the vault issued. That certificate is renewed in the vault (Key Vault's
  REST API with a token from the identity role, then `gatehouse vault cert renew`) while clients
  call continuously: zero failed requests, and nginx sees each new certificate.
"""

import base64
import json
import os
import threading
import unittest

import e2e_support
from e2e_support import harness

EXAMPLE = e2e_support.example("mtls-both-sides")
INVALID = b'{ "statusCode": 401, "message": "Invalid client certificate" }'
MISSING = b'{ "statusCode": 401, "message": "Client certificate missing" }'
# The defaults in gatehouse.yaml (a person running the README does not need to set them).
TENANT_ID = "3b1d7c2e-5f4a-4e8b-9a6d-2c0f1e8b7a51"
OPERATOR_CLIENT_ID = "8d0c5a4e-2b7f-4c19-a3e6-5f1d9b2c7e40"


def run(args, env, cwd=None, stdin=None):
    """Runs a command of the README; fails the test with its stderr when it fails."""
    return harness.run_command(args, env=env, cwd=cwd, input=stdin).stdout


class MutualTlsBothSides(harness.GatehouseTestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_tool("openssl")
        harness.require_tool("envsubst")
        harness.require_tool("curl")
        nginx = harness.require_tool("nginx")
        gatehouse = harness.gatehouse_bin()
        cls.dir = harness.temp_dir(cls, "gh-e2e-mtls-")
        cls.pki = os.path.join(cls.dir, "pki")
        cls.port, cls.vault_port = harness.free_port(), harness.free_port()
        cls.admin_port, cls.backend_port = harness.free_port(), harness.free_port()
        env = dict(os.environ)
        env.update({
            "MTLS_PKI": cls.pki,
            "BACKEND_LISTEN": "127.0.0.1:%d" % cls.backend_port,
            "BACKEND_URL": "https://127.0.0.1:%d" % cls.backend_port,
            "GATEHOUSE_LISTEN": "127.0.0.1:%d" % cls.port,
            "GATEHOUSE_VAULT_LISTEN": "127.0.0.1:%d" % cls.vault_port,
            "GATEHOUSE_ADMIN": "127.0.0.1:%d" % cls.admin_port,
            "GATEHOUSE_DATA_DIR": os.path.join(cls.dir, "data"),
            "GATEHOUSE_ACCESS_LOG": os.path.join(cls.dir, "access.log"),
            "GATEHOUSE_AUDIT_LOG": os.path.join(cls.dir, "audit.log"),
            "GATEHOUSE_VAULT_AUDIT_LOG": os.path.join(cls.dir, "vault-audit.log"),
        })
        # 1. The PKI.
        run([os.path.join(EXAMPLE, "make-pki.sh"), cls.pki], env)
        thumbprints = run([gatehouse, "cert", "thumbprint",
                           os.path.join(cls.pki, "partner-a.pem")], env)
        env["PARTNER_A_THUMBPRINT"] = next(
            line.split()[1] for line in thumbprints.splitlines() if line.startswith("sha1:"))
        cls.env = env
        # 2. The backend.
        nginx_dir = os.path.join(cls.dir, "nginx")
        os.makedirs(nginx_dir)
        with open(os.path.join(EXAMPLE, "nginx.conf.template")) as f:
            conf = run(["envsubst", "${BACKEND_LISTEN} ${MTLS_PKI}"], env, stdin=f.read())
        with open(os.path.join(nginx_dir, "nginx.conf"), "w") as f:
            f.write(conf)
        cls.nginx = cls.serve([nginx, "-e", "stderr", "-p", nginx_dir, "-c",
                               os.path.join(nginx_dir, "nginx.conf")], nginx_dir, "nginx.log",
                              [cls.backend_port])
        # 3. Gatehouse, from the example's directory-independent file.
        cls.gatehouse = cls.serve([gatehouse, "serve", "--config",
                                   os.path.join(EXAMPLE, "gatehouse.yaml")], cls.dir,
                                  "gatehouse.log", [cls.port, cls.vault_port, cls.admin_port])

    @classmethod
    def serve(cls, args, cwd, log, ports):
        """A long-running command of the README (output in `log`), stopped at cleanup."""
        process = harness.Process(cls, args, stdout=os.path.join(cls.dir, log),
                                  stderr=harness.STDOUT, env=cls.env, cwd=cwd, stop_timeout=10)
        process.wait_ports(ports, timeout=15.0)
        return process

    # --- helpers ---

    def pem(self, name):
        return os.path.join(self.pki, name + ".pem")

    def tls(self, client=None):
        key = os.path.join(self.pki, client + ".key") if client else None
        return harness.tls_context(self.pem("internal-ca"), client and self.pem(client), key)

    def call(self, path, client=None, port=None):
        with harness.Conn(port or self.port, tls=self.tls(client),
                          server_hostname="localhost") as c:
            return c.request("GET", path)

    def curl(self, *args):
        """curl as the README runs it: (status line + headers, body)."""
        out = run(["curl", "-sS", "-i", "--cacert", self.pem("internal-ca")] + list(args),
                  self.env)
        head, _, body = out.partition("\n\n")  # text mode: CRLF already read as LF
        return head, body

    def reason(self, request_id):
        """The access log's `error` for a request (the log is written every 200 ms)."""
        def line():
            return next((entry for entry in harness.json_lines(self.env["GATEHOUSE_ACCESS_LOG"])
                         if entry.get("request_id") == request_id), None)
        return harness.poll(line, "request %s in the access log" % request_id, 5.0).get("error")

    def assertRefused(self, resp, body, reason):
        self.assertApimError(resp, 401)
        self.assertEqual(resp.body, body)
        self.assertEqual(self.reason(resp.header("X-Request-Id")), reason)

    def openssl_ca(self, *args):
        run(["openssl", "ca", "-config", "clients-ca/openssl.cnf", "-batch", "-notext"] +
            list(args), self.env, cwd=self.pki)

    def operator_token(self):
        return run([harness.gatehouse_bin(), "token", "get",
                    "--authority", "https://127.0.0.1:%d" % self.vault_port,
                    "--tenant", TENANT_ID, "--client-id", OPERATOR_CLIENT_ID,
                    "--cert", self.pem("operator-bundle"),
                    "--scope", "https://vault.azure.net/.default",
                    "--ca", self.pem("internal-ca")], self.env).strip()

    def vault_rest(self, method, path, token):
        args = ["-X", method, "-H", "Authorization: Bearer " + token]
        if method == "POST":
            args += ["-H", "Content-Type: application/json", "-d", "{}"]
        head, body = self.curl(*args, "https://127.0.0.1:%d%s?api-version=7.5"
                               % (self.vault_port, path))
        return int(head.split()[1]), json.loads(body)

    def gateway_certificate_sha1(self, token):
        """SHA-1 (lower-case hex, as nginx's $ssl_client_fingerprint) of the vault's current
        gateway-client certificate, from Key Vault's x5t."""
        status, cert = self.vault_rest("GET", "/certificates/gateway-client", token)
        self.assertEqual(status, 200, cert)
        x5t = cert["x5t"]
        return base64.urlsafe_b64decode(x5t + "=" * (-len(x5t) % 4)).hex()

    # --- callers: validate-client-certificate ---

    def test_thumbprint_variant(self):
        ok = self.call("/by-thumbprint/orders/1", "partner-a")
        self.assertEqual(ok.status, 200, ok)
        self.assertTrue(ok.body.startswith(b"backend: hello CN=gatehouse-gateway"), ok)
        self.assertIsNone(self.reason(ok.header("X-Request-Id")))
        # Trusted and valid, but not the pinned thumbprint.
        self.assertRefused(self.call("/by-thumbprint/orders/1", "partner-b"), INVALID,
                           "ClientCertificateIdentityNotMatched")
        self.assertRefused(self.call("/by-thumbprint/orders/1"), MISSING,
                           "ClientCertificateMissing")

    def test_subject_variant_and_each_refusal(self):
        ok = self.call("/by-subject/orders/1", "partner-b")
        self.assertEqual(ok.status, 200, ok)
        for client, reason in (("partner-b-expired", "ClientCertificateExpired"),
                               ("partner-b-not-yet-valid", "ClientCertificateNotYetValid"),
                               ("partner-b-revoked", "ClientCertificateRevoked"),
                               ("impostor", "ClientCertificateNotTrusted"),
                               ("partner-a", "ClientCertificateIdentityNotMatched")):
            with self.subTest(client=client):
                self.assertRefused(self.call("/by-subject/orders/1", client), INVALID, reason)
        self.assertRefused(self.call("/by-subject/orders/1"), MISSING, "ClientCertificateMissing")

    def test_the_readme_curl_commands(self):
        head, body = self.curl("--cert", self.pem("partner-a"), "--key",
                               os.path.join(self.pki, "partner-a.key"),
                               "https://127.0.0.1:%d/by-thumbprint/orders/1" % self.port)
        self.assertTrue(head.startswith("HTTP/1.1 200"), head)
        self.assertIn("X-Backend-Client-Subject: CN=gatehouse-gateway,O=Example Operator", head)
        self.assertTrue(body.startswith("backend: hello CN=gatehouse-gateway,O=Example Operator"
                                        " (serial "), body)
        head, body = self.curl("--cert", self.pem("partner-b-expired"), "--key",
                               os.path.join(self.pki, "partner-b-expired.key"),
                               "https://127.0.0.1:%d/by-subject/orders/1" % self.port)
        self.assertTrue(head.startswith("HTTP/1.1 401"), head)
        self.assertEqual(body.encode(), INVALID)

    def test_renewed_partner_certificate_accepted_then_revoked_while_running(self):
        # Partner B's CA issues it a new certificate: same subject, so no change in Gatehouse.
        key = os.path.join(self.pki, "partner-b-renewed.key")
        run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", key], self.env)
        run(["openssl", "req", "-new", "-key", key, "-subj", "/O=Fabrikam/CN=partner-b", "-out",
             os.path.join(self.pki, "partner-b-renewed.csr")], self.env)
        self.openssl_ca("-in", "partner-b-renewed.csr", "-out", "partner-b-renewed.pem")
        self.assertEqual(self.call("/by-subject/orders/1", "partner-b-renewed").status, 200)
        # Its key leaks: revoked, a new CRL published in place; Gatehouse re-reads the file.
        self.openssl_ca("-revoke", "partner-b-renewed.pem", "-crl_reason", "keyCompromise")
        self.openssl_ca("-gencrl", "-out", "clients.crl.new")
        os.replace(os.path.join(self.pki, "clients.crl.new"), os.path.join(self.pki, "clients.crl"))
        harness.poll(lambda: self.call("/by-subject/orders/1", "partner-b-renewed").status == 401,
                     "the new CRL to be in force")
        self.assertRefused(self.call("/by-subject/orders/1", "partner-b-renewed"), INVALID,
                           "ClientCertificateRevoked")
        # Everyone else is unaffected.
        self.assertEqual(self.call("/by-subject/orders/1", "partner-b").status, 200)

    # --- backend: the gateway's own certificate ---

    def test_backend_refuses_callers_without_the_gateway_certificate(self):
        direct = "https://127.0.0.1:%d/" % self.backend_port
        # nginx completes the handshake, then refuses the request: it never reaches location /.
        head, body = self.curl(direct)
        self.assertTrue(head.startswith("HTTP/1.1 400"), head)
        self.assertIn("No required SSL certificate was sent", body)
        self.assertNotIn("backend: hello", body)
        # A certificate from another CA (a partner's) is refused too.
        head, body = self.curl("--cert", self.pem("partner-a"), "--key",
                               os.path.join(self.pki, "partner-a.key"), direct)
        self.assertTrue(head.startswith("HTTP/1.1 400"), head)
        self.assertIn("The SSL certificate error", body)
        # Through Gatehouse, nginx sees the vault's current certificate.
        resp = self.call("/by-thumbprint/x", "partner-a")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.header("X-Backend-Client-Fingerprint"),
                         self.gateway_certificate_sha1(self.operator_token()))

    def test_gateway_certificate_renewed_in_the_vault_under_load(self):
        token = self.operator_token()
        first = self.gateway_certificate_sha1(token)
        stop = threading.Event()
        results = {"ok": 0, "failed": [], "fingerprints": []}
        lock = threading.Lock()

        def load(client, path):
            tls = self.tls(client)
            conn = None
            while not stop.is_set():
                try:
                    conn = conn or harness.Conn(self.port, tls=tls, server_hostname="localhost")
                    resp = conn.request("GET", path)
                    with lock:
                        if resp.status == 200:
                            results["ok"] += 1
                            fp = resp.header("X-Backend-Client-Fingerprint")
                            if not results["fingerprints"] or results["fingerprints"][-1] != fp:
                                results["fingerprints"].append(fp)
                        else:
                            results["failed"].append((resp.status, resp.body[:100]))
                    if (resp.header("Connection") or "").lower() == "close":
                        conn.close()
                        conn = None
                except OSError as e:  # a dropped connection is a failed request too
                    with lock:
                        results["failed"].append(repr(e))
                    conn = None
            if conn:
                conn.close()

        def seen(fp):
            with lock:
                return fp in results["fingerprints"]

        def ok_count():
            with lock:
                return results["ok"]

        workers = [threading.Thread(target=load, args=a) for a in (
            ("partner-a", "/by-thumbprint/orders"), ("partner-b", "/by-subject/orders"),
            ("partner-a", "/by-thumbprint/orders"))]
        for w in workers:
            w.start()
        try:
            harness.poll(lambda: ok_count() > 20, "traffic before the renewal")
            self.assertTrue(seen(first))
            # Renewal 1: Key Vault's REST API (what automation and the Azure SDKs call).
            status, op = self.vault_rest("POST", "/certificates/gateway-client/create", token)
            self.assertEqual(status, 202, op)
            self.assertEqual(op["status"], "completed", op)
            second = self.gateway_certificate_sha1(token)
            self.assertNotEqual(second, first)
            harness.poll(lambda: seen(second), "nginx to see the certificate renewed over REST")
            # Renewal 2: the admin API, as an operator at a shell does it.
            out = run([harness.gatehouse_bin(), "vault", "cert", "renew", "gateway-client"],
                      dict(self.env,
                           GATEHOUSE_ADMIN_URL="http://127.0.0.1:%d" % self.admin_port,
                           GATEHOUSE_ADMIN_TOKEN_FILE=os.path.join(self.env["GATEHOUSE_DATA_DIR"],
                                                                   "admin.token")))
            self.assertIn("renewed certificate gateway-client version", out)
            third = self.gateway_certificate_sha1(token)
            self.assertNotIn(third, (first, second))
            harness.poll(lambda: seen(third),
                         "nginx to see the certificate renewed over the admin API")
            after = ok_count()
            harness.poll(lambda: ok_count() > after + 20, "traffic after the renewals")
        finally:
            stop.set()
            for w in workers:
                w.join(30)
        self.assertEqual(results["failed"], [], "failed requests during the renewals")
        # Calls moved from one certificate to the next and never back to a replaced one.
        with lock:
            order = [fp for i, fp in enumerate(results["fingerprints"])
                     if fp not in results["fingerprints"][:i]]
        self.assertEqual(order, [first, second, third])
        # The gateway never restarted, and shows the version in service.
        self.assertIsNone(self.gatehouse.proc.poll())
        _, cert = self.vault_rest("GET", "/certificates/gateway-client", token)
        version = cert["id"].rstrip("/").rsplit("/", 1)[1]
        with harness.Conn(self.admin_port) as c:
            metrics = c.request("GET", "/metrics").body.decode()
        self.assertIn('gatehouse_reference_version_info{reference="vault:certificates/'
                      'gateway-client",version="%s"} 1' % version, metrics)


if __name__ == "__main__":
    unittest.main()
