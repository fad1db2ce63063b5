// test_inverted_residual_fused.cpp - inverted_residual_fused against the
// CPU reference of the three convolutions it fuses (1x1 expand, 3x3
// depthwise, 1x1 project, each with bias and activation, then the residual
// add): stride 1 and 2 on odd sizes (17x34, 9x13, 3x3), channel counts that
// are not multiples of 4 or 16 (hidden 37, 30; Cin 19, 5, 3), the widest
// output (61 channels, 64 padded), input, residual and output views that are slices of
// wider buffers (the encoder's last block writes into a concat buffer),
// poisoned outputs, guards, several schedules; and the refusals of what it
// cannot run. FP32 and FP16 (half2 arithmetic); FP16 also against a CPU
// model of its own arithmetic (half2_conv_reference.h), to the ulp; and
// FP32 arithmetic from half input into float (an FP16 engine's decoder
// blocks: concat rows of 33 and 60 channels, 5 and 9 hidden).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "conv_kernels.h"
#include "depthwise_layout.h"
#include "emu_test_support.h"
#include "half2_conv_reference.h"
#include "kernel_test_support.h"
#include "reference_ops.h"

namespace {

using namespace kernel_test;

// FP16 (half2) against the FP32 reference (max |diff| / max |ref|): three
// tensors rounded to half (expanded, depthwise, output: 2^-11 each) and the
// half partial sums of the expand and project (16 products a chunk, as the
// unfused pointwise kernel; kPointwiseHalf2Tolerance's argument). Measured
// worst over the cases below (the MESSAGE line): 1.19e-3; 4e-3 is 3.4x it,
// as kPointwiseHalf2Tolerance. Against its own arithmetic: 0 ulps.
constexpr double kFusedHalf2Tolerance = 4e-3;

struct FusedCase {
  std::string name;
  int batch, height, width;
  int in_channels, hidden, out_channels;
  int stride;
  bool residual;
  int input_offset, input_extra;  // the input (and residual) slice in a wider buffer
  int output_offset, output_extra;
};

struct FusedActivations {
  ActivationCase expand, depthwise, project;
};

// The weights as the reference takes them ([out][in], [C][9]) and packed
// as the kernel reads them (rows padded with zeros).
struct BlockWeights {
  std::vector<float> expand, expand_bias, depthwise, depthwise_bias, project, project_bias;
};

// A tensor's first `padded` channels: its own, then zeros (a producer's
// padding, as the kernel reads it).
HostTensor zero_padded(const HostTensor& tensor, int padded) {
  HostTensor out(tensor.n, padded, tensor.h, tensor.w);
  for (int n = 0; n < tensor.n; ++n)
    for (int ch = 0; ch < tensor.c; ++ch)
      for (int y = 0; y < tensor.h; ++y)
        for (int x = 0; x < tensor.w; ++x) out.at(n, ch, y, x) = tensor.at(n, ch, y, x);
  return out;
}

// The half2 kernel's arithmetic, stage for stage (half2_conv_reference.h),
// each tensor rounded to half where the kernel stores it: the expanded and
// depthwise tensors in shared memory, the output (rounded by
// check_same_arithmetic).
HostTensor same_arithmetic_block(const HostTensor& input, const BlockWeights& w, const FusedCase& c,
                                 const FusedActivations& a) {
  const int in_padded = m2u::padded_channels<__half>(c.in_channels);
  const int project_row = m2u::padded_channels<__half>(c.hidden);
  const HostTensor expanded = rounded_to<__half>(m2u::ref::activation(
      half2_paired_pointwise_conv(zero_padded(input, in_padded), padded_rows(w.expand, c.hidden, c.in_channels, in_padded),
                                  w.expand_bias, c.hidden, true),
      a.expand.reference));
  const HostTensor filtered = rounded_to<__half>(m2u::ref::activation(
      half2_depthwise_conv(expanded, w.depthwise, w.depthwise_bias, c.stride), a.depthwise.reference));
  HostTensor result = m2u::ref::activation(
      half2_paired_pointwise_conv(zero_padded(filtered, project_row),
                                  padded_rows(w.project, c.out_channels, c.hidden, project_row), w.project_bias,
                                  c.out_channels, false),
      a.project.reference);
  if (c.residual) result = m2u::ref::add(result, input);
  return result;
}

// The same-arithmetic check's allowance in half ulps: the emulation is
// exact but for expf in a sigmoid (half2_ulp_tolerance); a sigmoid before
// the project moves a stored hidden value by an ulp now and then, which
// the output can carry one ulp further.
int fused_ulp_tolerance(const FusedActivations& a) {
  const bool hidden_sigmoid = a.expand.kernel == m2u::KernelActivation::kSigmoid ||
                              a.depthwise.kernel == m2u::KernelActivation::kSigmoid;
  return std::max(half2_ulp_tolerance(a.project.kernel), hidden_sigmoid ? half2_ulp_tolerance(a.expand.kernel) +
                                                                              half2_ulp_tolerance(a.depthwise.kernel) + 1
                                                                        : 0);
}

// Tin = Tout = __half: the half2 kernel (inverted_residual_fused<__half>);
// Tin = Tout = float: the float kernel (inverted_residual_fused<float>);
// Tin = __half, Tout = float: the float kernel from half input storage, as
// an FP16 engine runs decode2.ir1 and decode1.ir1 (no residual there).
template <typename Tin, typename Tout = Tin>
void run_fused_case(const FusedCase& c, const std::vector<FusedActivations>& activations, uint32_t seed,
                    WorstError* worst, SameArithmeticWorst* same_worst = nullptr) {
  constexpr bool kHalf = std::is_same<Tin, __half>::value && std::is_same<Tout, __half>::value;
  constexpr bool kMixed = !std::is_same<Tin, Tout>::value;
  static_assert(!kMixed || std::is_same<Tout, float>::value, "half output runs the half2 kernel");
  REQUIRE_MESSAGE(!(kMixed && c.residual), c.name << ": the residual has the output's type");
  constexpr float kForeign = -55.0f;
  const int in_padded = m2u::padded_channels<Tin>(c.in_channels);
  // The kernel reads the input as stored: the references take it rounded.
  const HostTensor input = rounded_to<Tin>(random_tensor(c.batch, c.in_channels, c.height, c.width, seed));
  const DeviceInput<Tin> device_input = upload_slice<Tin>(input, c.input_offset, c.input_extra, kForeign);

  // Weights scaled so that every stage keeps values of order 1.
  BlockWeights w;
  w.expand = random_values(static_cast<size_t>(c.hidden) * c.in_channels, seed + 1, -0.6f, 0.6f);
  w.expand_bias = random_values(c.hidden, seed + 2);
  w.depthwise = random_values(static_cast<size_t>(c.hidden) * 9, seed + 3, -0.5f, 0.5f);
  w.depthwise_bias = random_values(c.hidden, seed + 4);
  w.project = random_values(static_cast<size_t>(c.out_channels) * c.hidden, seed + 5, -0.3f, 0.3f);
  w.project_bias = random_values(c.out_channels, seed + 6);
  // The project row pads as the arithmetic's tensors: half2's or float's.
  const int expand_row = in_padded, project_row = m2u::padded_channels<Tout>(c.hidden);
  DeviceBuffer<float> expand(static_cast<size_t>(c.hidden) * expand_row), expand_bias(c.hidden),
      depthwise(static_cast<size_t>(9) * m2u::depthwise_weight_row(c.hidden)), depthwise_bias(c.hidden),
      project(static_cast<size_t>(c.out_channels) * project_row), project_bias(c.out_channels);
  expand.upload(padded_rows(w.expand, c.hidden, c.in_channels, expand_row));
  expand_bias.upload(w.expand_bias);
  depthwise.upload(kernel_test::tap_major_depthwise(w.depthwise, c.hidden));
  depthwise_bias.upload(w.depthwise_bias);
  project.upload(padded_rows(w.project, c.out_channels, c.hidden, project_row));
  project_bias.upload(w.project_bias);

  const int out_h = (c.height + c.stride - 1) / c.stride, out_w = (c.width + c.stride - 1) / c.stride;
  const BufferShape output_shape{c.batch, out_h, out_w,
                                 c.output_offset + m2u::padded_channels<Tout>(c.out_channels) + c.output_extra};
  const std::vector<Tout> before = output_before<Tout>(output_shape, c.output_offset, c.out_channels, kForeign);
  const std::string precision = kMixed ? "FP32 from FP16" : Precision<Tin>::name();

  for (const FusedActivations& a : activations) {
    const HostTensor expanded = m2u::ref::activation(
        m2u::ref::conv2d(input, w.expand, w.expand_bias, c.hidden, 1, 1, 1), a.expand.reference);
    const HostTensor filtered = m2u::ref::activation(
        m2u::ref::conv2d(expanded, w.depthwise, w.depthwise_bias, c.hidden, 3, c.stride, c.hidden),
        a.depthwise.reference);
    HostTensor expected = m2u::ref::activation(
        m2u::ref::conv2d(filtered, w.project, w.project_bias, c.out_channels, 1, 1, 1), a.project.reference);
    if (c.residual) expected = m2u::ref::add(expected, input);
    const HostTensor same = kHalf ? same_arithmetic_block(input, w, c, a) : HostTensor{};
    const m2u::FusedBlockWeights weights{expand.data(),  expand_bias.data(),  depthwise.data(),
                                         depthwise_bias.data(), project.data(), project_bias.data(),
                                         c.hidden,       expand_row,          project_row,
                                         a.expand.kernel, a.depthwise.kernel, a.project.kernel};
    for (uint64_t schedule : emu_test::test_seeds()) {
      emu_test::ScopedSeed scoped(schedule);
      DeviceBuffer<Tout> output(output_shape.elements());
      output.upload(before);
      const m2u::TensorView<const Tin> in = device_input.view(c.input_offset, c.in_channels);
      const m2u::TensorView<Tout> out = view_of(output.data(), output_shape, c.output_offset, c.out_channels);
      cudaError_t status = cudaSuccess;
      if constexpr (kMixed) {
        status = m2u::inverted_residual_fused_float_arithmetic<Tin, Tout>(
            in, out, m2u::TensorView<const Tout>{nullptr, 0, 0, 0, 0, 0}, weights, c.stride, nullptr);
      } else {
        status = m2u::inverted_residual_fused<Tin>(
            in, out, c.residual ? in : m2u::TensorView<const Tin>{nullptr, 0, 0, 0, 0, 0}, weights, c.stride, nullptr);
      }
      const std::string context = precision + " " + c.name + " " + a.expand.name + "/" +
                                  a.depthwise.name + "/" + a.project.name + " schedule " + std::to_string(schedule);
      REQUIRE_MESSAGE(status == cudaSuccess, context << ": " << cudaGetErrorName(status));
      check_output(output, before, output_shape, c.output_offset, expected,
                   kHalf ? kFusedHalf2Tolerance : Precision<float>::kTolerance, context, worst);
      if constexpr (kHalf) {
        check_same_arithmetic(output, output_shape, c.output_offset, same, fused_ulp_tolerance(a), context,
                              same_worst);
      }
    }
    for (DeviceBuffer<float>* b : {&expand, &expand_bias, &depthwise, &depthwise_bias, &project, &project_bias}) {
      std::string where;
      CHECK_MESSAGE(b->guards_intact(&where), c.name << ": weights " << where);
    }
  }
}

FusedActivations block_activations(int expand, int depthwise, int project) {
  const std::vector<ActivationCase> all = all_activations();
  return FusedActivations{all.at(expand), all.at(depthwise), all.at(project)};
}

}  // namespace

