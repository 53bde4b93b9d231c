"""Client certificates end to end through the real binary.

1. validate-client-certificate with the certificate of the TLS handshake (listeners with
   `client_certificate: optional` and `require`): identities by thumbprint, subject and issuer;
   untrusted, expired, revoked (CRL file) and unmatched certificates get APIM's 401 bodies.
2. Certificates forwarded by HAProxy as the TLS terminator (X-ARR-ClientCert as base64 DER and
   RFC 9440 Client-Cert), believed only from HAProxy's source address (127.0.0.2); the same
   headers sent by anyone else are ignored and stripped before the backend.
3. Backend mTLS against nginx (`ssl_verify_client on`): the backend entity's client certificate
   and the authentication-certificate policy, and what happens without either.
"""

import base64
import datetime
import os
import ssl
import tempfile
import time
import unittest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import harness
from harness import Conn, Gatehouse, GatehouseTestCase, Nginx, TestBackend, free_port

MISSING = b'{ "statusCode": 401, "message": "Client certificate missing" }'
INVALID = b'{ "statusCode": 401, "message": "Invalid client certificate" }'
PROXY_ADDRESS = "127.0.0.2"  # HAProxy's source address: the only trusted front proxy

# --- PKI beyond harness.make_pki: certificates with chosen dates, and a CRL ----------------------


def _load_ca(pki, name):
    with open(pki[name] + ".pem", "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    with open(pki[name] + ".key", "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    return cert, key


def _client_cert(d, name, ca, cn, not_before, not_after, chain=True, is_ca=False):
    """A clientAuth leaf (or with is_ca an intermediate CA) signed by `ca`; writes name.key and
    name.pem (the certificate, then with `chain` its issuer). Returns (cert, key)."""
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    )
    if is_ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True)
    else:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    path = os.path.join(d, name)
    with open(path + ".key", "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    with open(path + ".pem", "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
        if chain:
            f.write(ca_cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _write_crl(path, ca, revoked_serials, now):
    ca_cert, ca_key = ca
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - datetime.timedelta(hours=1))
        .next_update(now + datetime.timedelta(days=1))
    )
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(now - datetime.timedelta(minutes=30))
            .build()
        )
    crl = builder.sign(ca_key, hashes.SHA256())
    with open(path, "wb") as f:
        f.write(crl.public_bytes(serialization.Encoding.PEM))


def policy_xml(inbound):
    return (
        "<policies><inbound><base />%s</inbound><backend><base /></backend>"
        "<outbound><base /></outbound><on-error><base /></on-error></policies>" % inbound
    )


def validate(attrs="", identities=""):
    if identities:
        return "<validate-client-certificate %s><identities>%s</identities>" \
               "</validate-client-certificate>" % (attrs, identities)
    return "<validate-client-certificate %s/>" % attrs


