#!/usr/bin/env bash
# Exports seeded translators and captioners with their C++ outputs, then checks
# the files in Python (torch.jit.load).  Usage: export_parity.sh EXPORT_FIXTURE PYTHON
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$1" "$dir"
"$2" "$(dirname "$0")/export_parity.py" "$dir"
