// dpc_kernels.h - launchers of the differential phase contrast (DPC)
// preprocessing kernels: flat-field division (flat_field.cu) and the
// combination of a left / right illumination pair (dpc_combine.cu).
//
// A DPC frame is built from two intensity planes (unpack_raw's output):
//   L = flat_field_divide(left_image, left_flat)
//   R = flat_field_divide(right_image, right_flat)
//   dpc = dpc_combine(L, R)
// The flats are intensities as captured (blank-field frames, or their
// average), not normalised: L and R are ratios image / flat (about 1 on
// empty background). The DPC ratio (L - R) / (L + R) is invariant to a
// factor common to L and R only, so both flats must come from the same
// normalisation (same exposure and gain, or both scaled the same way); a
// flat scaled alone shifts the DPC image.
//
// All planes are float, device memory, 4-byte aligned, `height` rows of
// `width` values, rows `pitch` floats apart (one pitch for every plane of a
// call); columns [width, pitch) are neither read nor written. Launchers
// return cudaErrorInvalidValue for a null or misaligned pointer, height
// outside [1, 65535], width < 1 or pitch < width; otherwise the launch status.
#ifndef M2U_KERNELS_DPC_KERNELS_H
#define M2U_KERNELS_DPC_KERNELS_H

#include <cuda_runtime_api.h>

#include <cstddef>

namespace m2u {

// The floor of the flat field's divisor.
constexpr float kFlatFieldFloor = 1e-6f;

// out = image / max(flat, kFlatFieldFloor), as one IEEE float division. A
// NaN in image or flat gives NaN (the floor does not replace a NaN flat).
// `out` may be `image` or `flat` (in place).
cudaError_t flat_field_divide(const float* image, const float* flat, int height, int width,
                              size_t pitch_floats, float* out, cudaStream_t stream);

// dpc = clip((L - R) / (L + R) + 0.5, 0, 1), computed in float in that order;
// where L + R == 0 (both 0, or opposite values) dpc = 0.5, as for equal L
// and R. For non-negative inputs the ratio is in [-1, 1], so dpc saturates
// at 0 where R >= 3 L and at 1 where L >= 3 R. A NaN input gives NaN (the
// clip keeps it), as does an infinite one. `dpc` may be `left` or `right`.
cudaError_t dpc_combine(const float* left, const float* right, int height, int width,
                        size_t pitch_floats, float* dpc, cudaStream_t stream);

}  // namespace m2u

#endif  // M2U_KERNELS_DPC_KERNELS_H
