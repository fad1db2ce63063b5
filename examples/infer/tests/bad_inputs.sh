#!/usr/bin/env bash
# bad_inputs.sh - m2u_infer refuses each bad input with a one-line message
# naming the file and the numbers, exits non-zero, and writes nothing.
# Usage: bad_inputs.sh M2U_INFER MODEL WORK_DIR
set -uo pipefail
infer="$1" model="$2" work="$3"
rm -rf "$work" && mkdir -p "$work"
failures=0
passed=0

# expect NAME STATUS PATTERN -- ARGS...: runs m2u_infer with --out $work/NAME.
expect() {
  local name="$1" want_status="$2" pattern="$3"
  shift 4
  local out="$work/out_$name"
  mkdir -p "$out"
  local stderr_file="$work/$name.stderr"
  "$infer" --model "$model" --out "$out" "$@" >/dev/null 2>"$stderr_file"
  local status=$?
  local problems=""
  [[ $status -eq $want_status ]] || problems+=" exit status $status (expected $want_status)"
  grep -qF -- "$pattern" "$stderr_file" || problems+=" message lacks '$pattern'"
  [[ -z "$(ls -A "$out")" ]] || problems+=" wrote: $(ls -A "$out" | tr '\n' ' ')"
  if [[ -n "$problems" ]]; then
    echo "FAIL $name:$problems"; sed 's/^/    /' "$stderr_file"
    failures=$((failures + 1))
  else
    echo "ok   $name: $(head -1 "$stderr_file")"
    passed=$((passed + 1))
  fi
}

head -c 1000 /dev/urandom > "$work/short.raw"
expect size_mismatch 1 "1000 bytes, but 40x30 mono8 with stride 40 and offset 0 needs 1200 bytes" -- \
  --format mono8 --width 40 --height 30 "$work/short.raw"
expect size_mismatch_mono12p 1 "needs 1800 bytes" -- --format mono12p --width 40 --height 30 "$work/short.raw"
expect zero_width 2 "--width 0: expected an integer in 1..65536" -- --format mono8 --width 0 --height 30 "$work/short.raw"
expect absurd_height 2 "--height 100000: expected an integer in 1..65536" -- \
  --format mono8 --width 40 --height 100000 "$work/short.raw"
expect stride_too_small 1 "--stride 20 is smaller than a mono16 row of 40 pixels (80 bytes)" -- \
  --format mono16 --width 40 --height 30 --stride 20 "$work/short.raw"
printf '\xff\xff%.0s' $(seq 1 1200) > "$work/not12bit.raw"
expect not_12_bit 1 "is 65535, more than 12 bits" -- --format mono12 --width 40 --height 30 "$work/not12bit.raw"
expect missing_file 1 "$work/nothing.png: No such file or directory" -- "$work/nothing.png"
printf 'not an image at all' > "$work/garbage.png"
expect unreadable_image 1 "$work/garbage.png: not a readable PNG, BMP or PGM image" -- "$work/garbage.png"
printf '\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x40\x00\x00\x00\x40\x08\x00\x00\x00\x00' > "$work/truncated.png"
expect truncated_image 1 "$work/truncated.png: cannot decode the image" -- "$work/truncated.png"
: > "$work/empty.raw"
expect empty_file 1 "$work/empty.raw: empty" -- --format mono8 --width 4 --height 4 "$work/empty.raw"
head -c 2400 /dev/zero > "$work/left.raw"
head -c 1200 /dev/zero > "$work/right_small.raw"
expect dpc_sizes 1 "right_small.raw: 1200 bytes, but 40x30 mono16" -- \
  --format mono16 --width 40 --height 30 --dpc "$work/left.raw" "$work/right_small.raw"
truncate -s 268435456 "$work/huge.raw"
expect too_large 1 "out of memory" -- --format mono8 --width 16384 --height 16384 "$work/huge.raw"
rm -f "$work/huge.raw"
expect bad_tile 2 "--tile 100 must be a positive multiple of 16" -- --tile 100 "$work/garbage.png"
expect bad_model 1 "not an .m2u weights file" -- --model "$work/short.raw" "$work/garbage.png"

echo "bad inputs: $passed passed, $failures failed"
[[ $failures -eq 0 ]]
