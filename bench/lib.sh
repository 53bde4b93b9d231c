# Helpers shared by the proxy benchmarks (sourced by proxy.sh and policy.sh).

# Waits up to 10 s for something to listen on 127.0.0.1:$1.
wait_port() {
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "$(basename "$0"): nothing listening on $1" >&2
  return 1
}

# wrk's latency ("850.00us", "1.23ms", "2.01s") in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else printf "%s", v }'
}

# The median of the space-separated numbers on stdin.
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# CPU time (user + system, clock ticks) process $1 has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Microseconds of CPU per request: ticks before ($1) and after ($2) a wrk run, and wrk's output
# ($3). The proxy's own cost, which the way the scheduler shares the cores between wrk, the
# origin and the proxy does not move (requests/s does).
cpu_us_per_request() {
  local requests
  requests=$(awk '/ requests in / {print $1}' <<<"$3")
  awk -v t=$(($2 - $1)) -v hz="$(getconf CLK_TCK)" -v n="$requests" \
    'BEGIN {printf "%.2f", t * 1e6 / hz / n}'
}
