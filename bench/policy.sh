#!/usr/bin/env bash
# Policy benchmark: HAProxy 2.6's jwt_verify front against Gatehouse's validate-jwt, in front of
# the same nginx origin, same worker/thread count, loaded the same way with wrk in one run, with
# one RS256 token reused as a real client does until it expires. Loopback only.
#
#   haproxy-plain   HAProxy plain reverse proxy (context)
#   haproxy-jwt     HAProxy: RS256 jwt_verify + alg/iss/aud/exp/azpacr checks (../shared/bench)
#   gh-plain        Gatehouse plain proxy, no policy
#   gh-jwt          Gatehouse + examples/validate-jwt/policy.xml (validate-jwt RS256 with PEM key,
#                   issuer, audience, azpacr = 2, RS256 only)
#   gh-full         Gatehouse + subscription key + rate-limit-by-key per subscription at global
#                   scope (a limit far above what the run reaches) + gh-jwt's policy at API scope
#
# Usage: bench/policy.sh            (WORKERS=1 DUR=10 CONNS=32 ROUNDS=1 by default)
#        DUR=10 ROUNDS=3 bench/policy.sh
# Needs: nginx haproxy wrk openssl (scripts/bootstrap) and the gatehouse binary ($GATEHOUSE_BIN,
# default build/gatehouse), which also signs the token (`gatehouse jwt sign`).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
repo=$(dirname "$here")
GATEHOUSE_BIN=${GATEHOUSE_BIN:-$repo/build/gatehouse}
WORKERS=${WORKERS:-1}
DUR=${DUR:-10}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-1}
BASE_PORT=${BASE_PORT:-18280}
ORIGIN_PORT=$BASE_PORT
declare -A port=(
  [haproxy-plain]=$((BASE_PORT + 1)) [haproxy-jwt]=$((BASE_PORT + 2))
  [gh-plain]=$((BASE_PORT + 3)) [gh-jwt]=$((BASE_PORT + 4)) [gh-full]=$((BASE_PORT + 5)))
cases=(haproxy-plain haproxy-jwt gh-plain gh-jwt gh-full)

for tool in nginx haproxy wrk openssl curl; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] ||
    { echo "policy.sh: $tool missing; run scripts/bootstrap" >&2; exit 1; }
done
[ -x "$GATEHOUSE_BIN" ] || { echo "policy.sh: no gatehouse binary at $GATEHOUSE_BIN" >&2; exit 1; }
PATH=$PATH:/usr/sbin

dir=$(mktemp -d /tmp/gh-bench-policy.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# One RSA key and one token, as ../shared/bench/peers.sh makes them.
ISSUER=https://issuer.test/
AUDIENCE=api://demo
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/jwt.key" 2>/dev/null
openssl pkey -in "$dir/jwt.key" -pubout -out "$dir/jwt.pub.pem"
claims() {
  printf '{"iss":"%s","aud":"%s","exp":%d,"azp":"client1","azpacr":"%s"}' \
    "$ISSUER" "$AUDIENCE" $(($(date +%s) + 86400)) "$1"
}
TOKEN=$("$GATEHOUSE_BIN" jwt sign --key "$dir/jwt.key" --alg RS256 --kid k1 --claims "$(claims 2)")
BAD_TOKEN=$("$GATEHOUSE_BIN" jwt sign --key "$dir/jwt.key" --alg RS256 --kid k1 --claims "$(claims 1)")
SUBSCRIPTION_KEY=$(openssl rand -hex 16)

cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process off;
user root;
pid $dir/nginx.pid;
error_log $dir/nginx.err;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir;
  proxy_temp_path $dir;
  server {
    listen 127.0.0.1:$ORIGIN_PORT;
    keepalive_requests 1000000;
    location / { return 200 "ok\n"; }
  }
}
EOF

# ../shared/bench/haproxy.cfg with this run's ports, key and thread count.
cat >"$dir/haproxy.cfg" <<EOF
global
  nbthread $WORKERS
  maxconn 8000
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
backend be
  server s1 127.0.0.1:$ORIGIN_PORT
  http-reuse always
