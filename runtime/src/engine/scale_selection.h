// scale_selection.h - INT8 calibration's choice of an activation's
// clipping threshold T from the histogram of its magnitudes (2048 bins over
// [0, range), the last bin also holding everything above); the per-tensor
// scale is then T / 127 (real = q * scale, q in [-127, 127]).
//   minmax      T = range (the largest magnitude seen): nothing clips.
//   percentile  T = the upper edge of the bin where 99.99% of the values
//               are covered: rare outliers clip.
//   entropy     T minimising the Kullback-Leibler divergence between the
//               histogram clipped at T (outliers folded into its last bin)
//               and that histogram quantised to 128 levels (TensorRT's
//               entropy calibration), searched over bins 128..2048.
// A histogram without any count (an activation that is always 0) gives
// T = range, or 1 when range is 0.
#ifndef M2U_RUNTIME_ENGINE_SCALE_SELECTION_H
#define M2U_RUNTIME_ENGINE_SCALE_SELECTION_H

#include <string>
#include <vector>

namespace m2u {

enum class CalibrationMethod { kEntropy, kPercentile, kMinMax };

constexpr double kCalibrationPercentile = 99.99;

float calibration_threshold(const std::vector<unsigned long long>& bins, float range, CalibrationMethod method);

const char* calibration_method_name(CalibrationMethod method);

}  // namespace m2u

#endif  // M2U_RUNTIME_ENGINE_SCALE_SELECTION_H
