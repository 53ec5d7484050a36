#!/usr/bin/env bash
# zoo-serve under load: requests/s and p50/p99 latency for 1, 8 and 64
# concurrent clients (CLIENTS="1 8 64") on an exported translator, one request
# per sentence of the Multi30k test set, or with IMAGES=DIR on an exported
# captioner or classifier, one request per image file (*.png, *.jpg) of DIR,
# batching as zoo-serve does by default (--max-batch 32
# --max-wait-ms 5, two batches at once: --batch-workers 2) and one request at
# a time (--max-batch 1 --batch-workers 1), the latter with LibTorch's default
# ATen threads and with --threads 2: the ratio is against the faster of the
# two. Then ROUNDS (default 3) side-by-side rounds of the 64-client point,
# ROUND_REQUESTS (default 600) requests each, every server fresh. Bounded: each point stops at
# REQUESTS answers or 120 s.
#
#   bench/serve.sh BUILD EXPORTED.pt [REQUESTS]
#   IMAGES=runs/scenes/images CLIENTS="8 64" bench/serve.sh BUILD CAPTIONER.pt
set -euo pipefail
build="$1"
model="$2"
requests="${3:-400}"
rounds="${ROUNDS:-3}"
round_requests="${ROUND_REQUESTS:-600}"
read -r -a client_counts <<<"${CLIENTS:-1 8 64}"
if [ -n "${IMAGES:-}" ]; then
  shopt -s nullglob
  files=("$IMAGES"/*.png "$IMAGES"/*.jpg)
  [ "${#files[@]}" -gt 0 ] || { echo "serve.sh: no *.png or *.jpg in $IMAGES" >&2; exit 1; }
  inputs=(--images "${files[@]}")
  what="one image a request"
else
  inputs=(--texts "${ATTNZOO_DATA:-../shared/data}/multi30k/test_2016_flickr.de.gz")
  what="Multi30k translator, one sentence a request"
fi
out=${OUT:-runs/bench/serve}
mkdir -p "$out"
modes=("batched --max-batch 32 --max-wait-ms 5 --batch-workers 2"
       "one-at-a-time --max-batch 1 --max-wait-ms 0 --batch-workers 1"
       "one-at-a-time-2t --max-batch 1 --max-wait-ms 0 --batch-workers 1 --threads 2")

# point PREFIX CLIENTS:REQUESTS... -- ZOO-SERVE-FLAGS...: a fresh server, a warm-up, then one
# run per client count into PREFIX-cCLIENTS.json
point() {
  local prefix="$1"
  shift
  local counts=()
  while [ "$1" != "--" ]; do counts+=("$1"); shift; done
  shift
  "$build/bin/zoo-serve" --model "m=$model" --port 0 --http-threads 128 --max-seconds 1800 "$@" \
    >"$out/$prefix.server" 2>&1 &
  local pid=$!
  for _ in $(seq 1 600); do grep -q listening "$out/$prefix.server" 2>/dev/null && break; sleep 0.1; done
  local port
  port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$out/$prefix.server")
  [ -n "$port" ] || { cat "$out/$prefix.server"; kill "$pid"; exit 1; }
  # one warm-up request: the first call compiles the TorchScript graphs
  "$build/bin/bench_serve_load" --port "$port" --model m "${inputs[@]}" --clients 1 --requests 4 >/dev/null
  for spec in "${counts[@]}"; do
    local clients="${spec%:*}" n="${spec#*:}"
    "$build/bin/bench_serve_load" --port "$port" --model m "${inputs[@]}" --clients "$clients" \
      --requests "$n" --max-seconds 120 | tee "$out/$prefix-c$clients.json"
  done
  kill -TERM "$pid"
  wait "$pid" || true
}

for mode in "${modes[@]}"; do
  set -- $mode
  name="$1"
  shift
  specs=()
  for c in "${client_counts[@]}"; do specs+=("$c:$requests"); done
  point "$name" "${specs[@]}" -- "$@"
done
for r in $(seq 1 "$rounds"); do
  for mode in "${modes[@]}"; do
    set -- $mode
    name="$1"
    shift
    point "round$r-$name" "64:$round_requests" -- "$@"
  done
done

/usr/bin/python3 - "$out" "$rounds" "$what" "$round_requests" "${client_counts[@]}" <<'PY'
import json, statistics, sys
out, rounds, what, round_requests = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
counts = [int(c) for c in sys.argv[5:]]
def load(name):
    return json.load(open(f"{out}/{name}.json"))
print(f"zoo-serve, {what}:")
print(f"{'clients':>8} {'batched req/s':>14} {'p50 ms':>8} {'p99 ms':>8} {'one at a time req/s':>20} "
      f"{'p50 ms':>8} {'p99 ms':>8} {'--threads 2 req/s':>18} {'ratio':>6}")
for c in counts:
    b, o, o2 = (load(f"{m}-c{c}") for m in ("batched", "one-at-a-time", "one-at-a-time-2t"))
    best = max(o["requests_per_sec"], o2["requests_per_sec"])
    print(f"{c:>8} {b['requests_per_sec']:>14.1f} {b['p50_ms']:>8.0f} {b['p99_ms']:>8.0f} "
          f"{o['requests_per_sec']:>20.1f} {o['p50_ms']:>8.0f} {o['p99_ms']:>8.0f} "
          f"{o2['requests_per_sec']:>18.1f} {b['requests_per_sec'] / best:>6.2f}")
ratios = []
for r in range(1, rounds + 1):
    b, o, o2 = (load(f"round{r}-{m}-c64")["requests_per_sec"]
                for m in ("batched", "one-at-a-time", "one-at-a-time-2t"))
    ratios.append(b / max(o, o2))
    print(f"round {r}, 64 clients, {round_requests} requests: batched {b:.1f}, one at a time {o:.2f}, "
          f"--threads 2 {o2:.2f} req/s: {ratios[-1]:.2f}x")
if ratios:
    print(f"median {statistics.median(ratios):.2f}x (min {min(ratios):.2f}, max {max(ratios):.2f})")
PY
