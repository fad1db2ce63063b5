// calibration_kernels.h - activation statistics for INT8 calibration
// (activation_statistics.cu): the largest magnitude of an FP32 activation
// view, and the histogram of its magnitudes, accumulated over the
// calibration frames on the device. Views follow tensor_view.h; only the
// view's logical channels count (not its padding). Non-finite values are
// not counted (an FP32 engine reports non-finite input itself).
#ifndef M2U_KERNELS_CALIBRATION_KERNELS_H
#define M2U_KERNELS_CALIBRATION_KERNELS_H

#include <cuda_runtime_api.h>

#include "tensor_view.h"

namespace m2u {

// Bins of an activation histogram: |v| over [0, range) in equal bins, the
// last one also taking everything >= range.
constexpr int kCalibrationBins = 2048;

// *absmax_bits = max(*absmax_bits, bits of max |v|): a non-negative float's
// bits order as unsigned integers, so the maximum is an atomicMax.
cudaError_t activation_absmax(TensorView<const float> view, unsigned int* absmax_bits,
                              cudaStream_t stream);

// bins[min(floor(|v| * kCalibrationBins / range), kCalibrationBins - 1)] += 1
// for every non-zero value of the view (exact zeros quantise exactly at any
// scale, and a ReLU's many would dominate the histogram); range > 0 and finite. 64-bit counters
// (frames x pixels x channels can pass 2^32).
cudaError_t activation_histogram(TensorView<const float> view, float range, unsigned long long* bins,
                                 cudaStream_t stream);

}  // namespace m2u

#endif  // M2U_KERNELS_CALIBRATION_KERNELS_H
