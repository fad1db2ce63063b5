#!/usr/bin/env bash
# calibrate_cli.sh - m2u_calibrate end to end: PGM frames and a Mono12p raw
# dump calibrate the shipped model with each method; the file it writes
# loads (converter --info lists one activation scale per plan buffer) and
# m2u_infer still runs it (FP32, and INT8 with the JSON saying so); the
# model file is never overwritten; bad usage
# and bad inputs fail with a message and write nothing.
# Usage: calibrate_cli.sh M2U_CALIBRATE ROOT WORK_DIR PYTHON
set -uo pipefail
calibrate="$1" root="$2" work="$3" python="$4"
model="$root/tests/fixtures/cin1_relu.m2u"
rm -rf "$work" && mkdir -p "$work/frames"
failures=0
fail() { echo "FAIL $1"; failures=$((failures + 1)); }

"$python" - "$work" <<'PY'
import sys
import numpy as np
work = sys.argv[1]
rng = np.random.default_rng(7)
for i in range(2):
    frame = rng.integers(0, 256, size=(37, 70), dtype=np.uint8)
    with open("%s/frames/f%d.pgm" % (work, i), "wb") as f:
        f.write(b"P5\n70 37\n255\n" + frame.tobytes())
# Mono12p: two 12-bit pixels in three bytes, 40 x 21.
values = rng.integers(0, 4096, size=(21, 40), dtype=np.uint16)
lo, hi = values[:, 0::2], values[:, 1::2]
packed = np.stack([lo & 0xFF, (lo >> 8) | ((hi & 0x0F) << 4), hi >> 4], axis=-1).astype(np.uint8)
packed.tofile("%s/dump.raw" % work)
PY

before="$(sha256sum "$model" | cut -d' ' -f1)"
for method in entropy percentile minmax; do
  out="$work/cin1_$method.m2u"
  if ! "$calibrate" --model "$model" --out "$out" --method "$method" "$work/frames" > "$work/$method.log" 2>&1; then
    fail "$method: exit status $?"; cat "$work/$method.log"; continue
  fi
  grep -q "2 frame(s), $method: [0-9]* activation scales" "$work/$method.log" || fail "$method: summary line: $(cat "$work/$method.log")"
  "$python" "$root/converter/m2u_convert.py" --info "$out" > "$work/$method.info" 2>&1 || fail "$method: --info failed"
  entries="$(grep -c "  act:.*ACTIVATION_PER_TENSOR" "$work/$method.info")"
  [[ "$entries" -ge 40 ]] || fail "$method: --info lists $entries activation scales"
  echo "ok   $method: $(cat "$work/$method.log")"
done
[[ "$(sha256sum "$model" | cut -d' ' -f1)" == "$before" ]] || fail "the model file changed"

# The calibrated model is still a model: m2u_infer runs it (FP32).
infer="$(dirname "$calibrate")/../infer/m2u_infer"
if [[ -x "$infer" ]]; then
  "$infer" --model "$work/cin1_entropy.m2u" --out "$work/infer" --quiet "$work/frames/f0.pgm" || fail "m2u_infer on the calibrated model"
  [[ -s "$work/infer/f0.json" ]] || fail "m2u_infer wrote no JSON for the calibrated model"
  "$infer" --model "$work/cin1_minmax.m2u" --out "$work/infer8" --quiet --precision int8 "$work/frames/f0.pgm" ||
    fail "m2u_infer --precision int8 on the calibrated model"
  "$python" - "$work/infer8/f0.json" <<'PY' || fail "the INT8 run's JSON"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["precision"] == "int8", s["precision"]
assert sum("dp4a" in l["arithmetic"] for l in s["layer_precision"]) > 20
assert "precision_note" in s
print("ok   int8 run: JSON precision int8, %d layers, note: %s" % (len(s["layer_precision"]), s["precision_note"]))
PY
fi

# Raw dumps, as m2u_infer takes them.
"$calibrate" --model "$model" --out "$work/raw.m2u" --format mono12p --width 40 --height 21 "$work/dump.raw" \
  > "$work/raw.log" 2>&1 && grep -q "1 frame(s), percentile" "$work/raw.log" || fail "mono12p dump: $(cat "$work/raw.log")"

# expect NAME STATUS PATTERN ARGS...: fails with STATUS, says PATTERN, writes no --out.
expect() {
  local name="$1" status="$2" pattern="$3"
  shift 3
  rm -f "$work/bad.m2u"
  "$calibrate" "$@" > "$work/$name.log" 2>&1
  local got=$?
  [[ $got -eq $status ]] || { fail "$name: exit status $got (expected $status)"; return; }
  grep -qF -- "$pattern" "$work/$name.log" || { fail "$name: message lacks '$pattern': $(head -1 "$work/$name.log")"; return; }
  [[ ! -e "$work/bad.m2u" ]] || { fail "$name: wrote $work/bad.m2u"; return; }
  echo "ok   $name: $(head -1 "$work/$name.log")"
}
expect out_is_model 2 "is the model itself; the input file is never overwritten" --model "$model" --out "$model" "$work/frames"
expect bad_method 2 "--method kl: expected entropy, percentile or minmax" --model "$model" --out "$work/bad.m2u" --method kl "$work/frames"
expect no_input 2 "no input: calibration needs frames" --model "$model" --out "$work/bad.m2u"
expect missing_frame 1 "$work/nothing.pgm" --model "$model" --out "$work/bad.m2u" "$work/nothing.pgm"
expect short_dump 1 "bytes" --model "$model" --out "$work/bad.m2u" --format mono12p --width 41 --height 21 "$work/dump.raw"
expect missing_model 1 "cannot open" --model "$work/none.m2u" --out "$work/bad.m2u" "$work/frames"
[[ "$(sha256sum "$model" | cut -d' ' -f1)" == "$before" ]] || fail "the model file changed"

echo "calibrate cli: $failures failed"
[[ $failures -eq 0 ]]
