#!/usr/bin/env bash
# run_device_suite.sh - everything m2urt can only check on a real GPU, in
# one call, into one report (F7): builds the cuda flavour for the GPU it
# finds (sm_53 and newer), runs every ctest test on it (kernels against
# their CPU references, the engine against the fixtures, real data, FP16 and
# INT8 accuracy, the trainer's gradients, the CLIs), compute-sanitizer's
# memcheck over every kernel suite and racecheck / synccheck / initcheck
# over the shared-memory kernels' suites, the whole network's output on the
# real image against the emulation's, m2u_bench's end-to-end medians
# per precision (with and without CUDA graphs) at 512x512 and 3000x3000
# beside the work model's figures, the slowest launches per precision
# measured with events (--per-launch), and bench_kernels: every kernel and
# variant validated then timed, beside cuDNN and cuBLAS.
#
# Usage: bash tests/gpu/run_device_suite.sh [OUT_DIR]   (default build/device_suite)
# Writes OUT_DIR/device_suite_report.md and the logs beside it (ctest.log,
# sanitizer.log, emu_build.log, compare.log, bench.json, per_launch_*.json, bench_kernels.json). Needs
# nvcc, cmake, ninja, nvidia-smi and compute-sanitizer on PATH or under
# /usr/local/cuda; doctest, stb, Google Benchmark and the real data from
# build/device_deps when the machine has no Debian packages
# and no ../shared (tests/gpu/prepare_device_deps.sh gathers them; no
# downloads). Budget: under 8 minutes on a 16-core machine (not yet
# measured: it has never run on a GPU); each stage has its own time limit
# and the report says what was cut. Exit status 0 when every test and check
# passed.
#
# The device's whole-network output on the real image is compared with the
# emulation's (an emu build of m2u_infer made here; FP32, FP16 and INT8).
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${1:-$ROOT/build/device_suite}"
DEPS="$ROOT/build/device_deps"
BUILD="$ROOT/build/gpu"
JOBS="$(nproc)"
START=$(date +%s)
mkdir -p "$OUT"
REPORT="$OUT/device_suite_report.md"
failures=0
say() { echo "device_suite: $*"; }
elapsed() { echo $(($(date +%s) - START)); }
export PATH="$PATH:/usr/local/cuda/bin"

{
  echo "# m2urt device suite"
  echo
  echo "Measured on the GPU named below: not a Jetson unless it says so."
  echo
} >"$REPORT"

# ---- the GPU and the tools
for tool in nvcc cmake ninja nvidia-smi; do
  command -v "$tool" >/dev/null || { say "no $tool on PATH"; echo "FAILED: no $tool" >>"$REPORT"; exit 1; }
done
gpu="$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
capability="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d ' ')"
arch="${capability/./}"
if [[ ! "$arch" =~ ^[0-9]+$ ]] || ((arch < 53)); then
  say "compute capability '$capability' is not sm_53 or newer"
  echo "FAILED: compute capability '$capability'" >>"$REPORT"
  exit 1
fi
{
  echo "- GPU: $gpu, compute capability $capability"
  echo "- nvcc: $(nvcc --version | tail -1)"
  echo "- commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
} >>"$REPORT"

# ---- dependencies: the machine's own, else build/device_deps
SHARED_DATA="$ROOT/../shared/data"
[[ -d "$SHARED_DATA" ]] || SHARED_DATA="$DEPS/shared/data"
PYTHON="$(command -v python3 || echo /usr/bin/python3)"
cmake_args=(-DM2U_FLAVOUR=cuda -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CUDA_ARCHITECTURES="$arch"
            -DCMAKE_CUDA_COMPILER="$(command -v nvcc)" -DM2U_BUILD_BENCH=OFF -DM2U_PYTHON="$PYTHON"
            -DM2U_SHARED_DATA="$SHARED_DATA")
[[ -d "$DEPS" ]] && cmake_args+=(-DCMAKE_PREFIX_PATH="$DEPS")
echo "- real data: $([[ -f "$SHARED_DATA/m2unet_rbc_1ch.pth" ]] && echo "$SHARED_DATA" || echo "absent: those tests skip")" >>"$REPORT"

# ---- build
say "building the cuda flavour for sm_$arch in ${BUILD#$ROOT/}"
build_start=$(date +%s)
if ! cmake -S "$ROOT" -B "$BUILD" -G Ninja "${cmake_args[@]}" >"$OUT/build.log" 2>&1 ||
   ! cmake --build "$BUILD" -j "$JOBS" >>"$OUT/build.log" 2>&1; then
  tail -30 "$OUT/build.log"
  echo "FAILED: the build (build.log)" >>"$REPORT"
  exit 1