TEST_CASE("inverted_residual_fused FP32: against expand -> depthwise -> project (+ residual) of the reference") {
  // MobileNetV2's blocks: ReLU6 (or the 1-channel model's ReLU) after the
  // expand and the depthwise, a linear projection; one case sweeps other
  // activations through the epilogue and the expand.
  const std::vector<FusedActivations> block = {block_activations(2, 2, 0), block_activations(1, 1, 0)};
  const std::vector<FusedActivations> others = {block_activations(0, 3, 1), block_activations(3, 0, 2)};
  const bool sim = under_simulator();
  std::vector<FusedCase> cases = {
      {"1x9x13 s1 residual 24->144->24", 1, 9, 13, 24, 144, 24, 1, true, 0, 0, 0, 0},
      {"2x9x13 s2 19->37->33, slices", 2, 9, 13, 19, 37, 33, 2, false, 8, 4, 4, 8},
      {"1x3x3 s2 3->6->7", 1, 3, 3, 3, 6, 7, 2, false, 0, 0, 0, 0},
      // decode1.ir1's shape: a concat row (up 30, padded to 32, then the
      // 1-channel input), 5 hidden channels (one chunk, two of its quads).
      {"1x9x13 s1 33->5->16 (decode1.ir1)", 1, 9, 13, 33, 5, 16, 1, false, 0, 0, 0, 0},
  };
  if (!sim) {
    cases.push_back({"1x17x34 s1 residual 32->192->32, into a concat slice", 1, 17, 34, 32, 192, 32, 1, true, 4, 12,
                     16, 0});
    cases.push_back({"1x17x34 s2 5->30->61 (the widest output, 64 padded)", 1, 17, 34, 5, 30, 61, 2, false, 0, 0, 0, 0});
    cases.push_back({"2x17x34 s1 64->384->64", 2, 17, 34, 64, 384, 64, 1, true, 0, 0, 0, 0});
  }
  WorstError worst;
  uint32_t seed = 11;
  for (const FusedCase& c : cases) {
    run_fused_case<float>(c, c.height <= 9 ? block : large_case_activations(block), seed, &worst);
    seed += 17;
  }
  run_fused_case<float>(cases[1], others, 99, &worst);
  MESSAGE("inverted_residual_fused FP32: worst relative error " << worst.relative << " (tolerance "
                                                                << Precision<float>::kTolerance << ")");
}

