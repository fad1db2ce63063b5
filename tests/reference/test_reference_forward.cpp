// Tests for reference_forward.h on random models (random_model.h): stage
// shapes, the output range, batch independence, raw BN against folded BN,
// and the refusal of inputs that do not fit the model.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "compare.h"
#include "random_model.h"
#include "reference_forward.h"

namespace {

using m2u::Activation;
using m2u::ref::HostTensor;

// Sample `b` of `batch` as a batch of one.
HostTensor sample(const HostTensor& batch, int b) {
  HostTensor one(1, batch.c, batch.h, batch.w);
  const auto begin = batch.data.begin() + static_cast<std::ptrdiff_t>(b * one.size());
  std::copy(begin, begin + static_cast<std::ptrdiff_t>(one.size()), one.data.begin());
  return one;
}

}  // namespace

TEST_CASE("reference_forward gives every stage its channels and resolution") {
  const m2u::Architecture arch =
      m2u::make_architecture(3, 1, Activation::kRelu6, Activation::kSigmoid);
  const m2u::Model model = m2u::ref::make_random_model(arch, 1234, false);
  const HostTensor input = m2u::ref::random_tensor(2, 3, 32, 48, 99, 0.0, 1.0);
  const m2u::ref::ReferenceOutputs outputs = m2u::ref::reference_forward(model, input);

  const std::vector<std::pair<std::string, std::string>> expected_shapes = {
      {"conv1", "2x16x16x24"},   {"conv2", "2x24x8x12"},    {"conv3", "2x32x4x6"},
      {"conv4", "2x96x2x3"},     {"decode4", "2x64x4x6"},   {"decode3", "2x44x8x12"},
      {"decode2", "2x30x16x24"}, {"decode1", "2x16x32x48"}, {"output", "2x1x32x48"}};
  CHECK(outputs.tensors.size() == expected_shapes.size());
  // (No structured bindings here: clang 14 cannot capture them in doctest's
  // message lambdas.)
  for (const auto& expected : expected_shapes) {
    CHECK_MESSAGE(outputs.at(expected.first).shape_string() == expected.second, expected.first);
  }
  CHECK_THROWS_AS(outputs.at("conv5"), std::out_of_range);

  const HostTensor& output = outputs.at("output");
  float low = 1.0f, high = 0.0f;
  for (float p : output.data) {
    low = std::min(low, p);
    high = std::max(high, p);
  }
  CHECK(low > 0.0f);
  CHECK(high < 1.0f);
  CHECK(high - low > 1e-3f);  // the network does not collapse to a constant
}

TEST_CASE("reference_forward computes each sample of a batch on its own") {
  const m2u::Architecture arch =
      m2u::make_architecture(3, 2, Activation::kRelu, Activation::kLinear);
  const m2u::Model model = m2u::ref::make_random_model(arch, 7, false);
  const HostTensor input = m2u::ref::random_tensor(2, 3, 16, 32, 8, -1.0, 1.0);
  const m2u::ref::ReferenceOutputs both = m2u::ref::reference_forward(model, input);
  for (int b = 0; b < 2; ++b) {
    const m2u::ref::ReferenceOutputs alone = m2u::ref::reference_forward(model, sample(input, b));
    for (const auto& entry : both.tensors) {
      const std::string& name = entry.first;
      const m2u::ref::Comparison c = m2u::ref::compare(sample(entry.second, b), alone.at(name));
      CHECK_MESSAGE(c.max_abs_diff == 0.0, name << " sample " << b << ": " << c.describe());
    }
  }
}

TEST_CASE("reference_forward of a folded model matches its raw batch-norm twin") {
  for (int in_channels : {1, 3}) {
    INFO("in_channels " << in_channels);
    const m2u::Architecture arch =
        m2u::make_architecture(in_channels, 1, Activation::kRelu6, Activation::kSigmoid);
    const m2u::Model raw = m2u::ref::make_random_model(arch, 42, false);
    const m2u::Model folded = m2u::ref::make_random_model(arch, 42, true);
    CHECK(raw.find("conv4.13.conv.7.running_var") != nullptr);
    CHECK(folded.find("conv4.13.conv.7.running_var") == nullptr);
    CHECK(folded.find("conv4.13.conv.6.bias") != nullptr);
    const HostTensor input = m2u::ref::random_tensor(1, in_channels, 48, 80, 5, 0.0, 1.0);
    const m2u::ref::ReferenceOutputs a = m2u::ref::reference_forward(raw, input);
    const m2u::ref::ReferenceOutputs b = m2u::ref::reference_forward(folded, input);
    for (const auto& entry : a.tensors) {
      const std::string& name = entry.first;
      const m2u::ref::Comparison c = m2u::ref::compare(b.at(name), entry.second);
      CHECK_MESSAGE(c.within(1e-5), name << ": " << c.describe());
    }
  }
}

TEST_CASE("reference_forward refuses inputs that do not fit the model") {
  const m2u::Architecture arch =
      m2u::make_architecture(3, 1, Activation::kRelu6, Activation::kSigmoid);
  const m2u::Model model = m2u::ref::make_random_model(arch, 1, false);
  CHECK_THROWS_AS(m2u::ref::reference_forward(model, HostTensor(1, 3, 40, 48)), std::invalid_argument);
  CHECK_THROWS_AS(m2u::ref::reference_forward(model, HostTensor(1, 3, 32, 24)), std::invalid_argument);
  CHECK_THROWS_AS(m2u::ref::reference_forward(model, HostTensor(1, 1, 32, 32)), std::invalid_argument);
  CHECK_THROWS_AS(m2u::ref::reference_forward(model, HostTensor(0, 3, 32, 32)), std::invalid_argument);
  CHECK_THROWS_AS(m2u::ref::reference_forward(model, HostTensor(1, 3, 0, 32)), std::invalid_argument);
}
