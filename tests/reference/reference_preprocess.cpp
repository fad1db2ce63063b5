// reference_preprocess.cpp - the input convention of reference_preprocess.h.
#include "reference_preprocess.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace m2u::ref {

HostTensor apply_input_convention(const InputConvention& convention, int in_channels,
                                  const uint8_t* grey, int height, int width, int max_value) {
  if (in_channels < 1 || in_channels > kMaxInputChannels || grey == nullptr || height < 1 ||
      width < 1 || max_value < 1) {
    throw std::invalid_argument(
        "apply_input_convention: need 1 <= in_channels <= " + std::to_string(kMaxInputChannels) +
        ", a grey image, height, width >= 1 and max_value >= 1 (got in_channels " +
        std::to_string(in_channels) + ", " + std::to_string(height) + "x" +
        std::to_string(width) + ", max_value " + std::to_string(max_value) + ")");
  }
  const size_t pixels = static_cast<size_t>(height) * width;
  std::vector<double> scaled(pixels);  // v = p * pixel_scale
  for (size_t i = 0; i < pixels; ++i) {
    scaled[i] = static_cast<double>(grey[i]) / max_value * convention.pixel_scale;
  }

  // Per channel: input = (v - offset[c]) / divisor[c].
  std::vector<double> offset(in_channels), divisor(in_channels);
  if (convention.normalization == NormalizationKind::kAffine) {
    for (int c = 0; c < in_channels; ++c) {
      offset[c] = convention.channel_mean[c];
      divisor[c] = convention.channel_std[c];
    }
  } else {
    double sum = 0.0;
    for (double v : scaled) sum += v;
    const double mean = sum / static_cast<double>(pixels);
    double squares = 0.0;
    for (double v : scaled) squares += (v - mean) * (v - mean);
    const double std_dev = std::sqrt(squares / static_cast<double>(pixels));
    std::fill(offset.begin(), offset.end(), mean);
    std::fill(divisor.begin(), divisor.end(),
              std::max(std_dev, static_cast<double>(convention.std_floor)));
  }

  const int filled_channels = convention.grey_fill == GreyFill::kReplicate ? in_channels : 1;
  HostTensor input(1, in_channels, height, width);
  for (int c = 0; c < filled_channels; ++c) {
    if (divisor[c] == 0.0) {
      throw std::domain_error("apply_input_convention: channel " + std::to_string(c) +
                              " would be divided by 0 (constant image with std_floor 0, or "
                              "channel_std 0)");
    }
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        const double v = scaled[static_cast<size_t>(y) * width + x];
        input.at(0, c, y, x) = static_cast<float>((v - offset[c]) / divisor[c]);
      }
    }
  }
  return input;
}

}  // namespace m2u::ref
