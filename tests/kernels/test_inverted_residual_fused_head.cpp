// test_inverted_residual_fused_head.cpp - inverted_residual_fused_head (the
// last decoder block with the network's final 1x1 in its epilogue) against
// the CPU reference of the four convolutions it runs (1x1 expand, 3x3
// depthwise, 1x1 project, each with bias and activation, then the final
// 1x1 with bias and sigmoid or linear): odd sizes (17x34, 9x13, 3x3),
// concat rows of 33 and 31 channels, 5 and 9 hidden, block outputs of 16,
// 13 and 3 (a last quad of one channel; quads past the row), 1 to 4 final
// channels, F32 / U8 / U16 probabilities cropped into padded planar images
// (poisoned, nothing outside the crop written, guards), float and half
// input storage, several schedules; against the two launches it replaces
// (inverted_residual_fused_float_arithmetic, output_conv); and the
// refusals of what it cannot run.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "conv_kernels.h"
#include "depthwise_layout.h"
#include "emu_test_support.h"
#include "io_kernels.h"
#include "kernel_test_support.h"
#include "probability_test_support.h"
#include "reference_ops.h"

namespace {

using namespace kernel_test;

// F32 probabilities: the block's FP32 arithmetic (Precision<float>'s
// tolerance for the block) and a final sum in another order than the
// reference's.
constexpr double kHeadTolerance = 1e-5;

struct HeadCase {
  std::string name;
  int batch, height, width;
  int in_channels, hidden, block_outputs, head_outputs;
  int input_offset, input_extra;  // the input slice in a wider buffer
  ProbabilityLayout layout;
};

// The block's and the head's weights, on the host as the reference takes
// them and on the device as the kernel reads them.
template <typename Tin>
struct HeadWeights {
  std::vector<float> expand, expand_bias, depthwise, depthwise_bias, project, project_bias, head, head_bias;
  int expand_row, project_row, head_row;
  DeviceBuffer<float> d_expand, d_expand_bias, d_depthwise, d_depthwise_bias, d_project, d_project_bias, d_head,
      d_head_bias;

  HeadWeights(const HeadCase& c, uint32_t seed)
      : expand(random_values(static_cast<size_t>(c.hidden) * c.in_channels, seed + 1, -0.6f, 0.6f)),
        expand_bias(random_values(c.hidden, seed + 2)),
        depthwise(random_values(static_cast<size_t>(c.hidden) * 9, seed + 3, -0.5f, 0.5f)),
        depthwise_bias(random_values(c.hidden, seed + 4)),
        project(random_values(static_cast<size_t>(c.block_outputs) * c.hidden, seed + 5, -0.3f, 0.3f)),
        project_bias(random_values(c.block_outputs, seed + 6)),
        head(random_values(static_cast<size_t>(c.head_outputs) * c.block_outputs, seed + 7, -0.8f, 0.8f)),
        head_bias(random_values(c.head_outputs, seed + 8)),
        expand_row(m2u::padded_channels<Tin>(c.in_channels)),
        project_row(m2u::padded_channels<float>(c.hidden)),
        head_row(m2u::padded_channels<float>(c.block_outputs)),
        d_expand(static_cast<size_t>(c.hidden) * expand_row),
        d_expand_bias(c.hidden),
        d_depthwise(static_cast<size_t>(9) * m2u::depthwise_weight_row(c.hidden)),
        d_depthwise_bias(c.hidden),
        d_project(static_cast<size_t>(c.block_outputs) * project_row),
        d_project_bias(c.block_outputs),
        d_head(static_cast<size_t>(c.head_outputs) * head_row),
        d_head_bias(c.head_outputs) {
    d_expand.upload(padded_rows(expand, c.hidden, c.in_channels, expand_row));
    d_expand_bias.upload(expand_bias);
    d_depthwise.upload(tap_major_depthwise(depthwise, c.hidden));
    d_depthwise_bias.upload(depthwise_bias);
    d_project.upload(padded_rows(project, c.block_outputs, c.hidden, project_row));
    d_project_bias.upload(project_bias);
    d_head.upload(padded_rows(head, c.head_outputs, c.block_outputs, head_row));
    d_head_bias.upload(head_bias);
  }

