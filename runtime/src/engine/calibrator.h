// calibrator.h - INT8 calibration on the device from the user's own frames:
// an FP32 engine runs each frame, a StepObserver gathers every activation
// buffer's statistics on the GPU (calibration_kernels.h), and
// scale_selection.h turns them into per-tensor scales, written into a copy
// of the model's file (quant_writer.h) under the names
// activation_scale_name() (execution_plan.h) gives (one scale per plan buffer: a decoder concat buffer, which two
// producers fill, has one scale for both slices).
//
// Frames are copied into host memory as they are added; the statistics are
// gathered when scales are asked for, in two passes over every frame (the
// largest magnitude of each buffer, then its 2048-bin histogram over that
// range), so the result does not depend on the order of the frames.
#ifndef M2U_RUNTIME_ENGINE_CALIBRATOR_H
#define M2U_RUNTIME_ENGINE_CALIBRATOR_H

#include <memory>
#include <string>
#include <vector>

#include "engine.h"
#include "quant_writer.h"
#include "scale_selection.h"

namespace m2u {

struct CalibratorOptions {
  int max_height = 1024;
  int max_width = 1024;
  int device = 0;
};

class Calibrator : private StepObserver {
 public:
  static std::unique_ptr<Calibrator> create(const Model& model, const CalibratorOptions& options,
                                            m2u_status* status, std::string* error);
  ~Calibrator() override;
  Calibrator(const Calibrator&) = delete;
  Calibrator& operator=(const Calibrator&) = delete;

  // Copies the frame(s) of `image` (host or pinned memory; the engine's
  // rules for shapes and types) for the passes.
  m2u_status add_frames(const m2u_image& image);
  size_t frame_count() const { return frames_.size(); }
  // Runs both passes and picks the scales; also keeps them for scales().
  m2u_status compute_scales(CalibrationMethod method);
  const std::vector<ActivationScale>& scales() const { return scales_; }
  // compute_scales, then the model's file with them written to `path`
  // (through a temporary file renamed into place).
  m2u_status save(const std::string& path, CalibrationMethod method);
  const std::string& last_error() const { return last_error_; }

 private:
  struct Frame {
    m2u_image image;  // data points into bytes
    std::vector<unsigned char> bytes;
  };
  enum class Pass { kNone, kMaximum, kHistogram };

  Calibrator() = default;
  cudaError_t after_step(const PlannedStep& step, const TensorView<const float>& output,
                         cudaStream_t stream) override;
  m2u_status fail(m2u_status status, const std::string& message);
  m2u_status run_pass(Pass pass);

  std::vector<uint8_t> model_source_;
  std::unique_ptr<Engine> engine_;
  std::vector<Frame> frames_;
  std::vector<float> probabilities_;  // the engine's output, not used
  unsigned int* maxima_ = nullptr;        // device: per plan buffer, float bits
  unsigned long long* bins_ = nullptr;    // device: per plan buffer, kCalibrationBins
  std::vector<float> ranges_;             // host: per plan buffer, from the first pass
  Pass pass_ = Pass::kNone;
  std::vector<ActivationScale> scales_;
  std::string last_error_;
};

}  // namespace m2u

#endif  // M2U_RUNTIME_ENGINE_CALIBRATOR_H
