// test_training_kernels.cpp - the kernels only fine-tuning uses
// (training_kernels.h) against the double CPU reference
// (reference_backward.h): bce_with_logits (loss and gradient, padding
// excluded, confident logits, 1 and 3 channels), soft Dice added on top
// of it (the "bce+dice" loss), activation_backward
// (every kind, kinks, in place) and sum_block_partials (row order,
// overlap refused); outputs poisoned, guards checked, results
// bit-identical under every schedule.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "backward_test_support.h"
#include "emu_test_support.h"
#include "kernel_test_support.h"
#include "reference_backward.h"
#include "reference_ops.h"
#include "training_kernels.h"

namespace {

using namespace kernel_test;

HostTensor binary_targets(int n, int c, int h, int w, uint32_t seed) {
  HostTensor t = random_tensor(n, c, h, w, seed, 0.0f, 1.0f);
  for (float& v : t.data) v = v < 0.4f ? 0.0f : 1.0f;
  return t;
}

void run_loss_case(const std::string& name, const HostTensor& logits, const HostTensor& targets,
                   int valid_height, int valid_width) {
  const m2u::ref::LossGradient expected =
      m2u::ref::bce_with_logits(logits, targets, valid_height, valid_width);
  const DeviceInput<float> device_logits = upload_tensor<float>(logits);
  const DeviceInput<float> device_targets = upload_tensor<float>(targets);
  const BufferShape shape = device_logits.shape;
  const std::vector<float> before = output_before<float>(shape, 0, logits.c, 0.0f);
  const m2u::TensorView<const float> z = device_logits.view(0, logits.c);
  const int blocks = m2u::bce_loss_blocks(z);
  REQUIRE(blocks >= 1);
  std::vector<float> first_gradient;
  float first_loss = 0.0f;
  for (uint64_t schedule : emu_test::test_seeds()) {
    emu_test::ScopedSeed scoped(schedule);
    const std::string context = name + " schedule " + std::to_string(schedule);
    DeviceBuffer<float> gradient(shape.elements());
    gradient.upload(before);
    DeviceBuffer<float> partials(static_cast<size_t>(blocks));  // poisoned: NaN
    const cudaError_t status = m2u::bce_with_logits(z, device_targets.view(0, logits.c), valid_height, valid_width,
                                                    view_of(gradient.data(), shape, 0, logits.c), partials.data(),
                                                    nullptr);
    REQUIRE_MESSAGE(status == cudaSuccess, context << ": " << cudaGetErrorName(status));
    check_output(gradient, before, shape, 0, expected.logits, 1e-6, context + " gradient", nullptr);
    const std::vector<float> loss = backward_test::reduce_on_device(partials, blocks, 1, context);
    CHECK_MESSAGE(std::fabs(loss[0] - expected.loss) <= 1e-5 * std::fmax(1.0, expected.loss),
                  context << ": loss " << loss[0] << ", expected " << expected.loss);
    const std::vector<float> g = gradient.download();
    if (first_gradient.empty()) {
      first_gradient = g;
      first_loss = loss[0];
    } else {
      CHECK_MESSAGE(backward_test::same_bits(g, first_gradient), context << ": gradient differs from the first schedule's");
      CHECK_MESSAGE(loss[0] == first_loss, context << ": loss differs from the first schedule's");
    }
  }
}

}  // namespace

TEST_CASE("bce_with_logits: loss and gradient over the frame's own pixels") {
  run_loss_case("2x1x17x35, all valid", random_tensor(2, 1, 17, 35, 1, -6.0f, 6.0f), binary_targets(2, 1, 17, 35, 2),
                17, 35);
  // The engine's padding: a 13x27 frame padded to 16x32.
  run_loss_case("1x1x16x32, valid 13x27", random_tensor(1, 1, 16, 32, 3, -6.0f, 6.0f),
                binary_targets(1, 1, 16, 32, 4), 13, 27);
  // Soft targets and three output channels.
  run_loss_case("2x3x5x9, valid 4x7, soft targets", random_tensor(2, 3, 5, 9, 5, -3.0f, 3.0f),
                random_tensor(2, 3, 5, 9, 6, 0.0f, 1.0f), 4, 7);
  // Confident logits, right and wrong: finite loss and gradient.
  HostTensor z(1, 1, 2, 4);
  z.data = {-90.0f, 90.0f, -90.0f, 90.0f, 30.0f, -30.0f, 0.0f, 1e-3f};
  HostTensor t(1, 1, 2, 4);
  t.data = {1.0f, 0.0f, 0.0f, 1.0f, 1.0f, 0.0f, 0.5f, 1.0f};
  run_loss_case("1x1x2x4 confident logits", z, t, 2, 4);
}

