#!/usr/bin/env bash
# Integration: data-parallel training on 2 processes (Gloo over 127.0.0.1),
# launched by hand with the variables torchrun sets, and by torchrun itself.
#
# - For each app, 2 processes reach the weights and validation figures of 1
#   process on the same global batch. SGD keeps the update linear in the
#   gradient (Adam's is scale-free, so it would hide a wrong average), dropout
#   is off (each rank draws its own masks). Tolerance: the largest weight gap
#   relative to the largest weight, 1e-5: the float32 sums of a reduction in
#   another order differ by a few ulps (eps 1.2e-7) per step; measured 2e-8 to
#   8e-8 after 6-8 steps, while weighing the ranks equally instead of by their
#   tokens gives 2.5e-3 on the captioner.
# - RAM and hard attention sample per rank, so there the runs only have to finish.
# - A 2-process checkpoint resumes in 1 process (and a 1-process one on 2) and
#   lands where an uninterrupted 1-process run does.
# - A killed rank, a frozen one and one that never arrives end the others with
#   one line naming the rank and the wait, within train.dist_timeout.
set -euo pipefail
bin="$1"
source_dir="$2"
python="${3:-python3}"
run=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$run"' EXIT
compare=("$python" "$source_dir/tests/compare_checkpoints.py")
port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# two APP ARGS...: ranks 0 and 1 of one run, each logging to $run/two.RANK.log.
two() {
  local app="$1" p pids=() rc=0
  shift
  p=$(port)
  for r in 0 1; do
    RANK=$r WORLD_SIZE=2 LOCAL_RANK=$r LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$p \
      timeout 300 "$bin/$app" "$@" > "$run/two.$r.log" 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
  if [ $rc -ne 0 ]; then tail -n 5 "$run/two.0.log" "$run/two.1.log"; return 1; fi
}

# same APP NAME ARGS...: trains on 1 and on 2 processes, then compares.
same() {
  local app="$1" name="$2"
  shift 2
  echo "== $name: 1 process against 2"
  "$bin/$app" train "$@" --out "$run/$name.1" > "$run/$name.1.log" 2>&1 || { tail -n 5 "$run/$name.1.log"; exit 1; }
  two "$app" train "$@" --out "$run/$name.2"
  grep -q "data-parallel: 2 processes (gloo)" "$run/two.0.log"
  "${compare[@]}" "$run/$name.1/checkpoint.pt" "$run/$name.2/checkpoint.pt" --tol 1e-5 \
    --metrics "$run/$name.1/metrics.jsonl" "$run/$name.2/metrics.jsonl" --metric-tol 1e-4
}

sgd=(--set train.optimizer=sgd --set train.log_every=1 --set train.schedule.kind=constant)
forecast=(--config "$source_dir/configs/forecast/synthetic.json" --set model.dropout=0 "${sgd[@]}"
          --set train.lr=0.05 --set train.eval_every=6)
same forecast forecast "${forecast[@]}" --max-steps 6
same translate dates --config "$source_dir/configs/translate/dates.json" "${sgd[@]}" --set train.lr=0.5 \
  --set data.dates.train_size=2000 --set data.dates.valid_size=100 --set train.label_smoothing=0.1 \
  --set train.eval_every=8 --max-steps 8
scenes=(--config "$source_dir/configs/caption/scenes-small.json" --set data.scenes.train_size=200
        --set data.scenes.valid_size=20 --set data.scenes.test_size=10 --set encoder.pretrain.steps=0
        --set encoder.trainable_stages=0 --set encoder.cache=true --set model.dropout=0
        "${sgd[@]}" --set train.lr=0.5 --set train.eval_every=6 --set decode.beam=1 --max-steps 6)
# The doubly stochastic penalty is a mean per caption; the loop weighs by words.
same caption caption "${scenes[@]}" --set train.doubly_stochastic=1.0
glimpse=(--config "$source_dir/configs/glimpse/mnist28.json" --set data.limit.train=2000 --set data.limit.valid=200
         --set data.limit.test=10 "${sgd[@]}" --set train.lr=0.1 --set train.eval_every=6 --max-steps 6)
same glimpse glimpse-cnn "${glimpse[@]}" --model cnn

echo "== sampling models on 2 processes: RAM, hard attention"
two glimpse train "${glimpse[@]}" --model ram --out "$run/ram.2"
grep -q '"valid_error_rate"' "$run/ram.2/metrics.jsonl"
two caption train "${scenes[@]}" --set model.attention=hard --out "$run/hard.2"
grep -q '"reinforce"' "$run/hard.2/metrics.jsonl"

echo "== torchrun --standalone"
if ! command -v torchrun > /dev/null; then echo "torchrun (python3-torch) is missing" >&2; exit 1; fi
timeout 300 torchrun --standalone --nproc_per_node 2 --redirects 1 --tee 1 --no_python \
  "$bin/forecast" train "${forecast[@]}" --max-steps 6 --out "$run/torchrun" > "$run/torchrun.log" 2>&1 \
  || { tail -n 20 "$run/torchrun.log"; exit 1; }