class ClientCertificatesTest(GatehouseTestCase):
    @classmethod
    def setUpClass(cls):
        d = cls.tmp = tempfile.mkdtemp(prefix="gh-mtls-")
        cls.addClassCleanup(harness.shutil.rmtree, d, True)
        p = cls.pki = harness.make_pki(d)
        ca = _load_ca(p, "ca")
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        day = datetime.timedelta(days=1)
        _client_cert(d, "expired", ca, "client", now - 3 * day, now - day)
        revoked, _ = _client_cert(d, "revoked", ca, "client", now - day, now + day)
        _client_cert(d, "stranger", ca, "stranger", now - day, now + day)
        gwpolicy, _ = _client_cert(d, "gwpolicy", ca, "gateway-policy", now - day, now + day)
        inter = _client_cert(d, "inter", ca, "inter", now - day, now + day, is_ca=True)
        _client_cert(d, "via-inter", inter, "via-inter", now - day, now + day)
        _client_cert(d, "leaf-only", inter, "leaf-only", now - day, now + day, chain=False)
        names = ("expired", "revoked", "stranger", "gwpolicy", "via-inter", "leaf-only")
        for n in names:
            p[n] = os.path.join(d, n)
        crl = os.path.join(d, "ca.crl.pem")
        _write_crl(crl, ca, [revoked.serial_number], now)

        cls.client_der = harness.cert_der(p["client"] + ".leaf.pem")
        cls.client_sha1 = harness.sha1_upper(cls.client_der)
        ca_sha1 = harness.sha1_upper(harness.cert_der(p["ca"] + ".pem"))
        gwpolicy_sha1 = gwpolicy.fingerprint(hashes.SHA1()).hex().upper()

        # 3. nginx that demands a client certificate from CA.
        nginx_port = free_port()
        server = """
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {b}.pem; ssl_certificate_key {b}.key;
    ssl_verify_client on; ssl_client_certificate {ca}.pem;
    location / {{ return 200 "mtls-ok $ssl_client_s_dn\\n"; }}
  }}""".format(port=nginx_port, b=p["backend"], ca=p["ca"])
        cls.nginx = Nginx(cls, server)
        cls.backend = TestBackend(cls)

        cls.plain_port, cls.optional_port, cls.require_port = free_port(), free_port(), free_port()
        server_cert = [{"cert": p["server"] + ".pem", "key": p["server"] + ".key"}]
        cfg = harness.base_config(cls.plain_port, cls.backend.url)
        cfg["listeners"] += [
            {"name": "optional", "address": "127.0.0.1:%d" % cls.optional_port,
             "tls": {"certificates": server_cert, "client_certificate": "optional",
                     "client_ca": p["ca"] + ".pem"}},
            {"name": "require", "address": "127.0.0.1:%d" % cls.require_port,
             "tls": {"certificates": server_cert, "client_certificate": "require",
                     "client_ca": p["ca"] + ".pem"}},
        ]
        cfg["client_certificates"] = {
            "ca": p["ca"] + ".pem",
            "crls": [crl],
            "forwarded": [
                {"header": "X-ARR-ClientCert", "format": "base64-der", "from": [PROXY_ADDRESS]},
                {"header": "Client-Cert", "format": "rfc9440", "from": [PROXY_ADDRESS]},
            ],
        }
        cfg["certificates"] = [
            {"id": "gw-policy", "cert": p["gwpolicy"] + ".pem", "key": p["gwpolicy"] + ".key"},
            {"id": "untrusted-client", "cert": p["client2"] + ".pem",
             "key": p["client2"] + ".key"},
        ]
        nginx_url = "https://127.0.0.1:%d" % nginx_port
        nginx_tls = {"ca": p["ca"] + ".pem", "server_name": "backend.test"}
        cfg["backends"] += [
            {"id": "nginx-plain", "url": nginx_url, "tls": nginx_tls},
            {"id": "nginx-entity", "url": nginx_url,
             "tls": dict(nginx_tls, client_cert=p["client"] + ".pem",
                         client_key=p["client"] + ".key")},
        ]

        def api(name, backend="echo", inbound=None):
            a = {"name": name, "path": "/" + name, "backend": backend, "strip_path": True}
            if inbound:
                a["policy_xml"] = policy_xml(inbound)
            return a

        thumb = '<identity thumbprint="%s" />' % cls.client_sha1
        cfg["apis"] = [
            api("any", inbound=validate()),
            api("thumbprint", inbound=validate(identities=thumb)),
            api("subject", inbound=validate(identities='<identity subject="CN=client" />')),
            api("issuer", inbound=validate(identities='<identity issuer-subject="CN=ca" '
                                                      'issuer-thumbprint="%s" />' % ca_sha1)),
            # Without trust, the issuer must still be a presented certificate that signed the leaf.
            api("issuer-untrusted", inbound=validate('validate-trust="false"',
                                                     '<identity issuer-thumbprint="%s" />'
                                                     % ca_sha1)),
            api("echo"),
            api("mtls-none", "nginx-plain"),
            api("mtls-entity", "nginx-entity"),
            api("mtls-policy", "nginx-plain",
                '<authentication-certificate certificate-id="gw-policy" />'),
            api("mtls-policy-thumbprint", "nginx-plain",
                '<authentication-certificate thumbprint="%s" />' % gwpolicy_sha1.lower()),
            api("mtls-policy-over-entity", "nginx-entity",
                '<authentication-certificate certificate-id="gw-policy" />'),
            api("mtls-untrusted", "nginx-plain",
                '<authentication-certificate certificate-id="untrusted-client" />'),
        ]
        cls.gh = Gatehouse(cls, cfg)

        # 2. HAProxy terminates mTLS (accepting any client certificate: whether it is trusted is
        # the gateway's decision) and connects to the gateway from 127.0.0.2.
        with open(p["server"] + ".pem") as c, open(p["server"] + ".key") as k:
            bundle = os.path.join(d, "haproxy-server.pem")
            with open(bundle, "w") as out:
                out.write(c.read() + k.read())
        cls.arr_port, cls.rfc9440_port, cls.append_port = free_port(), free_port(), free_port()
        bind = ("ssl crt {bundle} verify optional ca-file {ca}.pem ca-ignore-err all "
                "crt-ignore-err all").format(bundle=bundle, ca=p["ca"])
        conf = """
global
  maxconn 64
defaults
  mode http
  timeout connect 5s
  timeout client 10s
  timeout server 10s
frontend arr
  bind 127.0.0.1:{arr} {bind}
  http-request del-header X-ARR-ClientCert
  http-request del-header Client-Cert
  http-request set-header X-ARR-ClientCert %[ssl_c_der,base64] if {{ ssl_c_used }}
  default_backend gatehouse
frontend rfc9440
  bind 127.0.0.1:{rfc} {bind}
  http-request del-header X-ARR-ClientCert
  http-request del-header Client-Cert
  http-request set-header Client-Cert :%[ssl_c_der,base64]: if {{ ssl_c_used }}
  default_backend gatehouse
frontend append
  # Misconfigured: appends to the client's own header instead of replacing it.
  bind 127.0.0.1:{app} {bind}
  http-request add-header X-ARR-ClientCert %[ssl_c_der,base64] if {{ ssl_c_used }}
  default_backend gatehouse
backend gatehouse
  server gh 127.0.0.1:{gh} source {src}
""".format(arr=cls.arr_port, rfc=cls.rfc9440_port, app=cls.append_port, bind=bind,
           gh=cls.plain_port, src=PROXY_ADDRESS)
        haproxy_cfg = os.path.join(d, "haproxy.cfg")
        with open(haproxy_cfg, "w") as f:
            f.write(conf)
        cls.haproxy = harness.Haproxy(cls, haproxy_cfg, d)
        cls.haproxy.wait(cls.arr_port)
        cls.haproxy.wait(cls.rfc9440_port)
        cls.haproxy.wait(cls.append_port)
        cls.nginx.wait(nginx_port)

    # --- helpers ---------------------------------------------------------------------------------

    def tls(self, client=None):
        ctx = ssl.create_default_context(cafile=self.pki["ca"] + ".pem")
        if client:
            ctx.load_cert_chain(self.pki[client] + ".pem", self.pki[client] + ".key")
        return ctx

    def get(self, port, target, client=None, headers=None, tls=True):
        with Conn(port, tls=self.tls(client) if tls else None,
                  server_hostname="localhost" if tls else None) as c:
            return c.request("GET", target, headers)

    def reason(self, path):
        """The refusal reason the access log recorded for the request to `path`."""
        lines = self.gh.access_log(lambda ls: any(line["path"] == path for line in ls), 10.0)
        matching = [line for line in lines if line["path"] == path]
        self.assertEqual(len(matching), 1, lines)
        return matching[0].get("error")

    def assertPassed(self, resp):
        self.assertEqual(resp.status, 200, resp)
        echo = resp.json()
        self.assertEqual(echo["method"], "GET")
        return echo

    def assertRefused(self, resp, body, path, reason):
        self.assertApimError(resp, 401)
        self.assertEqual(resp.body, body)
        self.assertEqual(self.reason(path), reason)

    @staticmethod
    def header_names(echo):
        return [k.lower() for k, _ in echo["headers"]]

    # --- 1. certificates from the TLS handshake --------------------------------------------------

    def test_identity_by_thumbprint(self):
        self.assertPassed(self.get(self.optional_port, "/thumbprint/ok", "client"))
        # Same subject, same issuer, another key: the thumbprint tells them apart.
        self.assertRefused(self.get(self.optional_port, "/thumbprint/revoked-cn", "revoked"),
                           INVALID, "/thumbprint/revoked-cn",
                           "ClientCertificateIdentityNotMatched")

    def test_identity_by_subject(self):
        self.assertPassed(self.get(self.optional_port, "/subject/ok", "client"))
        self.assertRefused(self.get(self.optional_port, "/subject/stranger", "stranger"),
                           INVALID, "/subject/stranger", "ClientCertificateIdentityNotMatched")

    def test_identity_by_issuer(self):
        self.assertPassed(self.get(self.optional_port, "/issuer/client", "client"))
        self.assertPassed(self.get(self.optional_port, "/issuer/stranger", "stranger"))
        self.assertRefused(self.get(self.optional_port, "/issuer/client2", "client2"),
                           INVALID, "/issuer/client2", "ClientCertificateNotTrusted")

    def test_issuer_thumbprint_without_trust(self):
        self.assertPassed(self.get(self.optional_port, "/issuer-untrusted/client", "client"))
        # client2 presents its own CA (ca2): trust is off, but the identity still needs CA.
        self.assertRefused(
            self.get(self.optional_port, "/issuer-untrusted/client2", "client2"),
            INVALID, "/issuer-untrusted/client2", "ClientCertificateIdentityNotMatched")

    def test_intermediate_from_the_handshake(self):
        self.assertPassed(self.get(self.optional_port, "/any/via-inter", "via-inter"))
        self.assertPassed(self.get(self.require_port, "/any/via-inter-require", "via-inter"))
        # The same CA's leaf without its intermediate cannot be chained to the anchor.
        self.assertRefused(self.get(self.optional_port, "/any/leaf-only", "leaf-only"),
                           INVALID, "/any/leaf-only", "ClientCertificateNotTrusted")

    def test_untrusted_chain(self):
        self.assertRefused(self.get(self.optional_port, "/any/client2", "client2"),
                           INVALID, "/any/client2", "ClientCertificateNotTrusted")

    def test_expired(self):
        self.assertRefused(self.get(self.optional_port, "/any/expired", "expired"),
                           INVALID, "/any/expired", "ClientCertificateExpired")

    def test_revoked_by_crl_file(self):
        self.assertRefused(self.get(self.optional_port, "/any/revoked", "revoked"),
                           INVALID, "/any/revoked", "ClientCertificateRevoked")
        # The CRL names only that serial: the other certificates of the CA pass.
        self.assertPassed(self.get(self.optional_port, "/any/stranger", "stranger"))

    def test_no_certificate(self):
        self.assertRefused(self.get(self.optional_port, "/any/none-tls"),
                           MISSING, "/any/none-tls", "ClientCertificateMissing")
        self.assertRefused(self.get(self.plain_port, "/any/none-plain", tls=False),
                           MISSING, "/any/none-plain", "ClientCertificateMissing")
        # Without a policy, the optional listener lets a request without a certificate through.
        self.assertPassed(self.get(self.optional_port, "/echo/none"))

    def test_require_listener(self):
        self.assertPassed(self.get(self.require_port, "/thumbprint/require", "client"))
        # The handshake itself refuses a missing or untrusted certificate (TLS 1.3 reports it
        # at the client's first read, after its handshake has completed).
        for client in (None, "client2"):
            with self.subTest(client=client):
                with self.assertRaises((ssl.SSLError, ConnectionError, EOFError)):
                    self.get(self.require_port, "/echo/refused", client)

    # --- 2. certificates forwarded by HAProxy ----------------------------------------------------

    def test_forwarded_x_arr_clientcert(self):
        echo = self.assertPassed(self.get(self.arr_port, "/thumbprint/arr", "client"))
        # The trusted proxy's own header reaches the backend as HAProxy wrote it.
        forwarded = [v for k, v in echo["headers"] if k.lower() == "x-arr-clientcert"]
        self.assertEqual(forwarded, [base64.b64encode(self.client_der).decode()])
        self.reason("/thumbprint/arr")  # waits for the line
        line = [x for x in self.gh.access_log() if x["path"] == "/thumbprint/arr"][0]
        self.assertEqual(line["client_ip"], PROXY_ADDRESS)

    def test_forwarded_rfc9440_client_cert(self):
        echo = self.assertPassed(self.get(self.rfc9440_port, "/subject/rfc9440", "client"))
        forwarded = [v for k, v in echo["headers"] if k.lower() == "client-cert"]
        self.assertEqual(forwarded, [":%s:" % base64.b64encode(self.client_der).decode()])

    def test_forwarded_certificate_is_validated(self):
        # HAProxy accepted these (ca-ignore-err/crt-ignore-err); the gateway still checks them.
        self.assertRefused(self.get(self.arr_port, "/any/fwd-client2", "client2"),
                           INVALID, "/any/fwd-client2", "ClientCertificateNotTrusted")
        self.assertRefused(self.get(self.rfc9440_port, "/any/fwd-revoked", "revoked"),
                           INVALID, "/any/fwd-revoked", "ClientCertificateRevoked")
        self.assertRefused(self.get(self.arr_port, "/any/fwd-none"),
                           MISSING, "/any/fwd-none", "ClientCertificateMissing")

    def test_forwarded_certificate_is_per_request(self):
        # HAProxy reuses its connections to the gateway for other clients: the certificate is
        # the request's, never the connection's.
        for i in range(3):
            self.assertPassed(self.get(self.arr_port, "/thumbprint/reuse-client-%d" % i, "client"))
            self.assertRefused(self.get(self.arr_port, "/thumbprint/reuse-stranger-%d" % i,
                                        "stranger"),
                               INVALID, "/thumbprint/reuse-stranger-%d" % i,
                               "ClientCertificateIdentityNotMatched")

    def test_forwarded_header_appearing_twice_gives_no_certificate(self):
        self.assertPassed(self.get(self.append_port, "/thumbprint/append-ok", "client"))
        # The client's own copy plus the proxy's: which one is the proxy's cannot be told.
        arr = base64.b64encode(self.client_der).decode()
        self.assertRefused(self.get(self.append_port, "/thumbprint/append-spoof", "stranger",
                                    [("X-ARR-ClientCert", arr)]),
                           MISSING, "/thumbprint/append-spoof", "ClientCertificateMissing")
        deadline = time.monotonic() + 10
        while "forwarded client certificate ignored" not in self.gh.stderr_text():
            self.assertLess(time.monotonic(), deadline, self.gh.stderr_text()[-2000:])
            time.sleep(0.05)
        self.assertNotIn(arr, self.gh.stderr_text())

    def test_spoofed_headers_from_untrusted_peer_are_ignored(self):
        arr = base64.b64encode(self.client_der).decode()
        spoof = [("X-ARR-ClientCert", arr), ("Client-Cert", ":%s:" % arr)]
        self.assertRefused(self.get(self.plain_port, "/thumbprint/spoof", headers=spoof,
                                    tls=False),
                           MISSING, "/thumbprint/spoof", "ClientCertificateMissing")
        # A handshake certificate is not replaced by a header either.
        self.assertRefused(self.get(self.optional_port, "/thumbprint/spoof-tls", "stranger",
                                    headers=spoof),
                           INVALID, "/thumbprint/spoof-tls",
                           "ClientCertificateIdentityNotMatched")

    def test_spoofed_headers_are_stripped_before_the_backend(self):
        arr = base64.b64encode(self.client_der).decode()
        spoof = [("X-ARR-ClientCert", arr), ("client-cert", ":%s:" % arr),
                 ("X-Forwarded-Client-Cert", "Hash=00;Cert=x"), ("X-Client-Cert", arr),
                 ("X-Kept", "yes")]
        for port, tls in ((self.plain_port, False), (self.optional_port, True)):
            with self.subTest(port=port):
                echo = self.assertPassed(self.get(port, "/echo/strip", headers=spoof, tls=tls))
                names = self.header_names(echo)
                for stripped in ("x-arr-clientcert", "client-cert", "x-forwarded-client-cert",
                                 "x-client-cert"):
                    self.assertNotIn(stripped, names)
                self.assertIn("x-kept", names)

    def test_trusted_proxy_other_headers_stripped(self):
        # From HAProxy, its rules' headers pass; other well-known ones (sent by the client and not
        # removed by HAProxy) are stripped.
        hdrs = [("X-Forwarded-Client-Cert", "Hash=00;Cert=x"), ("X-Kept", "yes")]
        echo = self.assertPassed(self.get(self.arr_port, "/echo/proxy-strip", "client", hdrs))
        names = self.header_names(echo)
        self.assertIn("x-arr-clientcert", names)
        self.assertNotIn("x-forwarded-client-cert", names)
        self.assertIn("x-kept", names)

    # --- 3. backend mTLS against nginx -----------------------------------------------------------

    def nginx_get(self, api):
        return self.get(self.plain_port, "/%s/x" % api, tls=False)

    def test_backend_entity_client_certificate(self):
        r = self.nginx_get("mtls-entity")
        self.assertEqual((r.status, r.body), (200, b"mtls-ok CN=client\n"), r)

    def test_authentication_certificate_policy(self):
        for api in ("mtls-policy", "mtls-policy-thumbprint"):
            with self.subTest(api=api):
                r = self.nginx_get(api)
                self.assertEqual((r.status, r.body), (200, b"mtls-ok CN=gateway-policy\n"), r)
        # The policy's certificate replaces the backend entity's.
        r = self.nginx_get("mtls-policy-over-entity")
        self.assertEqual((r.status, r.body), (200, b"mtls-ok CN=gateway-policy\n"), r)

    def test_without_client_certificate_nginx_refuses(self):
        # nginx completes the handshake and answers 400 itself; that is the backend's response and
        # passes through unchanged.
        r = self.nginx_get("mtls-none")
        self.assertEqual(r.status, 400, r)
        self.assertIn(b"No required SSL certificate was sent", r.body)
        r = self.nginx_get("mtls-untrusted")
        self.assertEqual(r.status, 400, r)
        self.assertIn(b"The SSL certificate error", r.body)

    def test_calls_with_other_certificates_do_not_share_connections(self):
        # Same backend with and without the policy, interleaved: a pooled (kept-alive) connection
        # that presented one certificate must never carry a call meant to present another or none.
        for _ in range(3):
            r = self.nginx_get("mtls-policy")
            self.assertEqual((r.status, r.body), (200, b"mtls-ok CN=gateway-policy\n"), r)
            r = self.nginx_get("mtls-none")
            self.assertEqual(r.status, 400, r)
            r = self.nginx_get("mtls-policy-over-entity")
            self.assertEqual((r.status, r.body), (200, b"mtls-ok CN=gateway-policy\n"), r)
            r = self.nginx_get("mtls-entity")
            self.assertEqual((r.status, r.body), (200, b"mtls-ok CN=client\n"), r)


if __name__ == "__main__":
    unittest.main()
