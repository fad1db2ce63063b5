#!/usr/bin/env bash
# run_all.sh - m2urt's one test command (README "Testing"; .ci/run calls it).
#
# On a fresh Debian 12 machine it installs the Debian packages it needs
# (idempotent, silent when nothing is missing), then builds and tests:
#   1. emu flavour                  build/emu        ctest (all suites)
#   1b. README command 1            a fresh clone    exactly as the README prints it
#   2. emu flavour, ASan + UBSan    build/emu-asan   ctest (all suites but the three
#                                                    labelled long + the planted
#                                                    out-of-bounds runs)
#   2b. emu flavour, TSan           build/emu-tsan   emulation self-tests, kernel tests (blocks on
#                                                    two OS threads), planted races in and between blocks
#   3. the .m2u loader fuzzed       build/fuzz       clang libFuzzer + ASan/UBSan, 60 s
#   4. cuda flavour (if nvcc)       build/cuda       compile + link everything
#                                                    for sm_75/sm_87, ctest -L static
#                                                    (device check + its self-test)
#   5. CUDA 11.8 (private tree)     build/device_check_cuda118  every kernel for
#                                                    sm_53/61/72, device-check rules,
#                                                    no CUDA 10.2 gaps
#   6. GPU simulator                build/sim53      kernel tests under GPGPU-Sim
#                                   build/sim87      (Jetson Nano config, sm_53 PTX; the
#                                                    INT8 suites also on the Orin config, sm_87)
# Kernel tests that need a GPU (label "gpu") run only where one is present.
# Exits non-zero on the first failing step; ends with a summary line.
#
# Environment: M2U_JOBS (parallel jobs, default nproc), M2U_SKIP_ASAN=1,
# M2U_SKIP_TSAN=1, M2U_SKIP_CUDA=1, M2U_SKIP_DEMO=1, M2U_SKIP_CUDA118=1, M2U_SKIP_SIM=1, M2U_FUZZ_SECONDS=N (0 skips) to change or leave out a step
# (the summary says so).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
JOBS="${M2U_JOBS:-$(nproc)}"
START=$(date +%s)

# ---------------------------------------------------------------------------
# 0. Debian packages (idempotent; silent when nothing is missing)
# ---------------------------------------------------------------------------
bash "$ROOT/tests/install_packages.sh"

NVCC="$(command -v nvcc || true)"
[[ -z "$NVCC" && -x /usr/local/cuda/bin/nvcc ]] && NVCC=/usr/local/cuda/bin/nvcc

TOTAL_PASSED=0
TOTAL_FAILED=0
NOTES=()

# run_ctest BUILD_DIR [ctest args...]: runs ctest, adds its counts to the totals.
run_ctest() {
  local dir="$1"; shift
  local log="$dir/ctest.log" status=0
  (cd "$dir" && ctest --output-on-failure -j "$JOBS" "$@") 2>&1 | tee "$log" || status=$?
  local line passed_pct total failed
  line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$log" | tail -1 || true)
  if [[ -n "$line" ]]; then
    failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
    total=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
    TOTAL_PASSED=$((TOTAL_PASSED + total - failed))
    TOTAL_FAILED=$((TOTAL_FAILED + failed))
  fi
  if ((status != 0)); then
    echo "run_all: ctest failed in $dir"
    echo "run_all: ${TOTAL_PASSED} passed, ${TOTAL_FAILED} failed"
    exit 1
  fi
}