TEST_CASE("inverted_residual_fused FP16 (half2): against its own arithmetic and the FP32 reference") {
  const std::vector<FusedActivations> block = {block_activations(2, 2, 0), block_activations(1, 1, 0)};
  const std::vector<FusedActivations> others = {block_activations(0, 3, 1), block_activations(3, 0, 2)};
  // Slices start and end at 8-half (16-byte) groups.
  std::vector<FusedCase> cases = {
      {"1x9x13 s1 residual 24->144->24", 1, 9, 13, 24, 144, 24, 1, true, 0, 0, 0, 0},
      {"2x9x13 s2 19->37->33, slices", 2, 9, 13, 19, 37, 33, 2, false, 8, 8, 8, 16},
      {"1x3x3 s2 3->6->7", 1, 3, 3, 3, 6, 7, 2, false, 0, 0, 0, 0},
  };
  if (!under_simulator()) {
    cases.push_back({"1x17x34 s1 residual 32->192->32, into a concat slice", 1, 17, 34, 32, 192, 32, 1, true, 8, 16,
                     16, 0});
    cases.push_back({"1x17x34 s2 5->30->61 (the widest output, 64 padded)", 1, 17, 34, 5, 30, 61, 2, false, 0, 0, 0, 0});
    cases.push_back({"2x17x34 s1 64->384->64", 2, 17, 34, 64, 384, 64, 1, true, 0, 0, 0, 0});
  }
  WorstError worst;
  SameArithmeticWorst same;
  uint32_t seed = 23;
  for (const FusedCase& c : cases) {
    run_fused_case<__half>(c, c.height <= 9 ? block : large_case_activations(block), seed, &worst, &same);
    seed += 17;
  }
  run_fused_case<__half>(cases[1], others, 101, &worst, &same);
  MESSAGE("inverted_residual_fused FP16: worst relative error against FP32 "
          << worst.relative << " (tolerance " << kFusedHalf2Tolerance << "); against its own arithmetic "
          << same.ulps << " half ulps, relative " << same.relative);
}

