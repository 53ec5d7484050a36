#!/usr/bin/env bash
# ResNet-18/34/50 parity with torchvision on randomly initialised weights (no download),
# relative to the output's scale (see resnet_parity.cpp).
# Usage: resnet_parity.sh BIN_DIR PYTHON
set -euo pipefail
bin="$1"; python="$2"
here="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
for depth in 18 34 50; do
  "$python" "$here/tools/export_torchvision_resnet.py" --arch "resnet$depth" --random --seed "$depth" \
    --out "$tmp/w$depth.pt" --sample "$tmp/s$depth.pt" >/dev/null
  "$bin/resnet_parity" --depth "$depth" --weights "$tmp/w$depth.pt" --sample "$tmp/s$depth.pt" 2>"$tmp/err"
  # torchvision's fc layer is the only thing the trunk may leave unused.
  if grep -v '^unexpected (ignored): fc\.' "$tmp/err"; then echo "unexpected report above"; exit 1; fi
  # The tolerance is tight enough to see one early convolution off by 0.01%.
  if "$bin/resnet_parity" --depth "$depth" --weights "$tmp/w$depth.pt" --sample "$tmp/s$depth.pt" \
       --scale layer1.0.conv1.weight=1.0001 >/dev/null 2>&1; then
    echo "resnet$depth: a 0.01% error in layer1.0.conv1 passed the tolerance"; exit 1
  fi
done
