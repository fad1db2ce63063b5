#!/usr/bin/env bash
# Self-test of .ci/device_check.sh (the static device check). Needs nvcc, no
# GPU. Runs the checker on the fixtures in tests/device_check/fixtures/ and on
# small sources generated into a temporary directory, and asserts the exit
# status and messages. Prints one line per case; exits 1 if any case fails.
# Without nvcc it prints SKIP and exits 0.
#
# Usage: tests/device_check/run_selftest.sh [-v]   (-v: show checker output)
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DC="$ROOT/.ci/device_check.sh"
FIX="$HERE/fixtures"
VERBOSE=0
[[ "${1:-}" == "-v" ]] && VERBOSE=1

if [[ -z "${NVCC:-}" ]]; then
  if command -v nvcc >/dev/null 2>&1; then NVCC="$(command -v nvcc)"
  elif [[ -x /usr/local/cuda/bin/nvcc ]]; then NVCC=/usr/local/cuda/bin/nvcc
  else echo "device_check selftest: SKIP (nvcc not found)"; exit 0
  fi
fi
export NVCC

TMP="$(mktemp -d "${TMPDIR:-/tmp}/m2u-dc-selftest.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

now_ms() {
  if [[ -n "${EPOCHREALTIME:-}" ]]; then local t="${EPOCHREALTIME/[.,]/}"; echo $((t / 1000))
  else echo $(($(date +%s) * 1000)); fi
}
fmt_ms() { echo "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))s"; }

PASSED=0
FAILED=0
T_ALL="$(now_ms)"

