#!/usr/bin/env bash
# Integration: a captioner trained from image files and a Karpathy split file
# (--images/--captions), here the scenes written out by `caption scenes
# --karpathy`, one of them corrupt and one missing (both reported by name and
# skipped); the encoder's weights come from tools/export_torchvision_resnet.py
# (random torchvision weights: nothing is downloaded), frozen, with its
# feature maps cached once and reused on resume. eval and predict work on it;
# user mistakes give one line and a non-zero exit.
set -euo pipefail
caption="$1"
source_dir="$2"
python="${3:-python3}"
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
# scripts/robustness reruns this test under other seeds (ATTNZOO_TEST_SEED) and reads its "metrics[...]" lines.
seed=()
if [ -n "${ATTNZOO_TEST_SEED:-}" ]; then seed=(--seed "$ATTNZOO_TEST_SEED"); fi

"$caption" scenes --karpathy --out "$run/k" --set data.scenes.train_size=300 --set data.scenes.valid_size=20 \
  --set data.scenes.test_size=30
[ "$(ls "$run/k/images" | wc -l)" -eq 350 ]
echo "not a png" > "$run/k/images/train-1.png"
rm "$run/k/images/train-2.png"
"$python" "$source_dir/tools/export_torchvision_resnet.py" --arch resnet18 --random --seed 0 --out "$run/r18.pt"

data=(--images "$run/k/images" --captions "$run/k/dataset_scenes.json" --set data.image_size=96)
frozen=(--set encoder.weights="$run/r18.pt" --set encoder.width=64 --set encoder.last_stage=3
        --set encoder.trainable_stages=0 --set encoder.cache=true)
"$caption" train --config "$source_dir/configs/caption/scenes.json" --out "$run/c" "${data[@]}" "${frozen[@]}" \
  --max-steps 20 --set train.eval_every=20 --set train.checkpoint_every=10 "${seed[@]}" 2>&1 | tee "$run/train.log"
grep -q "skipped .*train-1.png: not an image" "$run/train.log"
grep -q "skipped .*train-2.png: no such image file" "$run/train.log"
grep -q "train: 298 of 300 images kept" "$run/train.log"
grep -q "encoder weights from $run/r18.pt (.* unused: .*fc" "$run/train.log"
grep -q "feature cache: $run/c/features.pt (298 images, " "$run/train.log"
# layer3 of a ResNet-18 (256 channels) and scenes.json's 16 position channels
grep -q "model: .* parameters (.* trained), 36 locations x 272 features" "$run/train.log"
[ -s "$run/c/features.pt" ]
# Resume reads the cache instead of encoding the images again.
"$caption" train --out "$run/c" --resume --max-steps 30 2>&1 | tee "$run/resume.log"
grep -q "resuming from .* at step 20" "$run/resume.log"
grep -q "feature cache: $run/c/features.pt (298 images)" "$run/resume.log"
if grep -q "encoding images" "$run/resume.log"; then echo "resume encoded the images again"; exit 1; fi

result=$("$caption" eval --checkpoint "$run/c/best.pt" --json)
echo "metrics[karpathy]: $result"
"$python" - "$result" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert r["images"] == 30, r
for k in ["bleu1", "bleu2", "bleu3", "bleu4"]:
    assert 0 <= r[k] <= 100 + 1e-9, (k, r[k])
assert r["cider"] >= 0
assert "pointing_accuracy" not in r, r  # no boxes in a Karpathy file
PY
# The images moved: eval takes the new place.
mv "$run/k" "$run/moved"
"$caption" eval --checkpoint "$run/c/best.pt" --json --split valid --images "$run/moved/images" \
  --captions "$run/moved/dataset_scenes.json" | grep -q '"images":20'
out=$("$caption" predict --checkpoint "$run/c/best.pt" --image "$run/moved/images/test-20.png")
[ -n "$out" ]

expect_error() {  # expect_error WHAT-THE-LINE-MUST-NAME command...
  local needle="$1"; shift
  if err=$("$@" 2>&1); then echo "accepted: $*"; exit 1; fi
  echo "$err"
  [ "$(echo "$err" | grep -c "caption: error")" -eq 1 ] && echo "$err" | grep -q -- "$needle"
}
expect_error "go together" "$caption" train --out "$run/x" --images "$run/moved/images"
echo '{"images": [{"filename": "a.png", "split": "train"},' > "$run/broken.json"
expect_error "broken.json" "$caption" train --out "$run/x" --images "$run/moved/images" --captions "$run/broken.json"
expect_error "nowhere" "$caption" train --out "$run/x" --images "$run/nowhere" --captions "$run/moved/dataset_scenes.json"
expect_error "frozen" "$caption" train --out "$run/x" "${data[@]/$run\/k/$run/moved}" --set encoder.cache=true
echo "1 passed, 0 failed"