TEST_CASE("inverted_residual_fused_float_arithmetic<__half, float> (an FP16 engine's decoder blocks): against the "
          "FP32 reference on the half input") {
  // The decoder's ReLU6 (or ReLU) after the expand and the depthwise, a
  // linear projection, other activations through the epilogue.
  const std::vector<FusedActivations> block = {block_activations(2, 2, 0), block_activations(1, 1, 0)};
  const std::vector<FusedActivations> others = {block_activations(0, 3, 1), block_activations(3, 0, 2)};
  // Input slices start at 8-half groups, output slices at 4-float groups.
  std::vector<FusedCase> cases = {
      {"2x9x13 s1 60->9->30 (decode2.ir1: a 64-half row), slices", 2, 9, 13, 60, 9, 30, 1, false, 8, 8, 4, 8},
      {"1x3x3 s2 3->6->7", 1, 3, 3, 3, 6, 7, 2, false, 0, 0, 0, 0},
  };
  if (!under_simulator()) {
    cases.push_back({"1x17x34 s1 33->5->16 (decode1.ir1)", 1, 17, 34, 33, 5, 16, 1, false, 0, 0, 0, 0});
    cases.push_back({"1x17x34 s2 57->37->61 (the widest input and output)", 1, 17, 34, 57, 37, 61, 2, false, 0, 0,
                     0, 0});
  }
  WorstError worst;
  uint32_t seed = 31;
  for (const FusedCase& c : cases) {
    run_fused_case<__half, float>(c, c.height <= 9 ? block : large_case_activations(block), seed, &worst);
    seed += 17;
  }
  run_fused_case<__half, float>(cases[0], others, 103, &worst);
  MESSAGE("inverted_residual_fused_float_arithmetic<__half, float>: worst relative error "
          << worst.relative << " (tolerance " << Precision<float>::kTolerance << ")");
}

