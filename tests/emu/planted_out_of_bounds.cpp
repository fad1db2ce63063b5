// planted_out_of_bounds.cpp - runs one out-of-bounds kernel from
// planted_bugs.cu; ctest expects the sanitizer's report in its output
// (registered only in sanitizer builds). Usage: planted_out_of_bounds KIND
//   shared-2d  tile[0][33] of a [32][33] __shared__ array (-fsanitize=bounds)
//   shared-1d  index 64 of a [64] __shared__ array      (-fsanitize=bounds)
//   global     one past a cudaMalloc'd buffer            (AddressSanitizer)
//   dynamic    one past the dynamic shared memory        (AddressSanitizer)
#include <cstdio>
#include <cstring>

#include <cuda_runtime_api.h>

#include "kernels/emu_test_kernels.h"

int main(int argc, char** argv) {
  const char* kinds[] = {"shared-2d", "shared-1d", "global", "dynamic"};
  int kind = -1;
  for (int k = 0; k < 4 && argc == 2; ++k) {
    if (std::strcmp(argv[1], kinds[k]) == 0) kind = k;
  }
  if (kind < 0) {
    std::fprintf(stderr, "usage: %s shared-2d|shared-1d|global|dynamic\n", argv[0]);
    return 2;
  }
  const int count = 100;
  float* global = nullptr;
  if (cudaMalloc(reinterpret_cast<void**>(&global), count * sizeof(float)) != cudaSuccess) return 2;
  const cudaError_t status = emu_test::out_of_bounds_write(kind, global, count, nullptr);
  cudaFree(global);
  // Reaching this line means the sanitizer did not stop the write.
  std::printf("planted out-of-bounds write '%s' went unnoticed (status %s)\n", argv[1],
              cudaGetErrorName(status));
  return 1;
}