fi
echo "- build: $(($(date +%s) - build_start)) s with $JOBS jobs" >>"$REPORT"

# ---- every test on the device
say "ctest ($(elapsed) s so far)"
(cd "$BUILD" && timeout 240 ctest -j 8 --timeout 200 --output-on-failure) >"$OUT/ctest.log" 2>&1
ctest_status=$?
summary="$(grep -E "tests passed, [0-9]+ tests? failed out of" "$OUT/ctest.log" | tail -1)"
{
  echo
  echo "## Tests on the device"
  echo
  echo "${summary:-ctest gave no summary (exit $ctest_status; timed out at 240 s?)}"
  grep -E "^\s+[0-9]+ - .* \((Failed|Timeout|SEGFAULT|Subprocess aborted|Not Run)\)" "$OUT/ctest.log" | sed 's/^/    /'
  # The accuracy figures the tests print.
  grep -hE "IoU|max \|dp\||worst relative error|fused vs unfused" "$OUT/ctest.log" | head -40 | sed 's/^[0-9]*: //; s/^/    /'
} >>"$REPORT"
((ctest_status == 0)) || failures=$((failures + 1))

# ---- compute-sanitizer over the kernel suites (reduced cases, as under
# the simulator), until its time budget is spent
SANITIZER="$(command -v compute-sanitizer || true)"
{
  echo
  echo "## compute-sanitizer"
  echo
} >>"$REPORT"
: >"$OUT/sanitizer.log"
if [[ -z "$SANITIZER" ]]; then
  echo "not run: no compute-sanitizer" >>"$REPORT"
else
  shared_memory_suites=(pointwise_conv pointwise_conv_fp16 pointwise_conv_int8 inverted_residual_fused
                        inverted_residual_fused_head conv_stem
                        mask_kernels depthwise_conv depthwise_conv_int8 upsample_bilinear)
  checks=()
  for binary in "$BUILD"/tests/kernels/test_kernel_*; do checks+=("memcheck|$binary"); done
  for suite in "${shared_memory_suites[@]}"; do
    for tool in racecheck synccheck initcheck; do checks+=("$tool|$BUILD/tests/kernels/test_kernel_$suite"); done
  done
  sanitizer_deadline=$(($(date +%s) + 150))
  ran=0 clean=0 dirty=0 skipped=0
  for check in "${checks[@]}"; do
    tool="${check%%|*}" binary="${check#*|}"
    if (($(date +%s) >= sanitizer_deadline)) || [[ ! -x "$binary" ]]; then skipped=$((skipped + 1)); continue; fi
    ran=$((ran + 1))
    if M2U_UNDER_SIMULATOR=1 timeout 60 "$SANITIZER" --tool "$tool" --error-exitcode 97 "$binary" \
         >>"$OUT/sanitizer.log" 2>&1; then
      clean=$((clean + 1))
    else
      dirty=$((dirty + 1))
      echo "- $tool $(basename "$binary"): FAILED (sanitizer.log)" >>"$REPORT"
    fi
  done
  echo "$ran runs ($clean clean, $dirty with errors or timeouts), $skipped not run (the 150 s budget)" >>"$REPORT"
  ((dirty == 0)) || failures=$((failures + 1))
fi

# ---- the device's whole-network output against the emulation's: the real
# model on the real 1024x1024 image through this build's m2u_infer and an
# emu build's (m2u_infer only, blocks on every core), per precision; INT8
# with one calibration (this build's m2u_calibrate) for both. Bounds: FP32
# 1e-4 (the device contracts multiply-adds to FMA, the emulation's host
# code does not), FP16 1e-2 and mask IoU 0.999 (F5's bar: a float rounding
# difference can move a half rounding), INT8 2e-2 and IoU 0.99 (one
# rounding step of an int8 activation). Budget: the emu build up to 150 s
# (about a minute on 16 cores), then 120 s for the runs; cases past it are
# cut, and the report says so.
say "device against emulation ($(elapsed) s so far)"
{
  echo
  echo "## The whole network on the device against the emulation (real model, real 1024x1024 image)"
  echo
} >>"$REPORT"
compare_model="$BUILD/tests/real_goldens/m2unet_rbc_1ch.m2u"
compare_frame="$SHARED_DATA/octopi_dpc_rbc_1024.png"
COMPARE="$OUT/compare"
EMU_BUILD="$ROOT/build/gpu-emu"
emu_args=(-DM2U_FLAVOUR=emu -DCMAKE_BUILD_TYPE=RelWithDebInfo -DM2U_BUILD_TESTS=OFF -DM2U_BUILD_BENCH=OFF)
[[ -d "$DEPS" ]] && emu_args+=(-DCMAKE_PREFIX_PATH="$DEPS")
if [[ ! -f "$compare_model" || ! -f "$compare_frame" ]]; then
  echo "Not run: the real model (converted by the real_goldens test) or image is absent." >>"$REPORT"
