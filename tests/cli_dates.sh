#!/usr/bin/env bash
# Integration: the shipped dates config, trained from the command line, reaches
# at least 99% exact match on a held-out generated test set; predict and the
# alignment plot work on the trained checkpoint; the exported file (plain and
# frozen) translates as the checkpoint does, in zoo-run and in Python.
set -euo pipefail
translate="$1"
source_dir="$2"
python="${3:-python3}"
zoo_run="${4:-}"
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
# scripts/robustness reruns this test under other seeds (ATTNZOO_TEST_SEED) and reads its "metrics[...]" lines.
seed=()
if [ -n "${ATTNZOO_TEST_SEED:-}" ]; then seed=(--seed "$ATTNZOO_TEST_SEED"); fi

"$translate" train --config "$source_dir/configs/translate/dates.json" --out "$run/dates" "${seed[@]}" \
  --set train.keep_checkpoints=3
result=$("$translate" eval --checkpoint "$run/dates/best.pt" --json)
echo "metrics[dates]: $result"
"$python" - "$result" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert r["sentences"] == 1000, r
assert r["exact_match"] >= 0.99, f"exact match {r['exact_match']} < 0.99"
assert 0 <= r["bleu"] <= 100 + 1e-9 and r["sentences_per_sec"] > 0
PY
out=$(printf 'tue 24 nov 2026\n24/11/26\nNovember 24, 2026\n24 NOVEMBER 2026\n' | "$translate" predict --checkpoint "$run/dates/best.pt" --beam 3)
echo "$out"
[ "$out" = $'2026-11-24\n2026-11-24\n2026-11-24\n2026-11-24' ]
"$translate" attention --checkpoint "$run/dates/best.pt" --text "Tuesday, 24 November 2026" --png "$run/a.png"
[ -s "$run/a.png" ]

# Averaging the last three checkpoints (train.keep_checkpoints) and an ensemble
# of the best and the last decode as well as one model.
kept=("$run"/dates/step-*.pt)
[ "${#kept[@]}" -eq 3 ] || { echo "kept checkpoints: ${kept[*]}"; exit 1; }
"$translate" average --checkpoint "${kept[@]}" --out "$run/avg.pt"
averaged=$("$translate" eval --checkpoint "$run/avg.pt" --json --limit 300)
ensemble=$("$translate" eval --checkpoint "$run/dates/best.pt" --checkpoint "$run/dates/checkpoint.pt" --json --limit 300)
# Decoding in int8 with a lexical shortlist from the config's training data.
fast=$("$translate" eval --checkpoint "$run/dates/best.pt" --json --limit 300 --quantize int8 --shortlist 3)
echo "metrics[averaged]: $averaged"
echo "metrics[ensemble]: $ensemble"
echo "metrics[int8_shortlist]: $fast"
"$python" - "$averaged" "$ensemble" "$fast" <<'PY'
import json, sys
for name, text in zip(("average", "ensemble", "int8 + shortlist"), sys.argv[1:]):
    r = json.loads(text)
    assert r["sentences"] == 300 and r["exact_match"] >= 0.97, (name, r)
r = json.loads(sys.argv[3])
assert r["quantize"] == "int8" and r["shortlist"] == 3, r
PY
# A phrase table from the training data: characters here, each source one
# with its most associated target one, in the format --phrase-table reads.
msg=$("$translate" phrase-table --checkpoint "$run/dates/best.pt" --out "$run/table.txt" --min-together 2)
echo "$msg" | grep -q "^wrote $run/table.txt: $(wc -l <"$run/table.txt") source words"
[ "$(wc -l <"$run/table.txt")" -ge 10 ]
if grep -v -x -E -- '[^ ]+ \|\|\| [^ ]+' "$run/table.txt"; then echo "not 'source ||| target'"; exit 1; fi
with_table=$("$translate" eval --checkpoint "$run/dates/best.pt" --json --limit 300 --replace-unk --phrase-table "$run/table.txt")
echo "metrics[phrase_table]: $with_table"
"$python" -c 'import json, sys; r = json.loads(sys.argv[1]); assert r["exact_match"] >= 0.97 and "unk_replaced" in r, r' "$with_table"
if err=$("$translate" phrase-table --checkpoint "$run/dates/best.pt" --out "$run/dates/best.pt" 2>&1); then exit 1; fi
echo "$err" | grep -q "best.pt" && [ "$(echo "$err" | wc -l)" -eq 1 ]
if err=$("$translate" average --checkpoint "$run/dates/best.pt" "$run/a.png" --out "$run/x.pt" 2>&1); then exit 1; fi
echo "$err" | grep -q "a.png" && [ "$(echo "$err" | wc -l)" -eq 1 ]

if [ -n "$zoo_run" ]; then
  inputs=$'tue 24 nov 2026\n24/11/26\nMärz 3, 1999\n1 January 2000\nx'
  cpp=$(printf '%s\n' "$inputs" | "$translate" predict --checkpoint "$run/dates/best.pt")
  "$translate" export --checkpoint "$run/dates/best.pt" --out "$run/dates.pt"
  "$translate" export --checkpoint "$run/dates/best.pt" --out "$run/dates.frozen.pt" --freeze
  for f in dates.pt dates.frozen.pt; do
    z=$(printf '%s\n' "$inputs" | "$zoo_run" "$run/$f")
    [ "$z" = "$cpp" ] || { echo "zoo-run $f: $z, predict: $cpp"; exit 1; }
  done
  [ "$("$zoo_run" "$run/dates.pt" --text "24 November 2026")" = "2026-11-24" ]
  "$zoo_run" "$run/dates.frozen.pt" --info | grep -q "written by attnzoo .* (frozen)"
  # Mistakes: one line, exit status 1.
  if err=$("$zoo_run" "$run/missing.pt" 2>&1); then exit 1; fi
  [ "$err" = "zoo-run: error: $run/missing.pt: no such file" ]
  if err=$("$zoo_run" "$run/dates/best.pt" 2>&1); then exit 1; fi
  echo "$err"
  echo "$err" | grep -q "not one an attnzoo app exported.*export --checkpoint" && [ "$(echo "$err" | wc -l)" -eq 1 ]
  echo "not a model" > "$run/text.pt"
  if err=$("$zoo_run" "$run/text.pt" 2>&1); then exit 1; fi
  echo "$err" | grep -q "text.pt: not a TorchScript file" && [ "$(echo "$err" | wc -l)" -eq 1 ]
  "$python" - "$run" "$cpp" "$inputs" <<'PY'
import json, sys
try:
    import torch
except ImportError:
    print("python3-torch is absent: the Python check of the exported file is skipped")
    sys.exit(0)
run, cpp, inputs = sys.argv[1], sys.argv[2].split("\n"), sys.argv[3].split("\n")
for name in ("dates.pt", "dates.frozen.pt"):
    model = torch.jit.load(f"{run}/{name}")
    got = [model.translate(line) for line in inputs]
    assert got == cpp, (name, got, cpp)
    source, target, weights = model.attention(inputs[0])
    assert "".join(target[:-1]) == cpp[0] and target[-1] == "<eos>", target
    assert weights.shape == (len(target), len(source)) and torch.allclose(weights.sum(1), torch.ones(len(target)))
# A TorchScript file of someone else's: zoo-run says it is not ours.
torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), f"{run}/other.pt")
print("Python: the exported translator gives predict's translations")
PY
  if [ -f "$run/other.pt" ]; then
    if err=$("$zoo_run" "$run/other.pt" 2>&1); then exit 1; fi
    echo "$err" | grep -q "not one an attnzoo app exported"
  fi
fi
echo "1 passed, 0 failed"
