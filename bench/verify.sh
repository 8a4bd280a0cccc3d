#!/usr/bin/env bash
# Verify hot path vs the stack's ceiling, measured side by side in one run:
# wrk -t2 -c64 against GET /api/v1/auth/verify of a real sessiond and against
# bench/ceiling (bare gin + one go-redis HGETALL), both on one redis-server
# started here on a loopback port. Loopback only; stops everything it starts.
#
#   bash bench/verify.sh [duration, default 10s] [runs, default 3]
#
# With RATE=<req/s> it also drives both at that same fixed rate with
# bench/ratelat (open loop, latency from when each request was due), so
# that their tails are compared at equal load rather than each at its own
# saturation.
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-10s}
runs=${2:-3}
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server missing: apt-get install -y redis-server" >&2; exit 1; }

tmp=$(mktemp -d)
rport=6391; sport=9090; cport=9091
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

redis-server --port $rport --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
pids+=($!)
go build -o "$tmp/sessiond" ./cmd/sessiond
go build -o "$tmp/ceiling" ./bench/ceiling
go build -o "$tmp/ratelat" ./bench/ratelat
for _ in $(seq 50); do redis-cli -p $rport ping >/dev/null 2>&1 && break; sleep 0.1; done

export SESSIOND_JWT_HS256_SECRET=bench-secret-bench-secret-bench-secret
export SESSIOND_REDIS_URL=redis://127.0.0.1:$rport/0
export SESSIOND_ADDR=127.0.0.1:$sport
export SESSIOND_LOG_LEVEL=error
"$tmp/sessiond" >"$tmp/sessiond.log" 2>&1 &
pids+=($!)
"$tmp/ceiling" -addr 127.0.0.1:$cport -redis "redis://127.0.0.1:$rport/0" -key 's:{t1}:bench' >"$tmp/ceiling.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$sport/readyz" >/dev/null && curl -s -o /dev/null "http://127.0.0.1:$cport/" && break; sleep 0.1; done

svc=$("$tmp/sessiond" token --role service)
curl -sf -X POST "http://127.0.0.1:$sport/api/v1/internal/sessions" -H "Authorization: Bearer $svc" \
  -d '{"id":"bench","user_id":"u1","tenant_id":"t1","partner_id":"p1","ttl_seconds":86400,"ip_address":"203.0.113.42","user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.3","user_email":"u1@example.com","location":"Berlin, DE"}' >/dev/null
user=$("$tmp/sessiond" token --role user --sub u1 --tenant t1 --sid bench --ttl 24h)
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $user" "http://127.0.0.1:$sport/api/v1/auth/verify")" = 200 ]

lua="$tmp/lat.lua"
cat >"$lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.3f %.3f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA
echo "run target req/s p50_ms p99_ms errors"
for i in $(seq "$runs"); do
  v=$(wrk -t2 -c64 -d"$dur" -s "$lua" -H "Authorization: Bearer $user" "http://127.0.0.1:$sport/api/v1/auth/verify" | grep RESULT)
  c=$(wrk -t2 -c64 -d"$dur" -s "$lua" "http://127.0.0.1:$cport/verify" | grep RESULT)
  set -- $v; vr=$2
  echo "$i verify ${v#RESULT }"
  set -- $c; cr=$2
  echo "$i ceiling ${c#RESULT }"
  echo "$i ratio $(awk -v a="$vr" -v b="$cr" 'BEGIN { printf "%.2f", a / b }')"
done
if [ -n "${RATE:-}" ]; then
  echo "run target(at $RATE req/s) req/s p50_ms p99_ms errors"
  for i in $(seq "$runs"); do
    v=$("$tmp/ratelat" -rate "$RATE" -duration "$dur" -token "$user" -url "http://127.0.0.1:$sport/api/v1/auth/verify" | grep RESULT)
    c=$("$tmp/ratelat" -rate "$RATE" -duration "$dur" -url "http://127.0.0.1:$cport/verify" | grep RESULT)
    echo "$i verify ${v#RESULT }"
    echo "$i ceiling ${c#RESULT }"
  done
fi
