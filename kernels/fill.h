// fill.h - launcher of the pattern-fill kernel (fill.cu).
#ifndef M2U_KERNELS_FILL_H
#define M2U_KERNELS_FILL_H

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace m2u {

// destination[0 .. count) = pattern, on `stream`. `destination` is device
// memory, 4-byte aligned.
cudaError_t fill_u32(uint32_t* destination, uint32_t pattern, size_t count, cudaStream_t stream);

}  // namespace m2u

#endif  // M2U_KERNELS_FILL_H
