// engine.h - an M2U-Net on a device: packed weights uploaded once, one
// activation arena and the staging buffers allocated at creation, and the
// forward pass as the execution plan's kernel launches on one stream.
// Internal C++ class behind the C API's m2u_engine (c_api.cpp).
//
// Precision: the activations are stored as float (M2U_PRECISION_FP32),
// __half (M2U_PRECISION_FP16) or int8 with one calibrated scale per plan
// buffer (M2U_PRECISION_INT8, packed_weights_int8.h) in the arena; what
// each layer computes in is layer_precision.h's table.
#ifndef M2U_RUNTIME_ENGINE_ENGINE_H
#define M2U_RUNTIME_ENGINE_ENGINE_H

#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <memory>
#include <string>
#include <vector>

#include "conv_kernels.h"
#include "cuda_graph.h"
#include "execution_plan.h"
#include "io_kernels.h"
#include "m2urt.h"
#include "model.h"
#include "packed_weights.h"
#include "packed_weights_int8.h"
#include "work_model.h"

namespace m2u {

// Sees every step's output right after the step is queued on the engine's
// stream (FP32 engines; INT8 calibration's statistics): `output` is the
// view the step wrote. A failure stops the run as a CUDA failure would.
class StepObserver {
 public:
  virtual ~StepObserver() = default;
  virtual cudaError_t after_step(const PlannedStep& step, const TensorView<const float>& output,
                                 cudaStream_t stream) = 0;
};

struct EngineOptions {
  int max_batch = 1;
  int max_height = 512;
  int max_width = 512;
  int device = 0;
  m2u_precision precision = M2U_PRECISION_FP32;  // FP32 or FP16
  cudaStream_t stream = nullptr;  // nullptr: the engine creates its own
  bool keep_stage_outputs = false;  // tests: keep every stage readable after a run
  // Decoder fine-tuning (trainer.h): every decoder buffer stays readable
  // after a run (execution_plan.h); FP32 only.
  bool keep_decoder_activations = false;
  // Encoder blocks as one fused launch each (execution_plan.h); FP32 and
  // FP16 inference engines (FP16: the half2 stages' blocks).
  bool fuse_blocks = false;
  // The device work of a run (statistics, input conversion, every step) as
  // a CUDA graph, captured at the first run of a frame layout and replayed
  // at every later run with the same layout and device buffers
  // (GraphLayout). The engine holds the graphs of up to kMaxHeldGraphs
  // layouts (a tiled frame's tiles, alternating buffers) and drops the
  // least recently used beyond. Host copies (frames in, results out, given
  // statistics, the non-finite counters) stay outside the graph. Not with a
  // step observer.
  bool cuda_graph = false;
  // CUDA events around every step of each run (layer_times); not with
  // cuda_graph (events would be inside the graph).
  bool time_layers = false;
};

// The frame a work model is for (Engine::work_model): at most the
// engine's planned maxima (the caller checks).
struct WorkRequest {
  int batch = 1;
  int height = 512;
  int width = 512;
  int input_channels = 1;
  int input_value_bytes = 1;   // 1 for U8, 2 for U16, 4 for F32
  int output_value_bytes = 4;  // the probability image's dtype
};

class Engine {
 public:
  // The engine, or nullptr with *status and *error saying why.
  static std::unique_ptr<Engine> create(const Model& model, const EngineOptions& options,
                                        m2u_status* status, std::string* error);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  m2u_status run(const m2u_image& input, const m2u_image& output);
  // Decoder fine-tuning: the forward up to the final conv's input (every
  // step but the output step), queued on the stream; nothing is copied out
  // and pageable input does not wait for the stream. FP32 engines.
  m2u_status run_features(const m2u_image& input);
  m2u_status synchronize();
  m2u_status query(int* done);
  // nullptr: per-frame statistics again (see m2u_engine_set_input_statistics).
  m2u_status set_input_statistics(const float* mean_std, int batch);
  const std::string& last_error() const { return last_error_; }
  size_t arena_bytes() const { return plan_.arena_bytes; }
  size_t weight_bytes() const { return weight_count_ * sizeof(float); }
  const ExecutionPlan& plan() const { return plan_; }
  m2u_precision precision() const { return precision_; }
  const Architecture& architecture() const { return architecture_; }
  // One forward of `request`'s frame as a work model: a row per kernel
  // launch, in launch order (engine_work_model.cpp).
  WorkModel work_model(const WorkRequest& request) const;
  // nullptr: none. The observer must outlive the runs it sees.
  void set_step_observer(StepObserver* observer) { observer_ = observer; }
  cudaStream_t stream() const { return stream_; }
  // time_layers: the device milliseconds of each row of work_model() for
  // the last run's frame (the input statistics' row first when the model
  // standardises per image, then one per step), from the events recorded
  // between them; waits for that run.
  m2u_status layer_times(std::vector<double>* milliseconds);
  // cuda_graph: the most layouts whose graphs are held at once.
  static constexpr size_t kMaxHeldGraphs = 64;
  // cuda_graph: false runs without graphs until set true again (the held
  // graphs stay): a caller cycling through more layouts than it can hold
  // (a frame of more than kMaxHeldGraphs tiles) would capture every run.
  void set_graphs_enabled(bool enabled) { graphs_enabled_ = enabled; }
  // Tests: how many graphs the cuda_graph option has captured so far, and
  // how many it holds now.
  int graph_captures() const { return graph_captures_; }
  size_t graphs_held() const { return graphs_.size(); }
  // Decoder fine-tuning: the FP32 arena view of a planned view for a frame
  // of batch x padded_height x padded_width, and conv `conv`'s folded
  // weights and bias in the device weight array, in the kernels' layout
  // (packed_weights.h), for the trainer to refold in place between runs.
  TensorView<float> float_view(const PlannedView& planned, int batch, int padded_height, int padded_width) const;
  float* folded_weight(int conv) const { return weights_ + packed_convs_[conv].weight_offset; }
  float* folded_bias(int conv) const { return weights_ + packed_convs_[conv].bias_offset; }

