#!/usr/bin/env bash
# Reliability of every app under bad input and faults (issue 16): each case
# gives one clear line (CLI11's own errors add "Run with --help ...") and a
# non-zero exit that is not a crash, and the files that were there before are
# unchanged (checksums). Also: text input is cleaned (CRLF, BOM, empty lines),
# a full disk (ulimit -f) loses nothing, one training per folder (the lock,
# which a killed run does not leave stale), --overwrite, outputs onto inputs.
#
# usage: tests/cli_reliability.sh BIN_DIR SOURCE_DIR
set -u
bin="$1"
src="$2"
translate="$bin/translate" forecast="$bin/forecast" glimpse="$bin/glimpse" caption="$bin/caption"
zoo_run="$bin/zoo-run"
tmp=$(mktemp -d)
cleanup() {
  [ -n "${holder:-}" ] && kill -9 "$holder" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
export OMP_NUM_THREADS=1
source "$(dirname "$0")/cli_lib.sh"

# sums FILES...: one checksum line per file, to compare before and after
sums() { md5sum "$@" 2>&1; }

# --- a translator, a forecaster and a classifier, trained for a few steps ----
"$translate" train --config "$src/configs/translate/dates.json" --out "$tmp/dates" --max-steps 20 \
  --set train.eval_every=20 >/dev/null 2>&1 || fail "train dates"
"$translate" export --checkpoint "$tmp/dates/best.pt" --out "$tmp/dates.pt" >/dev/null || fail "export dates"
"$forecast" train --config "$src/configs/forecast/synthetic.json" --out "$tmp/fc" --max-steps 5 \
  --set data.time_features=false >/dev/null 2>&1 || fail "train forecast"
"$forecast" export --checkpoint "$tmp/fc/best.pt" --out "$tmp/fc.pt" >/dev/null || fail "export forecast"
"$glimpse" train --config "$src/configs/glimpse/mnist28.json" --model mlp --out "$tmp/g" --max-steps 3 \
  --set data.limit.train=256 --set data.limit.valid=64 --set data.limit.test=64 >/dev/null 2>&1 ||
  fail "train glimpse"
dates="$tmp/dates/best.pt"
head -c 60 "$src/docs/img/glimpse-path.png" >"$tmp/truncated.png"
touch "$tmp/afile"

# --- text input: CRLF, a BOM and empty lines are cleaned; bad bytes refused --
printf '24/11/26\n\n1 January 2000\n' >"$tmp/lf.txt"
printf '\xef\xbb\xbf24/11/26\r\n\r\n1 January 2000\r\n' >"$tmp/crlf.txt"
"$translate" predict --checkpoint "$dates" <"$tmp/lf.txt" >"$tmp/lf.out"
"$translate" predict --checkpoint "$dates" <"$tmp/crlf.txt" >"$tmp/crlf.out"
if cmp -s "$tmp/lf.out" "$tmp/crlf.out" && [ "$(wc -l <"$tmp/lf.out")" -eq 3 ] &&
  [ -z "$(sed -n 2p "$tmp/lf.out")" ]; then
  pass "predict: CRLF and BOM give the LF output; an empty line gives an empty line"
else
  fail "predict: CRLF/BOM/empty lines: $(paste -d'|' "$tmp/lf.out" "$tmp/crlf.out" | tr '\n' ' ')"
fi
"$zoo_run" "$tmp/dates.pt" <"$tmp/crlf.txt" >"$tmp/zoo.out"
if cmp -s "$tmp/lf.out" "$tmp/zoo.out"; then
  pass "zoo-run: CRLF, BOM and empty lines as translate predict"
else
  fail "zoo-run: CRLF/BOM/empty: $(tr '\n' '|' <"$tmp/zoo.out") vs $(tr '\n' '|' <"$tmp/lf.out")"
fi
printf 'ok\nab\xffc\n' >"$tmp/bad-utf8.txt"
printf 'ab\0c\n' >"$tmp/nul.txt"
head -c 1100000 /dev/zero | tr '\0' 'a' >"$tmp/long.txt"
for app in translate zoo; do
  if [ "$app" = translate ]; then run=("$translate" predict --checkpoint "$dates"); else run=("$zoo_run" "$tmp/dates.pt"); fi
  expect_error "$app: invalid UTF-8 on stdin" "stdin:2: invalid UTF-8 at byte 3" "${run[@]}" <"$tmp/bad-utf8.txt"
  expect_error "$app: NUL on stdin" "stdin:1: a NUL byte" "${run[@]}" <"$tmp/nul.txt"
  expect_error "$app: a 1.1 MB line" "stdin:1: a line longer than 1048576 bytes" "${run[@]}" <"$tmp/long.txt"
done
expect_error "zoo-run: invalid UTF-8 in --text" "invalid UTF-8" "$zoo_run" "$tmp/dates.pt" --text "$(printf 'a\xff')"
expect_error "attention: empty --text" "--text: empty" "$translate" attention --checkpoint "$dates" --text "" --png "$tmp/a.png"

# A long source is cut to decode.max_source_tokens: time and memory stay bounded.
head -c 200000 /dev/zero | tr '\0' '1' | sed 's/11/1 /g' >"$tmp/many-tokens.txt"
if out=$(timeout 60 "$translate" predict --checkpoint "$dates" <"$tmp/many-tokens.txt" 2>&1 >/dev/null) &&
  grep -q "cut to decode.max_source_tokens (256)" <<<"$out"; then
  pass "predict: 100,000 tokens cut to 256"
else
  fail "predict: 100,000 tokens: $out"
fi

# stdin in shards: 10,005 lines (past one shard of 10,000) give 10,005 answers
# in order, the n-best numbered across the shard boundary.
seq 10005 | sed 's|.*|1/2/03|; 10003s|.*|12/31/99|' >"$tmp/many-lines.txt"
out=$("$translate" predict --checkpoint "$dates" <"$tmp/many-lines.txt" 2>/dev/null)
nbest=$("$translate" predict --checkpoint "$dates" --beam 2 --n-best 2 <"$tmp/many-lines.txt" 2>/dev/null)
one=$(echo 12/31/99 | "$translate" predict --checkpoint "$dates" 2>/dev/null)
other=$(echo 1/2/03 | "$translate" predict --checkpoint "$dates" 2>/dev/null)
if [ "$(wc -l <<<"$out")" -eq 10005 ] && [ "$(sed -n 10003p <<<"$out")" = "$one" ] &&
  [ "$(sed -n 10002p <<<"$out")" = "$other" ] && [ "$(wc -l <<<"$nbest")" -eq 20010 ] &&
  [ "$(tail -n 1 <<<"$nbest" | cut -d' ' -f1)" = 10004 ]; then
  pass "predict: 10,005 lines over two shards, in order"
else
  fail "predict: 10,005 lines: $(wc -l <<<"$out") lines, line 10003 $(sed -n 10003p <<<"$out"), n-best ends $(tail -n 1 <<<"$nbest")"
fi

# --- flags and config values out of range ------------------------------------
expect_error "--beam 0" "--beam: must be a number >= 1" "$translate" predict --checkpoint "$dates" --beam 0
expect_error "--beam -1" "--beam: must be a number >= 1" "$translate" eval --checkpoint "$dates" --beam -1
expect_error "--batch-size 0" "--batch-size: must be a number >= 1" "$translate" eval --checkpoint "$dates" --batch-size 0
expect_error "--length-penalty nan" "--length-penalty: must be a number >= 0, not nan" "$translate" eval --checkpoint "$dates" --length-penalty nan
expect_error "--limit -1" "--limit: must be a number >= 0" "$translate" eval --checkpoint "$dates" --limit -1
expect_error "--split bogus" "--split: bogus not in {test,valid}" "$translate" eval --checkpoint "$dates" --split bogus
expect_error "--threads -2" "--threads: must be a number >= 0" "$translate" predict --checkpoint "$dates" --threads -2
expect_error "--n-best 0" "--n-best: must be a number >= 1" "$translate" predict --checkpoint "$dates" --n-best 0
expect_error "--lr 0" "--lr: must be a number > 0" "$translate" train --config "$src/configs/translate/dates.json" --out "$tmp/x" --lr 0
expect_error "--epochs 0" "--epochs: must be a number >= 1" "$forecast" train --out "$tmp/x" --epochs 0
expect_error "--horizon 0" "--horizon: must be a number >= 1" "$forecast" train --out "$tmp/x" --horizon 0
expect_error "forecast --at -3" "--at: must be a number >= 0" "$forecast" predict --checkpoint "$tmp/fc/best.pt" --at -3
expect_error "glimpse --split bogus" "--split: bogus not in {test,valid}" "$glimpse" eval --checkpoint "$tmp/g/best.pt" --split bogus
expect_error "glimpse --limit -5" "--limit: must be a number >= 0" "$glimpse" eval --checkpoint "$tmp/g/best.pt" --limit -5
tiny_caption=(--config "$src/configs/caption/scenes-small.json" --set encoder.pretrain.steps=0
  --set data.scenes.train_size=64 --set data.scenes.valid_size=16 --set data.scenes.test_size=16)
"$caption" train "${tiny_caption[@]}" --out "$tmp/cap" --max-steps 1 >/dev/null 2>&1 || fail "train caption"
expect_error "caption: train into an existing run" "holds a run already" "$caption" train "${tiny_caption[@]}" --out "$tmp/cap"
expect_error "caption: hidden size 0" "model.hidden_size must be at least 1 (got 0)" "$caption" train "${tiny_caption[@]}" --out "$tmp/x" --set model.hidden_size=0
expect_error "caption: decode batch size 0" "--set decode.batch_size: must be at least 1" "$caption" train "${tiny_caption[@]}" --out "$tmp/x" --set decode.batch_size=0
expect_error "caption: a truncated PNG" "not an image OpenCV can decode (libpng error: Read Error)" "$caption" predict --checkpoint "$tmp/cap/best.pt" --image "$tmp/truncated.png"
expect_error "caption: --heatmap onto the image" "--heatmap $tmp/truncated.png: this is the input" "$caption" predict --checkpoint "$tmp/cap/best.pt" --image "$tmp/truncated.png" --heatmap "$tmp/truncated.png"
expect_error "caption: scenes --out through a file" "cannot create the output folder" "$caption" scenes "${tiny_caption[@]}" --out "$tmp/afile/s" --count 1
expect_error "caption --beam 0" "--beam: must be a number >= 1" "$caption" predict --checkpoint "$tmp/none.pt" --image x.png --beam 0
expect_error "caption --heatmap-count -1" "--heatmap-count: must be a number >= 0" "$caption" eval --checkpoint "$tmp/none.pt" --heatmap-count -1
expect_error "zoo-run --beam 0" "--beam: must be a number >= 1" "$zoo_run" "$tmp/dates.pt" --beam 0
expect_error "--set 1e999" "number overflow" "$translate" train --config "$src/configs/translate/dates.json" --out "$tmp/x" --set train.lr=1e999
expect_error "--set negative lr" "--set train.lr: must be 0 or more (got -1)" "$translate" train --config "$src/configs/translate/dates.json" --out "$tmp/x" --set train.lr=-1
expect_error "--set hidden size 0" "model.encoder_hidden_size must be at least 1 (got 0)" "$translate" train --config "$src/configs/translate/dates.json" --out "$tmp/x" --set model.encoder_hidden_size=0
expect_error "--set negative count" "--set data.dates.train_size: must be 0 or more" "$translate" train --config "$src/configs/translate/dates.json" --out "$tmp/x" --set data.dates.train_size=-5
expect_error "a batch size of 0 in a config" "--set eval.batch_size: must be at least 1 (got 0)" "$forecast" train --out "$tmp/x" --set eval.batch_size=0
expect_error "a model too big for memory" "error: out of memory" "$translate" train --config "$src/configs/translate/dates.json" --out "$tmp/x" --set model.encoder_hidden_size=1000000000
expect_error "forecast hidden size 0" "model.hidden_size must be at least 1 (got 0)" "$forecast" train --out "$tmp/x" --set model.hidden_size=0
expect_error "residual attention: stages disagree" "model.residual_attention.widths and .modules_per_stage need one entry per stage (3 and 2)" "$glimpse" train --config "$src/configs/glimpse/mnist28.json" --out "$tmp/x" --model residual-attention --set 'model.residual_attention.modules_per_stage=[1,1]'
expect_error "residual attention: bad mask" 'model.residual_attention.mask: "soft" is not one of mixed, channel, spatial' "$glimpse" train --config "$src/configs/glimpse/mnist28.json" --out "$tmp/x" --model residual-attention --set model.residual_attention.mask=soft
expect_error "residual attention: width 0" "model.residual_attention.widths must hold whole numbers of at least 1" "$glimpse" train --config "$src/configs/glimpse/mnist28.json" --out "$tmp/x" --model resnet --set 'model.residual_attention.widths=[8,0,8]'
expect_error "glimpse dropout-like zoom 0" "model.zoom must be at least 1" "$glimpse" train --config "$src/configs/glimpse/mnist28.json" --out "$tmp/x" --set model.zoom=0
expect_error "flag and --set on one key" "--set train.batch_size=8 and --batch-size both set train.batch_size" "$translate" train --config "$src/configs/translate/dates.json" --out "$tmp/x" --batch-size 16 --set train.batch_size=8
expect_error "--attention for the linear forecaster" "--attention does not apply to the linear model" "$forecast" train --out "$tmp/x" --model linear --attention dot
expect_error "zoo-run --image for a translator" "--image does not apply to a translate model" "$zoo_run" "$tmp/dates.pt" --image x.png
expect_error "zoo-run --text for a forecaster" "--text does not apply to a forecast model" "$zoo_run" "$tmp/fc.pt" --text hello

# --- CSV cells and damaged files -------------------------------------------
python3 - "$src" "$tmp" <<'PY'
import sys, zipfile
src, tmp = sys.argv[1:]
# a series as a CSV with the forecaster's columns, with a UTF-8 BOM; and one with a NaN in the last window
rows = ["date,value,load"] + [f"2020-01-{1 + i // 24:02d} {i % 24:02d}:00:00,{(i % 24) / 10:.2f},1.0"
                              for i in range(300)]
open(f"{tmp}/bom.csv", "w", encoding="utf-8-sig").write("\n".join(rows) + "\n")
rows[290] = rows[290].split(",")[0] + ",nan,1.0"
open(f"{tmp}/nan.csv", "w").write("\n".join(rows) + "\n")
# an exported file whose attnzoo.json is not JSON
with zipfile.ZipFile(f"{tmp}/dates.pt") as z, zipfile.ZipFile(f"{tmp}/forged.pt", "w") as out:
    for item in z.infolist():
        data = z.read(item.filename)
        if item.filename.endswith("extra/attnzoo.json"):
            data = b'{"app": "translate", '
        out.writestr(item, data)
PY
expect_error "zoo-run: NaN in the forecast window" 'column "value" is nan, not a finite number' "$zoo_run" "$tmp/fc.pt" --csv "$tmp/nan.csv"
expect_error "forecast eval: NaN in the CSV" 'column "value": "nan" is not a number' "$forecast" eval --checkpoint "$tmp/fc/best.pt" --csv "$tmp/nan.csv"
if "$zoo_run" "$tmp/fc.pt" --csv "$tmp/bom.csv" >/dev/null 2>"$tmp/bom.err"; then
  pass "zoo-run: a CSV with a UTF-8 BOM reads its first column"
else
  fail "zoo-run: BOM CSV: $(cat "$tmp/bom.err")"
fi
"$glimpse" export --checkpoint "$tmp/g/best.pt" --out "$tmp/g.pt" >/dev/null || fail "export glimpse"
expect_error "glimpse predict: a truncated PNG" "truncated.png: not an image OpenCV can decode (libpng error: Read Error)" \
  "$glimpse" predict --checkpoint "$tmp/g/best.pt" --image "$tmp/truncated.png"
expect_error "zoo-run: a truncated PNG" "truncated.png: not an image OpenCV can decode (libpng error: Read Error)" \
  "$zoo_run" "$tmp/g.pt" --image "$tmp/truncated.png"
expect_error "zoo-run: forged attnzoo.json" "its attnzoo.json is not valid JSON" "$zoo_run" "$tmp/forged.pt" --text x

# --- runs: refusal, --overwrite, the lock ----------------------------------
before=$(sums "$tmp/dates/checkpoint.pt" "$tmp/dates/best.pt" "$tmp/dates/config.json" "$tmp/dates/metrics.jsonl")
expect_error "train into an existing run" "holds a run already (checkpoint.pt, best.pt, metrics.jsonl, config.json); continue it with --resume" \
  "$translate" train --config "$src/configs/translate/dates.json" --out "$tmp/dates" --max-steps 5
expect_error "--resume with --overwrite" "--resume excludes --overwrite" \
  "$translate" train --out "$tmp/dates" --resume --overwrite
[ "$before" = "$(sums "$tmp/dates/checkpoint.pt" "$tmp/dates/best.pt" "$tmp/dates/config.json" "$tmp/dates/metrics.jsonl")" ] &&
  pass "the refused run left the files as they were" || fail "the refused run changed files"
cp -r "$tmp/dates" "$tmp/over"
"$translate" train --config "$src/configs/translate/dates.json" --out "$tmp/over" --max-steps 4 --overwrite \
  --set train.eval_every=1000 >/dev/null 2>&1
if [ "$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1])))' "$tmp/over/metrics.jsonl")" -le 1 ] &&
  ! cmp -s "$tmp/over/best.pt" "$tmp/dates/best.pt"; then
  pass "--overwrite starts over (new best.pt, new metrics)"
else
  fail "--overwrite kept the old run's files"
fi
# a training holds the folder; a second one is refused; kill -9 leaves no stale lock
"$translate" train --config "$src/configs/translate/dates.json" --out "$tmp/locked" --epochs 100 \
  >/dev/null 2>&1 &
holder=$!
for _ in $(seq 100); do [ -f "$tmp/locked/config.json" ] && break; sleep 0.2; done
expect_error "two trainings into one folder" "another training (process $holder) is writing to this folder" \
  "$translate" train --out "$tmp/locked" --resume
kill -9 "$holder"
wait "$holder" 2>/dev/null
holder=""
"$translate" train --config "$src/configs/translate/dates.json" --out "$tmp/locked" --max-steps 2 --overwrite \
  >/dev/null 2>"$tmp/relock.err" && pass "a killed run leaves no stale lock" ||
  fail "after kill -9 the folder stays locked: $(cat "$tmp/relock.err")"

# --- a full disk (a file size limit) loses nothing --------------------------
before=$(sums "$tmp/dates/checkpoint.pt" "$tmp/dates/best.pt")
expect_error "full disk during training" "checkpoint.pt: cannot write checkpoint (File too large)" \
  bash -c "ulimit -f 200; exec '$translate' train --out '$tmp/dates' --resume --max-steps 25"
[ "$before" = "$(sums "$tmp/dates/checkpoint.pt" "$tmp/dates/best.pt")" ] &&
  pass "full disk: checkpoint.pt and best.pt unchanged" || fail "full disk changed the checkpoints"
ls "$tmp/dates" | grep -q "\.tmp\." && fail "full disk left a temporary file: $(ls "$tmp/dates")" ||
  pass "full disk: no temporary file left"
"$translate" train --out "$tmp/dates" --resume --max-steps 25 >/dev/null 2>&1 &&
  pass "the run resumes after the full disk" || fail "no resume after the full disk"
before=$(sums "$tmp/dates.pt")
expect_error "full disk during export" "dates.pt: cannot write the exported model (File too large)" \
  bash -c "ulimit -f 200; exec '$translate' export --checkpoint '$dates' --out '$tmp/dates.pt'"
[ "$before" = "$(sums "$tmp/dates.pt")" ] && pass "full disk: the earlier export unchanged" ||
  fail "full disk destroyed the earlier export"

# --- errors that point the way (issue 38) -----------------------------------
dates_cfg=(--config "$src/configs/translate/dates.json")
expect_error "unknown key: the nearest and the command" \
  "--set data.tvs: unknown key; the nearest: data.tsv" \
  "$translate" train "${dates_cfg[@]}" --out "$tmp/x" --set data.tvs=a.tsv
expect_error "unknown key: names translate config" "(\`translate config\` lists every key)" \
  "$translate" train "${dates_cfg[@]}" --out "$tmp/x" --set data.file=a.tsv
expect_error "tsv without its file" "data.tsv is empty" \
  "$translate" train "${dates_cfg[@]}" --out "$tmp/x" --set data.source=tsv
expect_error "--data-dir with tsv" "this config's source is tsv, whose file is data.tsv" \
  "$translate" train "${dates_cfg[@]}" --out "$tmp/x" --set data.source=tsv --set data.tsv=a.tsv --data-dir "$tmp"
expect_error "--tsv with --data-dir" "--tsv and --data-dir are two sources; give one" \
  "$translate" train "${dates_cfg[@]}" --out "$tmp/x" --tsv "$tmp/lf.txt" --data-dir "$tmp"
expect_error "--n-best above the beam" "--n-best 5 is above the beam (2), which holds only that many hypotheses: add --beam 5 or more" \
  "$translate" predict --checkpoint "$dates" --beam 2 --n-best 5
expect_error "--n-best above the checkpoint's beam" "the checkpoint's decode.beam" \
  "$translate" predict --checkpoint "$dates" --n-best 3
expect_error "--shortlist-frequent alone" "--shortlist-frequent works with --shortlist K; add it" \
  "$translate" export --checkpoint "$dates" --out "$tmp/sl.pt" --shortlist-frequent 10
expect_error "--shortlist past the vocabulary" "--shortlist 1000000000 is not below the target vocabulary's" \
  "$translate" export --checkpoint "$dates" --out "$tmp/sl.pt" --shortlist 1000000000
"$translate" train "${dates_cfg[@]}" --out "$tmp/other-run" --max-steps 3 --seed 2 >/dev/null 2>&1 ||
  fail "train another run"
expect_error "average of two runs" "they are from different training runs" \
  "$translate" average --checkpoint "$dates" --checkpoint "$tmp/other-run/best.pt" --out "$tmp/avg.pt"
[ ! -e "$tmp/avg.pt" ] && pass "average of two runs wrote nothing" || fail "average of two runs wrote $tmp/avg.pt"
for flag in quantize; do
  texts=$(for cmd in eval predict attention export; do "$translate" "$cmd" --help | grep -A3 -- "--$flag" | tr -s ' \n' ' '; done)
  n=$(grep -o "int8: the decoder's recurrent cells[^;]*" <<<"$texts" | sort -u | wc -l)
  [ "$n" -eq 1 ] && pass "--$flag: one help text in eval, predict, attention and export" ||
    fail "--$flag: $n different help texts: $texts"
done
# A finished run says how to extend it; the extension logs on from its step.
msg=$("$translate" train --out "$tmp/other-run" --resume 2>&1 >/dev/null)
grep -q "this run is finished (3 of 3 steps.*resume with more, e.g. --resume --epochs" <<<"$msg" &&
  pass "resume of a finished run says how to extend it" || fail "resume of a finished run: $msg"

# --- Ctrl-C: the step ends, the run validates, saves and exits 0 -------------
"$translate" train "${dates_cfg[@]}" --out "$tmp/sigint" --set train.log_every=5 >"$tmp/sigint.log" 2>&1 &
trainer=$!
for _ in $(seq 600); do grep -q '"step":5,' "$tmp/sigint/metrics.jsonl" 2>/dev/null && break; sleep 0.1; done
kill -INT "$trainer"
wait "$trainer"
rc=$?
last=$(tail -n 1 "$tmp/sigint/metrics.jsonl" 2>/dev/null)
if [ "$rc" -eq 0 ] && grep -q "stopping at step .* (signal)" "$tmp/sigint.log" && grep -q '"final":true' <<<"$last" &&
  grep -q '"valid_exact_match"' <<<"$last" && [ -s "$tmp/sigint/best.pt" ] && [ -s "$tmp/sigint/curves.png" ]; then
  pass "SIGINT: validated, saved, exit 0 ($(grep -o '"step":[0-9]*' <<<"$last"))"
else
  fail "SIGINT: exit $rc, last line $last: $(tail -n 3 "$tmp/sigint.log")"
fi

# --- outputs onto inputs, folders that cannot be made -------------------------
before=$(sums "$dates" "$tmp/fc/best.pt" "$tmp/g/best.pt" "$tmp/lf.txt")
expect_error "export onto its checkpoint" "--out $dates: this is the input" "$translate" export --checkpoint "$dates" --out "$dates"
expect_error "eval --output onto --src" "--output $tmp/lf.txt: this is the input" \
  "$translate" eval --checkpoint "$dates" --src "$tmp/lf.txt" --ref "$tmp/lf.txt" --output "$tmp/lf.txt"
expect_error "attention --png onto the checkpoint" "this is the input" "$translate" attention --checkpoint "$dates" --text x --png "$dates"
expect_error "forecast predict --png onto the checkpoint" "this is the input" "$forecast" predict --checkpoint "$tmp/fc/best.pt" --png "$tmp/fc/best.pt"
expect_error "glimpse export onto its checkpoint" "this is the input" "$glimpse" export --checkpoint "$tmp/g/best.pt" --out "$tmp/g/best.pt"
[ "$before" = "$(sums "$dates" "$tmp/fc/best.pt" "$tmp/g/best.pt" "$tmp/lf.txt")" ] &&
  pass "refused outputs left their inputs unchanged" || fail "a refused output changed an input"
expect_error "--out through a file" "cannot create the run folder" "$translate" train --config "$src/configs/translate/dates.json" --out "$tmp/afile/run"
expect_error "--out under /proc" "cannot create the run folder" "$forecast" train --out /proc/attnzoo-run
expect_error "samples --out through a file" "cannot create the output folder" "$glimpse" samples --config "$src/configs/glimpse/mnist28.json" --out "$tmp/afile/s" --count 1
expect_error "png with an unknown extension" "no image format for the extension" "$translate" attention --checkpoint "$dates" --text "1 May 2020" --png "$tmp/a.nothing"

finish
