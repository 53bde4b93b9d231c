#!/usr/bin/env python3
"""The third party's side: get an access token with MSAL Python (certificate credential, or a
client secret to see it refused) from the token service behind the front, then call the API.

Settings come from the environment (README.md):
  PUBLIC_URL          the front's origin (default https://127.0.0.1:8443)
  TENANT_ID           the tenant GUID
  PARTNER_CLIENT_ID   the partner application's client id
  PARTNER_KEY         the partner's private key (PEM), made with `gatehouse cert new`
  PARTNER_CERT        its certificate (PEM): MSAL sends its SHA-1 thumbprint and the certificate
  PARTNER_SECRET      with --secret: a client secret instead of the certificate
  FRONT_CA_PEM        the CA that signed the front's certificate (omit for a public CA)

Prints what the token says (never the token) and the API's answer. Exit status: 0 when the API
answered 2xx, 1 when it refused, 2 when no token was issued.
"""

import argparse
import base64
import hashlib
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

import msal


def certificate_credential(key_file, cert_file):
    """MSAL's certificate credential: the private key, the certificate's SHA-1 thumbprint (hex)
    and the certificate itself (sent as x5c; optional)."""
    with open(key_file) as f:
        private_key = f.read()
    with open(cert_file) as f:
        cert_pem = f.read()
    der = ssl.PEM_cert_to_DER_cert(cert_pem)
    return {"private_key": private_key, "thumbprint": hashlib.sha1(der).hexdigest(),
            "public_certificate": cert_pem}


def claims_of(token):
    """The payload of a JWT, not verified: only for showing what the token says."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--secret", action="store_true",
                        help="authenticate with $PARTNER_SECRET instead of the certificate")
    parser.add_argument("--scope", default="api://orders/.default")
    parser.add_argument("--path", default="/orders", help="the API path to call")
    args = parser.parse_args()

    origin = os.environ.get("PUBLIC_URL", "https://127.0.0.1:8443").rstrip("/")
    ca = os.environ.get("FRONT_CA_PEM")
    if ca:
        # requests (under MSAL) lets REQUESTS_CA_BUNDLE override any other setting.
        os.environ["REQUESTS_CA_BUNDLE"] = ca
    if args.secret:
        credential = os.environ["PARTNER_SECRET"]
    else:
        credential = certificate_credential(os.environ["PARTNER_KEY"], os.environ["PARTNER_CERT"])

    app = msal.ConfidentialClientApplication(
        os.environ["PARTNER_CLIENT_ID"],
        authority="%s/%s" % (origin, os.environ["TENANT_ID"]),
        client_credential=credential,
        instance_discovery=False,  # Gatehouse, not login.microsoftonline.com (MSAL >= 1.19)
        verify=ca or True)
    result = app.acquire_token_for_client([args.scope])
    if "access_token" not in result:
        print("no token: %s: %s" % (result.get("error"),
                                    result.get("error_description", "").split("\r\n")[0]))
        return 2
    token = result["access_token"]
    claims = claims_of(token)
    print("token: aud=%s azpacr=%s roles=%s expires in %d s" % (
        claims.get("aud"), claims.get("azpacr"), ",".join(claims.get("roles", [])) or "-",
        claims["exp"] - int(time.time())))
    print("       iss=%s" % claims.get("iss"))

    url = origin + args.path
    context = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
    request = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    print("GET %s -> %d" % (url, status))
    print(body.decode("utf-8", "replace")[:2000])
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
