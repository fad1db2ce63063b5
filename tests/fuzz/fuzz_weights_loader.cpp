// fuzz_weights_loader.cpp - libFuzzer target for the .m2u loader and the
// engine behind it.
//
// The first input byte picks a mode:
//   even: the rest is a whole file, parsed as it is and once more with its
//         CRC-32 trailer recomputed, so mutations reach the checks behind
//         the checksum;
//   odd:  the rest is a list of patches {u32 offset, u8 length, bytes} applied
//         to a valid 1-channel F16 model (built once from the test writer),
//         whose checksum is then recomputed: structure-aware mutations of
//         header, tables and data at the speed of small inputs.
// Every file the loader accepts is also made into an engine (batch 1, at
// most 16 x 32) and run on one finite 13 x 29 F32 frame from host memory
// into F32 host memory, so that the loader and the engine cannot disagree
// on what a valid model is.
// Any crash, sanitizer report or hang is a bug; so is a refusal without a
// message, an engine made with a non-finite packed (batch-norm folded)
// weight, a failed run (the frame is valid and finite), and a run that
// returns M2U_OK with a non-finite output when the model's activations
// provably stay within float range. A model whose finite weights make its
// activations overflow may give non-finite outputs: the engine does not
// check outputs (m2urt.h, m2u_engine_run), so neither does this target then.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine.h"
#include "packed_weights.h"
#include "weights_loader.h"
#include "weights_writer.h"

namespace {

constexpr int kMaxHeight = 16, kMaxWidth = 32;  // the engine
constexpr int kHeight = 13, kWidth = 29;        // the frame: padded, then cropped
// Activations below this cannot overflow float, rounding included.
constexpr double kSafeBound = 1e30;

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "fuzz_weights_loader: %s\n", why.c_str());
  std::abort();
}

// The largest |value| of the network input for the frame (values in [0, 1],
// `values` of them per image).
double input_bound(const m2u::Model& model, size_t values) {
  const m2u::InputConvention& in = model.input;
  // Population standardisation: |v - mean| <= sqrt(N) std for N values.
  if (in.normalization == m2u::NormalizationKind::kPerImageStandardize) {
    return std::sqrt(static_cast<double>(values)) * 1.01 + 1.0;
  }
  double bound = 0.0;
  for (int c = 0; c < model.architecture.in_channels; ++c) {
    const double mean = in.channel_mean[c], deviation = in.channel_std[c];
    bound = std::max(bound, std::max(std::fabs(mean), std::fabs(in.pixel_scale - mean)) / deviation);
  }
  return bound;
}

// An upper bound of every activation's |value| for finite input bounded by
// `input`, by interval arithmetic over the plan's steps with the weights
// the engine uploaded: a convolution gives sum |w| * bound(input) + |b|
// (ReLU6 at most 6 after it, a sigmoid 1), a residual adds its bound,
// bilinear upsampling keeps it.
double activation_bound(const m2u::Architecture& arch, const m2u::ExecutionPlan& plan,
                        const m2u::PackedWeights& packed, double input) {
  std::vector<double> buffers(plan.buffers.size(), 0.0);
  double worst = input;
  for (const m2u::PlannedStep& step : plan.steps) {
    const double in = step.input.buffer >= 0 ? buffers[step.input.buffer] : input;
    double out = in;  // input conversion, upsampling
    if (step.conv >= 0) {
      const m2u::ConvSpec& spec = arch.convs[step.conv];
      const m2u::PackedConv& conv = packed.convs[step.conv];
      // Packed weights per output channel (packed_weights.h).
      const bool spatial = step.kind == m2u::StepKind::kStem || step.kind == m2u::StepKind::kDepthwise;
      const size_t row = spatial ? static_cast<size_t>(spec.in_channels / spec.groups) * spec.kernel * spec.kernel
                                 : static_cast<size_t>(plan.conv_inputs[step.conv].row_length);
      out = 0.0;
      for (int co = 0; co < spec.out_channels; ++co) {
        double weights = 0.0;
        const float* w = packed.values.data() + conv.weight_offset + co * row;
        for (size_t k = 0; k < row; ++k) weights += std::fabs(w[k]);
        out = std::max(out, weights * in + std::fabs(packed.values[conv.bias_offset + co]));
      }
      worst = std::max(worst, out);  // before the activation: inf - inf would be NaN
      if (spec.activation == m2u::Activation::kRelu6) out = std::min(out, 6.0);
      if (spec.activation == m2u::Activation::kSigmoid) out = 1.0;
    }
    if (step.residual.buffer >= 0) out += buffers[step.residual.buffer];
    if (step.output.buffer >= 0) buffers[step.output.buffer] = std::max(buffers[step.output.buffer], out);
    worst = std::max(worst, out);
  }
  return worst;
}