  m2u::FusedBlockWeights block(m2u::KernelActivation hidden_activation) const {
    return m2u::FusedBlockWeights{d_expand.data(),  d_expand_bias.data(),  d_depthwise.data(), d_depthwise_bias.data(),
                                  d_project.data(), d_project_bias.data(), static_cast<int>(expand_bias.size()),
                                  expand_row,       project_row,           hidden_activation,  hidden_activation,
                                  m2u::KernelActivation::kLinear};
  }
  m2u::FusedHeadWeights head_weights(m2u::KernelActivation activation) const {
    return m2u::FusedHeadWeights{d_head.data(), d_head_bias.data(), static_cast<int>(head_bias.size()), head_row,
                                 activation};
  }
  bool guards_intact(std::string* where) const {
    for (const DeviceBuffer<float>* b : {&d_expand, &d_expand_bias, &d_depthwise, &d_depthwise_bias, &d_project,
                                         &d_project_bias, &d_head, &d_head_bias}) {
      if (!b->guards_intact(where)) return false;
    }
    return true;
  }
};

template <typename Tin>
void run_head_case(const HeadCase& c, const ActivationCase& hidden, const ActivationCase& final, uint32_t seed,
                   OutputErrors* errors) {
  constexpr float kForeign = -55.0f;
  const HostTensor input = rounded_to<Tin>(random_tensor(c.batch, c.in_channels, c.height, c.width, seed));
  const DeviceInput<Tin> device_input = upload_slice<Tin>(input, c.input_offset, c.input_extra, kForeign);
  const HeadWeights<Tin> w(c, seed);

  const HostTensor expanded = m2u::ref::activation(m2u::ref::conv2d(input, w.expand, w.expand_bias, c.hidden, 1, 1, 1),
                                                   hidden.reference);
  const HostTensor filtered = m2u::ref::activation(
      m2u::ref::conv2d(expanded, w.depthwise, w.depthwise_bias, c.hidden, 3, 1, c.hidden), hidden.reference);
  const HostTensor block = m2u::ref::conv2d(filtered, w.project, w.project_bias, c.block_outputs, 1, 1, 1);
  const HostTensor expected =
      m2u::ref::activation(m2u::ref::conv2d(block, w.head, w.head_bias, c.head_outputs, 1, 1, 1), final.reference);

  for (uint64_t schedule : emu_test::test_seeds()) {
    emu_test::ScopedSeed scoped(schedule);
    DeviceBuffer<unsigned char> output(c.layout.image_stride_bytes * c.batch);
    output.poison(kUnwrittenByte);
    const std::string context = Precision<Tin>::name() + " input " + c.name + " " + hidden.name + "/" + final.name +
                                " schedule " + std::to_string(schedule);
    const cudaError_t status = m2u::inverted_residual_fused_head<Tin>(
        device_input.view(c.input_offset, c.in_channels), c.block_outputs, w.block(hidden.kernel),
        w.head_weights(final.kernel), probability_image(output.data(), c.layout), nullptr);
    REQUIRE_MESSAGE(status == cudaSuccess, context << ": " << cudaGetErrorName(status));
    check_probabilities(output, c.layout, c.batch, c.head_outputs, expected, kHeadTolerance, context, errors);
  }
  std::string where;
  CHECK_MESSAGE(w.guards_intact(&where), c.name << ": weights " << where);
  CHECK_MESSAGE(device_input.buffer.guards_intact(&where), c.name << ": input " << where);
}

}  // namespace

