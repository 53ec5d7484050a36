#!/usr/bin/env bash
# Faster decoding, one table: fp32, lexical shortlist, int8 and both.
#  - against the tutorial-style Python twin (runs/bench/translate_python.json,
#    written by scripts/bench just before): greedy sentences/s of the
#    bentrevett-size translator, untrained, 30 steps per sentence whatever
#    the weights (bench_translate --decode-only), so both do the same work:
#    the C++ module, and its exported file loaded in C++;
#  - on a trained translator (CHECKPOINT): test BLEU and sentences/s of
#    `translate eval`, greedy and beam 5, the median of REPEATS runs;
#  - its exported file: size, and greedy sentences/s in C++ (bench_export,
#    which also checks that the file gives the module's ids) and in Python.
#
#   bench/decoding.sh BUILD CHECKPOINT [REPEATS] [SHORTLIST]
set -euo pipefail
build="$1"
checkpoint="$2"
repeats="${3:-3}"
k="${4:-10}"
data="${ATTNZOO_DATA:-../shared/data}/multi30k"
out=runs/bench/decoding
mkdir -p "$out"
variants=("fp32:" "shortlist:--shortlist $k" "int8:--quantize int8" "int8+shortlist:--quantize int8 --shortlist $k")
for v in "${variants[@]}"; do
  name=${v%%:*}
  flags=${v#*:}
  echo "== $name ($flags)" >&2
  # shellcheck disable=SC2086
  "$build/bin/bench_translate" --data-dir "$data" --decode-only --repeats 5 $flags >"$out/$name.twin.json"
  for beam in 1 5; do
    for r in $(seq 1 "$repeats"); do
      # shellcheck disable=SC2086
      "$build/bin/translate" eval --checkpoint "$checkpoint" --beam "$beam" --json $flags \
        >"$out/$name.beam$beam.$r.json"
    done
  done
  # shellcheck disable=SC2086
  "$build/bin/bench_export" --checkpoint "$checkpoint" --work "$out/export-$name" --repeats 3 $flags \
    >"$out/$name.export.json"
  /usr/bin/python3 bench/export_speed.py --work "$out/export-$name" --repeats 3 >"$out/$name.export_python.json"
done
/usr/bin/python3 - "$out" "$repeats" "$checkpoint" <<'PY'
import json, statistics, sys
out, repeats, checkpoint = sys.argv[1], int(sys.argv[2]), sys.argv[3]
twin = json.load(open("runs/bench/translate_python.json"))["greedy_sentences_per_sec_median"]
names = ["fp32", "shortlist", "int8", "int8+shortlist"]
rows, result = [], {"python_twin_greedy_sentences_per_sec": twin, "checkpoint": checkpoint, "variants": {}}
base = {}
for n in names:
    tj = json.load(open(f"{out}/{n}.twin.json"))
    t, te = tj["greedy_sentences_per_sec_median"], tj["exported_greedy_sentences_per_sec_median"]
    v = {"untrained_greedy_sentences_per_sec": t, "vs_python_twin": t / twin,
         "untrained_exported_greedy_sentences_per_sec": te, "exported_vs_python_twin": te / twin}
    for beam in (1, 5):
        runs = [json.load(open(f"{out}/{n}.beam{beam}.{r}.json")) for r in range(1, repeats + 1)]
        v[f"beam{beam}"] = {"bleu": runs[0]["bleu"], "sentences_per_sec": statistics.median(r["sentences_per_sec"] for r in runs),
                            "sentences_per_sec_runs": [r["sentences_per_sec"] for r in runs]}
    e = json.load(open(f"{out}/{n}.export.json")); p = json.load(open(f"{out}/{n}.export_python.json"))
    v["exported_bytes"] = e["exported_bytes"]
    v["cpp_module_greedy"] = e["cpp_module_sentences_per_sec_median"]
    v["cpp_exported_greedy"] = e["cpp_exported_sentences_per_sec_median"]
    v["python_exported_greedy"] = p["python_exported_sentences_per_sec_median"]
    result["variants"][n] = v
    if n == "fp32":
        base = v
    rows.append(f"| {n} | {t:.0f} ({t / twin:.2f}x) / {te:.0f} ({te / twin:.2f}x) | {v['beam1']['bleu']:.2f} | {v['beam1']['sentences_per_sec']:.0f} "
                f"({v['beam1']['sentences_per_sec'] / base['beam1']['sentences_per_sec']:.2f}x) | {v['beam5']['bleu']:.2f} | "
                f"{v['beam5']['sentences_per_sec']:.0f} ({v['beam5']['sentences_per_sec'] / base['beam5']['sentences_per_sec']:.2f}x) | "
                f"{v['cpp_exported_greedy']:.0f} / {v['python_exported_greedy']:.0f} | {v['exported_bytes'] / 1e6:.1f} MB |")
json.dump(result, open(f"{out}/decoding.json", "w"), indent=1)
print(f"Python twin (tutorial style), greedy, 30 steps: {twin:.1f} sentences/s; trained model: {checkpoint}")
print("| decoding | untrained greedy, sent/s, module / exported (x Python twin) | BLEU greedy | greedy sent/s (x fp32) | BLEU beam 5 | beam 5 sent/s (x fp32) | exported greedy sent/s, C++ / Python | file |")
print("|---|---|---|---|---|---|---|---|")
print("\n".join(rows))
PY
