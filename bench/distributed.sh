#!/usr/bin/env bash
# Data-parallel speed on this machine: Multi30k training (configs/translate/
# multi30k.json) as 1 process x 1 thread, 1 process x 2 threads and 2
# processes x 1 thread (Gloo over 127.0.0.1), side by side, each arm run
# `repeats` times in turn. Prints, per arm, the median training tokens/s over
# the log windows after the first, and for 2 processes the gradient bytes
# each rank reduces per step and the median time per step in the all-reduce.
#
# usage: bench/distributed.sh [BUILD_DIR] [STEPS] [REPEATS]   (from the repository root)
set -euo pipefail
build="${1:-build}"
steps="${2:-60}"
repeats="${3:-1}"
out=runs/bench/distributed
rm -rf "$out"
mkdir -p "$out"
args=(--config configs/translate/multi30k.json --max-steps "$steps" --set train.log_every=10
      --set train.eval_every=100000 --set train.checkpoint_every=0 --set train.valid_max_sentences=1)
port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

for rep in $(seq "$repeats"); do
  echo "== repeat $rep: 1 process x 1 thread"
  OMP_NUM_THREADS=1 "$build/bin/translate" train "${args[@]}" --set train.threads=1 --out "$out/p1t1-$rep" \
    > "$out/p1t1-$rep.log" 2>&1
  echo "== repeat $rep: 1 process x 2 threads"
  "$build/bin/translate" train "${args[@]}" --set train.threads=2 --out "$out/p1t2-$rep" > "$out/p1t2-$rep.log" 2>&1
  echo "== repeat $rep: 2 processes x 1 thread"
  p=$(port)
  for r in 0 1; do
    OMP_NUM_THREADS=1 RANK=$r WORLD_SIZE=2 LOCAL_RANK=$r LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$p \
      "$build/bin/translate" train "${args[@]}" --set train.threads=1 --out "$out/p2t1-$rep" \
      > "$out/p2t1-$rep.$r.log" 2>&1 &
  done
  wait
done

/usr/bin/python3 - "$out" <<'PY'
import glob, json, statistics, sys
out = sys.argv[1]
def windows(arm):
    speeds, reduce_ms, nbytes = [], [], None
    for path in sorted(glob.glob(f"{out}/{arm}-*/metrics.jsonl")):
        lines = [json.loads(l) for l in open(path) if '"tokens_per_sec"' in l]
        for rec in lines[1:]:  # the first window holds the start-up
            speeds.append(rec["tokens_per_sec"])
            if "allreduce_ms" in rec:
                reduce_ms.append(rec["allreduce_ms"])
                nbytes = rec["allreduce_bytes"]
    return speeds, reduce_ms, nbytes
result = {}
base = statistics.median(windows("p1t1")[0])
for arm, name in [("p1t1", "1 process x 1 thread"), ("p1t2", "1 process x 2 threads"),
                  ("p2t1", "2 processes x 1 thread")]:
    speeds, reduce_ms, nbytes = windows(arm)
    med = statistics.median(speeds)
    line = f"{name:24s} {med:7.0f} tok/s (min {min(speeds):.0f}, max {max(speeds):.0f}, {len(speeds)} windows)  {med / base:.2f}x"
    result[arm] = {"tokens_per_sec_median": med, "windows": len(speeds)}
    if reduce_ms:
        line += f"  all-reduce {statistics.median(reduce_ms):.1f} ms/step of {nbytes / 1e6:.1f} MB"
        result[arm].update({"allreduce_ms_median": statistics.median(reduce_ms), "allreduce_bytes": nbytes})
    print(line)
json.dump(result, open(f"{out}/summary.json", "w"), indent=1)
PY
