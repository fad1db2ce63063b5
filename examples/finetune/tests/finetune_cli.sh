#!/usr/bin/env bash
# finetune_cli.sh - m2u_finetune end to end on small synthetic pairs: a
# --data directory with a validation split, crops and flips, a checkpoint,
# bce+dice, each optimiser; two identical runs give byte-identical files, a
# different seed a different one; the trained file loads and m2u_infer runs
# it; the model file is never overwritten; bad usage and bad data fail
# with a message naming the file and write nothing.
# Usage: finetune_cli.sh M2U_FINETUNE M2U_INFER ROOT WORK_DIR PYTHON
set -uo pipefail
finetune="$1" infer="$2" root="$3" work="$4" python="$5"
model="$root/tests/fixtures/cin1_relu.m2u"
rm -rf "$work" && mkdir -p "$work/data" "$work/bad"
failures=0
fail() { echo "FAIL $1"; failures=$((failures + 1)); }

"$python" - "$work" "$root/converter" <<'PY'
import sys
import numpy as np
work, converter = sys.argv[1:3]
sys.path.insert(0, converter)
import png_write
rng = np.random.default_rng(5)
yy, xx = np.mgrid[0:40, 0:52]
for i in range(5):
    grey = np.clip(120 + 30 * np.sin((xx + 7 * i) / 4.0) + rng.normal(0, 5, (40, 52)), 0, 255).astype(np.uint8)
    mask = ((((yy - 12 - i) ** 2 + (xx - 20 - 2 * i) ** 2) < 60) * 255).astype(np.uint8)
    png_write.write_grey8("%s/data/s%d.png" % (work, i), grey)
    png_write.write_grey8("%s/data/s%d_mask.png" % (work, i), mask)
png_write.write_grey8("%s/bad/lonely.png" % work, np.zeros((40, 52), np.uint8))
png_write.write_grey8("%s/bad/small_mask.png" % work, np.zeros((30, 52), np.uint8))
PY

before="$(sha256sum "$model" | cut -d' ' -f1)"
common=(--model "$model" --crop 32 --batch 2 --log-every 1)

# A --data run: 5 pairs -> 4 training, 1 validation; 2 epochs of 2 steps; a checkpoint each update.
out="$work/tuned.m2u"
if "$finetune" "${common[@]}" --out "$out" --epochs 2 --checkpoint-every 1 --loss bce+dice --data "$work/data" \
    > "$work/run.log" 2>&1; then
  grep -q "4 training pair(s), 1 validation; crops 32, flips, batch 2, 4 steps (2 per epoch)" "$work/run.log" ||
    fail "run: header line: $(head -1 "$work/run.log")"
  grep -q "^validation IoU before training: " "$work/run.log" || fail "run: no IoU before training"
  [[ "$(grep -cE "^epoch [12]: mean loss [0-9.]+, validation IoU [0-9.]+$" "$work/run.log")" == 2 ]] ||
    fail "run: mean loss and validation IoU per epoch"
  grep -qE "^step 4/4  epoch 2  loss [0-9.]+  [0-9.]+ images/s  ETA " "$work/run.log" || fail "run: progress line"
  grep -q "4 steps (4 updates, 0 skipped), final loss [0-9.]* (the last epoch's mean)" "$work/run.log" || fail "run: summary: $(tail -2 "$work/run.log")"
  grep -q "run m2u_calibrate on $out" "$work/run.log" || fail "run: no INT8 recalibration note"
  ls "$work"/tuned.m2u.tmp.* >/dev/null 2>&1 && fail "run: a temporary file was left behind"
  "$python" "$root/converter/m2u_convert.py" --info "$out" > "$work/info.log" 2>&1 || fail "run: --info failed"
  grep -q "fine_tune_loss: bce+dice" "$work/info.log" || fail "run: provenance lacks the loss"
  "$infer" --model "$out" --out "$work/infer" "$work/data/s0.png" > "$work/infer.log" 2>&1 ||
    fail "m2u_infer on the trained model: $(tail -2 "$work/infer.log")"
else
  fail "run: exit status $?"; cat "$work/run.log"
fi