TEST_CASE("inverted_residual_fused refuses what it cannot run") {
  DeviceBuffer<float> in(9 * 13 * 8), out(9 * 13 * 8), weights(4096);
  const m2u::TensorView<const float> input{in.data(), 1, 9, 13, 8, 8};
  const m2u::TensorView<float> output{out.data(), 1, 9, 13, 8, 8};
  const m2u::TensorView<const float> none{nullptr, 0, 0, 0, 0, 0};
  const m2u::FusedBlockWeights good{weights.data(), weights.data(), weights.data(), weights.data(),
                                    weights.data(), weights.data(), 16, 8, 16,
                                    m2u::KernelActivation::kRelu6, m2u::KernelActivation::kRelu6,
                                    m2u::KernelActivation::kLinear};
  CHECK(m2u::inverted_residual_fused<float>(input, output, none, good, 1, nullptr) == cudaSuccess);
  CHECK(cudaDeviceSynchronize() == cudaSuccess);
  CHECK(m2u::inverted_residual_fused<float>(input, output, none, good, 3, nullptr) == cudaErrorInvalidValue);
  m2u::FusedBlockWeights bad = good;
  bad.expand_row = 12;  // not the input's padded channels
  CHECK(m2u::inverted_residual_fused<float>(input, output, none, bad, 1, nullptr) == cudaErrorInvalidValue);
  bad = good;
  bad.project_row = 8;  // not the hidden channels' padding
  CHECK(m2u::inverted_residual_fused<float>(input, output, none, bad, 1, nullptr) == cudaErrorInvalidValue);
  bad = good;
  bad.project_weight = weights.data() + 1;  // not 16-byte aligned
  CHECK(m2u::inverted_residual_fused<float>(input, output, none, bad, 1, nullptr) == cudaErrorInvalidValue);
  bad = good;
  bad.hidden_channels = 0;
  CHECK(m2u::inverted_residual_fused<float>(input, output, none, bad, 1, nullptr) == cudaErrorInvalidValue);
  // Stride 2 needs the halved output; the widest output is 64 channels.
  CHECK(m2u::inverted_residual_fused<float>(input, output, none, good, 2, nullptr) == cudaErrorInvalidValue);
  DeviceBuffer<float> wide(9 * 13 * 68);
  const m2u::TensorView<float> too_wide{wide.data(), 1, 9, 13, 65, 68};
  CHECK(m2u::inverted_residual_fused<float>(input, too_wide, none, good, 1, nullptr) == cudaErrorInvalidValue);
  // The widest input is 64 channels (its expand rows are staged in shared memory).
  DeviceBuffer<float> wide_in(9 * 13 * 68), wide_weights(16 * 68);
  const m2u::TensorView<const float> too_wide_input{wide_in.data(), 1, 9, 13, 65, 68};
  m2u::FusedBlockWeights wide_rows = good;
  wide_rows.expand_weight = wide_weights.data();
  wide_rows.expand_row = 68;
  CHECK(m2u::inverted_residual_fused<float>(too_wide_input, output, none, wide_rows, 1, nullptr) ==
        cudaErrorInvalidValue);
  // A residual of another shape.
  const m2u::TensorView<const float> small{in.data(), 1, 8, 13, 8, 8};
  CHECK(m2u::inverted_residual_fused<float>(input, output, small, good, 1, nullptr) == cudaErrorInvalidValue);

  // FP16: the rows pad to 8-half groups.
  DeviceBuffer<__half> half_in(9 * 13 * 8), half_out(9 * 13 * 8);
  const m2u::TensorView<const __half> half_input{half_in.data(), 1, 9, 13, 4, 8};
  const m2u::TensorView<__half> half_output{half_out.data(), 1, 9, 13, 8, 8};
  const m2u::TensorView<const __half> half_none{nullptr, 0, 0, 0, 0, 0};
  m2u::FusedBlockWeights half_rows = good;
  CHECK(m2u::inverted_residual_fused<__half>(half_input, half_output, half_none, half_rows, 1, nullptr) ==
        cudaSuccess);
  CHECK(cudaDeviceSynchronize() == cudaSuccess);
  half_rows.expand_row = 4;  // float's padding of 4 channels, not half's
  CHECK(m2u::inverted_residual_fused<__half>(half_input, half_output, half_none, half_rows, 1, nullptr) ==
        cudaErrorInvalidValue);
  half_rows = good;
  half_rows.hidden_channels = 12;  // project_row 16 is float's padding of 12 channels; half's is 16 too
  CHECK(m2u::inverted_residual_fused<__half>(half_input, half_output, half_none, half_rows, 1, nullptr) ==
        cudaSuccess);
  CHECK(cudaDeviceSynchronize() == cudaSuccess);
  half_rows.hidden_channels = 4;  // half pads 4 channels to 8, not 16
  CHECK(m2u::inverted_residual_fused<__half>(half_input, half_output, half_none, half_rows, 1, nullptr) ==
        cudaErrorInvalidValue);

  // Half input, float output: the expand row pads as half, the project row as float.
  const m2u::TensorView<const float> float_none{nullptr, 0, 0, 0, 0, 0};
  m2u::FusedBlockWeights mixed_rows = good;
  mixed_rows.hidden_channels = 12;
  mixed_rows.project_row = 12;
  CHECK(m2u::inverted_residual_fused_float_arithmetic<__half, float>(half_input, output, float_none, mixed_rows, 1,
                                                                     nullptr) == cudaSuccess);
  CHECK(cudaDeviceSynchronize() == cudaSuccess);
  mixed_rows.project_row = 16;  // half's padding of 12 hidden channels, not float's
  CHECK(m2u::inverted_residual_fused_float_arithmetic<__half, float>(half_input, output, float_none, mixed_rows, 1,
                                                                     nullptr) == cudaErrorInvalidValue);
  mixed_rows = good;
  mixed_rows.expand_row = 4;  // float's padding of 4 input channels, not half's
  CHECK(m2u::inverted_residual_fused_float_arithmetic<__half, float>(half_input, output, float_none, mixed_rows, 1,
                                                                     nullptr) == cudaErrorInvalidValue);
}

