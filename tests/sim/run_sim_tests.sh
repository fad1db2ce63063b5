#!/usr/bin/env bash
# run_sim_tests.sh - every kernel's test suite executed by GPGPU-Sim on the
# Jetson Nano approximation (1 SM, sm_53), and the suites of kernels with an
# sm_61+ path also on the Orin Nano approximation (8 SMs, sm_87): nvcc
# 11.8's own PTX runs on a modelled GPU (real warps in lock-step, blocks in
# parallel, f16x2 and dp4a as the device computes them), checked against
# the same CPU references as in the emulation - the same test sources
# (tests/kernels/test_*.cpp), a third executor beside the emulation and a
# real GPU - and the whole network once on the Nano (tests/engine: a 21x35
# frame, padded to 32x48, against the CPU reference). The tests' shapes are
# the emulation's (already small: at most 2x17x34 pixels, <= 130 channels);
# in the cuda flavour each test runs one schedule instead of eight seeds,
# and under the simulator (M2U_UNDER_SIMULATOR=1) the 2x17x34 cases of the
# 1x1 and depthwise suites run with ReLU6 only, their smaller cases with
# every activation (tests/kernels/kernel_test_support.h).
#
# Steps: the CUDA 11.8 tree (tests/cuda118/install_cuda118.sh, cached), the
# simulator (../shared/tools/gpgpu-sim/build.sh, cached in
# $M2U_GPGPUSIM_CACHE, default /var/cache/m2urt-gpgpusim), the cuda flavour
# (nvcc 11.8, clang++-14 host compiler, shared cudart) in build/sim53
# (CMAKE_CUDA_ARCHITECTURES=53: SASS + PTX; every kernel suite and the
# engine test) and in build/sim87 (=87; only the SM61_SUITES below), then
# each test binary in its own folder holding its configuration, two at a
# time: the sm_53 binaries on the Nano configuration (where those suites
# run their scalar fallbacks), the sm_87 ones on the Orin configuration
# (their dp4a paths). One more check, counted as a run: the PTX rule of
# pointwise_conv_int8.cu that a device_check directive cannot state (dp4a
# in the kNative kernels on sm_61 and sm_87, none in any kernel on sm_53),
# on device_check's PTX from nvcc 11.8 (build/sim87/int8_ptx).
# Writes build/sim53/sim_kernels.md: per configuration and kernel the
# launches, simulated cycles, thread-instructions, global-memory
# transactions and DRAM bytes read and written - figures of modelled GPUs,
# not timings of a Jetson.
# Without ../shared/tools/gpgpu-sim the step is skipped, and says so.
# Ends with "sim: N passed, M failed". Environment: M2U_JOBS (default 2).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
SIM_SOURCE="$ROOT/../shared/tools/gpgpu-sim"
JOBS="${M2U_JOBS:-2}"
if [[ ! -f "$SIM_SOURCE/build.sh" ]]; then
  echo "sim: skipped: $SIM_SOURCE is absent (the GPU simulator's source)"
  echo "sim: 0 passed, 0 failed"
  exit 0
fi
# The kernel suites whose device code differs on sm_61+ (dp4a): also built
# for sm_87 and run on the Orin configuration.
SM61_SUITES=(test_kernel_pointwise_conv_int8 test_kernel_depthwise_conv_int8)
START=$(date +%s)
NVCC118="$(bash "$ROOT/tests/cuda118/install_cuda118.sh" | tail -1)"
USR="$(cd "$(dirname "$NVCC118")/../../.." && pwd)"   # the tree's usr/
SIM="${M2U_GPGPUSIM_CACHE:-/var/cache/m2urt-gpgpusim}"
echo "sim: building the simulator (cached in $SIM)"
bash "$SIM_SOURCE/build.sh" "$USR" "$SIM" >/dev/null