elif ! cmake -S "$ROOT" -B "$EMU_BUILD" -G Ninja "${emu_args[@]}" >"$OUT/emu_build.log" 2>&1 ||
     ! timeout 150 cmake --build "$EMU_BUILD" -j "$JOBS" --target m2u_infer >>"$OUT/emu_build.log" 2>&1; then
  echo "FAILED: the emu build (emu_build.log)" >>"$REPORT"
  failures=$((failures + 1))
else
  compare_deadline=$(($(date +%s) + 120))
  rm -rf "$COMPARE" && mkdir -p "$COMPARE"
  int8_real="$COMPARE/m2unet_rbc_1ch_int8.m2u"
  "$BUILD/examples/calibrate/m2u_calibrate" --model "$compare_model" --out "$int8_real" "$compare_frame" \
    >"$OUT/compare.log" 2>&1 || rm -f "$int8_real"
  stem="$(basename "${compare_frame%.*}")"
  for case in "fp32 1e-4 0.9999" "fp16 1e-2 0.999" "int8 2e-2 0.99"; do
    read -r precision max_abs min_iou <<<"$case"
    left=$((compare_deadline - $(date +%s)))
    if ((left < 10)); then
      echo "- $precision: cut, the stage's 120 s were spent" >>"$REPORT"
      continue
    fi
    model="$compare_model"
    if [[ "$precision" == int8 ]]; then
      [[ -f "$int8_real" ]] || { echo "- FAILED: int8: the calibration (compare.log)" >>"$REPORT"
                                 failures=$((failures + 1)); continue; }
      model="$int8_real"
    fi
    for side in device emulation; do
      infer="$BUILD/examples/infer/m2u_infer"
      [[ "$side" == emulation ]] && infer="$EMU_BUILD/examples/infer/m2u_infer"
      M2U_EMU_BLOCK_THREADS="$JOBS" timeout "$left" "$infer" --model "$model" --out "$COMPARE/${side}_$precision" \
        --raw-output --quiet --precision "$precision" "$compare_frame" >>"$OUT/compare.log" 2>&1 ||
        echo "$precision: m2u_infer failed or timed out on the $side" >>"$OUT/compare.log"
    done
    if line="$("$PYTHON" "$ROOT/tests/gpu/compare_outputs.py" "$precision" \
                 "$COMPARE/emulation_$precision/${stem}_probability.f32" \
                 "$COMPARE/device_$precision/${stem}_probability.f32" --max-abs "$max_abs" --min-iou "$min_iou")"; then
      echo "- $line" >>"$REPORT"
    else
      echo "- FAILED: ${line:-$precision: no output} (compare.log)" >>"$REPORT"
      failures=$((failures + 1))
    fi
  done
fi

# ---- end-to-end medians beside the model
BENCH="$BUILD/examples/bench/m2u_bench"
MODEL="$ROOT/weights/m2unet_synthetic_1ch.m2u"
{
  echo
  echo "## End to end (m2u_bench --measure; host frame in, probabilities out)"
  echo
  echo "| size | precision | launches | DRAM (model) | modeled on the Nano (graph: 2 us a launch) | measured here, median |"
  echo "|---|---|---:|---:|---:|---:|"
} >>"$REPORT"
int8_model="$OUT/int8_model.m2u"
if [[ -f "$SHARED_DATA/octopi_dpc_rbc_1024.png" ]]; then
  "$BUILD/examples/calibrate/m2u_calibrate" --model "$MODEL" --out "$int8_model" "$SHARED_DATA/octopi_dpc_rbc_1024.png" \
    >>"$OUT/build.log" 2>&1 || rm -f "$int8_model"
