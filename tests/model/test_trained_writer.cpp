// test_trained_writer.cpp - a fine-tuned model's file (trained_writer.h):
// trained tensors come back as F32 with their new values, every other
// tensor in its own dtype with its old bytes, the header's meaning and the
// provenance kept (plus the new lines), the quantisation table dropped;
// bad replacements refused by name. And SHA-256 against FIPS 180-4's
// examples.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "model.h"
#include "sha256.h"
#include "trained_writer.h"
#include "weights_loader.h"
#include "weights_writer.h"

namespace {

m2u::Model parse(const std::vector<uint8_t>& bytes) {
  m2u::Model model;
  std::string error;
  REQUIRE_MESSAGE(m2u::parse_weights(bytes.data(), bytes.size(), &model, &error), error);
  return model;
}

}  // namespace

TEST_CASE("SHA-256 of FIPS 180-4's examples: empty, 'abc', the 56-byte message, a million 'a'") {
  const std::string abc = "abc";
  CHECK(m2u::sha256_hex(nullptr, 0) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(m2u::sha256_hex(reinterpret_cast<const uint8_t*>(abc.data()), abc.size()) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK(m2u::sha256_hex(reinterpret_cast<const uint8_t*>(two_blocks.data()), two_blocks.size()) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::vector<uint8_t> million(1000000, 'a');
  CHECK(m2u::sha256_hex(million.data(), million.size()) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("a trained file: new F32 values for the trained tensors, everything else as it was") {
  for (uint32_t dtype : {0u, 1u}) {  // F32 and F16 sources
    m2u_test::WeightsFile source = m2u_test::make_valid_file(1, 1, false, dtype, 7);
    source.quant.push_back(m2u_test::WriterQuant{"act:decode1.concat", 2, {0.5f}});
    const std::vector<uint8_t> bytes = m2u_test::serialize(source);
    const m2u::Model before = parse(bytes);
    REQUIRE(before.quantisation.size() == 1);
    std::map<std::string, std::vector<float>> trained;
    for (const char* name : {"decode1.conv.0.weight", "decode2.ir1.conv.4.bias"}) {
      const m2u::Tensor* t = before.find(name);
      REQUIRE_MESSAGE(t, name);
      std::vector<float> values(t->element_count());
      for (size_t i = 0; i < values.size(); ++i) values[i] = 0.001f * static_cast<float>(i) - 0.37f;
      trained[name] = values;
    }
    std::vector<uint8_t> out;
    std::string error;
    REQUIRE_MESSAGE(m2u::write_trained_model(bytes, trained, "fine_tune_steps: 3\n", &out, &error), error);
    const m2u::Model after = parse(out);
    CHECK(after.quantisation.empty());
    CHECK(after.provenance == before.provenance + (before.provenance.back() == '\n' ? "" : "\n") + "fine_tune_steps: 3\n");
    CHECK(after.bn_folded == before.bn_folded);
    CHECK(after.bn_epsilon == before.bn_epsilon);
    CHECK(after.input.pixel_scale == before.input.pixel_scale);
    REQUIRE(after.tensors.size() == before.tensors.size());
    for (size_t i = 0; i < after.tensors.size(); ++i) {
      const m2u::Tensor& a = after.tensors[i];
      const m2u::Tensor& b = before.tensors[i];
      CHECK(a.name == b.name);
      CHECK(a.dims == b.dims);
      const auto t = trained.find(a.name);
      if (t != trained.end()) {
        CHECK(a.dtype == m2u::DType::kF32);
        CHECK(a.values == t->second);
      } else {
        CHECK_MESSAGE(a.dtype == b.dtype, a.name);
        CHECK_MESSAGE(a.values == b.values, a.name);
      }
    }
  }
}

TEST_CASE("a trained file refuses what it cannot write, by name") {
  const std::vector<uint8_t> bytes = m2u_test::serialize(m2u_test::make_valid_file(3, 1, false, 0, 8));
  std::vector<uint8_t> out;
  std::string error;
  std::map<std::string, std::vector<float>> trained{{"decode9.weight", {1.0f}}};
  CHECK_FALSE(m2u::write_trained_model(bytes, trained, "", &out, &error));
  CHECK(error.find("'decode9.weight' is not in the model") != std::string::npos);
  trained = {{"decode1.conv.0.bias", {1.0f, 2.0f}}};
  CHECK_FALSE(m2u::write_trained_model(bytes, trained, "", &out, &error));
  CHECK(error.find("has 2 values, the model's 1") != std::string::npos);
  trained = {{"decode1.conv.0.bias", {std::numeric_limits<float>::quiet_NaN()}}};
  CHECK_FALSE(m2u::write_trained_model(bytes, trained, "", &out, &error));
  CHECK(error.find("not finite") != std::string::npos);
  CHECK_FALSE(m2u::write_trained_model(bytes, {}, std::string(70000, 'x'), &out, &error));
  CHECK(error.find("at most 65536") != std::string::npos);
  std::vector<uint8_t> broken = bytes;
  broken[10] ^= 1;
  CHECK_FALSE(m2u::write_trained_model(broken, {}, "", &out, &error));
  CHECK(error.find("does not load") != std::string::npos);
  CHECK(out.empty());
}
