#!/usr/bin/env bash
# zoo-serve under load: requests/s and p50/p99 latency for 1, 8 and 64
# concurrent clients on an exported translator, one request per sentence of
# the Multi30k test set, with request batching (--max-batch 32 --max-wait-ms 5)
# and without (--max-batch 1: one request at a time). Bounded: each point
# stops at REQUESTS answers or 120 s.
#
#   bench/serve.sh BUILD EXPORTED.pt [REQUESTS]
set -euo pipefail
build="$1"
model="$2"
requests="${3:-400}"
texts="${ATTNZOO_DATA:-../shared/data}/multi30k/test_2016_flickr.de.gz"
out=runs/bench/serve
mkdir -p "$out"
for mode in "batched 32 5" "one-at-a-time 1 0"; do
  set -- $mode
  name=$1
  "$build/bin/zoo-serve" --model "m=$model" --port 0 --max-batch "$2" --max-wait-ms "$3" \
    --http-threads 128 --max-seconds 1800 >"$out/$name.server" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do grep -q listening "$out/$name.server" 2>/dev/null && break; sleep 0.1; done
  port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$out/$name.server")
  [ -n "$port" ] || { cat "$out/$name.server"; kill "$pid"; exit 1; }
  # one warm-up request: the first call compiles the TorchScript graphs
  "$build/bin/bench_serve_load" --port "$port" --model m --texts "$texts" --clients 1 --requests 4 >/dev/null
  for clients in 1 8 64; do
    "$build/bin/bench_serve_load" --port "$port" --model m --texts "$texts" --clients "$clients" \
      --requests "$requests" --max-seconds 120 | tee "$out/$name-c$clients.json"
  done
  kill -TERM "$pid"
  wait "$pid" || true
done
/usr/bin/python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
print("zoo-serve, Multi30k translator, one sentence a request:")
print(f"{'clients':>8} {'batched req/s':>14} {'p50 ms':>8} {'p99 ms':>8} {'one-at-a-time req/s':>20} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6}")
for c in (1, 8, 64):
    b = json.load(open(f"{out}/batched-c{c}.json")); o = json.load(open(f"{out}/one-at-a-time-c{c}.json"))
    print(f"{c:>8} {b['requests_per_sec']:>14.1f} {b['p50_ms']:>8.0f} {b['p99_ms']:>8.0f} "
          f"{o['requests_per_sec']:>20.1f} {o['p50_ms']:>8.0f} {o['p99_ms']:>8.0f} "
          f"{b['requests_per_sec'] / o['requests_per_sec']:>6.2f}")
PY
