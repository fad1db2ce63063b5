// compare.h - compares a computed tensor with its expected value by the
// largest absolute difference relative to the largest expected magnitude.
// A NaN or infinity anywhere, or a shape mismatch, makes the relative error
// infinite, so poisoned or unwritten outputs can never pass.
#ifndef M2U_TESTS_REFERENCE_COMPARE_H
#define M2U_TESTS_REFERENCE_COMPARE_H

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "host_tensor.h"

namespace m2u::ref {

struct Comparison {
  double max_abs_diff = 0.0;  // largest |got - expected|
  double max_abs_ref = 0.0;   // largest |expected|
  double relative = 0.0;      // max_abs_diff / max_abs_ref; infinite on any failure above
  size_t worst_index = 0;     // flat index of max_abs_diff, or of the first non-finite value
  bool shape_match = false;
  size_t non_finite_count = 0;  // non-finite values in got and expected together
  int worst_position[4] = {};   // worst_index as (n, c, y, x)
  float worst_got = 0.0f;
  float worst_expected = 0.0f;
  std::string got_shape;
  std::string expected_shape;

  bool within(double tolerance) const { return shape_match && relative <= tolerance; }

  // One line: the shapes when they differ, else the relative error, the
  // worst element with its position and values, and any non-finite count.
  std::string describe() const {
    std::ostringstream text;
    text.precision(9);
    if (!shape_match) {
      text << "shape mismatch: got " << got_shape << ", expected " << expected_shape;
      return text.str();
    }
    text << "relative " << relative << " (max |diff| " << max_abs_diff << ", max |ref| "
         << max_abs_ref << ") over " << expected_shape;
    if (max_abs_diff > 0.0) {
      text << "; worst at index " << worst_index << " (n " << worst_position[0] << ", c "
           << worst_position[1] << ", y " << worst_position[2] << ", x " << worst_position[3]
           << "): got " << worst_got << ", expected " << worst_expected;
    }
    if (non_finite_count > 0) text << "; " << non_finite_count << " non-finite values";
    return text.str();
  }
};

inline Comparison compare(const HostTensor& got, const HostTensor& expected) {
  constexpr double kInfinity = std::numeric_limits<double>::infinity();
  Comparison result;
  result.got_shape = got.shape_string();
  result.expected_shape = expected.shape_string();
  result.shape_match = got.same_shape(expected) && got.size() == expected.size();
  if (!result.shape_match) {
    result.max_abs_diff = result.relative = kInfinity;
    return result;
  }
  auto record_worst = [&](size_t i) {
    result.worst_index = i;
    result.worst_got = got.data[i];
    result.worst_expected = expected.data[i];
    const size_t plane = static_cast<size_t>(expected.h) * expected.w;
    result.worst_position[0] = static_cast<int>(i / (plane * expected.c));
    result.worst_position[1] = static_cast<int>(i / plane % expected.c);
    result.worst_position[2] = static_cast<int>(i % plane / expected.w);
    result.worst_position[3] = static_cast<int>(i % expected.w);
  };
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = got.data[i];
    const double e = expected.data[i];
    if (!std::isfinite(g) || !std::isfinite(e)) {
      if (result.non_finite_count++ == 0) record_worst(i);
      continue;
    }
    result.max_abs_ref = std::fmax(result.max_abs_ref, std::fabs(e));
    const double diff = std::fabs(g - e);
    if (diff > result.max_abs_diff) {
      if (result.non_finite_count == 0) record_worst(i);
      result.max_abs_diff = diff;
    }
  }
  if (result.non_finite_count > 0) {
    result.max_abs_diff = result.relative = kInfinity;
  } else if (result.max_abs_diff > 0.0) {
    result.relative = result.max_abs_ref > 0.0 ? result.max_abs_diff / result.max_abs_ref : kInfinity;
  }
  return result;
}

// Two maps of the same pixels (probabilities or logits) cut at `threshold`:
// the largest |a - b|, and the intersection over union of the masks
// (value > threshold); finite is false when either holds NaN or infinity.
struct MaskAgreement {
  double max_abs_diff = 0.0;
  double iou = 1.0;            // 1 when both masks are empty
  long long differing = 0;     // pixels in one mask only
  long long union_pixels = 0;  // pixels in either
  bool finite = true;
};

inline MaskAgreement mask_agreement(const std::vector<float>& a, const std::vector<float>& b, float threshold) {
  MaskAgreement result;
  if (a.size() != b.size()) {
    result.finite = false;
    result.iou = 0.0;
    return result;
  }
  long long both = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) {
      result.finite = false;
      continue;
    }
    result.max_abs_diff = std::max(result.max_abs_diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    const bool in_a = a[i] > threshold, in_b = b[i] > threshold;
    both += in_a && in_b;
    result.union_pixels += in_a || in_b;
    result.differing += in_a != in_b;
  }
  if (result.union_pixels > 0) result.iou = static_cast<double>(both) / result.union_pixels;
  if (!result.finite) result.iou = 0.0;
  return result;
}

}  // namespace m2u::ref

#endif  // M2U_TESTS_REFERENCE_COMPARE_H