frontend plain
  bind 127.0.0.1:${port[haproxy-plain]}
  default_backend be
frontend jwt
  bind 127.0.0.1:${port[haproxy-jwt]}
  http-request set-var(txn.bearer) http_auth_bearer
  http-request set-var(txn.alg) var(txn.bearer),jwt_header_query('\$.alg')
  http-request set-var(txn.iss) var(txn.bearer),jwt_payload_query('\$.iss')
  http-request set-var(txn.aud) var(txn.bearer),jwt_payload_query('\$.aud')
  http-request set-var(txn.exp) var(txn.bearer),jwt_payload_query('\$.exp','int')
  http-request set-var(txn.azpacr) var(txn.bearer),jwt_payload_query('\$.azpacr')
  http-request deny status 401 unless { var(txn.alg) -m str RS256 }
  http-request deny status 401 unless { var(txn.iss) -m str "$ISSUER" }
  http-request deny status 401 unless { var(txn.aud) -m str "$AUDIENCE" }
  http-request deny status 401 unless { var(txn.azpacr) -m str "2" }
  http-request set-var(txn.now) date()
  http-request deny status 401 if { var(txn.exp),sub(txn.now) -m int lt 0 }
  http-request deny status 401 unless { var(txn.bearer),jwt_verify(txn.alg,"$dir/jwt.pub.pem") -m int 1 }
  default_backend be
EOF