  // Tests: the named stage output ("conv1".."decode1") of the last run of a
  // frame of batch x height x width, as NCHW floats (needs
  // keep_stage_outputs). Allocates; not for the inference path.
  m2u_status read_stage(const std::string& name, int batch, int height, int width,
                        std::vector<float>* nchw, int* channels);

 private:
  Engine() = default;
  m2u_status fail(m2u_status status, const std::string& message);
  m2u_status cuda_failure(const char* what, cudaError_t error);
  m2u_status check_input(const m2u_image& input);
  m2u_status check_images(const m2u_image& input, const m2u_image& output);
  // Statistics, staging and the steps of a checked input (`probabilities`
  // unused without the output step).
  m2u_status launch(const m2u_image& input, const ProbabilityImage& probabilities, bool with_output);
  m2u_status stage_input(const m2u_image& input, PixelImage* pixels);
  // Caller-given statistics onto the device (a host copy, outside any graph).
  m2u_status upload_given_statistics(int batch);
  // Per-frame statistics on the device (a kernel; none when given).
  m2u_status compute_statistics(const PixelImage& pixels);
  // launch_steps for the engine's precision, directly or through a held graph (graphs_).
  m2u_status launch_device_work(const PixelImage& pixels, const ProbabilityImage& probabilities,
                                unsigned long long* nonfinite_counts, int batch, int padded_height,
                                int padded_width, bool with_output);
  m2u_status launch_steps_for_precision(const PixelImage& pixels, const ProbabilityImage& probabilities,
                                        unsigned long long* nonfinite_counts, int batch, int padded_height,
                                        int padded_width, bool with_output);
  template <typename T>
  m2u_status launch_steps(const PixelImage& pixels, const ProbabilityImage& probabilities,
                          unsigned long long* nonfinite_counts, int batch, int padded_height,
                          int padded_width, bool with_output);
  // M2U_ERROR_INPUT when the runs since the last report met non-finite
  // input values (the stream must have finished them), else M2U_OK.
  m2u_status report_nonfinite_input();
  template <typename T>
  TensorView<T> view(const PlannedView& planned, int batch, int padded_height,
                     int padded_width) const;
  cudaError_t observe(const PlannedStep& step, const TensorView<float>& output);
  template <typename T>
  cudaError_t observe(const PlannedStep&, const TensorView<T>&) { return cudaSuccess; }
  // The 1x1 and depthwise steps per storage type (INT8: the int8 kernels
  // with the step's packed int8 weights and scales).
  template <typename T>
  cudaError_t pointwise_step(const PlannedStep& step, TensorView<const T> in, TensorView<T> out,
                             TensorView<const T> residual, const float* weight, const float* bias,
                             KernelActivation activation);
  template <typename T>
  cudaError_t depthwise_step(const PlannedStep& step, TensorView<const T> in, TensorView<T> out,
                             const float* weight, const float* bias, KernelActivation activation);
  // A kFusedBlock step (float and __half storage; int8 refuses; an FP16
  // decoder block runs in float_storage_step) and its packed weights.
  FusedBlockWeights fused_block_weights(const PlannedStep& step) const;
  template <typename T>
  cudaError_t fused_block_step(const PlannedStep& step, TensorView<const T> in, TensorView<T> out,
                               TensorView<const T> residual);
  // A kFusedBlock step with the final conv (head_conv): the block in FP32
  // arithmetic from float or __half storage, the probabilities out.
  template <typename T>
  cudaError_t fused_head_step(const PlannedStep& step, TensorView<const T> in, const ProbabilityImage& probabilities);
  // An FP16 engine's step that reads or writes an FP32 buffer (a decoder
  // stage of MixedPrecision::float_stages): FP32 arithmetic throughout.
  cudaError_t float_storage_step(const PlannedStep& step, int batch, int padded_height, int padded_width,
                                 const float* weight, const float* bias, KernelActivation activation,
                                 const ProbabilityImage& probabilities);
  bool float_storage(const PlannedView& view) const {
    return view.buffer >= 0 && plan_.buffers[view.buffer].element_bytes == sizeof(float);
  }

