#!/usr/bin/env bash
# Plain reverse-proxy benchmark: Gatehouse vs HAProxy 2.6 in front of the same nginx origin, same
# worker/thread count, loaded the same way with wrk in one run. Loopback only.
#
# Usage: bench/proxy.sh            (WORKERS=1 DUR=10 CONNS=32 ROUNDS=1 by default)
#        WORKERS=2 DUR=20 ROUNDS=3 bench/proxy.sh
# Needs: nginx haproxy wrk (scripts/bootstrap) and the gatehouse binary ($GATEHOUSE_BIN, default
# build/gatehouse).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
repo=$(dirname "$here")
GATEHOUSE_BIN=${GATEHOUSE_BIN:-$repo/build/gatehouse}
WORKERS=${WORKERS:-1}
DUR=${DUR:-10}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-1}
ORIGIN_PORT=${ORIGIN_PORT:-18180}
HAPROXY_PORT=${HAPROXY_PORT:-18181}
GATEHOUSE_PORT=${GATEHOUSE_PORT:-18182}

for tool in nginx haproxy wrk; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] ||
    { echo "proxy.sh: $tool missing; run scripts/bootstrap" >&2; exit 1; }
done
[ -x "$GATEHOUSE_BIN" ] || { echo "proxy.sh: no gatehouse binary at $GATEHOUSE_BIN" >&2; exit 1; }
PATH=$PATH:/usr/sbin

dir=$(mktemp -d /tmp/gh-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

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
  bind 127.0.0.1:$HAPROXY_PORT
  default_backend be
EOF

cat >"$dir/gatehouse.yaml" <<EOF
workers: $WORKERS
listeners:
  - name: bench
    address: 127.0.0.1:$GATEHOUSE_PORT
backends:
  - id: origin
    url: http://127.0.0.1:$ORIGIN_PORT
apis:
  - name: all
    path: /
    backend: origin
access_log: "off"
EOF

rss_mb() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

nginx -c "$dir/nginx.conf" -p "$dir" & pids+=($!)
haproxy -f "$dir/haproxy.cfg" -db >"$dir/haproxy.log" 2>&1 &
haproxy_pid=$!
pids+=("$haproxy_pid")
"$GATEHOUSE_BIN" serve --config "$dir/gatehouse.yaml" >"$dir/gatehouse.out" 2>"$dir/gatehouse.err" &
gh_pid=$!
pids+=("$gh_pid")
wait_port "$ORIGIN_PORT" || { cat "$dir/nginx.err" >&2; exit 1; }
wait_port "$HAPROXY_PORT" || { cat "$dir/haproxy.log" >&2; exit 1; }
wait_port "$GATEHOUSE_PORT" || { cat "$dir/gatehouse.err" >&2; exit 1; }
sleep 0.5
gh_idle_rss=$(rss_mb "$gh_pid")

# Sanity: both proxies answer the origin's body before we measure them.
for port in "$HAPROXY_PORT" "$GATEHOUSE_PORT"; do
  body=$(curl -fsS "http://127.0.0.1:$port/")
  [ "$body" = "ok" ] || { echo "proxy.sh: port $port answered '$body'" >&2; exit 1; }
done

# wrk prints "Requests/sec: N" and, with --latency, a distribution including "99%  1.23ms".
declare -A rps p99 cpu_us
run() {
  local name=$1 port=$2 pid=${3:-} out before
  [ -n "$pid" ] && before=$(cpu_ticks "$pid")
  out=$(wrk -t1 -c"$CONNS" -d"${DUR}s" --latency "http://127.0.0.1:$port/")
  echo "$out" >"$dir/wrk-$name.txt"
  rps[$name]=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99[$name]=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  [ -n "$pid" ] && cpu_us[$name]=$(cpu_us_per_request "$before" "$(cpu_ticks "$pid")" "$out")
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
    echo "warning: $name: $(grep "Non-2xx\|Socket errors" <<<"$out" | tr '\n' ' ')" >&2
  fi
}


run nginx-origin "$ORIGIN_PORT"
# Alternate the two proxies ROUNDS times and keep the median, so that a noisy neighbour on a
# shared machine hits both alike.
declare -A all_rps all_p99 all_cpu
round_ratios=""
for round in $(seq 1 "$ROUNDS"); do
  for n in haproxy gatehouse; do
    if [ "$n" = haproxy ]; then run "$n" "$HAPROXY_PORT" "$haproxy_pid"; else run "$n" "$GATEHOUSE_PORT" "$gh_pid"; fi
    all_rps[$n]+="${rps[$n]} "
    all_p99[$n]+="${p99[$n]} "
    all_cpu[$n]+="${cpu_us[$n]} "
  done
  round_ratios+="$(awk -v g="${rps[gatehouse]}" -v h="${rps[haproxy]}" 'BEGIN {printf "%.2f", g / h}') "
done
for n in haproxy gatehouse; do
  rps[$n]=$(median <<<"${all_rps[$n]}")
  p99[$n]=$(median <<<"${all_p99[$n]}")
  cpu_us[$n]=$(median <<<"${all_cpu[$n]}")
done
gh_load_rss=$(rss_mb "$gh_pid")

echo
echo "workers/threads: $WORKERS  wrk: -t1 -c$CONNS -d${DUR}s  rounds: $ROUNDS (median)" \
  "($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg), $(date -u +%FT%TZ))"
printf '%-14s %12s %10s\n' name "requests/s" "p99 ms"
for n in nginx-origin haproxy gatehouse; do
  printf '%-14s %12s %10s\n' "$n" "${rps[$n]}" "${p99[$n]}"
done
awk -v g="${rps[gatehouse]}" -v h="${rps[haproxy]}" \
  -v gp="${p99[gatehouse]}" -v hp="${p99[haproxy]}" 'BEGIN {
    printf "gatehouse/haproxy: throughput %.2fx, p99 %.2fx (lower is better)\n", g / h, gp / hp }'
echo "gatehouse/haproxy throughput per round: $round_ratios"
awk -v g="${cpu_us[gatehouse]}" -v h="${cpu_us[haproxy]}" 'BEGIN {
    printf "proxy CPU per request (user+sys, median): haproxy %.2f us, gatehouse %.2f us (%.2fx)\n",
      h, g, g / h }'
echo "gatehouse RSS: idle ${gh_idle_rss} MB, after load ${gh_load_rss} MB"
