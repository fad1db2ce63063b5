// depthwise_layout.h - depthwise 3x3 weights from PyTorch's layout
// ([channels][1][3][3], what the CPU reference takes) into the kernels'
// tap-major one ([9][depthwise_weight_row(channels)], zeros in the padding;
// conv_kernels.h), for the kernel tests and the kernel benchmarks.
#ifndef M2U_TESTS_KERNELS_DEPTHWISE_LAYOUT_H
#define M2U_TESTS_KERNELS_DEPTHWISE_LAYOUT_H

#include <cstddef>
#include <vector>

#include "conv_kernels.h"

namespace kernel_test {

inline std::vector<float> tap_major_depthwise(const std::vector<float>& channel_major, int channels) {
  const int row = m2u::depthwise_weight_row(channels);
  std::vector<float> out(static_cast<size_t>(9) * row, 0.0f);
  for (int c = 0; c < channels; ++c)
    for (int tap = 0; tap < 9; ++tap) out[static_cast<size_t>(tap) * row + c] = channel_major[static_cast<size_t>(c) * 9 + tap];
  return out;
}

}  // namespace kernel_test

#endif  // M2U_TESTS_KERNELS_DEPTHWISE_LAYOUT_H
