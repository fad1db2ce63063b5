// host_tensor.h - a dense NCHW float tensor in host memory: the value type
// of the CPU reference, the golden fixtures and the comparisons.
#ifndef M2U_TESTS_REFERENCE_HOST_TENSOR_H
#define M2U_TESTS_REFERENCE_HOST_TENSOR_H

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace m2u::ref {

struct HostTensor {
  int n = 0;  // batch
  int c = 0;  // channels
  int h = 0;  // height
  int w = 0;  // width
  std::vector<float> data;  // n * c * h * w values, x fastest

  HostTensor() = default;
  HostTensor(int batch, int channels, int height, int width, float fill = 0.0f)
      : n(batch), c(channels), h(height), w(width) {
    if (batch < 0 || channels < 0 || height < 0 || width < 0) {
      throw std::invalid_argument("HostTensor: negative dimension in " + shape_string());
    }
    data.assign(static_cast<size_t>(batch) * channels * height * width, fill);
  }

  size_t size() const { return data.size(); }

  // Bounds-checked element access.
  float& at(int b, int ch, int y, int x) { return data[index(b, ch, y, x)]; }
  float at(int b, int ch, int y, int x) const { return data[index(b, ch, y, x)]; }

  size_t index(int b, int ch, int y, int x) const {
    if (b < 0 || b >= n || ch < 0 || ch >= c || y < 0 || y >= h || x < 0 || x >= w) {
      throw_out_of_range(b, ch, y, x);
    }
    return ((static_cast<size_t>(b) * c + ch) * h + y) * w + x;
  }

  bool same_shape(const HostTensor& other) const {
    return n == other.n && c == other.c && h == other.h && w == other.w;
  }

  // "NxCxHxW", e.g. "2x16x24x40".
  std::string shape_string() const {
    return std::to_string(n) + "x" + std::to_string(c) + "x" + std::to_string(h) + "x" +
           std::to_string(w);
  }

 private:
  // Kept out of index() so that index() stays small enough to inline.
  [[noreturn]] void throw_out_of_range(int b, int ch, int y, int x) const {
    throw std::out_of_range("HostTensor " + shape_string() + ": no element (" + std::to_string(b) +
                            ", " + std::to_string(ch) + ", " + std::to_string(y) + ", " +
                            std::to_string(x) + ")");
  }
};

}  // namespace m2u::ref

#endif  // M2U_TESTS_REFERENCE_HOST_TENSOR_H