  ExecutionPlan plan_;
  std::vector<PackedConv> packed_convs_;
  // INT8: the scale of every plan buffer, the int8 weights on the device
  // and where each conv's are.
  std::vector<float> buffer_scales_;
  std::vector<PackedConvInt8> int8_convs_;
  int8_t* int8_weights_ = nullptr;
  Architecture architecture_;
  KernelInputConvention normalization_{};
  m2u_precision precision_ = M2U_PRECISION_FP32;
  StepObserver* observer_ = nullptr;
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  bool owns_stream_ = false;
  float* weights_ = nullptr;
  size_t weight_count_ = 0;
  unsigned char* arena_ = nullptr;
  unsigned char* input_staging_ = nullptr;
  size_t input_staging_bytes_ = 0;
  unsigned char* output_staging_ = nullptr;
  size_t output_staging_bytes_ = 0;
  double* statistics_scratch_ = nullptr;
  float* statistics_ = nullptr;
  // Non-finite F32 input values per image (max_batch counters): counted on
  // the device by input_convert, copied with each F32 run into pinned host
  // memory on the stream, read once the stream has finished (synchronize,
  // query). Zeroed on the stream by the first F32 run after a report, so
  // runs queued between two reports add up.
  unsigned long long* nonfinite_counts_ = nullptr;
  unsigned long long* nonfinite_counts_host_ = nullptr;
  bool nonfinite_report_pending_ = false;
  // Caller-given (mean, 1 / max(std, std_floor)) per image, sized at
  // creation; used instead of image_statistics while given_statistics_.
  std::vector<float> given_statistics_;
  int given_statistics_batch_ = 0;
  // cuda_graph: what a held graph was captured for (every value its
  // kernels were given that can change between runs).
  struct GraphLayout {
    PixelImage pixels;
    ProbabilityImage probabilities;
    const unsigned long long* nonfinite_counts;
    bool with_output;
    bool given_statistics;
    bool operator==(const GraphLayout& o) const;
  };
  // time_layers: event 0 before the statistics, k + 1 before step k, and
  // one after the last step; recorded by every run.
  std::vector<cudaEvent_t> layer_events_;
  bool layer_events_recorded_ = false;
  cudaError_t record_layer_event(size_t index);
  bool use_graph_ = false;
  bool graphs_enabled_ = true;  // set_graphs_enabled
  struct HeldGraph {
    GraphLayout layout;
    std::unique_ptr<CapturedGraph> graph;
    unsigned long long last_use;  // runs_with_graphs_ at its last replay
  };
  std::vector<HeldGraph> graphs_;  // at most kMaxHeldGraphs
  unsigned long long runs_with_graphs_ = 0;
  int graph_captures_ = 0;
  std::string last_error_;
};

}  // namespace m2u

#endif  // M2U_RUNTIME_ENGINE_ENGINE_H
