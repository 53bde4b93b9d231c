#!/usr/bin/env python3
"""A load generator that plays the partner: worker threads call the API continuously, each call
with a fresh token from MSAL Python using the certificate in $PARTNER_CREDENTIAL (a PEM file with
the private key and the certificate). Replace that file (atomically: write a new one, then `mv`
it into place) and the workers switch to the new certificate on their next call, as a client
whose certificate is mounted from a secret store does.

Settings from the environment (README.md):
  PARTNER_CREDENTIAL  PEM file: the partner's private key and its certificate
  PUBLIC_URL          the token service's origin (default https://127.0.0.1:8443)
  TENANT_ID           the tenant GUID
  PARTNER_CLIENT_ID   the partner application's client id
  API_URL             the API to call (default $PUBLIC_URL/orders)
  TLS_CA_PEM          the CA of the listener's certificate (omit for a public CA)

Prints one line a second (calls, failures, the certificate in use, the key that signed the last
token), and at the end (Ctrl-C or --duration) a summary by certificate and signing key. Exit
status 1 when any call failed. Never prints a token or a key.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import signal
import ssl
import sys
import threading
import time

import msal
import requests

SCOPE = "api://orders/.default"


class NoTokenCache(msal.TokenCache):
    """Keeps no token, so that every call asks the token service and so exercises the
    certificate (a real client keeps its token until it nears expiry)."""

    def add(self, event, *args, **kwargs):
        pass


class Credential:
    """The key and certificate in a PEM file, re-read when the file is replaced."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.stamp = None
        self.generation = 0
        self.value = None
        self.thumbprint = None
        self.checked = 0.0
        self.current()

    def current(self):
        """(generation, MSAL client_credential, SHA-1 thumbprint), re-read at most 5 times a
        second."""
        with self.lock:
            now = time.monotonic()
            if self.value is None or now - self.checked >= 0.2:
                self.checked = now
                st = os.stat(self.path)
                stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
                if stamp != self.stamp:
                    self._load()
                    self.stamp = stamp
            return self.generation, self.value, self.thumbprint

    def _load(self):
        with open(self.path) as f:
            text = f.read()
        key = re.search(r"-----BEGIN (?:RSA |EC )?PRIVATE KEY-----.*?-----END (?:RSA |EC )?PRIVATE "
                        r"KEY-----\n?", text, re.S)
        cert = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?", text, re.S)
        if not key or not cert:
            raise ValueError("%s: needs a private key and a certificate (PEM)" % self.path)
        der = ssl.PEM_cert_to_DER_cert(cert.group(0))
        self.thumbprint = hashlib.sha1(der).hexdigest().upper()
        self.value = {"private_key": key.group(0), "thumbprint": self.thumbprint,
                      "public_certificate": cert.group(0)}
        self.generation += 1


def kid_of(token):
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))).get("kid")


class LoadGenerator:
    """`workers` threads, each: token (MSAL, current certificate) then GET API_URL with it."""

    def __init__(self, credential_path, public_url, tenant, client_id, api_url=None, ca=None,
                 workers=4, pause=0.0):
        self.credential = Credential(credential_path)
        self.authority = "%s/%s" % (public_url.rstrip("/"), tenant)
        self.client_id = client_id
        self.api_url = api_url or public_url.rstrip("/") + "/orders"
        self.ca = ca
        self.workers = workers
        self.pause = pause
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.ok = 0
        self.failures = []  # descriptions, never a token
        self.by_key = {}  # (certificate thumbprint, signing kid) -> successful calls
        # generation of the credential each worker's last successful call used
        self.worker_generation = {}
        self.last_kid = None  # the key that signed the latest accepted token
        self.threads = []

    # The counters are read by other threads (progress line, tests) under the lock.
    def snapshot(self):
        with self.lock:
            return {"ok": self.ok, "failed": len(self.failures), "by_key": dict(self.by_key),
                    "last_kid": self.last_kid,
                    "worker_generation": dict(self.worker_generation),
                    "failures": list(self.failures[:20])}

    def start(self):
        if self.ca:
            os.environ["REQUESTS_CA_BUNDLE"] = self.ca  # requests lets it override `verify`
        for i in range(self.workers):
            t = threading.Thread(target=self._work, args=(i,), name="load-%d" % i, daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self, timeout=30):
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout)

    def _app(self, credential, session):
        return msal.ConfidentialClientApplication(
            self.client_id, authority=self.authority, client_credential=credential,
            instance_discovery=False, http_client=session, token_cache=NoTokenCache())

    def _fail(self, what):
        with self.lock:
            self.failures.append(what)

    def _work(self, index):
        session = requests.Session()
        session.verify = self.ca or True
        app, app_generation, thumbprint = None, 0, None
        try:
            while not self.stop_event.is_set():
                generation, credential, current_thumbprint = self.credential.current()
                if app is None or generation != app_generation:
                    try:
                        app = self._app(credential, session)
                    except Exception as e:  # noqa: BLE001 - counted as a failed call
                        self._fail("client setup: %s" % type(e).__name__)
                        time.sleep(0.2)
                        continue
                    app_generation, thumbprint = generation, current_thumbprint
                result = app.acquire_token_for_client([SCOPE])
                if "access_token" not in result:
                    self._fail("token (%s): %s %s" % (
                        thumbprint[:8], result.get("error"), result.get("error_codes")))
                    continue
                token = result["access_token"]
                try:
                    r = session.get(self.api_url, headers={"Authorization": "Bearer " + token},
                                    timeout=30)
                    status, body = r.status_code, r.text[:200]
                except requests.RequestException as e:
                    status, body = 0, type(e).__name__
                if status != 200:
                    self._fail("API (%s): HTTP %d %s" % (thumbprint[:8], status, body))
                    continue
                with self.lock:
                    self.ok += 1
                    self.last_kid = kid_of(token)
                    key = (thumbprint, self.last_kid)
                    self.by_key[key] = self.by_key.get(key, 0) + 1
                    self.worker_generation[index] = app_generation
                if self.pause:
                    time.sleep(self.pause)
        finally:
            session.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--duration", type=float, default=0, help="seconds; 0: until Ctrl-C")
    args = parser.parse_args()
    public_url = os.environ.get("PUBLIC_URL", "https://127.0.0.1:8443")
    gen = LoadGenerator(os.environ["PARTNER_CREDENTIAL"], public_url, os.environ["TENANT_ID"],
                        os.environ["PARTNER_CLIENT_ID"], os.environ.get("API_URL"),
                        os.environ.get("TLS_CA_PEM"), workers=args.workers)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    gen.start()
    started = time.monotonic()
    while not stop.wait(1.0):
        s = gen.snapshot()
        print("%5.0fs  ok %6d  failed %d  certificate %s...  signing key %s..." % (
            time.monotonic() - started, s["ok"], s["failed"], gen.credential.current()[2][:12],
            (s["last_kid"] or "-")[:12]), flush=True)
        if args.duration and time.monotonic() - started >= args.duration:
            break
    gen.stop()
    s = gen.snapshot()
    print("calls ok %d, failed %d" % (s["ok"], s["failed"]))
    for (tp, kid), n in sorted(s["by_key"].items(), key=lambda kv: -kv[1]):
        print("  certificate %s  signing key %s  %d calls" % (tp, kid, n))
    for f in s["failures"]:
        print("  failure: %s" % f)
    return 1 if s["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
