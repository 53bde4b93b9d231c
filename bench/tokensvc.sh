#!/usr/bin/env bash
# Token-service benchmark: Gatehouse's token endpoint vs node oidc-provider (the peer harness in
# ../shared/bench/tokensvc) in one run, both over TLS on loopback, loaded by the same generator
# (keep-alive, 32 connections; private_key_jwt sends a fresh pre-signed assertion with a unique
# jti on every request), beside the machine's RSA-2048 sign rate from `openssl speed`.
#
# Usage: bench/tokensvc.sh                 (DURATION=10 CONCURRENCY=32 MODES="post basic jwt")
#        PEER=0 bench/tokensvc.sh          (skip oidc-provider)
#        ES256=1 bench/tokensvc.sh         (also a run with ES256-signed tokens)
#        TLS=0 bench/tokensvc.sh           (plain HTTP on both sides, as the peer's RESULTS.md)
# Needs: node + npm (scripts/bootstrap), openssl, the gatehouse binary ($GATEHOUSE_BIN).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
GATEHOUSE_BIN=${GATEHOUSE_BIN:-$repo/build/gatehouse}
DURATION=${DURATION:-10}
CONCURRENCY=${CONCURRENCY:-32}
MODES=${MODES:-"post basic jwt"}
PORT=${PORT:-18443}
PEER=${PEER:-1}
ES256=${ES256:-0}
TLS=${TLS:-1}
scheme=https
[ "$TLS" = 1 ] || scheme=http
TENANT=11111111-2222-3333-4444-555555555555
API=6f1d2c3b-4a59-4e6f-8a7b-9c0d1e2f3a4b
SECRET_CLIENT=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
JWT_CLIENT=1b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e
SECRET=bench-secret-$(openssl rand -hex 16)

[ -x "$GATEHOUSE_BIN" ] || { echo "tokensvc.sh: no gatehouse binary at $GATEHOUSE_BIN" >&2; exit 1; }
shared=$(cd "$repo/../shared/bench/tokensvc" 2>/dev/null && pwd) ||
  { echo "tokensvc.sh: ../shared/bench/tokensvc not found" >&2; exit 1; }

dir=$(mktemp -d /tmp/gh-tokensvc.XXXXXX)
gh_pid=""
cleanup() {
  [ -n "$gh_pid" ] && kill "$gh_pid" 2>/dev/null && wait "$gh_pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

cp -r "$shared" "$dir/kit"
chmod -R u+w "$dir/kit"
(cd "$dir/kit" && npm ci --no-audit --no-fund --loglevel=error >/dev/null && ./gen-keys.sh >/dev/null)
kit=$dir/kit

echo "== openssl speed (both cores, 2 s)"
speed=$(openssl speed -multi 2 -seconds 2 rsa2048 ecdsap256 2>/dev/null)
rsa_sign=$(echo "$speed" | awk '/^rsa 2048 bits/ {print $6}')
ec_sign=$(echo "$speed" | awk '/256 bits ecdsa \(nistp256\)/ {print $7}')
echo "RSA-2048 sign/s: $rsa_sign   ECDSA P-256 sign/s: $ec_sign"

write_config() {  # $1 = signing algorithm
  cat >"$dir/gatehouse.yaml" <<EOF
workers: 2
listeners:
  - name: public
    address: 127.0.0.1:$PORT
    tls:
      certificates:
        - cert: $kit/keys/tls.crt
          key: $kit/keys/tls.key
  - name: plain
    address: 127.0.0.1:$((PORT + 2))
apis:
  - name: none
    path: /api
    backend_url: http://127.0.0.1:9
access_log: "off"
identity:
  data_dir: $dir/data-$1
  audit_log: "off"
  listeners: [public, plain]
  signing:
    algorithm: $1
  tenants:
    - id: $TENANT
      name: Bench
      applications:
        - client_id: $API
          name: demo-api
          identifier_uris: ["api://demo"]
          access_token_version: 2
          roles: [{value: Demo.Read}]
        - client_id: $SECRET_CLIENT
          name: secret-client
          secrets: [{name: bench, value_env: BENCH_SECRET}]
          assignments: [{resource: "api://demo", role: Demo.Read}]
        - client_id: $JWT_CLIENT
          name: jwt-client
          certificates: [{file: $kit/keys/client.crt, name: bench}]
          assignments: [{resource: "api://demo", role: Demo.Read}]
EOF
}

load() {  # $1 base URL, $2 mode, $3.. extra flags
  local base=$1 mode=$2
  shift 2
  (cd "$kit" && node loadtest.mjs --base="$base" --mode="$mode" --duration="$DURATION" \
    --warmup=2 --concurrency="$CONCURRENCY" --ca="$kit/keys/ca.crt" --json "$@" 2>/dev/null | tail -1)
}

run_gatehouse() {  # $1 = signing algorithm
  write_config "$1"
  BENCH_SECRET=$SECRET "$GATEHOUSE_BIN" serve --config "$dir/gatehouse.yaml" \
    >"$dir/gh-$1.out" 2>"$dir/gh-$1.err" &
  gh_pid=$!
  for _ in $(seq 100); do
    curl -s --cacert "$kit/keys/ca.crt" -o /dev/null \
      "https://127.0.0.1:$PORT/$TENANT/v2.0/.well-known/openid-configuration" && break
    sleep 0.1
  done
  echo "== gatehouse ($1 tokens, $scheme), RSS idle $(ps -o rss= -p $gh_pid) KiB"
  local base="https://127.0.0.1:$PORT"
  [ "$TLS" = 1 ] || base="http://127.0.0.1:$((PORT + 2))"
  for mode in $MODES; do
    case $mode in
      basic | post) r=$(load "$base" "$mode" --client-id=$SECRET_CLIENT --client-secret="$SECRET") ;;
      jwt) r=$(load "$base" jwt --client-id=$JWT_CLIENT --assertions=$(((DURATION + 3) * 9000))) ;;
    esac
    echo "gatehouse $1 $mode $r"
  done
  echo "gatehouse $1 rss_after_kib $(ps -o rss= -p $gh_pid)"
  kill "$gh_pid"
  wait "$gh_pid" 2>/dev/null || true
  gh_pid=""
}

run_gatehouse RS256
[ "$ES256" = 1 ] && run_gatehouse ES256

if [ "$PEER" = 1 ]; then
  echo "== oidc-provider (peer, same machine, same run, $scheme)"
  (cd "$kit" && TLS="$TLS" DURATION="$DURATION" CONCURRENCY="$CONCURRENCY" MODES="$MODES" \
    PORT=$((PORT + 1)) ./run-bench.sh 2>/dev/null | sed 's/^/oidc-provider /')
fi