# build_tests ARCH TARGETS...: the cuda flavour for sm_ARCH in build/simARCH.
build_tests() {
  local arch="$1" build="$ROOT/build/sim$1"
  shift
  echo "sim: building ${#@} test targets with nvcc 11.8 for sm_$arch in ${build#$ROOT/}"
  cmake -S "$ROOT" -B "$build" -G Ninja -DM2U_FLAVOUR=cuda -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CUDA_COMPILER="$NVCC118" -DCMAKE_CUDA_HOST_COMPILER=clang++-14 -DCMAKE_CUDA_ARCHITECTURES="$arch" \
    -DCUDAToolkit_ROOT="$SIM/cuda" -DCUDAToolkit_INCLUDE_DIR="$USR/include" \
    -DCUDA_CUDART="$USR/lib/x86_64-linux-gnu/libcudart.so" -DM2U_BUILD_BENCH=OFF -DM2U_LINEINFO=OFF \
    >"$build.configure.log" 2>&1 \
    || { cat "$build.configure.log"; echo "sim: 0 passed, 1 failed"; exit 1; }
  cmake --build "$build" -j "$JOBS" --target "$@" >"$build.build.log" 2>&1 \
    || { tail -40 "$build.build.log"; echo "sim: 0 passed, 1 failed"; exit 1; }
}
mapfile -t tests < <(cd "$ROOT/tests/kernels" && ls test_*.cpp | sed 's/^test_/test_kernel_/; s/\.cpp$//')
build_tests 53 "${tests[@]}" test_engine
build_tests 87 "${SM61_SUITES[@]}"
NANO="$ROOT/build/sim53"
ORIN="$ROOT/build/sim87"

# The dp4a PTX rule (see the header of kernels/pointwise_conv_int8.cu).
ptx_rule_status=0
PTX="$ORIN/int8_ptx"
NVCC="$NVCC118" M2U_DEVICE_CHECK_NVCC_FLAGS="-ccbin clang++-14" bash "$ROOT/.ci/device_check.sh" \
  --arch "53 61 87" --out "$PTX" --quiet "$ROOT/kernels/pointwise_conv_int8.cu" >"$PTX.log" 2>&1 \
  || { cat "$PTX.log"; ptx_rule_status=1; }
for arch in 53 61 87; do
  ((ptx_rule_status == 0)) || break
  # Per entry: its mangled name, whether it is a kNative instantiation
  # (template argument Int8DotPath 0), whether its body has dp4a.
  verdict="$(awk -v arch="$arch" '
    /^(\.visible )?\.entry / { name = $0; sub(/^.*\.entry /, "", name); sub(/\(.*$/, "", name)
                               native = name ~ /Int8DotPathE0E/; has = 0; entries++; natives += native; next }
    /dp4a/ && name != "" { has = 1 }
    /^}/ && name != "" { if (arch == 53 && has) bad = bad " " name " has dp4a;"
                         if (arch != 53 && native && !has) bad = bad " " name " lacks dp4a;"
                         name = "" }
    END { if (entries == 0 || natives == 0) print "no kNative entries"; else if (bad != "") print bad; else print "ok" }
  ' "$PTX/sm_$arch/pointwise_conv_int8.ptx")"
  if [[ "$verdict" != ok ]]; then
    echo "sim: the dp4a PTX rule fails on sm_$arch: $verdict"
    ptx_rule_status=1
  fi
done
echo "sim: dp4a PTX rule (kNative dp4a on sm_61/sm_87, none on sm_53): $( ((ptx_rule_status == 0)) && echo passed || echo FAILED)"

