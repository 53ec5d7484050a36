#!/usr/bin/env bash
# Integration: the Residual Attention Network from the command line. On
# translated Fashion-MNIST (60x60, configs/glimpse/translated.json, a smaller
# network) it learns within the CI budget: test error at most MAX_ERROR on
# 2,000 test images, where guessing errs 90% of the time. Then CIFAR-10 read
# from binary batches this test writes: samples in colour, training with crop
# and flip augmentation that resumes to the same weights as an unbroken run,
# predict with the mask figure, export read back in Python and by zoo-run.
set -euo pipefail
glimpse="$1"
source_dir="$2"
python="${3:-python3}"
zoo_run="${4:-}"
steps="${RA_TEST_STEPS:-300}"
# Measured by scripts/robustness (seeds 1-5, seed 1 on five numeric paths): test error 0.279 / 0.341 / 0.373.
max_error="${RA_TEST_MAX_ERROR:-0.50}"
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
seed=()
if [ -n "${ATTNZOO_TEST_SEED:-}" ]; then seed=(--seed "$ATTNZOO_TEST_SEED"); fi
config="$source_dir/configs/glimpse/translated.json"
small=(--set model.residual_attention.stem=8 --set 'model.residual_attention.widths=[16,32,64]')

"$glimpse" train --config "$config" --model residual-attention --out "$run/ra" --max-steps "$steps" \
  --set train.eval_every="$steps" --set data.limit.valid=1000 "${small[@]}" "${seed[@]}"
result=$("$glimpse" eval --checkpoint "$run/ra/best.pt" --limit 2000 --json)
echo "metrics[residual-attention]: $result"
"$python" - "$result" "$max_error" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert r["images"] == 2000 and r["model"] == "residual-attention", r
assert r["parameters"] > 10000, r
assert r["error_rate"] <= float(sys.argv[2]), f"residual attention test error {r['error_rate']} > {sys.argv[2]}"
PY
"$glimpse" samples --config "$config" --out "$run/samples" --count 1 >"$run/samples.txt"
"$glimpse" predict --checkpoint "$run/ra/best.pt" --image "$(cut -f1 "$run/samples.txt")" --png "$run/masks.png"
"$python" - "$run/masks.png" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", data[16:24])
assert w > 300 and h > 100, (w, h)  # the image and one panel per attention module
PY

# CIFAR-10 in its binary format: five training batches and a test batch of
# colour images whose class sets the colour of a square.
cifar="$run/cifar-10-batches-bin"
mkdir -p "$cifar"
"$python" - "$cifar" <<'PY'
import random, sys
random.seed(3)
palette = [(220, 40, 40), (40, 220, 40), (40, 40, 220), (220, 220, 40), (220, 40, 220),
           (40, 220, 220), (250, 250, 250), (120, 60, 0), (0, 120, 60), (60, 0, 120)]
def record(label):
    x0, y0 = random.randrange(0, 20), random.randrange(0, 20)
    planes = []
    for c in range(3):
        for y in range(32):
            for x in range(32):
                inside = x0 <= x < x0 + 12 and y0 <= y < y0 + 12
                planes.append(palette[label][c] if inside else random.randrange(0, 60))
    return bytes([label] + planes)
for name, count in [(f"data_batch_{i}.bin", 40) for i in range(1, 6)] + [("test_batch.bin", 20)]:
    with open(f"{sys.argv[1]}/{name}", "wb") as f:
        for k in range(count):
            f.write(record(k % 10))
PY
cifar_config="$source_dir/configs/glimpse/cifar10.json"
tiny=(--set data.cifar10="$run" --set data.valid_size=40 --set model.residual_attention.stem=4
      --set 'model.residual_attention.widths=[8,8,16]' --set train.batch_size=16 --set train.lr=0.01
      --set train.eval_every=4 --set train.checkpoint_every=4)
"$glimpse" samples --config "$cifar_config" --set data.cifar10="$cifar" --out "$run/cifar-samples" --count 2 \
  | tee "$run/cifar-samples.txt"
"$python" - "$run/cifar-samples.txt" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[0].endswith("airplane") and lines[1].endswith("automobile"), lines
PY
image=$(head -1 "$run/cifar-samples.txt" | cut -f1)

