// overlay.cpp - see overlay.h.
#include "overlay.h"

#include <algorithm>
#include <cmath>

namespace m2u_infer {

std::vector<uint8_t> draw_outlines(const std::vector<float>& grey, const std::vector<uint8_t>& mask, int height,
                                   int width) {
  std::vector<uint8_t> rgb(static_cast<size_t>(height) * width * 3);
  auto foreground = [&](int y, int x) {
    return y >= 0 && x >= 0 && y < height && x < width && mask[static_cast<size_t>(y) * width + x] != 0;
  };
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const size_t i = static_cast<size_t>(y) * width + x;
      uint8_t* pixel = rgb.data() + 3 * i;
      const bool edge = foreground(y, x) && (!foreground(y - 1, x) || !foreground(y + 1, x) ||
                                             !foreground(y, x - 1) || !foreground(y, x + 1));
      if (edge) {
        pixel[0] = 255;  // yellow-green outline, visible on grey
        pixel[1] = 230;
        pixel[2] = 0;
      } else {
        const float value = std::isfinite(grey[i]) ? std::min(std::max(grey[i], 0.0f), 1.0f) : 0.0f;
        pixel[0] = pixel[1] = pixel[2] = static_cast<uint8_t>(std::lround(value * 255.0f));
      }
    }
  }
  return rgb;
}

}  // namespace m2u_infer