TEST_CASE("soft_dice_sums and soft_dice_gradient add the soft Dice loss to bce_with_logits") {
  const struct {
    const char* name;
    int n, c, h, w, valid_height, valid_width;
  } cases[] = {{"2x1x17x35 valid 13x30", 2, 1, 17, 35, 13, 30}, {"1x3x5x9 all valid", 1, 3, 5, 9, 5, 9}};
  constexpr float kSmoothing = 1.0f;
  for (const auto& c : cases) {
    const HostTensor logits = random_tensor(c.n, c.c, c.h, c.w, 21, -5.0f, 5.0f);
    const HostTensor targets = binary_targets(c.n, c.c, c.h, c.w, 22);
    const m2u::ref::LossGradient bce = m2u::ref::bce_with_logits(logits, targets, c.valid_height, c.valid_width);
    const m2u::ref::LossGradient dice =
        m2u::ref::soft_dice_with_logits(logits, targets, c.valid_height, c.valid_width, kSmoothing);
    HostTensor expected = bce.logits;
    for (size_t i = 0; i < expected.size(); ++i) expected.data[i] += dice.logits.data[i];
    const DeviceInput<float> device_logits = upload_tensor<float>(logits);
    const DeviceInput<float> device_targets = upload_tensor<float>(targets);
    const BufferShape shape = device_logits.shape;
    const m2u::TensorView<const float> z = device_logits.view(0, c.c), t = device_targets.view(0, c.c);
    const int blocks = m2u::bce_loss_blocks(z);
    const std::vector<float> before = output_before<float>(shape, 0, c.c, 0.0f);
    for (uint64_t schedule : emu_test::test_seeds()) {
      emu_test::ScopedSeed scoped(schedule);
      const std::string context = std::string(c.name) + " schedule " + std::to_string(schedule);
      DeviceBuffer<float> gradient(shape.elements());
      gradient.upload(before);
      DeviceBuffer<float> bce_partials(static_cast<size_t>(blocks)), dice_partials(static_cast<size_t>(blocks) * 3);
      DeviceBuffer<float> sums(3);
      const m2u::TensorView<float> g = view_of(gradient.data(), shape, 0, c.c);
      REQUIRE(m2u::bce_with_logits(z, t, c.valid_height, c.valid_width, g, bce_partials.data(), nullptr) == cudaSuccess);
      REQUIRE(m2u::soft_dice_sums(z, t, c.valid_height, c.valid_width, dice_partials.data(), nullptr) == cudaSuccess);
      REQUIRE(m2u::sum_block_partials(dice_partials.data(), blocks, 3, sums.data(), nullptr) == cudaSuccess);
      REQUIRE(m2u::soft_dice_gradient(z, t, c.valid_height, c.valid_width, sums.data(), kSmoothing, g, nullptr) ==
              cudaSuccess);
      check_output(gradient, before, shape, 0, expected, 1e-5, context + " gradient", nullptr);
      std::string where;
      CHECK_MESSAGE(dice_partials.guards_intact(&where), context << ": " << where);
      CHECK_MESSAGE(sums.guards_intact(&where), context << ": " << where);
      const std::vector<float> s = sums.download();
      const float three[3] = {s[0], s[1], s[2]};
      const double loss = m2u::soft_dice_loss(three, kSmoothing);
      CHECK_MESSAGE(std::fabs(loss - dice.loss) <= 1e-5, context << ": Dice loss " << loss << ", expected " << dice.loss);
    }
  }
}