# 8 steps straight, and 4 + 4 resumed: the same weights (augmentation follows the step).
"$glimpse" train --config "$cifar_config" --out "$run/cifar" --max-steps 8 "${tiny[@]}"
"$glimpse" train --config "$cifar_config" --out "$run/cifar-resumed" --max-steps 4 "${tiny[@]}"
"$glimpse" train --out "$run/cifar-resumed" --resume --max-steps 8 2>&1 | tee "$run/resume.log"
grep -q "resuming from .* at step 4" "$run/resume.log"
if "$python" -c "import torch" 2>/dev/null; then
  "$python" "$source_dir/tests/compare_checkpoints.py" "$run/cifar/checkpoint.pt" \
    "$run/cifar-resumed/checkpoint.pt" --tol 1e-6
fi
"$glimpse" eval --checkpoint "$run/cifar/checkpoint.pt" --json | grep -q '"images":20'
out=$("$glimpse" predict --checkpoint "$run/cifar/checkpoint.pt" --image "$image" --png "$run/cifar-masks.png")
echo "$out" | grep -qE "^(airplane|automobile|bird|cat|deer|dog|frog|horse|ship|truck)	[01]\.[0-9]{3}$"
test -s "$run/cifar-masks.png"
"$glimpse" export --checkpoint "$run/cifar/checkpoint.pt" --out "$run/cifar.pt" | grep -q "(B,3,32,32)"
"$python" - "$run/cifar.pt" "$image" "$out" <<'PY'
import sys
try:
    import torch
except ImportError:
    print("python3-torch is absent: the Python check of the exported file is skipped")
    sys.exit(0)
from PIL import Image
path, image, predicted = sys.argv[1:4]
model = torch.jit.load(path)
assert not model.image_grey and model.image_side == 32
pixels = torch.tensor(list(Image.open(image).convert("RGB").getdata()), dtype=torch.uint8).view(1, 32, 32, 3)
logits, _ = model(model.preprocess(pixels))
probs = torch.softmax(logits, 1)[0]
label, p = predicted.split("\t")
assert model.classes[int(probs.argmax())] == label, (model.classes[int(probs.argmax())], label)
assert abs(float(probs.max()) - float(p)) < 1.5e-3, (float(probs.max()), p)
masks = model.attention_masks(model.preprocess(pixels))
assert len(masks) == 3 and all(0 <= float(m.min()) and float(m.max()) <= 1 for m in masks)
PY
if [ -n "$zoo_run" ]; then
  z=$("$zoo_run" "$run/cifar.pt" --image "$image")
  [ "$z" = "$image	$out" ] || { echo "zoo-run: $z, predict: $out"; exit 1; }
fi

# Mistakes: a CIFAR-10 folder that is not there, a cut batch, a canvas CIFAR-10 cannot have.
if "$glimpse" train --config "$cifar_config" --out "$run/bad" --set data.cifar10="$run/nowhere" 2>"$run/err.txt"; then
  echo "missing CIFAR-10 folder accepted"; exit 1
fi
grep -q "glimpse: error: .*nowhere/test_batch.bin: no such file\|glimpse: error: .*nowhere/data_batch_1.bin: no such file" "$run/err.txt"
head -c 5000 "$cifar/data_batch_2.bin" >"$run/cut.bin" && mv "$run/cut.bin" "$cifar/data_batch_2.bin"
if "$glimpse" train --config "$cifar_config" --out "$run/bad" "${tiny[@]}" 2>"$run/err.txt"; then
  echo "truncated batch accepted"; exit 1
fi
grep -q "glimpse: error: .*data_batch_2.bin: truncated or not a CIFAR-10 batch" "$run/err.txt"
if "$glimpse" train --config "$cifar_config" --out "$run/bad" "${tiny[@]}" --set data.canvas=60 2>"$run/err.txt"; then
  echo "CIFAR-10 at 60x60 accepted"; exit 1
fi
grep -q "glimpse: error: config: data.canvas is 60, and CIFAR-10's images are 32x32" "$run/err.txt"
echo "1 passed, 0 failed"