"${compare[@]}" "$run/forecast.1/checkpoint.pt" "$run/torchrun/checkpoint.pt" --tol 1e-5

echo "== resume across world sizes"
"$bin/forecast" train "${forecast[@]}" --max-steps 12 --out "$run/straight" > "$run/straight.log" 2>&1
cp -r "$run/forecast.2" "$run/from2"
"$bin/forecast" train --out "$run/from2" --resume --max-steps 12 2>&1 | tee "$run/from2.log" | tail -n 2
grep -q "resuming from $run/from2/checkpoint.pt at step 6" "$run/from2.log"
"${compare[@]}" "$run/straight/checkpoint.pt" "$run/from2/checkpoint.pt" --tol 1e-5 \
  --metrics "$run/straight/metrics.jsonl" "$run/from2/metrics.jsonl" --metric-tol 1e-4
cp -r "$run/forecast.1" "$run/from1"
two forecast train --out "$run/from1" --resume --max-steps 12
"${compare[@]}" "$run/straight/checkpoint.pt" "$run/from1/checkpoint.pt" --tol 1e-5

echo "== --device"
"$bin/forecast" eval --checkpoint "$run/forecast.1/best.pt" --device cpu --json | grep -q '"mse"'
"$bin/glimpse" eval --checkpoint "$run/glimpse-cnn.1/best.pt" --limit 50 --device cpu | grep -q "error rate"
"$bin/translate" eval --checkpoint "$run/dates.1/best.pt" --limit 20 --device cpu | grep -q "BLEU"
set +e
"$bin/forecast" train "${forecast[@]}" --max-steps 1 --device gpu --out "$run/gpu" > "$run/gpu.log" 2>&1
rc=$?
"$bin/forecast" eval --checkpoint "$run/forecast.1/best.pt" --device cuda > "$run/cuda.log" 2>&1
rc_cuda=$?
set -e
cat "$run/gpu.log" "$run/cuda.log"
[ $rc -eq 1 ] && [ "$(wc -l < "$run/gpu.log")" -eq 1 ]
grep -qx 'forecast: error: device "gpu" is not one of cpu, cuda, cuda:N' "$run/gpu.log"
# Where this LibTorch has CUDA and a GPU, eval runs there; else one line says why not.
if [ $rc_cuda -ne 0 ]; then
  [ $rc_cuda -eq 1 ] && [ "$(wc -l < "$run/cuda.log")" -eq 1 ]
  grep -q "forecast: error: device cuda: this LibTorch has no CUDA" "$run/cuda.log"
fi

echo "== no hangs"
# Bounded: a minute at most, whatever happens.
long=("${forecast[@]}" --set train.epochs=1000 --set train.early_stopping=0 --set train.max_minutes=1
      --set train.dist_timeout=10)
# start_pair NAME: a long 2-process run; waits until rank 0 has taken a step.
start_pair() {
  local p
  p=$(port)
  for r in 0 1; do
    RANK=$r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$p \
      "$bin/forecast" train "${long[@]}" --out "$run/$1" > "$run/$1.$r.log" 2>&1 &
    pids[r]=$!
  done
  for _ in $(seq 300); do [ -s "$run/$1/metrics.jsonl" ] && return 0; sleep 0.1; done
  echo "the pair never started" >&2; tail "$run/$1.0.log"; exit 1
}
# ends_alone NAME SECONDS: rank 0 exits non-zero within SECONDS, with one error line.
ends_alone() {
  local start rc=0 took
  start=$(date +%s)
  wait "${pids[0]}" || rc=$?
  took=$(( $(date +%s) - start ))
  echo "rank 0 exited with $rc after ${took} s: $(grep error "$run/$1.0.log")"
  [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$took" -le "$2" ]
  [ "$(grep -c "error" "$run/$1.0.log")" -eq 1 ]
  # The peer may stop at any collective of the step: the token counts, the
  # gradients, the time-budget check; the line names whichever it was.
  grep -q "forecast: error: distributed: rank 0 of 2 gave up waiting for " "$run/$1.0.log"
}
start_pair killed
kill -9 "${pids[1]}"
ends_alone killed 5
start_pair frozen
kill -STOP "${pids[1]}"
ends_alone frozen 20
grep -q "did not answer within 10 s" "$run/frozen.0.log"
kill -9 "${pids[1]}"
# A rank whose peer never starts.
set +e
RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$(port) timeout 60 "$bin/forecast" train "${forecast[@]}" \
  --set train.dist_join_timeout=2 --out "$run/alone" > "$run/alone.log" 2>&1
rc=$?
set -e
cat "$run/alone.log"
[ $rc -eq 1 ]
grep -q "rank 0 of 2 could not" "$run/alone.log"
echo "distributed: all checks passed"
