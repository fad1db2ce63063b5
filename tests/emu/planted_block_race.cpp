// planted_block_race.cpp - two blocks add to one global word without an
// atomic (planted_bugs.cu); registered only in the ThreadSanitizer build,
// where blocks run on several OS threads and ctest expects TSan's report.
#include <cstdio>

#include <cuda_runtime_api.h>

#include "kernels/emu_test_kernels.h"

int main() {
  int* sum = nullptr;
  if (cudaMalloc(reinterpret_cast<void**>(&sum), sizeof(int)) != cudaSuccess) return 2;
  if (cudaMemset(sum, 0, sizeof(int)) != cudaSuccess) return 2;
  const cudaError_t status = emu_test::blocks_add_without_atomic(sum, 2, nullptr);
  int host = 0;
  cudaMemcpy(&host, sum, sizeof(int), cudaMemcpyDeviceToHost);
  cudaFree(sum);
  // Reaching this line without a report means the race went unnoticed.
  std::printf("planted race between blocks went unnoticed (status %s, sum %d)\n",
              cudaGetErrorName(status), host);
  return 1;
}
