// mask_kernels.h - launchers of the post-processing kernels that turn a
// probability plane into a binary mask: the 8-bit probability histogram
// (probability_histogram.cu) for Otsu's threshold (otsu.h, host) and the
// threshold itself (threshold_mask.cu).
//
// Typical use (the m2u_infer CLI):
//   probability_histogram(p, h, w, pitch, bins, stream);   // + copy bins to the host
//   const int t8 = otsu_threshold(host_bins);
//   threshold_mask(p, h, w, pitch, otsu_probability_threshold(t8), mask, mask_pitch, stream);
// The mask then holds 255 for exactly the pixels counted in bins t8+1..255.
//
// Planes are device memory, `height` rows of `width` values: probabilities
// are floats 4-byte aligned, rows `pitch_floats` apart; the mask is bytes,
// rows `mask_pitch_bytes` apart. Columns past `width` are neither read nor
// written. Launchers return cudaErrorInvalidValue for a null or misaligned
// pointer, height outside [1, 65535], width < 1, a pitch below width (and
// the cases named below); otherwise the status of their last call.
#ifndef M2U_KERNELS_MASK_KERNELS_H
#define M2U_KERNELS_MASK_KERNELS_H

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace m2u {

constexpr int kProbabilityBins = 256;

// bins256[b] = the number of pixels whose 8-bit probability is b, where the
// 8-bit probability of p is round(p * 255) (p * 255 rounded to float, then
// to the nearest integer, ties to even) clamped to [0, 255]: exactly the
// value output_conv writes for a U8 probability image (io_kernels.h), NaN
// included: a NaN probability counts in bin 0, as the U8 image stores it
// as 0 and threshold_mask gives it 0 (background). p < 0 and -inf count in
// bin 0, p > 1 and +inf in bin 255. otsu.h's probability_bin is the same
// function on the host.
// `bins256` (device, 256 unsigned, 4-byte aligned) is zeroed by the launcher
// (cudaMemsetAsync on `stream`) before the kernel adds to it. Exact in any
// schedule (integer counts). Also cudaErrorInvalidValue when height * width
// exceeds UINT_MAX (a bin could wrap).
cudaError_t probability_histogram(const float* probability, int height, int width,
                                  size_t pitch_floats, unsigned* bins256, cudaStream_t stream);

// mask[y * mask_pitch_bytes + x] = probability > threshold ? 255 : 0, a
// strict float comparison: p == threshold gives 0, NaN gives 0, +inf gives
// 255 unless threshold is +inf. The threshold is a probability; for Otsu's
// 8-bit threshold t8 (classes [0, t8] background, [t8 + 1, 255] foreground)
// pass otsu_probability_threshold(t8) (otsu.h), with which the mask is 255
// exactly where the 8-bit probability exceeds t8. Also cudaErrorInvalidValue
// for a NaN threshold.
cudaError_t threshold_mask(const float* probability, int height, int width, size_t pitch_floats,
                           float threshold, uint8_t* mask, size_t mask_pitch_bytes,
                           cudaStream_t stream);

}  // namespace m2u

#endif  // M2U_KERNELS_MASK_KERNELS_H
