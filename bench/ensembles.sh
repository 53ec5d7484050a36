#!/usr/bin/env bash
# Ensembles, checkpoint averaging and --replace-unk on two trained runs of one
# config (two seeds, trained with train.keep_checkpoints >= 5), one table of
# test BLEU (the checkpoints' decode settings: beam 5 for Multi30k),
# sentences/s (the median of REPEATS runs) and <unk> replaced:
#  - each run's best.pt (by validation BLEU) and its last checkpoint;
#  - the parameter average of each run's last 3 and last 5 kept checkpoints
#    (translate average);
#  - the ensemble of the two best.pt, and of the two 5-averages;
#  - --replace-unk on each best.pt: copying the source word, and through a
#    phrase table from the training data (translate phrase-table); and all
#    together: the ensemble of the two best.pt with the phrase table.
#
#   bench/ensembles.sh BUILD RUN_A RUN_B [REPEATS]
set -euo pipefail
build="$1"
run_a="$2"
run_b="$3"
repeats="${4:-1}"
translate="$build/bin/translate"
out=runs/bench/ensembles
mkdir -p "$out"

# The last N kept checkpoints (step-<N>.pt) of a run, oldest first.
last_kept() {
  local kept
  kept=$(find "$1" -maxdepth 1 -name 'step-*.pt' | sed 's/.*step-\([0-9]*\)\.pt$/\1 &/' | sort -n | cut -d' ' -f2-)
  [ "$(echo "$kept" | grep -c .)" -ge "$2" ] || {
    echo "$1: fewer than $2 step-<N>.pt checkpoints (train with --set train.keep_checkpoints=5)" >&2
    exit 1
  }
  echo "$kept" | tail -n "$2"
}

rows=()
for r in a b; do
  run=$run_a
  [ "$r" = b ] && run=$run_b
  for n in 3 5; do
    mapfile -t kept < <(last_kept "$run" "$n")
    "$translate" average --checkpoint "${kept[@]}" --out "$out/avg$n-$r.pt" >&2
  done
done
"$translate" phrase-table --checkpoint "$run_a/best.pt" --out "$out/phrases.txt" >&2

# name|flags (checkpoints and options)
variants=(
  "A best.pt|--checkpoint $run_a/best.pt"
  "B best.pt|--checkpoint $run_b/best.pt"
  "A last|--checkpoint $run_a/checkpoint.pt"
  "B last|--checkpoint $run_b/checkpoint.pt"
  "A average of the last 3|--checkpoint $out/avg3-a.pt"
  "A average of the last 5|--checkpoint $out/avg5-a.pt"
  "B average of the last 3|--checkpoint $out/avg3-b.pt"
  "B average of the last 5|--checkpoint $out/avg5-b.pt"
  "ensemble A + B best.pt|--checkpoint $run_a/best.pt --checkpoint $run_b/best.pt"
  "ensemble A + B averages of 5|--checkpoint $out/avg5-a.pt --checkpoint $out/avg5-b.pt"
  "A best.pt --replace-unk|--checkpoint $run_a/best.pt --replace-unk"
  "B best.pt --replace-unk|--checkpoint $run_b/best.pt --replace-unk"
  "A best.pt --replace-unk --phrase-table|--checkpoint $run_a/best.pt --replace-unk --phrase-table $out/phrases.txt"
  "B best.pt --replace-unk --phrase-table|--checkpoint $run_b/best.pt --replace-unk --phrase-table $out/phrases.txt"
  "ensemble A + B best.pt --replace-unk --phrase-table|--checkpoint $run_a/best.pt --checkpoint $run_b/best.pt --replace-unk --phrase-table $out/phrases.txt"
)
i=0
for v in "${variants[@]}"; do
  i=$((i + 1))
  echo "== ${v%%|*}" >&2
  for k in $(seq 1 "$repeats"); do
    # shellcheck disable=SC2086
    "$translate" eval ${v#*|} --json >"$out/$i.$k.json"
  done
  rows+=("${v%%|*}")
done
/usr/bin/python3 - "$out" "$repeats" "$run_a" "$run_b" "${rows[@]}" <<'PY'
import json, statistics, sys
out, repeats, run_a, run_b, names = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
result = {"run_a": run_a, "run_b": run_b, "variants": {}}
print(f"A: {run_a}, B: {run_b}")
print("| decoding | test BLEU | `<unk>` replaced | sentences/s |")
print("|---|---|---|---|")
for i, name in enumerate(names, 1):
    runs = [json.load(open(f"{out}/{i}.{k}.json")) for k in range(1, repeats + 1)]
    speed = statistics.median(r["sentences_per_sec"] for r in runs)
    unk = runs[0].get("unk_replaced")
    result["variants"][name] = {"bleu": runs[0]["bleu"], "unk_replaced": unk, "sentences_per_sec": speed,
                                "sentences_per_sec_runs": [r["sentences_per_sec"] for r in runs]}
    print(f"| {name} | {runs[0]['bleu']:.2f} | {'' if unk is None else unk} | {speed:.1f} |")
json.dump(result, open(f"{out}/ensembles.json", "w"), indent=1)
PY