fi
echo "[" >"$OUT/bench.json"
first=1
for size in 512x512 3000x3000; do
  for variant in fp32 fp32-graph fp16 fp16-graph int8 fp32-fused fp16-fused fp16-fused-graph; do
    args=(--model "$MODEL" --size "$size" --json --measure 20 --warmup 5)
    case "$variant" in
      fp16) args+=(--precision fp16) ;;
      fp32-graph) args+=(--cuda-graph) ;;
      fp16-graph) args+=(--precision fp16 --cuda-graph) ;;
      int8) [[ -f "$int8_model" ]] || continue; args=(--model "$int8_model" --size "$size" --json --measure 20
                                                      --warmup 5 --precision int8) ;;
      fp32-fused) args+=(--fuse-blocks) ;;
      fp16-fused) args+=(--precision fp16 --fuse-blocks) ;;
      fp16-fused-graph) args+=(--precision fp16 --fuse-blocks --cuda-graph) ;;
    esac
    if json="$(timeout 60 "$BENCH" "${args[@]}" 2>>"$OUT/build.log")"; then
      ((first)) || echo "," >>"$OUT/bench.json"
      first=0
      echo "$json" >>"$OUT/bench.json"
      "$PYTHON" - "$size" "$variant" "$json" >>"$REPORT" <<'PY'
import json, sys
size, variant, j = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
t, m = j["totals"], j["measured"]
modeled = t["modeled_graph_ms"] if m["cuda_graph"] else t["modeled_ms"]
print("| %s | %s | %d | %.1f MB | %.2f ms | %.3f ms |" % (size, variant, t["launches"], t["dram_mb"], modeled,
                                                      m["median_ms"]))
PY
    else
      echo "| $size | $variant | | | | FAILED (build.log) |" >>"$REPORT"
      failures=$((failures + 1))
    fi
  done
done
echo "]" >>"$OUT/bench.json"

# ---- per launch: CUDA events between the layers, beside each row's model
{
  echo
  echo "## Per launch, 512x512 (m2u_bench --per-launch: median of 20 runs; the 12 slowest rows)"
  echo
  echo "| precision | layer | kernel | MB | modeled on the Nano, us | measured here, us |"
  echo "|---|---|---|---:|---:|---:|"
} >>"$REPORT"
for precision in fp32 fp16; do
  if json="$(timeout 60 "$BENCH" --model "$MODEL" --precision "$precision" --json --measure 20 --warmup 5 \
             --per-launch 2>>"$OUT/build.log")"; then
    echo "$json" >"$OUT/per_launch_$precision.json"
    "$PYTHON" - "$precision" "$json" >>"$REPORT" <<'PY'
import json, sys
precision, j = sys.argv[1], json.loads(sys.argv[2])
rows = sorted(j["launches"], key=lambda r: -(r["measured_us"] or 0))[:12]
for r in rows:
    print("| %s | %s | %s | %.2f | %.1f | %.1f |" % (precision, r["layer"] or "-", r["kernel"],
          (r["bytes_read"] + r["bytes_written"]) / 1e6, r["modeled_us"], r["measured_us"]))
PY
  else
    echo "| $precision | | | | | FAILED (build.log) |" >>"$REPORT"
    failures=$((failures + 1))
  fi
done

# ---- kernels against their rivals (bench/kernels: validated, then timed)
# Google Benchmark: the machine's own, else build/device_deps' copy of
# Debian's; the build above left it out, this adds the one target.
KBENCH="$BUILD/bench/bench_kernels"
{
  echo
  echo "## Kernels and rivals (bench_kernels: each validated against the CPU reference first)"
  echo
} >>"$REPORT"
if ! cmake -S "$ROOT" -B "$BUILD" -DM2U_BUILD_BENCH=ON >"$OUT/bench_build.log" 2>&1 ||
   ! cmake --build "$BUILD" -j "$JOBS" --target bench_kernels >>"$OUT/bench_build.log" 2>&1; then
  echo "FAILED: building bench_kernels (bench_build.log)" >>"$REPORT"
  failures=$((failures + 1))
elif timeout 120 "$KBENCH" --benchmark_min_time=0.05 --benchmark_out="$OUT/bench_kernels.json" \
     --benchmark_out_format=json >"$OUT/bench_kernels.txt" 2>&1 && ! grep -q "ERROR OCCURRED" "$OUT/bench_kernels.txt"; then
  { echo '```'; grep -E "^(pointwise|depthwise|fused|upsample|rival)/" "$OUT/bench_kernels.txt"; echo '```'; } >>"$REPORT"
else
  { echo "FAILED: bench_kernels (a check or a run; bench_kernels.txt):"; echo '```'; tail -20 "$OUT/bench_kernels.txt"
    echo '```'; } >>"$REPORT"
  failures=$((failures + 1))
fi

{
  echo
  echo "Finished in $(elapsed) s: $( ((failures == 0)) && echo "all passed" || echo "$failures stage(s) FAILED")."
} >>"$REPORT"
cat "$REPORT"
((failures == 0))