TEST_CASE_TEMPLATE("inverted_residual_fused_head: against expand -> depthwise -> project -> final 1x1 of the "
                   "reference",
                   Tin, float, __half) {
  using m2u::PixelType;
  const std::vector<ActivationCase> all = all_activations();
  const ActivationCase linear = all[0], relu = all[1], relu6 = all[2], sigmoid = all[3];
  std::vector<HeadCase> cases = {
      // decode1.ir1 + decode1.conv.0 of the 1-channel model: the concat row
      // (30 upsampled, padded, then the input), 5 hidden, 16 outputs, 1 final.
      {"2x9x13 33->5->16 -> 1 F32 crop 7x11", 2, 9, 13, 33, 5, 16, 1, 0, 0, padded_layout(PixelType::kF32, 1, 7, 11, 3)},
      {"1x9x13 31->9->13 -> 3 U16 crop 9x13, a slice", 1, 9, 13, 31, 9, 13, 3, 8, 8,
       padded_layout(PixelType::kU16, 3, 9, 13, 1)},
      {"1x3x3 3->6->3 -> 4 U8", 1, 3, 3, 3, 6, 3, 4, 0, 0, padded_layout(PixelType::kU8, 4, 3, 3, 2)},
  };
  if (!under_simulator()) {
    cases.push_back({"1x17x34 33->5->16 -> 2 U8 crop 13x31", 1, 17, 34, 33, 5, 16, 2, 0, 0,
                     padded_layout(PixelType::kU8, 2, 13, 31, 5)});
    cases.push_back({"2x17x34 64->37->16 -> 1 F32 (the widest input, 3 chunks)", 2, 17, 34, 64, 37, 16, 1, 0, 0,
                     padded_layout(PixelType::kF32, 1, 17, 34, 0)});
  }
  OutputErrors errors;
  uint32_t seed = 41;
  for (const HeadCase& c : cases) {
    run_head_case<Tin>(c, relu6, sigmoid, seed, &errors);
    run_head_case<Tin>(c, relu, linear, seed + 9, &errors);
    seed += 17;
  }
  MESSAGE("inverted_residual_fused_head, " << Precision<Tin>::name() << " input: F32 worst relative error "
                                           << errors.relative << " (tolerance " << kHeadTolerance << "); "
                                           << errors.off_by_one << " of " << errors.quantised
                                           << " U8/U16 values 1 LSB off the rounded reference, the rest exact");
}

TEST_CASE_TEMPLATE("inverted_residual_fused_head equals the two launches it replaces (the fused block, output_conv)",
                   Tin, float, __half) {
  const HeadCase c{"1x16x24 33->5->16 -> 1", 1, 16, 24, 33, 5, 16, 1, 0, 0,
                   padded_layout(m2u::PixelType::kF32, 1, 13, 21, 0)};
  const HostTensor input = random_tensor(1, c.in_channels, c.height, c.width, 3);
  const DeviceInput<Tin> device_input = upload_tensor<Tin>(input);
  const HeadWeights<Tin> w(c, 5);
  const m2u::KernelActivation relu6 = m2u::KernelActivation::kRelu6, sigmoid = m2u::KernelActivation::kSigmoid;
  DeviceBuffer<float> block(static_cast<size_t>(c.height) * c.width * w.head_row);
  const m2u::TensorView<float> block_view{block.data(), 1, c.height, c.width, c.block_outputs, w.head_row};
  DeviceBuffer<unsigned char> unfused(c.layout.image_stride_bytes), fused(c.layout.image_stride_bytes);
  REQUIRE(m2u::inverted_residual_fused_float_arithmetic<Tin, float>(device_input.view(0, c.in_channels), block_view,
                                                                    m2u::TensorView<const float>{}, w.block(relu6), 1,
                                                                    nullptr) == cudaSuccess);
  REQUIRE(m2u::output_conv<float>(m2u::TensorView<const float>{block.data(), 1, c.height, c.width, c.block_outputs,
                                                               w.head_row},
                                  1, w.d_head.data(), w.d_head_bias.data(), sigmoid,
                                  probability_image(unfused.data(), c.layout), nullptr) == cudaSuccess);
  REQUIRE(m2u::inverted_residual_fused_head<Tin>(device_input.view(0, c.in_channels), c.block_outputs,
                                                 w.block(relu6), w.head_weights(sigmoid),
                                                 probability_image(fused.data(), c.layout), nullptr) == cudaSuccess);
  REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
  const std::vector<unsigned char> a = unfused.download(), b = fused.download();
  // Both outputs start as NaN bytes (DeviceBuffer's poison): a pixel either
  // kernel left unwritten, or wrote NaN, counts as a mismatch.
  double worst = 0.0;
  int mismatches = 0;
  for (int y = 0; y < c.layout.height; ++y)
    for (int x = 0; x < c.layout.width; ++x) {
      const size_t at = c.layout.offset(0, 0, y, x);
      const double diff = std::fabs(stored_value(a, c.layout, at) - stored_value(b, c.layout, at));
      // Probabilities in (0, 1): the final sums differ in their order only.
      if (!(diff <= 1e-6)) ++mismatches;
      if (std::isfinite(diff)) worst = std::max(worst, diff);
    }
  CHECK_MESSAGE(mismatches == 0, mismatches << " probabilities differ by more than 1e-6 or are not finite");
  MESSAGE(Precision<Tin>::name() << " input: fused head vs fused block + output_conv: max |diff| " << worst);
}

