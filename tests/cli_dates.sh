#!/usr/bin/env bash
# Integration: the shipped dates config, trained from the command line, reaches
# at least 99% exact match on a held-out generated test set; predict and the
# alignment plot work on the trained checkpoint.
set -euo pipefail
translate="$1"
source_dir="$2"
python="${3:-python3}"
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT

"$translate" train --config "$source_dir/configs/translate/dates.json" --out "$run/dates"
result=$("$translate" eval --checkpoint "$run/dates/best.pt" --json)
echo "$result"
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
echo "1 passed, 0 failed"
