// scale_selection.cpp - clipping thresholds from activation histograms
// (scale_selection.h), in double on the host.
#include "scale_selection.h"

#include <cmath>
#include <limits>

namespace m2u {
namespace {

constexpr int kLevels = 128;  // magnitudes of symmetric int8: 0..127

// KL(P || Q) for the histogram clipped at `edge` bins.
double clipped_divergence(const std::vector<unsigned long long>& bins, int edge) {
  std::vector<double> p(bins.begin(), bins.begin() + edge);
  double outliers = 0.0;
  for (size_t i = static_cast<size_t>(edge); i < bins.size(); ++i) outliers += static_cast<double>(bins[i]);
  p[edge - 1] += outliers;
  // Q: the clipped histogram (without the outliers) in kLevels groups, each
  // group's count spread evenly over its non-empty bins.
  std::vector<double> q(static_cast<size_t>(edge), 0.0);
  for (int level = 0; level < kLevels; ++level) {
    const int begin = static_cast<int>(static_cast<long long>(level) * edge / kLevels);
    const int end = static_cast<int>(static_cast<long long>(level + 1) * edge / kLevels);
    double sum = 0.0;
    int nonzero = 0;
    for (int i = begin; i < end; ++i) {
      sum += static_cast<double>(bins[i]);
      nonzero += bins[i] != 0;
    }
    for (int i = begin; i < end; ++i) q[i] = bins[i] != 0 ? sum / nonzero : 0.0;
  }
  double p_sum = 0.0, q_sum = 0.0;
  for (int i = 0; i < edge; ++i) {
    p_sum += p[i];
    q_sum += q[i];
  }
  if (p_sum <= 0.0 || q_sum <= 0.0) return std::numeric_limits<double>::infinity();
  // A bin P has and Q lacks (the last one, holding the outliers, when its
  // own count is 0) gets Q's smallest positive share, not an infinite cost.
  const double floor = 1e-12;
  double divergence = 0.0;
  for (int i = 0; i < edge; ++i) {
    if (p[i] <= 0.0) continue;
    const double pi = p[i] / p_sum;
    const double qi = q[i] > 0.0 ? q[i] / q_sum : floor;
    divergence += pi * std::log(pi / qi);
  }
  return divergence;
}

}  // namespace

const char* calibration_method_name(CalibrationMethod method) {
  switch (method) {
    case CalibrationMethod::kEntropy: return "entropy";
    case CalibrationMethod::kPercentile: return "percentile";
    case CalibrationMethod::kMinMax: return "minmax";
  }
  return "?";
}

float calibration_threshold(const std::vector<unsigned long long>& bins, float range, CalibrationMethod method) {
  double total = 0.0;
  for (unsigned long long count : bins) total += static_cast<double>(count);
  if (!(range > 0.0f)) return 1.0f;
  if (total <= 0.0 || method == CalibrationMethod::kMinMax) return range;
  const int count = static_cast<int>(bins.size());
  const double width = static_cast<double>(range) / count;
  if (method == CalibrationMethod::kPercentile) {
    const double wanted = total * kCalibrationPercentile / 100.0;
    double covered = 0.0;
    for (int i = 0; i < count; ++i) {
      covered += static_cast<double>(bins[i]);
      if (covered >= wanted) return static_cast<float>((i + 1) * width);
    }
    return range;
  }
  int best = count;
  double best_divergence = std::numeric_limits<double>::infinity();
  for (int edge = kLevels; edge <= count; ++edge) {
    const double divergence = clipped_divergence(bins, edge);
    if (divergence < best_divergence) {
      best_divergence = divergence;
      best = edge;
    }
  }
  return static_cast<float>(best * width);
}

}  // namespace m2u