# build FLAVOUR_DIR cmake-args... [-- targets...]
build() {
  local dir="$ROOT/build/$1"; shift
  local args=() targets=()
  while (($#)); do
    if [[ "$1" == "--" ]]; then shift; targets=("$@"); break; fi
    args+=("$1"); shift
  done
  set -- "${args[@]}"
  cmake -S "$ROOT" -B "$dir" -G Ninja "$@" >"$ROOT/build/$(basename "$dir").configure.log" 2>&1 \
    || { cat "$ROOT/build/$(basename "$dir").configure.log"; exit 1; }
  # Show warnings and errors, not the progress lines.
  local status
  set +e
  cmake --build "$dir" -j "$JOBS" ${targets[@]+--target "${targets[@]}"} 2>&1 | grep -vE "^\[[0-9]+/[0-9]+\] "
  status=${PIPESTATUS[0]}
  set -e
  ((status == 0)) || { echo "run_all: build failed in $dir"; exit 1; }
}
mkdir -p "$ROOT/build"
# Each step's banner carries the seconds since the start (CI's time per step).
banner() { echo "== $* [at $(($(date +%s) - START)) s]"; }

# ---------------------------------------------------------------------------
# 1. emu flavour
# ---------------------------------------------------------------------------
banner "emu flavour (build/emu)"
build emu -DM2U_FLAVOUR=emu
run_ctest "$ROOT/build/emu"

# ---------------------------------------------------------------------------
# 1b. README command 1, exactly as printed, in a fresh clone of this commit
#     (a newcomer's tree: no build/, nothing but what is committed)
# ---------------------------------------------------------------------------
if [[ "${M2U_SKIP_DEMO:-0}" == 1 ]]; then
  NOTES+=("fresh-clone demo skipped (M2U_SKIP_DEMO=1)")
elif ! git -C "$ROOT" rev-parse --verify -q HEAD >/dev/null; then
  NOTES+=("fresh-clone demo skipped: $ROOT is not a git checkout")
else
  banner "README command 1 in a fresh clone of $(git -C "$ROOT" rev-parse --short HEAD)"
  demo_clone="$(mktemp -d "${TMPDIR:-/tmp}/m2urt-demo.XXXXXX")"
  git clone --quiet --no-hardlinks "$ROOT" "$demo_clone/m2urt"
  command_1="$(awk '/^## Try it/{f=1} f && /^```sh/{getline; print; exit}' "$ROOT/README.md")"
  echo "run_all: README command 1: $command_1"
  if (cd "$demo_clone/m2urt" && env -u M2U_FLAVOUR bash -c "$command_1") >"$ROOT/build/demo-clone.log" 2>&1; then
    tail -3 "$ROOT/build/demo-clone.log"
    TOTAL_PASSED=$((TOTAL_PASSED + 1))
    rm -rf "$demo_clone"
  else
    tail -40 "$ROOT/build/demo-clone.log"
    echo "run_all: README command 1 failed in a fresh clone ($demo_clone/m2urt)"
    echo "run_all: ${TOTAL_PASSED} passed, $((TOTAL_FAILED + 1)) failed"
    exit 1
  fi
fi

# ---------------------------------------------------------------------------
# 2. emu flavour under AddressSanitizer + UndefinedBehaviorSanitizer
# ---------------------------------------------------------------------------
if [[ "${M2U_SKIP_ASAN:-0}" == 1 ]]; then
  NOTES+=("emu+ASan/UBSan skipped (M2U_SKIP_ASAN=1)")
else
  banner "emu flavour with ASan + UBSan (build/emu-asan)"
  build emu-asan -DM2U_FLAVOUR=emu -DM2U_SANITIZE=address,undefined -DM2U_BUILD_BENCH=OFF
  # The three long real-image runs (label "long": the 1024x1024 INT8
  # calibration, the real-image agreement, the FP16 firmware example) run
  # in step 1 only: their code paths run under ASan at small frames in the
  # other suites, and they would take most of this step.
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=0" run_ctest "$ROOT/build/emu-asan" -LE long
  NOTES+=("emu+ASan/UBSan: the tests labelled long (real-image INT8 calibration, real-image agreement, FP16 firmware example) ran in the emu step only")
fi

# ---------------------------------------------------------------------------
# 2b. the emulation's self-tests under ThreadSanitizer (one TSan fiber per
#     CUDA thread: a missing barrier is a race in any schedule; blocks on two
#     OS threads: so is a race between blocks)
# ---------------------------------------------------------------------------
if [[ "${M2U_SKIP_TSAN:-0}" == 1 ]]; then
  NOTES+=("emu+TSan skipped (M2U_SKIP_TSAN=1)")
else
  banner "emu flavour with TSan (build/emu-tsan)"
  # Only what the selected tests run: the kernel suites and the emulation's.
  build emu-tsan -DM2U_FLAVOUR=emu -DM2U_SANITIZE=thread -DM2U_BUILD_BENCH=OFF \
    -- kernel_tests test_emu_kernels planted_block_race
  run_ctest "$ROOT/build/emu-tsan" -R "test_emu_kernels|planted_race_tsan|planted_block_race_tsan|test_kernel_"
fi

# ---------------------------------------------------------------------------
# 3. the .m2u loader under libFuzzer (clang, ASan + UBSan), bounded time; each
#    accepted file also becomes an engine that runs one small frame
# ---------------------------------------------------------------------------
FUZZ_SECONDS="${M2U_FUZZ_SECONDS:-60}"
if [[ "$FUZZ_SECONDS" == 0 ]]; then
  NOTES+=("fuzzing skipped (M2U_FUZZ_SECONDS=0)")
else
  banner "fuzz the weights loader for ${FUZZ_SECONDS} s (build/fuzz)"
  CC=clang-14 CXX=clang++-14 build fuzz -DM2U_FLAVOUR=emu -DM2U_FUZZ=ON -DM2U_BUILD_BENCH=OFF \
    -- fuzz_weights_loader write_fuzz_seeds
  corpus="$ROOT/build/fuzz/corpus"
  mkdir -p "$corpus"
  "$ROOT/build/fuzz/tests/fuzz/write_fuzz_seeds" "$corpus"
  fuzz_log="$ROOT/build/fuzz/fuzz.log"
  if "$ROOT/build/fuzz/tests/fuzz/fuzz_weights_loader" -max_total_time="$FUZZ_SECONDS" \
      -max_len=1300000 -print_final_stats=1 "$corpus" >"$fuzz_log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$fuzz_log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$fuzz_log")
    echo "run_all: fuzz_weights_loader: clean, ${runs} executions in ${FUZZ_SECONDS} s (${rate}/s)"
    TOTAL_PASSED=$((TOTAL_PASSED + 1))
  else
    tail -60 "$fuzz_log"
    echo "run_all: fuzz_weights_loader found a failure (crash input saved in the current directory)"
    echo "run_all: ${TOTAL_PASSED} passed, $((TOTAL_FAILED + 1)) failed"
    exit 1
  fi
fi

# ---------------------------------------------------------------------------
# 4. cuda flavour: compile and link with nvcc; static device checks
# ---------------------------------------------------------------------------
if [[ "${M2U_SKIP_CUDA:-0}" == 1 ]]; then
  NOTES+=("cuda flavour skipped (M2U_SKIP_CUDA=1)")
elif [[ -z "$NVCC" ]]; then
  NOTES+=("cuda flavour skipped: nvcc not found")
else
  banner "cuda flavour, compile and link only (build/cuda, nvcc $("$NVCC" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'))"
  build cuda -DM2U_FLAVOUR=cuda -DCMAKE_CUDA_COMPILER="$NVCC"
  if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    run_ctest "$ROOT/build/cuda"
  else
    NOTES+=("cuda flavour: no GPU here, ran only the static device checks (ctest -L static)")
    run_ctest "$ROOT/build/cuda" -L static
  fi
fi

# ---------------------------------------------------------------------------
# 5. the Nano's toolchain: CUDA 11.8 (Debian non-free, unpacked into a private
#    tree, tests/cuda118/) compiles every kernel for sm_53 (Nano), sm_61 (the
#    first DP4A GPU) and sm_72 (Xavier) under the device-check rules; the
#    kernels use nothing CUDA 10.2 lacks; the runtime's host code that
#    depends on the CUDA version (cuda_graph.cpp: the pre-12 graph API the
#    Nano's 10.2 shares with 11.x) compiles against 11.8's headers
# ---------------------------------------------------------------------------
if [[ "${M2U_SKIP_CUDA118:-0}" == 1 ]]; then
  NOTES+=("CUDA 11.8 compile step skipped (M2U_SKIP_CUDA118=1)")
else
  banner "CUDA 11.8: every kernel for sm_53 sm_61 sm_72 (build/device_check_cuda118)"
  nvcc118="$(bash "$ROOT/tests/cuda118/install_cuda118.sh" | tail -1)"
  if bash "$ROOT/tests/cuda118/check_cuda102_gaps.sh" &&
     NVCC="$nvcc118" M2U_DEVICE_CHECK_NVCC_FLAGS="-ccbin clang++-14" bash "$ROOT/.ci/device_check.sh" \
       --arch "53 61 72" --out "$ROOT/build/device_check_cuda118" --quiet &&
     g++ -std=c++14 -fsyntax-only -Wall -Wextra -Werror -isystem "${nvcc118%/lib/nvidia-cuda-toolkit/bin/nvcc}/include" \
       "$ROOT/runtime/src/engine/cuda_graph.cpp"; then
    echo "run_all: runtime/src/engine/cuda_graph.cpp compiles against CUDA 11.8's headers (the pre-12 cudaGraphInstantiate)"
    TOTAL_PASSED=$((TOTAL_PASSED + 3))
  else
    echo "run_all: the CUDA 11.8 compile step failed"
    echo "run_all: ${TOTAL_PASSED} passed, $((TOTAL_FAILED + 1)) failed"
    exit 1
  fi
fi

# ---------------------------------------------------------------------------
# 6. every kernel's tests executed by the GPU simulator (GPGPU-Sim, Jetson
#    Nano approximation, nvcc 11.8's PTX for sm_53; the INT8 suites also on
#    the Orin Nano approximation, sm_87): tests/sim/
# ---------------------------------------------------------------------------
if [[ "${M2U_SKIP_SIM:-0}" == 1 ]]; then
  NOTES+=("GPU simulator step skipped (M2U_SKIP_SIM=1)")
else
  banner "kernels under the GPU simulator (build/sim53: Jetson Nano; build/sim87: Orin Nano, INT8 suites)"
  sim_status=0
  M2U_JOBS="$JOBS" bash "$ROOT/tests/sim/run_sim_tests.sh" 2>&1 | tee "$ROOT/build/sim.log" || sim_status=$?
  sim_line="$(grep -E '^sim: [0-9]+ passed, [0-9]+ failed' "$ROOT/build/sim.log" | tail -1 || true)"
  if [[ -n "$sim_line" ]]; then
    TOTAL_PASSED=$((TOTAL_PASSED + $(sed -E 's/^sim: ([0-9]+) passed.*/\1/' <<<"$sim_line")))
    TOTAL_FAILED=$((TOTAL_FAILED + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$sim_line")))
  fi
  if ((sim_status != 0)); then
    echo "run_all: the GPU simulator step failed"
    echo "run_all: ${TOTAL_PASSED} passed, $((TOTAL_FAILED > 0 ? TOTAL_FAILED : 1)) failed"
    exit 1
  fi
  grep -q "^sim: skipped" "$ROOT/build/sim.log" && NOTES+=("$(grep -m1 '^sim: skipped' "$ROOT/build/sim.log")")
fi

for note in "${NOTES[@]}"; do echo "run_all: note: $note"; done
echo "run_all: finished in $(($(date +%s) - START)) s"
echo "run_all: ${TOTAL_PASSED} passed, ${TOTAL_FAILED} failed"
