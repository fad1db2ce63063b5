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
printf 'P5\n4 4\n255\n0123456789abcdef' > "$work/tiny.pgm"
expect size_mismatch 1 "1000 bytes, but 40x30 mono8 with stride 40 and offset 0 needs 1200 bytes" -- \
  --format mono8 --width 40 --height 30 "$work/short.raw"
expect size_mismatch_mono12p 1 "needs 1800 bytes" -- --format mono12p --width 40 --height 30 "$work/short.raw"
expect zero_width 2 "--width 0: expected an integer in 1..65535" -- --format mono8 --width 0 --height 30 "$work/short.raw"
expect absurd_height 2 "--height 100000: expected an integer in 1..65535" -- \
  --format mono8 --width 40 --height 100000 "$work/short.raw"
expect height_65536 2 "--height 65536: expected an integer in 1..65535" -- \
  --format mono8 --width 40 --height 65536 "$work/short.raw"
expect stride_too_small 1 "--stride 20 is smaller than a mono16 row of 40 pixels (80 bytes)" -- \
  --format mono16 --width 40 --height 30 --stride 20 "$work/short.raw"
printf '\xff\xff%.0s' $(seq 1 1200) > "$work/not12bit.raw"
expect not_12_bit 1 "is 65535, more than 12 bits" -- --format mono12 --width 40 --height 30 "$work/not12bit.raw"
expect precision_bf16 2 "--precision bf16: expected fp32, fp16 or int8" -- --precision bf16 "$work/short.raw"
expect int8_uncalibrated 1 "calibrate it first, e.g. m2u_calibrate --model" -- --precision int8 "$work/tiny.pgm"
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
expect tile_too_small 2 "--overlap 24 leaves less than 16 pixels of a 48-pixel tile" -- \
  --tile 48 --overlap 24 "$work/garbage.png"
expect overlap_without_tile 2 "--overlap and --tile-statistics go with --tile" -- --overlap 200 "$work/garbage.png"
mkdir -p "$work/model_dir"
expect model_is_directory 1 "$work/model_dir: cannot open: it is a directory" -- --model "$work/model_dir" "$work/garbage.png"
expect tiny_threshold 2 "--threshold 1e-300: expected a number in (0, 1) that is not 0 or 1 as a float" -- \
  --threshold 1e-300 "$work/garbage.png"
expect otsu_and_threshold 2 "--otsu and --threshold exclude each other" -- --otsu --threshold 0.4 "$work/garbage.png"

# A binary PGM cut short: stb_image would fill the missing rows.
printf 'P5\n# a comment\n40 30\n255\n' > "$work/truncated.pgm"
head -c 1000 /dev/zero >> "$work/truncated.pgm"
expect truncated_pgm 1 "truncated.pgm: truncated: 1000 bytes of pixel data, a 40x30 8-bit PGM needs 1200" -- \
  "$work/truncated.pgm"
# A PNG whose header claims 100000 x 100000 pixels.
printf '\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x01\x86\xa0\x00\x01\x86\xa0\x08\x00\x00\x00\x00' > "$work/huge.png"
expect huge_png 1 "huge.png: a 100000x100000 image is larger than 65535 pixels a side" -- "$work/huge.png"
# Two inputs with one stem would overwrite each other's outputs.
mkdir -p "$work/a" "$work/b"
printf 'P5\n4 4\n255\n0123456789abcdef' > "$work/a/x.pgm"
cp "$work/a/x.pgm" "$work/b/x.pgm"
expect same_stem 2 "$work/a/x.pgm and $work/b/x.pgm would both write" -- "$work/a/x.pgm" "$work/b/x.pgm"
expect same_stem_suffix 2 "would both write" -- "$work/a/x.pgm" "$work/garbage.png" "$work/a/x.png"
# All-zero flat fields are not flat fields.
head -c 2400 /dev/zero > "$work/flat_zero.raw"
head -c 2400 /dev/urandom > "$work/left_ok.raw"
expect zero_flat 1 "left flat field: every one of its 1200 pixels is 0" -- --format mono16 --width 40 --height 30 \
  --dpc "$work/left_ok.raw" "$work/left_ok.raw" --flat "$work/flat_zero.raw" "$work/flat_zero.raw"

# An empty directory among the inputs fails as one input: the others run,
# the end says how many failed, the exit status is 1.
check_batch() {
  local out="$work/out_batch" problems=""
  mkdir -p "$work/empty_dir" "$out"
  "$infer" --model "$model" --out "$out" "$work/a/x.pgm" "$work/empty_dir" >/dev/null 2>"$work/batch.stderr"
  local status=$?
  [[ $status -eq 1 ]] || problems+=" exit status $status (expected 1)"
  grep -qF "empty_dir: no images" "$work/batch.stderr" || problems+=" no message for the empty directory"
  grep -qF "1 of 2 input(s) failed" "$work/batch.stderr" || problems+=" no failure count"
  [[ -f "$out/x.json" && -f "$out/x_mask.png" ]] || problems+=" the good input was not run"
  if [[ -n "$problems" ]]; then
    echo "FAIL empty_directory_in_batch:$problems"; sed 's/^/    /' "$work/batch.stderr"; failures=$((failures + 1))
  else
    echo "ok   empty_directory_in_batch: $(tail -1 "$work/batch.stderr")"; passed=$((passed + 1))
  fi
}
check_batch

# Temporaries left by a killed run (of a process that no longer exists) are
# removed by the next run; a live process's are not.
check_stale() {
  local out="$work/out_stale" problems="" dead
  mkdir -p "$out"
  dead=$(sh -c 'echo $$')
  : > "$out/.x_mask.png.tmp.$dead"
  : > "$out/.x_mask.png.tmp.$$"
  "$infer" --model "$model" --out "$out" "$work/a/x.pgm" >/dev/null 2>"$work/stale.stderr" || problems+=" run failed"
  [[ ! -e "$out/.x_mask.png.tmp.$dead" ]] || problems+=" the dead process's temporary is still there"
  [[ -e "$out/.x_mask.png.tmp.$$" ]] || problems+=" a live process's temporary was removed"
  grep -qF "removed 1 temporary file(s) of an interrupted run" "$work/stale.stderr" || problems+=" not reported"
  if [[ -n "$problems" ]]; then
    echo "FAIL stale_temporaries:$problems"; sed 's/^/    /' "$work/stale.stderr"; failures=$((failures + 1))
  else
    echo "ok   stale_temporaries: $(head -1 "$work/stale.stderr")"; passed=$((passed + 1))
  fi
}
check_stale

echo "bad inputs: $passed passed, $failures failed"
[[ $failures -eq 0 ]]