TEST_CASE("bce_with_logits rejects arguments that do not fit") {
  const BufferShape shape{1, 4, 6, 4};
  DeviceBuffer<float> logits(shape.elements()), targets(shape.elements()), gradient(shape.elements());
  DeviceBuffer<float> partials(64);
  const m2u::TensorView<const float> z = view_of<const float>(logits.data(), shape, 0, 1);
  const m2u::TensorView<const float> t = view_of<const float>(targets.data(), shape, 0, 1);
  const m2u::TensorView<float> g = view_of(gradient.data(), shape, 0, 1);
  CHECK(m2u::bce_with_logits(z, t, 4, 6, g, partials.data(), nullptr) == cudaSuccess);
  CHECK(m2u::bce_with_logits(z, t, 5, 6, g, partials.data(), nullptr) == cudaErrorInvalidValue);
  CHECK(m2u::bce_with_logits(z, t, 4, 0, g, partials.data(), nullptr) == cudaErrorInvalidValue);
  CHECK(m2u::bce_with_logits(z, t, 4, 6, g, nullptr, nullptr) == cudaErrorInvalidValue);
  m2u::TensorView<const float> wider = t;
  wider.channels = 2;
  CHECK(m2u::bce_with_logits(z, wider, 4, 6, g, partials.data(), nullptr) == cudaErrorInvalidValue);
}

TEST_CASE("activation_backward passes the gradient as PyTorch does, kinks included, in place too") {
  const struct {
    m2u::KernelActivation kernel;
    m2u::Activation reference;
    const char* name;
  } kinds[] = {{m2u::KernelActivation::kRelu6, m2u::Activation::kRelu6, "relu6"},
               {m2u::KernelActivation::kRelu, m2u::Activation::kRelu, "relu"},
               {m2u::KernelActivation::kSigmoid, m2u::Activation::kSigmoid, "sigmoid"},
               {m2u::KernelActivation::kLinear, m2u::Activation::kLinear, "linear"}};
  for (const auto& kind : kinds) {
    // Outputs of the activation itself, exact kinks (0 and 6) among them.
    HostTensor pre = random_tensor(2, 19, 5, 9, 7, -3.0f, 9.0f);
    pre.data[0] = 0.0f;
    pre.data[1] = 6.0f;
    const HostTensor y = m2u::ref::activation(pre, kind.reference);
    const HostTensor g = random_tensor(2, 19, 5, 9, 8);
    const HostTensor expected = m2u::ref::activation_backward(y, kind.reference, g);
    const DeviceInput<float> device_y = upload_tensor<float>(y);
    const BufferShape shape = device_y.shape;
    for (bool in_place : {false, true}) {
      for (uint64_t schedule : emu_test::test_seeds()) {
        emu_test::ScopedSeed scoped(schedule);
        const std::string context = std::string(kind.name) + (in_place ? " in place" : "") + " schedule " +
                                    std::to_string(schedule);
        std::vector<float> g_contents = filled_buffer<float>(shape);
        write_slice(g_contents, shape, 0, g);
        DeviceBuffer<float> device_g(shape.elements());
        device_g.upload(g_contents);
        const std::vector<float> before = output_before<float>(shape, 0, 19, 0.0f);
        DeviceBuffer<float> separate(shape.elements());
        separate.upload(before);
        DeviceBuffer<float>& out = in_place ? device_g : separate;
        const cudaError_t status =
            m2u::activation_backward(device_y.view(0, 19), view_of<const float>(device_g.data(), shape, 0, 19),
                                     kind.kernel, view_of(out.data(), shape, 0, 19), nullptr);
        REQUIRE_MESSAGE(status == cudaSuccess, context << ": " << cudaGetErrorName(status));
        check_output(out, in_place ? g_contents : before, shape, 0, expected, 1e-6, context, nullptr);
      }
    }
  }
}

TEST_CASE("sum_block_partials adds the rows in order and refuses overlapping output") {
  const int blocks = 37, count = 300;
  std::vector<float> rows(static_cast<size_t>(blocks) * count);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = std::ldexp(static_cast<float>(i % 97) - 48.0f, -static_cast<int>(i % 13));
  std::vector<float> expected(count, 0.0f);
  for (int b = 0; b < blocks; ++b)
    for (int i = 0; i < count; ++i) expected[i] += rows[static_cast<size_t>(b) * count + i];  // the same order
  DeviceBuffer<float> partials(rows.size());
  partials.upload(rows);
  for (uint64_t schedule : emu_test::test_seeds()) {
    emu_test::ScopedSeed scoped(schedule);
    const std::vector<float> got =
        backward_test::reduce_on_device(partials, blocks, count, "schedule " + std::to_string(schedule));
    CHECK(backward_test::same_bits(got, expected));
  }
  CHECK(m2u::sum_block_partials(partials.data(), blocks, count, partials.data() + 5, nullptr) == cudaErrorInvalidValue);
  CHECK(m2u::sum_block_partials(partials.data(), 0, count, partials.data(), nullptr) == cudaErrorInvalidValue);
}