TEST_CASE_TEMPLATE("inverted_residual_fused equals the three kernels it replaces (one block, as the engine runs it)", T,
                   float, __half) {
  // Also the GPU simulator's comparison of the fused kernel with the
  // unfused launches on the same block (README "Kernels on a GPU
  // simulator": this suite's rows).
  struct Shape {
    int height, width, in_channels, hidden, out_channels, stride;
    bool residual;
  };
  for (const Shape s : {Shape{16, 16, 32, 192, 32, 1, true}, Shape{16, 16, 24, 144, 32, 2, false}}) {
    const int in_padded = m2u::padded_channels<T>(s.in_channels);
    const int hidden_padded = m2u::padded_channels<T>(s.hidden);
    const int out_padded = m2u::padded_channels<T>(s.out_channels);
    const int out_h = (s.height + s.stride - 1) / s.stride, out_w = (s.width + s.stride - 1) / s.stride;
    const HostTensor input = random_tensor(1, s.in_channels, s.height, s.width, 5);
    const DeviceInput<T> device_input = upload_tensor<T>(input);
    DeviceBuffer<float> expand(static_cast<size_t>(s.hidden) * in_padded), expand_bias(s.hidden),
        depthwise(static_cast<size_t>(9) * m2u::depthwise_weight_row(s.hidden)), depthwise_bias(s.hidden),
        project(static_cast<size_t>(s.out_channels) * hidden_padded), project_bias(s.out_channels);
    expand.upload(padded_rows(random_values(static_cast<size_t>(s.hidden) * s.in_channels, 6, -0.6f, 0.6f),
                              s.hidden, s.in_channels, in_padded));
    expand_bias.upload(random_values(s.hidden, 7));
    depthwise.upload(kernel_test::tap_major_depthwise(random_values(static_cast<size_t>(s.hidden) * 9, 8, -0.5f, 0.5f),
                                                      s.hidden));
    depthwise_bias.upload(random_values(s.hidden, 9));
    project.upload(padded_rows(random_values(static_cast<size_t>(s.out_channels) * s.hidden, 10, -0.3f, 0.3f),
                               s.out_channels, s.hidden, hidden_padded));
    project_bias.upload(random_values(s.out_channels, 11));
    const m2u::KernelActivation relu6 = m2u::KernelActivation::kRelu6, linear = m2u::KernelActivation::kLinear;
    const m2u::TensorView<const T> in = device_input.view(0, s.in_channels);
    const m2u::TensorView<const T> none{nullptr, 0, 0, 0, 0, 0};

    DeviceBuffer<T> expanded(static_cast<size_t>(s.height) * s.width * hidden_padded),
        filtered(static_cast<size_t>(out_h) * out_w * hidden_padded),
        unfused(static_cast<size_t>(out_h) * out_w * out_padded), fused(unfused.size());
    const m2u::TensorView<T> e{expanded.data(), 1, s.height, s.width, s.hidden, hidden_padded};
    const m2u::TensorView<T> d{filtered.data(), 1, out_h, out_w, s.hidden, hidden_padded};
    const m2u::TensorView<T> u{unfused.data(), 1, out_h, out_w, s.out_channels, out_padded};
    const m2u::TensorView<T> f{fused.data(), 1, out_h, out_w, s.out_channels, out_padded};
    REQUIRE(m2u::pointwise_conv<T>(in, e, expand.data(), expand_bias.data(), relu6, none, nullptr) == cudaSuccess);
    REQUIRE(m2u::depthwise_conv<T>(m2u::TensorView<const T>{e.data, 1, s.height, s.width, s.hidden, hidden_padded},
                                       d, depthwise.data(), depthwise_bias.data(), s.stride, relu6, nullptr) ==
            cudaSuccess);
    REQUIRE(m2u::pointwise_conv<T>(m2u::TensorView<const T>{d.data, 1, out_h, out_w, s.hidden, hidden_padded},
                                       u, project.data(), project_bias.data(), linear, s.residual ? in : none,
                                       nullptr) == cudaSuccess);
    const m2u::FusedBlockWeights weights{expand.data(),  expand_bias.data(), depthwise.data(), depthwise_bias.data(),
                                         project.data(), project_bias.data(), s.hidden,       in_padded,
                                         hidden_padded,  relu6,              relu6,           linear};
    REQUIRE(m2u::inverted_residual_fused<T>(in, f, s.residual ? in : none, weights, s.stride, nullptr) ==
            cudaSuccess);
    REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
    const std::vector<T> a = unfused.download(), b = fused.download();
    double worst = 0.0, largest = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
      const double x = Precision<T>::to_float(a[i]), y = Precision<T>::to_float(b[i]);
      worst = std::max(worst, std::fabs(x - y));
      largest = std::max(largest, std::fabs(x));
    }
    // FP16: both round each tensor to half and sum half2 partials of 16
    // products, in other orders (the fused kernel's lanes pair channels).
    const double tolerance = std::is_same<T, float>::value ? 1e-5 : kFusedHalf2Tolerance;
    CHECK_MESSAGE(worst <= tolerance * largest, "stride " << s.stride << ": max |fused - unfused| " << worst);
    MESSAGE(Precision<T>::name() << " fused vs unfused, " << s.height << "x" << s.width << " " << s.in_channels << "->" << s.hidden << "->"
                                 << s.out_channels << " stride " << s.stride << ": max |diff| " << worst
                                 << " of values up to " << largest);
  }
}
