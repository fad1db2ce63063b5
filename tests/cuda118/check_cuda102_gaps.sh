#!/usr/bin/env bash
# check_cuda102_gaps.sh - kernels must build with the Jetson Nano's CUDA
# 10.2 (JetPack 4.6), which no CI machine has: CUDA 11.8 and 13 accept
# device functions 10.2 lacks. This scan refuses the ones a kernel of ours
# could plausibly reach for, in kernels/ (and the test kernels), unless the
# line sits under a CUDART_VERSION guard marked "// cuda102: guarded":
#   __hmax2 __hmin2 __hmax __hmin (+ _nan)  half max/min       CUDA 11.0
#   __hfma_relu __hfma2_relu                                   CUDA 11.0
#   __nv_bfloat16 / cuda_bf16.h                                CUDA 11.0
#   __reduce_{add,min,max,and,or,xor}_sync  warp reductions    CUDA 11.0 (sm_80)
#   cuda::std:: / <cuda/...> (libcu++)                         CUDA 11.0
#   __ldcg __ldca __ldcs __ldlu __ldcv __stwb __stcg __stcs __stwt  (11.0)
#   cooperative_groups::reduce / memcpy_async / cuda::barrier  CUDA 11.0
# Exit status 0 when none is used; 1 with the places otherwise.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
pattern='__hmax2|__hmin2|__hmax(_nan)?\b|__hmin(_nan)?\b|__hfma2?_relu|__nv_bfloat16|cuda_bf16\.h|__reduce_(add|min|max|and|or|xor)_sync|cuda::std::|#include <cuda/|__ld(cg|ca|cs|lu|cv)\b|__st(wb|cg|cs|wt)\b|memcpy_async|cuda::barrier|cooperative_groups::reduce'
found="$(cd "$ROOT" && grep -nE "$pattern" kernels/*.cu kernels/*.h kernels/*.cuh tests/*/kernels/*.cu 2>/dev/null \
         | grep -v 'cuda102: guarded' || true)"
if [[ -n "$found" ]]; then
  echo "$found"
  echo "check_cuda102_gaps: the lines above use device functions CUDA 10.2 (the Jetson Nano's) lacks;" \
       "avoid them, or guard with #if CUDART_VERSION >= 11000 and mark the line '// cuda102: guarded'"
  exit 1
fi
echo "check_cuda102_gaps: no CUDA 11+ device function in the kernels (checked: half max/min, bf16, warp reductions, libcu++, cache-hint loads/stores, memcpy_async)"