# check NAME WANT_RC [PATTERN...] -- [device_check args...]
#   PATTERN: +text  output must contain text (fixed string)
#            -text  output must not contain text
#            ~regex output must match the extended regex
# The output checked is stdout and stderr together; it is kept in
# $TMP/NAME.log.
check() {
  local name="$1" want="$2"; shift 2
  local pats=()
  while [[ $# -gt 0 && "$1" != "--" ]]; do pats+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  local log="$TMP/$name.log" rc=0 t0 t1 bad=()
  t0="$(now_ms)"
  # TMPDIR: temporary outputs the checker keeps on failure stay under $TMP.
  TMPDIR="$TMP" bash "$DC" "$@" >"$log" 2>&1 || rc=$?
  t1="$(now_ms)"
  [[ "$rc" == "$want" ]] || bad+=("exit status $rc, want $want")
  local p
  for p in "${pats[@]}"; do
    case "$p" in
      +*) grep -qF -- "${p:1}" "$log" || bad+=("missing: ${p:1}") ;;
      -*) ! grep -qF -- "${p:1}" "$log" || bad+=("unexpected: ${p:1}") ;;
      ~*) grep -qE -- "${p:1}" "$log" || bad+=("no match: ${p:1}") ;;
      *) bad+=("bad pattern in selftest: $p") ;;
    esac
  done
  if [[ ${#bad[@]} -eq 0 ]]; then
    PASSED=$((PASSED + 1))
    printf 'ok    %-28s rc=%s  %s\n' "$name" "$rc" "$(fmt_ms $((t1 - t0)))"
    [[ $VERBOSE -eq 1 ]] && sed 's/^/      | /' "$log"
  else
    FAILED=$((FAILED + 1))
    printf 'FAIL  %-28s rc=%s  %s\n' "$name" "$rc" "$(fmt_ms $((t1 - t0)))"
    printf '      - %s\n' "${bad[@]}"
    sed 's/^/      | /' "$log"
  fi
  return 0
}

# assert NAME CONDITION-COMMAND...  (a plain extra assertion)
assert() {
  local name="$1"; shift
  if "$@"; then PASSED=$((PASSED + 1)); printf 'ok    %s\n' "$name"
  else FAILED=$((FAILED + 1)); printf 'FAIL  %s\n' "$name"; fi
}

# --- fixtures, default architectures (sm_75 sm_87) --------------------------
check hot_ok 0 \
  "+device_check: 1 files, 5 kernels (4 hot) on sm_75 sm_87: no spills in hot kernels" \
  "~warning: sm_75 .*kernel_cold_lookup.*\(not hot\): .* [1-9][0-9]* bytes stack frame" \
  "~warning: sm_87 .*kernel_cold_lookup" \
  "-FAIL" \
  -- --out "$TMP/out_ok" "$FIX/hot_ok.cu"
for a in 75 87; do
  for f in hot_ok.ptx hot_ok.ptxas.txt hot_ok.cubin summary.txt; do
    assert "hot_ok --out has sm_$a/$f" test -s "$TMP/out_ok/sm_$a/$f"
  done
  assert "hot_ok sm_$a/summary.txt marks kernel_axpy hot" \
    grep -qE ' yes +kernel_axpy\(' "$TMP/out_ok/sm_$a/summary.txt"
  assert "hot_ok sm_$a/summary.txt marks kernel_cold_lookup not hot" \
    grep -qE ' - +kernel_cold_lookup\(' "$TMP/out_ok/sm_$a/summary.txt"
done

check hot_spills 1 \
  "~FAIL: hot kernel kernel_hot_spill spills / uses local memory on sm_75: .* [1-9][0-9]* bytes spill stores, [1-9][0-9]* bytes spill loads" \
  "~FAIL: hot kernel kernel_hot_spill spills / uses local memory on sm_87: .* [1-9][0-9]* bytes spill stores, [1-9][0-9]* bytes spill loads" \
  "~FAIL: hot kernel kernel_hot_stack spills / uses local memory on sm_75: .* [1-9][0-9]* bytes stack frame" \
  "~FAIL: hot kernel kernel_hot_stack spills / uses local memory on sm_87: .* [1-9][0-9]* bytes stack frame" \
  "+device_check: FAILED: 1 files, 2 kernels (2 hot)" \
  -- --out "$TMP/out_spills" "$FIX/hot_spills.cu"

check expects_dp4a 0 \
  "~no spills in hot kernels, [0-9]+ PTX checks passed" \
  "-FAIL" \
  -- "$FIX/expects_dp4a.cu"

check expects_dp4a_missing 1 \
  "~FAIL: .*expects_dp4a_missing.cu:[0-9]+: kernel kernel_dot_scalar .* on sm_75: PTX does not contain 'dp4a.s32.s32'" \
  "~FAIL: .*expects_dp4a_missing.cu:[0-9]+: kernel kernel_dot_scalar .* on sm_87: PTX does not contain 'dp4a.s32.s32'" \
  "-kernel kernel_dot_i8_ok (" \
  -- "$FIX/expects_dp4a_missing.cu"

# All fixtures at once (parallel compiles), one architecture.
check all_fixtures_sm87 1 \
  "+hot kernel kernel_hot_spill" "+kernel kernel_dot_scalar" \
  "-on sm_75" "+device_check: FAILED: 4 files, 12 kernels (11 hot) on sm_87" \
  -- --arch 87 "$FIX/hot_ok.cu" "$FIX/hot_spills.cu" "$FIX/expects_dp4a.cu" \
  "$FIX/expects_dp4a_missing.cu"

# --- generated sources, sm_75 only ---------------------------------------------
G="$TMP/gen"
mkdir -p "$G"
cat >"$G/broken.cu" <<'EOF'
__global__ void kernel_broken(float* y) { y[threadIdx.x] = undefined_thing; }
EOF
check compile_error 1 \
  "+does not compile for sm_75" "+undefined_thing" \
  -- --arch 75 "$G/broken.cu"

cat >"$G/forbid.cu" <<'EOF'
// device_check: kernel_lookup forbids-ptx ld.local
__global__ void kernel_lookup(float* y, const int* idx, int n) {
  float table[64];
#pragma unroll 1
  for (int k = 0; k < 64; ++k) table[k] = y[k * n + threadIdx.x];
  y[threadIdx.x] = table[idx[threadIdx.x] & 63];
}
EOF
check forbids_ptx 1 \
  "+kernel kernel_lookup (kernel_lookup(float*, int const*, int)) on sm_75: PTX contains forbidden 'ld.local'" \
  -- --arch 75 "$G/forbid.cu"

cat >"$G/unknown_verb.cu" <<'EOF'
// device_check: kernel_a expects-sass IDP.4A
__global__ void kernel_a(int* y) { y[threadIdx.x] = 1; }
EOF
check unknown_verb 1 \
  "+unknown_verb.cu:1: unknown directive verb 'expects-sass'" \
  -- --arch 75 "$G/unknown_verb.cu"

cat >"$G/no_such_kernel.cu" <<'EOF'
// device_check: kernel_b expects-ptx dp4a
// device_check: kernel_a expects-ptx st.global
__global__ void kernel_a(int* y) { y[threadIdx.x] = 1; }
__global__ void kernel_ab(int* y) { y[threadIdx.x] = 2; }
EOF
check directive_unknown_kernel 1 \
  "+no_such_kernel.cu:1: directive names kernel kernel_b but no entry function matches on sm_75" \
  "-no_such_kernel.cu:2" \
  -- --arch 75 "$G/no_such_kernel.cu"

# Marker placements and name matching: the hot set is {kernel_h1, kernel_h2,
# kernel_h3}; kernel_h (a prefix of them), ns::kernel_h1x and kernel_cold
# (spilling, marker only in a comment and a string-free macro line) are not.
cat >"$G/markers.cu" <<'EOF'
#ifndef M2U_HOT_KERNEL
#define M2U_HOT_KERNEL
#endif
#define NOT_A_KERNEL(x) M2U_HOT_KERNEL x
namespace ns {
template <typename T, int N = sizeof(T)>
M2U_HOT_KERNEL
__global__ void __launch_bounds__(128, 4)
kernel_h1(T* y) { y[threadIdx.x] = T(N); }
template __global__ void kernel_h1<float>(float*);
__global__ void kernel_h1x(float* y) { float t[64];
#pragma unroll 1
  for (int k = 0; k < 64; ++k) t[k] = y[k];
  y[0] = t[int(y[1]) & 63]; }
}  // namespace ns
extern "C" M2U_HOT_KERNEL __global__ void kernel_h2(int* y) { y[threadIdx.x] = 2; }
static M2U_HOT_KERNEL __global__ void kernel_h3(int* y) { y[threadIdx.x] = 3; }
void launch_h3(int* y) { kernel_h3<<<1, 1>>>(y); }
/* M2U_HOT_KERNEL */ __global__ void kernel_h(float* y) { float t[64];
#pragma unroll 1
  for (int k = 0; k < 64; ++k) t[k] = y[k];
  y[0] = t[int(y[1]) & 63]; }
EOF
check marker_forms 0 \
  "+1 files, 5 kernels (3 hot) on sm_75" \
  "~warning: sm_75 .*kernel ns::kernel_h1x\(float\*\) \(not hot\)" \
  "~warning: sm_75 .*kernel kernel_h\(float\*\) \(not hot\)" \
  -- --arch 75 --out "$TMP/out_markers" "$G/markers.cu"
assert "marker_forms: hot column" \
  test "$(grep -cE ' yes +' "$TMP/out_markers/sm_75/summary.txt")" = 3

# A hot kernel template defined in a project header (#include "...") and
# instantiated in the .cu counts as hot; an uninstantiated hot template in the
# header is not reported.
cat >"$G/ops.cuh" <<'EOF'
#pragma once
#define M2U_HOT_KERNEL
template <typename T>
M2U_HOT_KERNEL __global__ void kernel_hdr_lookup(T* y, const int* idx) {
  T t[64];
#pragma unroll 1
  for (int k = 0; k < 64; ++k) t[k] = y[k];
  y[threadIdx.x] = t[idx[threadIdx.x] & 63];
}
template <typename T> M2U_HOT_KERNEL __global__ void kernel_hdr_unused(T* y) { y[0] = T(1); }
EOF
cat >"$G/uses_header.cu" <<'EOF'
#include "ops.cuh"
template __global__ void kernel_hdr_lookup<float>(float*, const int*);
EOF
check hot_in_header 1 \
  "~FAIL: hot kernel kernel_hdr_lookup spills / uses local memory on sm_75: .* [1-9][0-9]* bytes stack frame" \
  "-kernel_hdr_unused" \
  -- --arch 75 "$G/uses_header.cu"

# --- command line ----------------------------------------------------------------
check bad_option 2 "+unknown option '--bogus'" -- --bogus
check missing_file 2 "+no such file" -- "$G/does_not_exist.cu"
check bad_arch 2 "+bad architecture" -- --arch "75 sm87x" "$G/forbid.cu"

# --- default file set, in a scratch copy of the repo layout -------------------
R="$TMP/repo"
mkdir -p "$R/.ci" "$R/kernels/emu" "$R/runtime/include" "$R/tests/foo/kernels" \
  "$R/tests/device_check/fixtures"
cp "$DC" "$R/.ci/device_check.sh"
# Run the copy: default files are found relative to the script.
DC_SAVED="$DC"; DC="$R/.ci/device_check.sh"
check default_no_sources 0 "+no kernel sources found" -- --arch 75
printf '#define M2U_HOT_KERNEL\n' >"$R/kernels/m2u_cuda.h"
printf '#define RT_SCALE 3\n' >"$R/runtime/include/rt.h"
cat >"$R/kernels/a.cu" <<'EOF'
#include "m2u_cuda.h"
#include "rt.h"
M2U_HOT_KERNEL __global__ void kernel_top(int* y) { y[threadIdx.x] = RT_SCALE; }
EOF
cat >"$R/tests/foo/kernels/a.cu" <<'EOF'
#include "m2u_cuda.h"
M2U_HOT_KERNEL __global__ void kernel_test_a(int* y) { y[threadIdx.x] = 7; }
EOF
# Not picked up: below kernels/ (not directly in it), fixtures, non-.cu files.
echo 'this does not compile' >"$R/kernels/emu/skip.cu"
echo 'this does not compile' >"$R/tests/device_check/fixtures/skip.cu"
echo 'this does not compile' >"$R/kernels/skip.cuh"
check default_file_set 0 \
  "+device_check: 2 files, 2 kernels (2 hot) on sm_75: no spills in hot kernels" \
  -- --arch 75 --out "$R/out"
assert "default_file_set: colliding basenames get path names" \
  test -s "$R/out/sm_75/kernels__a.ptx" -a -s "$R/out/sm_75/tests__foo__kernels__a.ptx"
DC="$DC_SAVED"

T_END="$(now_ms)"
echo "device_check selftest: $PASSED passed, $FAILED failed ($(fmt_ms $((T_END - T_ALL))))"
[[ $FAILED -eq 0 ]]
