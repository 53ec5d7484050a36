#!/usr/bin/env bash
# scripts/reproduce's bookkeeping, against stand-in apps that "train" in no
# time: one run per row and seed, figures summarised as median and min - max,
# finished rows kept (not rerun) unless --force, a failed command reported
# with its log, and rows that start from another table's run of the same seed.
set -euo pipefail
root="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/build/bin"
# A stand-in app: `train --out DIR --seed S ...` writes DIR/best.pt holding S
# (and fails for seed 9); `eval --checkpoint FILE --json` prints figures from it.
for app in translate caption glimpse; do
  cat >"$tmp/build/bin/$app" <<'APP'
#!/usr/bin/env bash
cmd="$1"; shift
out= seed= checkpoint= weights=
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift ;;
    --seed) seed="$2"; shift ;;
    --checkpoint) checkpoint="$2"; shift ;;
    --set) case "$2" in encoder.weights=*) weights="${2#encoder.weights=}" ;; esac; shift ;;
  esac
  shift
done
if [ "$cmd" = train ]; then
  echo "train $out" >>"$(dirname "$0")/../calls"
  [ "$seed" = 9 ] && { echo "stand-in: seed 9 fails" >&2; exit 1; }
  if [ -n "$weights" ] && [ ! -f "$weights" ]; then echo "no encoder $weights" >&2; exit 1; fi
  mkdir -p "$out"; echo "$seed" >"$out/best.pt"
else
  s=$(cat "$checkpoint")
  echo "{\"exact_match\": 0.$s, \"bleu\": ${s}0, \"bleu4\": ${s}1, \"cider\": 1.$s, \"item_recall\": 0.5," \
       "\"error_rate\": 0.$s, \"on_item\": [0.$s, 0.5], \"follows_item\": [0, 0.$s]}"
fi
APP
  chmod +x "$tmp/build/bin/$app"
done
reproduce="$root/scripts/reproduce"
cd "$root"
fail() { echo "FAIL: $*"; exit 1; }

"$reproduce" dates --seeds 7,1,2 --build "$tmp/build" --out "$tmp/out" >"$tmp/log1"
[ "$(grep -c '^train' "$tmp/build/calls")" = 3 ] || fail "3 seeds should train 3 times: $(cat "$tmp/build/calls")"
python3 - "$tmp/out/dates.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["rows"][0]["summary"]
assert s["exact_match"] == {"min": 0.1, "median": 0.2, "max": 0.7, "n": 3}, s
assert s["bleu"]["median"] == 20 and s["bleu"]["min"] == 10 and s["bleu"]["max"] == 70, s
assert sorted(r["rows"][0]["seeds"]) == ["1", "2", "7"]
assert "0.200 (0.100 - 0.700)" in r["markdown"], r["markdown"]
assert "--seed 2" in " ".join(r["rows"][0]["seeds"]["2"]["commands"])
PY
grep -qF "0.200 (0.100 - 0.700)" "$tmp/log1" || fail "the table is not printed"

"$reproduce" dates --seeds 1,2,7 --build "$tmp/build" --out "$tmp/out" >"$tmp/log2"
[ "$(grep -c '^train' "$tmp/build/calls")" = 3 ] || fail "finished rows were rerun"
grep -q "kept from" "$tmp/log2" || fail "kept rows are not reported"
"$reproduce" dates --seeds 1 --force --build "$tmp/build" --out "$tmp/out" >/dev/null
[ "$(grep -c '^train' "$tmp/build/calls")" = 4 ] || fail "--force did not rerun"
# A kept result whose commands differ from the row's (an older recipe) is run again.
sed -i 's/--seed 1 /--seed 1 --epochs 9 /' "$tmp/out/dates/additive-attention-s1/eval.json"
"$reproduce" dates --seeds 1,2 --build "$tmp/build" --out "$tmp/out" >"$tmp/log4"
[ "$(grep -c '^train' "$tmp/build/calls")" = 5 ] || fail "a result of other commands was kept"
grep -q "seed 1: its commands changed" "$tmp/log4" || fail "the rerun is not reported: $(cat "$tmp/log4")"

# The frozen-encoder rows need the soft captioner of the same seed, trained first.
"$reproduce" caption-hard --seeds 1 --rows frozen --build "$tmp/build" --out "$tmp/out" >"$tmp/log3"
grep -q "caption-small/random-encoder-s1" "$tmp/build/calls" || fail "the needed run was not trained"
[ -f "$tmp/out/caption-hard/frozen-trained-encoder-hard-s1/eval.json" ] || fail "no eval.json for a frozen row"
# A row without training scores the run it needs (trained once, above).
calls=$(grep -c '^train' "$tmp/build/calls")
"$reproduce" caption-hard --seeds 1 --rows "end to end, soft" --build "$tmp/build" --out "$tmp/out" >/dev/null
[ "$(grep -c '^train' "$tmp/build/calls")" = "$calls" ] || fail "a row without training trained"
grep -q '"bleu4": 11' "$tmp/out/caption-hard/end-to-end-soft-s1/eval.json" || fail "not the needed run's figures"
# Rows left out by --rows stay in the table where they have finished runs (the frozen rows, above), and
# rows never run stay out.
python3 - "$tmp/out/caption-hard.json" <<'PY'
import json, sys
labels = [row["label"] for row in json.load(open(sys.argv[1]))["rows"]]
assert labels == ["end to end, soft", "frozen trained encoder, soft", "frozen trained encoder, hard"], labels
PY

# A figure may be one item of a list (RAM's on_item[i]); a list too short leaves its cell empty.
"$reproduce" ram --seeds 1,2 --rows "translated, ram" --build "$tmp/build" --out "$tmp/out" >/dev/null
python3 - "$tmp/out/ram.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["rows"][0]["summary"]
assert s["follows_item[1]"]["min"] == 0.1 and s["follows_item[1]"]["max"] == 0.2, s
assert s["follows_item[1]"]["n"] == 2 and s["on_item[1]"]["median"] == 0.5 and "on_item[5]" not in s, s
PY
# --reevaluate keeps the trained runs and refreshes their figures from the eval command.
calls=$(grep -c '^train' "$tmp/build/calls")
sed -i 's/"error_rate": 0.1/"error_rate": 0.99/' "$tmp/out/ram/translated-ram-s1/eval.json"
"$reproduce" ram --seeds 1 --rows "translated, ram" --reevaluate --build "$tmp/build" --out "$tmp/out" >/dev/null
[ "$(grep -c '^train' "$tmp/build/calls")" = "$calls" ] || fail "--reevaluate trained"
grep -q '"error_rate": 0.1,' "$tmp/out/ram/translated-ram-s1/eval.json" || fail "--reevaluate kept the old figures"

if "$reproduce" dates --seeds 9 --build "$tmp/build" --out "$tmp/out" 2>"$tmp/err" >/dev/null; then
  fail "a failed training should fail the script"
fi
grep -q "failed; see .*dates/additive-attention-s9/log.txt" "$tmp/err" || fail "unclear failure: $(cat "$tmp/err")"
grep -q "seed 9 fails" "$tmp/out/dates/additive-attention-s9/log.txt" || fail "the log lacks the app's message"
"$reproduce" nosuch 2>"$tmp/err" && fail "an unknown table should fail"
grep -q "unknown table 'nosuch'" "$tmp/err" || fail "unclear: $(cat "$tmp/err")"
echo "reproduce: ok"
