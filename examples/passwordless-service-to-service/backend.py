#!/usr/bin/env python3
"""The orders backend: a small stand-in for an Azure Function behind API Management.

It answers only requests that
  1. carry its function key in `x-functions-key` (the gateway adds it from the vault, so a
     request that did not come through the gateway has none), and
  2. carry a bearer token whose client application (`azp` in v2 tokens, `appid` in v1) and object
     id (`oid`) are both on its allow-list, as App Service authentication's "allowed client
     applications" and "allowed identities" do.

The token's signature, issuer, audience, lifetime and role were checked by the gateway
(validate-azure-ad-token); the backend reads the claims it needs. Python standard library only.

Environment:
  FUNCTION_KEY          the function key (required)
  ALLOWED_CLIENT_IDS    comma-separated client application ids (required)
  ALLOWED_OBJECT_IDS    comma-separated object ids of their service principals (required)
  BACKEND_LISTEN        host:port to listen on (default 127.0.0.1:9000)

Prints one line per request: the status, the method and path, the caller or why it was refused.
Never prints a key or a token.
"""

import base64
import hmac
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def required(name):
    value = os.environ.get(name, "")
    if not value:
        sys.exit("backend.py: %s is required" % name)
    return value


FUNCTION_KEY = required("FUNCTION_KEY").encode()
ALLOWED_CLIENTS = {v.strip().lower() for v in required("ALLOWED_CLIENT_IDS").split(",") if v.strip()}
ALLOWED_OBJECTS = {v.strip().lower() for v in required("ALLOWED_OBJECT_IDS").split(",") if v.strip()}


def claims_of(authorization):
    """The JWT payload of `Bearer <token>`, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    parts = token.strip().split(".")
    if scheme.lower() != "bearer" or len(parts) != 3:
        return None
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


class Handler(BaseHTTPRequestHandler):
    server_version = "orders-backend"

    def answer(self, status, body, note):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        print("%d %s %s %s" % (status, self.command, self.path, note), flush=True)

    def handle_call(self):
        key = self.headers.get("x-functions-key", "").encode()
        if not hmac.compare_digest(key, FUNCTION_KEY):
            return self.answer(401, {"error": "missing or wrong function key"},
                               "refused: function key")
        claims = claims_of(self.headers.get("Authorization"))
        if claims is None:
            return self.answer(401, {"error": "no bearer token"}, "refused: no token")
        client = str(claims.get("azp") or claims.get("appid") or "").lower()
        oid = str(claims.get("oid") or "").lower()
        if client not in ALLOWED_CLIENTS:
            return self.answer(403, {"error": "client application %s is not allowed" % client},
                               "refused: client %s not allowed" % client)
        if oid not in ALLOWED_OBJECTS:
            return self.answer(403, {"error": "object id %s is not allowed" % oid},
                               "refused: object %s not allowed" % oid)
        self.answer(200, {"caller": client, "object_id": oid, "roles": claims.get("roles", []),
                          "path": self.path}, "caller %s (object %s)" % (client, oid))

    do_GET = do_POST = do_PUT = do_DELETE = handle_call

    def log_message(self, *args):  # one line per request is printed by answer()
        pass


def main():
    host, _, port = os.environ.get("BACKEND_LISTEN", "127.0.0.1:9000").rpartition(":")
    server = ThreadingHTTPServer((host.strip("[]"), int(port)), Handler)
    print("orders backend on %s:%s, allowing %d client(s) and %d object id(s)"
          % (host, port, len(ALLOWED_CLIENTS), len(ALLOWED_OBJECTS)), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