# Each run: DIR|BINARY|ARGUMENTS|CONFIGURATION: the whole network once (the
# engine test with the frame and the result in device memory: the simulator
# does not implement cudaMemcpy2DAsync, which host staging uses), then the
# kernel suites, longest first so that the two lanes finish together; the
# Orin runs after the Nano ones.
NANO_RUNS="$NANO/sim_runs"
ORIN_RUNS="$ORIN/sim_runs"
rm -rf "$NANO_RUNS" "$ORIN_RUNS"
runs=("$NANO_RUNS/engine_device_21x35|$NANO/tests/engine/test_engine|--test-case=the whole network on device memory*|JetsonNano_approx")
longest=(test_kernel_pointwise_conv test_kernel_depthwise_conv test_kernel_mask_kernels test_kernel_conv_stem)
for test in "${longest[@]}" $(printf '%s\n' "${tests[@]}" | grep -vxF "$(printf '%s\n' "${longest[@]}")"); do
  runs+=("$NANO_RUNS/$test|$NANO/tests/kernels/$test||JetsonNano_approx")
done
for test in "${SM61_SUITES[@]}"; do
  runs+=("$ORIN_RUNS/$test|$ORIN/tests/kernels/$test||OrinNano8GB_approx")
done

# Each test in its own folder with its configuration; the simulator's
# settings (env.sh) put its libcudart.so.11.0 first on LD_LIBRARY_PATH.
# Two changes to the shipped configurations, so that a kernel's DRAM bytes at
# the tests' small shapes are those it moves at full size, where no
# activation fits in the 256 KB (Nano) L2: cudaMemcpy does not fill the L2
# (-gpgpu_perf_sim_memcpy 0: a kernel's inputs come from DRAM) and the L2
# writes through (its outputs reach DRAM, as a full-size frame's are
# evicted there). Cycles include that traffic.
dirs=()
for run in "${runs[@]}"; do
  IFS='|' read -r dir _ _ config <<<"$run"
  dirs+=("$dir")
  mkdir -p "$dir"
  cp "$SIM_SOURCE/configs/$config/"* "$dir/"
  sed -i 's/^-gpgpu_perf_sim_memcpy 1$/-gpgpu_perf_sim_memcpy 0/; s/^\(-gpgpu_cache:dl2 S:[0-9:]*,L:\)B:/\1T:/' \
    "$dir/gpgpusim.config"
  grep -q '^-gpgpu_perf_sim_memcpy 0$' "$dir/gpgpusim.config" && grep -q '^-gpgpu_cache:dl2 S:[0-9:]*,L:T:' "$dir/gpgpusim.config" \
    || { echo "sim: $config's gpgpusim.config has no memcpy-fill or write-back L2 line to change"; exit 1; }
done
export SIM
run_one() {
  local dir binary arguments config status=0 start
  IFS='|' read -r dir binary arguments config <<<"$1"
  start=$(date +%s)
  # shellcheck disable=SC1091
  source "$SIM/env.sh"
  (cd "$dir" && M2U_UNDER_SIMULATOR=1 "$binary" ${arguments:+"$arguments"} >"$dir/log.txt" 2>&1) || status=$?
  echo "$status" >"$dir/status"
  echo "sim: ${config%%_*} $(basename "$dir"): $( ((status == 0)) && echo passed || echo "FAILED (exit $status)") in $(($(date +%s) - start)) s"
}
export -f run_one
printf '%s\n' "${runs[@]}" | xargs -P "$JOBS" -d '\n' -I{} bash -c 'run_one "$1"' _ {}

passed=0 failed=0
if ((ptx_rule_status == 0)); then passed=1; else failed=1; fi
for dir in "${dirs[@]}"; do
  if [[ "$(cat "$dir/status")" == 0 ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    grep -E "ERROR|FATAL|CHECK|GPGPU-Sim.*(ERROR|error)" "$dir/log.txt" | head -20 || tail -20 "$dir/log.txt"
  fi
done
python3 "$ROOT/tests/sim/sim_kernel_table.py" "nano=$NANO_RUNS" "orin=$ORIN_RUNS" >"$NANO/sim_kernels.md"
cat "$NANO/sim_kernels.md"
echo "sim: finished in $(($(date +%s) - START)) s"
echo "sim: ${passed} passed, ${failed} failed"
((failed == 0))
