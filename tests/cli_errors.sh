#!/usr/bin/env bash
# User mistakes give one clear line and a non-zero exit, never a crash.
set -u
translate="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/cli_lib.sh"

printf '{"train": {"lrr": 1}}' > "$tmp/typo.json"
printf '{"train": ' > "$tmp/broken.json"
printf '{"data": {"dir": "%s/nowhere"}}' "$tmp" > "$tmp/nodata.json"
printf 'a\nb\n' > "$tmp/two.txt"
printf 'a\n' > "$tmp/one.txt"
printf 'junk' > "$tmp/junk.pt"

expect_error "missing config" "no such file" "$translate" train --config "$tmp/none.json" --out "$tmp/run"
expect_error "config typo" "train.lrr: unknown key" "$translate" train --config "$tmp/typo.json" --out "$tmp/run"
expect_error "broken JSON" "broken.json:1" "$translate" train --config "$tmp/broken.json" --out "$tmp/run"
expect_error "missing data" "nowhere/train.de" "$translate" train --config "$tmp/nodata.json" --out "$tmp/run"
expect_error "resume nothing" "nothing to resume" "$translate" train --resume --config "$tmp/nodata.json" --out "$tmp/empty"
expect_error "missing checkpoint" "no such checkpoint" "$translate" eval --checkpoint "$tmp/none.pt"
expect_error "junk checkpoint" "not an attnzoo checkpoint" "$translate" predict --checkpoint "$tmp/junk.pt"
expect_error "unknown quantisation" "int4 not in {int8}" "$translate" predict --checkpoint "$tmp/none.pt" --quantize int4
expect_error "negative shortlist" "--shortlist" "$translate" eval --checkpoint "$tmp/none.pt" --shortlist -1
expect_error "misaligned BLEU" "has 1 lines" "$translate" bleu --hyp "$tmp/two.txt" --ref "$tmp/one.txt"
printf '{"data": {"source": "dates", "dates": {"train_size": 50}}, "model": {"attention": "bogus"}}' > "$tmp/bogus.json"
expect_error "bad attention kind" 'model.attention: "bogus" is not one of additive, dot, general, scaled-dot, none, hard' "$translate" train --config "$tmp/bogus.json" --out "$tmp/run"
"$translate" --help >/dev/null || fail "--help"
for sub in train eval predict bleu attention; do
  "$translate" "$sub" --help | grep -q -- "--" || fail "$sub --help"
done
finish
