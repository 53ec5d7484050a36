#!/usr/bin/env bash
# zoo-serve in production: saturation, a soak at the saturation rate, an
# overload at twice it, the cost of scraping /metrics, and latency during
# reloads, on an exported translator (one Multi30k test sentence a request).
# Every run is bounded in time; results land in runs/bench/serve-soak/.
#
#   bench/serve_soak.sh BUILD EXPORTED.pt [SOAK_SECONDS]
#   PARTS=overload bench/serve_soak.sh ...   only some parts (of: saturation
#       soak metrics reloads overload; a part without saturation takes S from
#       the last saturation.json)
#
# 1. saturation: 64 closed-loop clients for 60 s -> S requests/s
# 2. soak: SOAK_SECONDS (default 600) at S requests/s (open loop, 256
#    clients), every 50th request malformed, /metrics read every second:
#    throughput, p50/p99/p99.9, statuses, resident memory at start and end
# 3. overload: 120 s at 2 S requests/s with --timeout-ms 5000 and
#    --max-queue sized to half the deadline (OVERLOAD_QUEUE, default 2.5 S:
#    2.5 s of waiting at the saturated rate): admitted p99 against the
#    deadline, refusals as 503s on arrival, not 504s or dropped connections
# 4. /metrics overhead: 60 s of 64 closed-loop clients, scraped every
#    second and not
# 5. reloads: 60 s of 64 closed-loop clients with a reload every 10 s, and
#    60 s without
set -euo pipefail
build="$1"
model="$2"
soak_s="${3:-600}"
parts=" ${PARTS:-saturation soak metrics reloads overload} "
part() { [[ "$parts" == *" $1 "* ]]; }
texts="${ATTNZOO_DATA:-../shared/data}/multi30k/test_2016_flickr.de.gz"
out=runs/bench/serve-soak
mkdir -p "$out"
key=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
echo "$key" >"$out/admin.key"

start_server() {  # start_server NAME EXTRA...: sets pid and port
  local name="$1"
  shift
  "$build/bin/zoo-serve" --model "m=$model" --port 0 --http-threads 64 --max-seconds 3600 \
    --management-key-file "$out/admin.key" "$@" >"$out/$name.server" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do grep -q listening "$out/$name.server" 2>/dev/null && break; sleep 0.1; done
  port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$out/$name.server")
  [ -n "$port" ] || { cat "$out/$name.server"; kill "$pid"; exit 1; }
  "$build/bin/bench_serve_load" --port "$port" --model m --texts "$texts" --clients 1 --requests 4 \
    >/dev/null  # the first calls compile the TorchScript graphs
}
stop_server() {
  kill -TERM "$pid"
  wait "$pid" || true
}
load() {  # load NAME ARGS...: one bench_serve_load run into NAME.json
  local name="$1"
  shift
  "$build/bin/bench_serve_load" --port "$port" --model m --texts "$texts" --requests 100000000 "$@" \
    | tee "$out/$name.json" || true  # a run with errors still reports
}

start_server main
part saturation && load saturation --clients 64 --max-seconds 60
rate=$(/usr/bin/python3 -c "import json; print(round(json.load(open('$out/saturation.json'))['requests_per_sec'], 2))")
part soak && load soak --clients 256 --rate "$rate" --max-seconds "$soak_s" --malformed-every 50 --scrape-s 1
if part metrics; then
  load metrics-off --clients 64 --max-seconds 60
  load metrics-on --clients 64 --max-seconds 60 --scrape-s 1
fi
if part reloads; then
  load no-reload --clients 64 --max-seconds 60
  (for _ in 1 2 3 4 5; do
     sleep 10
     curl -s -o /dev/null -w "reload %{http_code} %{time_total}s\n" -H "Authorization: Bearer $key" \
       -X POST "localhost:$port/v1/models/m/reload"
   done) >"$out/reloads.txt" &
  reloader=$!
  load reloads --clients 64 --max-seconds 60
  wait "$reloader"  # not a bare wait: the server is a child too
  cat "$out/reloads.txt"
fi
stop_server

if part overload; then
  start_server overload --timeout-ms 5000 \
    --max-queue "${OVERLOAD_QUEUE:-$(/usr/bin/python3 -c "print(round(2.5 * $rate))")}"
  load overload --clients 512 --rate "$(/usr/bin/python3 -c "print(2 * $rate)")" --max-seconds 120 \
    --scrape-s 2
  stop_server
fi

/usr/bin/python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
import os
r = {n: json.load(open(f"{out}/{n}.json")) for n in
     ["saturation", "soak", "overload", "metrics-off", "metrics-on", "no-reload", "reloads"]
     if os.path.exists(f"{out}/{n}.json")}
def line(n):
    x = r[n]
    return (f"{n:>12}: {x['requests_per_sec']:7.1f} req/s  p50 {x['p50_ms']:7.0f}  p99 {x['p99_ms']:7.0f}  "
            f"p99.9 {x['p999_ms']:7.0f} ms  statuses {x['statuses']}  RSS {x['rss_start_mb']:.0f} -> {x['rss_end_mb']:.0f} MB")
for n in r:
    print(line(n))
    if r[n].get("rss_tenths_mb"):
        print(f"{'':>14}resident MB at each tenth of the run: {r[n]['rss_tenths_mb']}")
if "metrics-on" in r and "metrics-off" in r:
    print(f"/metrics scraped every second: {r['metrics-on']['requests_per_sec'] / r['metrics-off']['requests_per_sec']:.3f}x the throughput")
if "reloads" in r and "no-reload" in r:
    print(f"p99 with a reload every 10 s: {r['reloads']['p99_ms']:.0f} ms, without: {r['no-reload']['p99_ms']:.0f} ms")
if "overload" in r:
    x = r["overload"]
    print(f"overload: admitted (200) p99 {x['p99_ms']:.0f} ms against a 5000 ms deadline; "
          f"503s answered within {x.get('refused_p99_ms', 0):.0f} ms (p99)")
PY