gatehouse_config() {  # name port [api extras...]
  local name=$1 listen=$2
  shift 2
  cat <<EOF
workers: $WORKERS
listeners:
  - name: $name
    address: 127.0.0.1:$listen
backends:
  - id: origin
    url: http://127.0.0.1:$ORIGIN_PORT
apis:
  - name: all
    path: /
    backend: origin
$(printf '    %s\n' "$@")
access_log: "off"
EOF
}
named_values="named_values:
  - {name: jwt-public-key, file: $dir/jwt.pub.pem}
  - {name: jwt-issuer, value: \"$ISSUER\"}
  - {name: jwt-audience, value: \"$AUDIENCE\"}"
gatehouse_config gh-plain "${port[gh-plain]}" >"$dir/gh-plain.yaml"
{
  gatehouse_config gh-jwt "${port[gh-jwt]}" "policy: $repo/examples/validate-jwt/policy.xml"
  echo "$named_values"
} >"$dir/gh-jwt.yaml"
{
  gatehouse_config gh-full "${port[gh-full]}" \
    "policy: $repo/examples/validate-jwt/policy.xml" "subscription_required: true"
  echo "$named_values"
  # The rate limit at global scope, composed with the API's validate-jwt as APIM composes scopes.
  cat <<'EOF'
policies:
  global_xml: >-
    <policies><inbound><rate-limit-by-key calls="2000000000" renewal-period="60"
    counter-key="@(context.Subscription.Id)" /></inbound><backend><forward-request /></backend>
    <outbound /><on-error /></policies>
EOF
  cat <<EOF
subscriptions:
  - {id: bench, name: bench, scope: /apis/all, primary_key: "$SUBSCRIPTION_KEY"}
EOF
} >"$dir/gh-full.yaml"


nginx -c "$dir/nginx.conf" -p "$dir" & pids+=($!)
declare -A pid_of
haproxy -f "$dir/haproxy.cfg" -db >"$dir/haproxy.log" 2>&1 & pids+=($!)
pid_of[haproxy-plain]=$!
pid_of[haproxy-jwt]=$!
for n in gh-plain gh-jwt gh-full; do
  "$GATEHOUSE_BIN" serve --config "$dir/$n.yaml" >"$dir/$n.out" 2>"$dir/$n.err" & pids+=($!)
  pid_of[$n]=$!
done
wait_port "$ORIGIN_PORT" || { cat "$dir/nginx.err" >&2; exit 1; }
wait_port "${port[haproxy-plain]}" || { cat "$dir/haproxy.log" >&2; exit 1; }
for n in gh-plain gh-jwt gh-full; do
  wait_port "${port[$n]}" || { cat "$dir/$n.err" >&2; exit 1; }
done
sleep 0.5

# Sanity: every case answers the origin's body to the benchmark's request, and the JWT cases
# refuse a missing token and a token with azpacr 1, so that we measure the checks, not a bypass.
status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
# Only gh-full has a subscription (APIM refuses an unknown key even where none is required); the
# other cases get a header of the same size instead, so that every request has the same length.
sub_header() {
  if [ "$1" = gh-full ]; then
    echo "Ocp-Apim-Subscription-Key: $SUBSCRIPTION_KEY"
  else
    echo "X-Same-Length-As-The-Key0: $SUBSCRIPTION_KEY"
  fi
}
for n in "${cases[@]}"; do
  body=$(curl -sS -H "Authorization: Bearer $TOKEN" -H "$(sub_header "$n")" \
    "http://127.0.0.1:${port[$n]}/")
  [ "$body" = "ok" ] || { echo "policy.sh: $n answered '$body'" >&2; exit 1; }
done
for n in haproxy-jwt gh-jwt gh-full; do
  for auth in "" "Authorization: Bearer $BAD_TOKEN"; do
    s=$(status -H "$auth" -H "$(sub_header "$n")" "http://127.0.0.1:${port[$n]}/")
    [ "$s" = 401 ] || { echo "policy.sh: $n let a bad request through ($s)" >&2; exit 1; }
  done
done
s=$(status -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:${port[gh-full]}/")
[ "$s" = 401 ] || { echo "policy.sh: gh-full answered $s without a subscription key" >&2; exit 1; }

# wrk prints "Requests/sec: N" and, with --latency, a distribution including "99%  1.23ms".
declare -A rps p99 all_rps all_p99 cpu all_cpu
run() {
  local name=$1 out before
  before=$(cpu_ticks "${pid_of[$name]}")
  # Every case gets the same request: same token, headers of the same size.
  out=$(wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -H "Authorization: Bearer $TOKEN" \
    -H "$(sub_header "$name")" "http://127.0.0.1:${port[$name]}/")
  echo "$out" >"$dir/wrk-$name.txt"
  all_rps[$name]+="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out") "
  all_p99[$name]+="$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")") "
  all_cpu[$name]+="$(cpu_us_per_request "$before" "$(cpu_ticks "${pid_of[$name]}")" "$out") "
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
    echo "warning: $name: $(grep "Non-2xx\|Socket errors" <<<"$out" | tr '\n' ' ')" >&2
  fi
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# Interleave the cases ROUNDS times and keep each one's median, so that a noisy neighbour on a
# shared machine hits them alike.
for _ in $(seq 1 "$ROUNDS"); do
  for n in "${cases[@]}"; do run "$n"; done
done
for n in "${cases[@]}"; do
  rps[$n]=$(median <<<"${all_rps[$n]}")
  p99[$n]=$(median <<<"${all_p99[$n]}")
  cpu[$n]=$(median <<<"${all_cpu[$n]}")
done

echo
echo "workers/threads: $WORKERS  wrk: -t1 -c$CONNS -d${DUR}s  rounds: $ROUNDS (median)" \
  "($(nproc) cores, load before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg)," \
  "$(date -u +%FT%TZ))"
printf '%-14s %12s %10s %8s   %s\n' name "requests/s" "p99 ms" "CPU us" "each round (requests/s)"
for n in "${cases[@]}"; do
  printf '%-14s %12s %10s %8s   %s\n' "$n" "${rps[$n]}" "${p99[$n]}" "${cpu[$n]}" "${all_rps[$n]}"
done
awk -v full="${rps[gh-full]}" -v jwt="${rps[gh-jwt]}" -v plain="${rps[gh-plain]}" \
  -v ha="${rps[haproxy-jwt]}" 'BEGIN {
    printf "gh-full/haproxy-jwt: %.2fx (target >= 2)\n", full / ha
    printf "gh-full/gh-plain:    %.3f (target >= 0.95)\n", full / plain
    printf "gh-jwt/gh-plain:     %.3f\n", jwt / plain }'
