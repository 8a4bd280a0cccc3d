#!/usr/bin/env bash
# ad hoc: CPU per request of sessiond (new vs base) and the ceiling, same redis
set -euo pipefail
tmp=/tmp/ab/run; rm -rf $tmp; mkdir -p $tmp
rport=6395
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
redis-server --port $rport --bind 127.0.0.1 --save "" --appendonly no --dir $tmp >$tmp/redis.log 2>&1 & pids+=($!)
(cd /work/main && go build -o $tmp/new ./cmd/sessiond && go build -o $tmp/ceiling ./bench/ceiling)
(cd /tmp/old && go build -o $tmp/base ./cmd/sessiond)
sleep 0.5
export SESSIOND_JWT_HS256_SECRET=bench-secret-bench-secret-bench-secret SESSIOND_REDIS_URL=redis://127.0.0.1:$rport/0 SESSIOND_LOG_LEVEL=error
SESSIOND_ADDR=127.0.0.1:9190 $tmp/new >$tmp/new.log 2>&1 & pnew=$!; pids+=($!)
SESSIOND_ADDR=127.0.0.1:9191 $tmp/base >$tmp/base.log 2>&1 & pbase=$!; pids+=($!)
$tmp/ceiling -addr 127.0.0.1:9192 -redis "redis://127.0.0.1:$rport/0" -key 's:{t1}:bench' >$tmp/c.log 2>&1 & pceil=$!; pids+=($!)
sleep 1
svc=$($tmp/new token --role service)
curl -sf -X POST "http://127.0.0.1:9190/api/v1/internal/sessions" -H "Authorization: Bearer $svc" \
  -d '{"id":"bench","user_id":"u1","tenant_id":"t1","partner_id":"p1","ttl_seconds":86400,"ip_address":"203.0.113.42","user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.3","user_email":"u1@example.com","location":"Berlin, DE"}' >/dev/null
user=$($tmp/new token --role user --sub u1 --tenant t1 --sid bench --ttl 24h)
curl -sf -X POST "http://127.0.0.1:9191/api/v1/internal/sessions" -H "Authorization: Bearer $svc" \
  -d '{"id":"bench2","user_id":"u1","tenant_id":"t2","partner_id":"p1","ttl_seconds":86400,"ip_address":"203.0.113.42","user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.3","user_email":"u1@example.com","location":"Berlin, DE"}' >/dev/null
user2=$($tmp/new token --role user --sub u1 --tenant t2 --sid bench2 --ttl 24h)
for u in "9190 $user" "9191 $user2"; do set -- $u; [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $2" http://127.0.0.1:$1/api/v1/auth/verify)" = 200 ] || { echo "verify on $1 failed"; exit 1; }; done
cat >$tmp/l.lua <<'LUA'
done = function(s, l, r) io.write(string.format("RESULT %d %.0f\n", s.requests, s.requests / (s.duration / 1e6))) end
LUA
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
rcpu() { redis-cli -p $rport info cpu | awk -F: '/used_cpu_sys:|used_cpu_user:/{s+=$2} END{printf "%.3f", s}'; }
run() { # _ pid url [auth]
  local c0 r0 out n rate c1 r1
  c0=$(cpu $2); r0=$(rcpu)
  if [ -n "${4:-}" ]; then out=$(wrk -t2 -c64 -d${DUR:-8s} -s $tmp/l.lua -H "Authorization: Bearer $4" $3 | grep RESULT); else out=$(wrk -t2 -c64 -d${DUR:-8s} -s $tmp/l.lua $3 | grep RESULT); fi
  c1=$(cpu $2); r1=$(rcpu)
  set -- $out; n=$2; rate=$3
  awk -v n=$n -v rate=$rate -v c=$((c1-c0)) -v r0=$r0 -v r1=$r1 -v name=$NAME 'BEGIN{printf "%-8s req/s %6d  server CPU/req %.1f us  redis CPU/req %.1f us\n", name, rate, c*10000/n, (r1-r0)*1e6/n}'
}
for i in $(seq ${RUNS:-3}); do
  NAME=after run x $pnew http://127.0.0.1:9190/api/v1/auth/verify "$user"
  NAME=before run x $pbase http://127.0.0.1:9191/api/v1/auth/verify "$user2"
  NAME=ceiling run x $pceil http://127.0.0.1:9192/verify
done