// A model with activation scales also runs as an INT8 engine: refused with
// a status and a message, or run to M2U_OK (its outputs are not checked:
// any finite scale is allowed, and 127 times a huge one overflows).
void run_int8_or_die(const m2u::Model& model, m2u_image in, m2u_image out) {
  if (model.quantisation.empty()) return;
  m2u::EngineOptions options;
  options.max_height = kMaxHeight;
  options.max_width = kMaxWidth;
  options.precision = M2U_PRECISION_INT8;
  m2u_status status = M2U_OK;
  std::string error;
  const std::unique_ptr<m2u::Engine> engine = m2u::Engine::create(model, options, &status, &error);
  if (!engine) {
    if (status == M2U_OK || error.empty()) die("the INT8 engine refused a model without a status or message");
    return;
  }
  const m2u_status ran = engine->run(in, out);
  if (ran != M2U_OK) die("a finite frame failed on an INT8 engine: " + engine->last_error());
}

void run_or_die(const m2u::Model& model) {
  m2u::EngineOptions options;
  options.max_batch = 1;
  options.max_height = kMaxHeight;
  options.max_width = kMaxWidth;
  m2u_status status = M2U_OK;
  std::string error;
  const std::unique_ptr<m2u::Engine> engine = m2u::Engine::create(model, options, &status, &error);
  if (!engine) {
    if (status == M2U_OK || error.empty()) die("engine refused a model without a status or message");
    return;
  }
  const int channels = model.architecture.in_channels;
  const int out_channels = model.architecture.out_channels;
  std::vector<float> frame(static_cast<size_t>(kHeight) * kWidth * channels);
  for (size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<float>((i * 37) % 101) / 100.0f;
  std::vector<float> output(static_cast<size_t>(out_channels) * kHeight * kWidth, -1.0f);
  m2u_image in{};
  in.data = frame.data();
  in.memory = M2U_MEMORY_HOST;
  in.dtype = M2U_DTYPE_F32;
  in.batch = 1;
  in.channels = channels;
  in.height = kHeight;
  in.width = kWidth;
  m2u_image out = in;
  out.data = output.data();
  out.channels = out_channels;
  run_int8_or_die(model, in, out);
  const m2u_status ran = engine->run(in, out);
  if (ran != M2U_OK) {
    die("a finite frame failed on an engine the model made: " + std::string(m2u_status_string(ran)) + ": " +
        engine->last_error());
  }
  // The weights as the engine uploaded them: finite, or it should have refused.
  m2u::PackedWeights packed;
  if (!m2u::pack_weights(model, engine->plan(), &packed, &error)) {
    die("pack_weights refuses a model the engine accepted: " + error);
  }
  for (const float value : packed.values) {
    if (!std::isfinite(value)) die("the engine accepted a model whose folded weights are not finite");
  }
  const double bound = activation_bound(model.architecture, engine->plan(), packed, input_bound(model, frame.size()));
  if (bound > kSafeBound) return;
  const bool sigmoid = model.architecture.output_activation == m2u::Activation::kSigmoid;
  for (size_t i = 0; i < output.size(); ++i) {
    if (!std::isfinite(output[i]) || (sigmoid && (output[i] < 0.0f || output[i] > 1.0f))) {
      die("M2U_OK with output " + std::to_string(output[i]) + " at " + std::to_string(i) +
          " from a model whose activations stay within float range");
    }
  }
}

void parse_or_die(const std::vector<uint8_t>& bytes) {
  m2u::Model model;
  std::string error;
  if (!m2u::parse_weights(bytes.data(), bytes.size(), &model, &error)) {
    if (error.empty()) die("the loader refused a file without a message");
    return;
  }
  run_or_die(model);
}

const std::vector<uint8_t>& base_file() {
  static const std::vector<uint8_t> base =
      m2u_test::serialize(m2u_test::make_valid_file(1, 1, false, 1, 5));
  return base;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  ++data;
  --size;
  if ((mode & 1u) == 0) {
    std::vector<uint8_t> bytes(data, data + size);
    parse_or_die(bytes);
    if (bytes.size() >= 4) {
      m2u_test::refresh_checksum(bytes);
      parse_or_die(bytes);
    }
    return 0;
  }
  std::vector<uint8_t> bytes = base_file();
  size_t cursor = 0;
  while (cursor + 5 <= size) {
    uint32_t offset;
    std::memcpy(&offset, data + cursor, 4);
    const size_t length = data[cursor + 4];
    cursor += 5;
    const size_t available = std::min(length, size - cursor);
    const size_t at = offset % (bytes.size() - 4);
    const size_t count = std::min(available, bytes.size() - 4 - at);
    std::memcpy(bytes.data() + at, data + cursor, count);
    cursor += available;
  }
  m2u_test::refresh_checksum(bytes);
  parse_or_die(bytes);
  return 0;
}
