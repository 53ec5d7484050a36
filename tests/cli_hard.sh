#!/usr/bin/env bash
# Integration: hard attention (sampled locations, REINFORCE) from the command
# line. The dates translator with `--attention hard` learns the task (at least
# 95% exact match after 3 epochs, argmax attention at evaluation); a scenes
# captioner with configs/caption/scenes-hard.json trains, resumes (its
# REINFORCE baseline is in the checkpoint) and evaluates.
set -euo pipefail
translate="$1"
caption="$2"
source_dir="$3"
python="${4:-python3}"
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT

"$translate" train --config "$source_dir/configs/translate/dates.json" --out "$run/dates" --attention hard --epochs 3
result=$("$translate" eval --checkpoint "$run/dates/best.pt" --json)
echo "$result"
"$python" - "$result" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert r["sentences"] == 1000, r
assert r["exact_match"] >= 0.95, f"exact match {r['exact_match']} < 0.95"
PY

small=(--set data.scenes.train_size=300 --set data.scenes.valid_size=20 --set data.scenes.test_size=30
       --set train.eval_every=20 --set train.checkpoint_every=10)
"$caption" train --config "$source_dir/configs/caption/scenes-hard.json" --out "$run/c" "${small[@]}" --max-steps 10
"$caption" train --out "$run/c" --resume "${small[@]}" --max-steps 20 2>&1 | tee "$run/resume.log"
grep -q "resuming from .* at step 10" "$run/resume.log"
result=$("$caption" eval --checkpoint "$run/c/best.pt" --json)
echo "$result"
"$python" - "$result" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert r["images"] == 30 and 0 <= r["bleu4"] <= 100 and 0 <= r["pointing_accuracy"] <= 1, r
PY
echo "1 passed, 0 failed"