# Determinism: the same run twice gives the same bytes; another seed does not.
for optimizer in sgd adam rmsprop; do
  for i in 1 2; do
    "$finetune" "${common[@]}" --out "$work/$optimizer$i.m2u" --steps 3 --optimizer "$optimizer" --lr 0.01 \
      --momentum 0.5 --validation 0 --data "$work/data" > "$work/$optimizer$i.log" 2>&1 ||
      fail "$optimizer run $i: $(tail -2 "$work/$optimizer$i.log")"
  done
  cmp -s "$work/${optimizer}1.m2u" "$work/${optimizer}2.m2u" || fail "$optimizer: two identical runs differ"
done
"$finetune" "${common[@]}" --out "$work/seed2.m2u" --steps 3 --optimizer adam --lr 0.01 --momentum 0.5 \
  --validation 0 --seed 2 --data "$work/data" > "$work/seed2.log" 2>&1 || fail "seed 2 run"
cmp -s "$work/adam1.m2u" "$work/seed2.m2u" && fail "seed 2 gave the same file as seed 1"

# Non-finite steps: a huge learning rate gives finite but enormous weights
# after the first update (checkpointed), then non-finite losses: skipped,
# counted, and after --max-skipped in a row a stop that keeps the checkpoint.
"$finetune" "${common[@]}" --out "$work/diverged.m2u" --steps 10 --optimizer sgd --lr 1e30 --validation 0 \
  --checkpoint-every 1 --max-skipped 2 --data "$work/data" > "$work/diverged.log" 2>&1
status=$?
[[ $status == 1 ]] || fail "diverging run: exit $status, expected 1"
[[ "$(grep -c "non-finite loss or gradient .*: skipped" "$work/diverged.log")" == 2 ]] ||
  fail "diverging run: two skipped steps expected: $(cat "$work/diverged.log")"
grep -q "stopped after 2 non-finite steps in a row (--max-skipped 2): lower --lr; .*diverged.m2u holds the last good checkpoint (step 1)" \
  "$work/diverged.log" || fail "diverging run: stop message: $(tail -2 "$work/diverged.log")"
"$python" "$root/converter/m2u_convert.py" --info "$work/diverged.m2u" > "$work/diverged.info" 2>&1 ||
  fail "diverging run: the checkpoint does not load"
grep -q "fine_tune_updates: 1" "$work/diverged.info" || fail "diverging run: the checkpoint is not step 1's"

# Refusals: exit status, a message naming the problem, nothing written.
expect() {  # expect STATUS PATTERN ARGS...
  local status="$1" pattern="$2"; shift 2
  local out_file="$work/refused.m2u"
  rm -f "$out_file"
  "$finetune" --model "$model" --out "$out_file" "$@" > "$work/refused.log" 2>&1
  local got=$?
  [[ $got == "$status" ]] || fail "$* : exit $got, expected $status"
  grep -q -- "$pattern" "$work/refused.log" || fail "$* : message lacks '$pattern': $(head -2 "$work/refused.log")"
  [[ -e "$out_file" ]] && fail "$* : wrote $out_file"
}
expect 2 "no data" --steps 1
expect 2 "has no mask" --steps 1 "$work/data/s0.png"
expect 2 "--steps and --epochs" --steps 1 --epochs 1 --data "$work/data"
expect 2 "unknown option --rotate" --rotate --data "$work/data"
expect 2 "--lr -1: expected a finite number >= 0" --lr -1 --data "$work/data"
expect 2 "--optimizer lbfgs: expected sgd, adam or rmsprop" --optimizer lbfgs --data "$work/data"
expect 2 "--train encoder: expected decoder, decoder-last or decoder-project" --train encoder --data "$work/data"
expect 1 "lonely.png has no mask" --data "$work/bad"
expect 1 "smaller than --crop 64" --crop 64 --steps 1 --data "$work/data"
expect 1 "the mask is 52 x 30" --steps 1 "$work/data/s0.png" "$work/bad/small_mask.png"
expect 1 "no_such.png" --steps 1 "$work/no_such.png" "$work/data/s0_mask.png"
"$finetune" --model "$model" --out "$model" --steps 1 --data "$work/data" > "$work/self.log" 2>&1
[[ $? == 2 ]] && grep -q "is the model itself" "$work/self.log" || fail "--out naming the model was not refused"
[[ "$(sha256sum "$model" | cut -d' ' -f1)" == "$before" ]] || fail "the model file changed"

if ((failures)); then echo "finetune_cli: $failures failure(s)"; exit 1; fi
echo "finetune_cli: all checks passed"
