#!/usr/bin/env bash
# run_sim_tests.sh - every kernel's test suite executed by GPGPU-Sim on the
# Jetson Nano approximation (1 SM, sm_53): nvcc 11.8's own PTX for sm_53 runs
# on a modelled GPU (real warps in lock-step, blocks in parallel, f16x2 as
# the device computes it), checked against the same CPU references as in the
# emulation - the same test sources (tests/kernels/test_*.cpp), a third
# executor beside the emulation and a real GPU - and the whole network once
# (tests/engine: a 37x70 frame, padded to 48x80, against the CPU reference). The tests' shapes are the
# emulation's (already small: at most 2x17x34 pixels, <= 130 channels); in
# the cuda flavour each test runs one schedule instead of eight seeds.
#
# Steps: the CUDA 11.8 tree (tests/cuda118/install_cuda118.sh, cached), the
# simulator (../shared/tools/gpgpu-sim/build.sh, cached in
# $M2U_GPGPUSIM_CACHE, default /var/cache/m2urt-gpgpusim), the cuda flavour
# in build/sim53 (nvcc 11.8, clang++-14 host compiler, shared cudart,
# CMAKE_CUDA_ARCHITECTURES=53: SASS + PTX), then each test_kernel_* binary in
# its own folder holding the simulator's configuration, two at a time.
# Writes build/sim53/sim_kernels.md: per kernel the launches, simulated
# cycles, thread-instructions and global-memory transactions - figures of
# a modelled GPU, not timings of a Jetson.
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
START=$(date +%s)
NVCC118="$(bash "$ROOT/tests/cuda118/install_cuda118.sh" | tail -1)"
USR="$(cd "$(dirname "$NVCC118")/../../.." && pwd)"   # the tree's usr/
SIM="${M2U_GPGPUSIM_CACHE:-/var/cache/m2urt-gpgpusim}"
echo "sim: building the simulator (cached in $SIM)"
bash "$SIM_SOURCE/build.sh" "$USR" "$SIM" >/dev/null
BUILD="$ROOT/build/sim53"
echo "sim: building the kernel tests with nvcc 11.8 for sm_53 in ${BUILD#$ROOT/}"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DM2U_FLAVOUR=cuda -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CUDA_COMPILER="$NVCC118" -DCMAKE_CUDA_HOST_COMPILER=clang++-14 -DCMAKE_CUDA_ARCHITECTURES=53 \
  -DCUDAToolkit_ROOT="$SIM/cuda" -DCUDAToolkit_INCLUDE_DIR="$USR/include" \
  -DCUDA_CUDART="$USR/lib/x86_64-linux-gnu/libcudart.so" -DM2U_BUILD_BENCH=OFF >"$BUILD.configure.log" 2>&1 \
  || { cat "$BUILD.configure.log"; echo "sim: 0 passed, 1 failed"; exit 1; }
mapfile -t tests < <(cd "$ROOT/tests/kernels" && ls test_*.cpp | sed 's/^test_/test_kernel_/; s/\.cpp$//')
cmake --build "$BUILD" -j "$JOBS" --target "${tests[@]}" test_engine >"$BUILD.build.log" 2>&1 \
  || { tail -40 "$BUILD.build.log"; echo "sim: 0 passed, 1 failed"; exit 1; }
# Each run: NAME|BINARY|ARGUMENTS: the whole network once (the engine test
# with the frame and the result in device memory: the simulator does not
# implement cudaMemcpy2DAsync, which host staging uses), then the kernel
# suites, longest first so that the two lanes finish together.
runs=("engine_device_37x70|$BUILD/tests/engine/test_engine|--test-case=the whole network on device memory*")
longest=(test_kernel_pointwise_conv test_kernel_depthwise_conv test_kernel_mask_kernels test_kernel_conv_stem)
for test in "${longest[@]}" $(printf '%s\n' "${tests[@]}" | grep -vxF "$(printf '%s\n' "${longest[@]}")"); do
  runs+=("$test|$BUILD/tests/kernels/$test|")
done

# Each test in its own folder with the Nano configuration; the simulator's
# settings (env.sh) put its libcudart.so.11.0 first on LD_LIBRARY_PATH.
RUNS="$BUILD/sim_runs"
rm -rf "$RUNS"
mkdir -p "$RUNS"
names=()
for run in "${runs[@]}"; do
  name="${run%%|*}"
  names+=("$name")
  mkdir -p "$RUNS/$name"
  cp "$SIM_SOURCE/configs/JetsonNano_approx/"* "$RUNS/$name/"
done
export RUNS SIM
run_one() {
  local name binary arguments status=0 start
  IFS='|' read -r name binary arguments <<<"$1"
  start=$(date +%s)
  # shellcheck disable=SC1091
  source "$SIM/env.sh"
  (cd "$RUNS/$name" && "$binary" ${arguments:+"$arguments"} >"$RUNS/$name/log.txt" 2>&1) || status=$?
  echo "$status" >"$RUNS/$name/status"
  echo "sim: $name: $( ((status == 0)) && echo passed || echo "FAILED (exit $status)") in $(($(date +%s) - start)) s"
}
export -f run_one
printf '%s\n' "${runs[@]}" | xargs -P "$JOBS" -d '\n' -I{} bash -c 'run_one "$1"' _ {}

passed=0 failed=0
for test in "${names[@]}"; do
  if [[ "$(cat "$RUNS/$test/status")" == 0 ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    grep -E "ERROR|FATAL|CHECK|GPGPU-Sim.*(ERROR|error)" "$RUNS/$test/log.txt" | head -20 || tail -20 "$RUNS/$test/log.txt"
  fi
done
python3 "$ROOT/tests/sim/sim_kernel_table.py" "$RUNS" >"$BUILD/sim_kernels.md"
cat "$BUILD/sim_kernels.md"
echo "sim: finished in $(($(date +%s) - START)) s"
echo "sim: ${passed} passed, ${failed} failed"
((failed == 0))