TEST_CASE("inverted_residual_fused_head refuses what it cannot run") {
  const HeadCase c{"1x9x13 33->5->16 -> 1", 1, 9, 13, 33, 5, 16, 1, 0, 0,
                   padded_layout(m2u::PixelType::kU8, 1, 9, 13, 0)};
  const HostTensor input = random_tensor(1, c.in_channels, c.height, c.width, 3);
  const DeviceInput<float> device_input = upload_tensor<float>(input);
  const m2u::TensorView<const float> in = device_input.view(0, c.in_channels);
  const HeadWeights<float> w(c, 5);
  DeviceBuffer<unsigned char> output(c.layout.image_stride_bytes);
  const m2u::ProbabilityImage image = probability_image(output.data(), c.layout);
  const m2u::KernelActivation relu6 = m2u::KernelActivation::kRelu6, sigmoid = m2u::KernelActivation::kSigmoid;
  const auto run = [&](int block_outputs, const m2u::FusedBlockWeights& block, const m2u::FusedHeadWeights& head,
                       const m2u::ProbabilityImage& probabilities) {
    return m2u::inverted_residual_fused_head<float>(in, block_outputs, block, head, probabilities, nullptr);
  };
  REQUIRE(run(16, w.block(relu6), w.head_weights(sigmoid), image) == cudaSuccess);
  CHECK(cudaDeviceSynchronize() == cudaSuccess);
  // More than 16 block outputs (each pixel's outputs are 4 threads' quads).
  CHECK(run(17, w.block(relu6), w.head_weights(sigmoid), image) == cudaErrorInvalidValue);
  CHECK(run(0, w.block(relu6), w.head_weights(sigmoid), image) == cudaErrorInvalidValue);
  m2u::FusedHeadWeights head = w.head_weights(sigmoid);
  head.out_channels = 5;  // at most 4 final channels
  CHECK(run(16, w.block(relu6), head, image) == cudaErrorInvalidValue);
  head.out_channels = 0;
  CHECK(run(16, w.block(relu6), head, image) == cudaErrorInvalidValue);
  head = w.head_weights(sigmoid);
  head.row = 20;  // not the block outputs' padding
  CHECK(run(16, w.block(relu6), head, image) == cudaErrorInvalidValue);
  head = w.head_weights(sigmoid);
  head.bias = nullptr;
  CHECK(run(16, w.block(relu6), head, image) == cudaErrorInvalidValue);
  m2u::FusedBlockWeights block = w.block(relu6);
  block.expand_row = 32;  // not the input's padded channels (36)
  CHECK(run(16, block, w.head_weights(sigmoid), image) == cudaErrorInvalidValue);
  m2u::ProbabilityImage taller = image;
  taller.height = c.height + 1;  // larger than the network's output
  CHECK(run(16, w.block(relu6), w.head_weights(sigmoid), taller) == cudaErrorInvalidValue);
  m2u::ProbabilityImage short_rows = image;
  short_rows.row_stride_bytes = c.width - 1;
  CHECK(run(16, w.block(relu6), w.head_weights(sigmoid), short_rows) == cudaErrorInvalidValue);
}
