// test_mask_targets.cpp - the loss's targets from the caller's masks
// (mask_targets, training_kernels.h) against a CPU build of the same
// targets: U8 masks (any non-zero byte is foreground; junk in the row and
// image padding must not leak), F32 targets with values outside [0, 1]
// written as 0 and counted per image, 1, 3 and 5 channels, frames padded
// past the masks; targets poisoned, guards checked, every schedule the
// same bits; arguments that do not fit refused.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "device_buffer.h"
#include "emu_test_support.h"
#include "training_kernels.h"

namespace {

using m2u_test::DeviceBuffer;

struct MaskCase {
  std::string name;
  bool is_float;
  int batch, channels, height, width;  // the masks
  int frame_height, frame_width;       // the padded frame
  size_t row_pad, image_pad;           // extra bytes after each row / image
};

void run_case(const MaskCase& k) {
  const size_t element = k.is_float ? 4 : 1;
  const size_t row = k.width * element + k.row_pad;
  const size_t plane = row * k.height;
  const size_t image = plane * k.channels + k.image_pad;
  std::vector<unsigned char> bytes(image * k.batch, 7);  // padding junk: 7 (U8) / a tiny float
  const int stride = m2u::padded_channels<float>(k.channels);
  std::vector<float> expected(static_cast<size_t>(k.batch) * k.frame_height * k.frame_width * stride, 0.0f);
  std::vector<unsigned long long> expected_invalid(k.batch, 0);
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), -0.5f, 1.5f,
                            std::numeric_limits<float>::infinity(), 0.0f, 1.0f, 0.25f, 0.75f};
  for (int n = 0; n < k.batch; ++n)
    for (int c = 0; c < k.channels; ++c)
      for (int y = 0; y < k.height; ++y)
        for (int x = 0; x < k.width; ++x) {
          unsigned char* at = bytes.data() + n * image + c * plane + y * row + x * element;
          const unsigned seed = static_cast<unsigned>(((n * 7 + c) * 131 + y) * 977 + x * 31);
          float target;
          if (k.is_float) {
            const float value = seed % 5 == 0 ? specials[seed % 8] : static_cast<float>(seed % 101) / 100.0f;
            std::memcpy(at, &value, 4);
            const bool valid = value >= 0.0f && value <= 1.0f;
            target = valid ? value : 0.0f;
            if (!valid) ++expected_invalid[n];
          } else {
            *at = static_cast<unsigned char>(seed % 3 == 0 ? 0 : 1 + seed % 255);
            target = *at ? 1.0f : 0.0f;
          }
          expected[((static_cast<size_t>(n) * k.frame_height + y) * k.frame_width + x) * stride + c] = target;
        }
  DeviceBuffer<unsigned char> masks(bytes.size());
  masks.upload(bytes);
  const m2u::MaskPlanes planes{masks.data(), k.is_float, k.batch, k.channels, k.height, k.width, row, plane, image};
  std::vector<float> first;
  for (uint64_t schedule : emu_test::test_seeds()) {
    emu_test::ScopedSeed scoped(schedule);
    const std::string context = k.name + " schedule " + std::to_string(schedule);
    DeviceBuffer<float> targets(expected.size());  // poisoned: NaN
    DeviceBuffer<unsigned long long> invalid(static_cast<size_t>(k.batch));
    invalid.upload(std::vector<unsigned long long>(k.batch, 0));
    const m2u::TensorView<float> view{targets.data(), k.batch, k.frame_height, k.frame_width, k.channels, stride};
    const cudaError_t status = m2u::mask_targets(planes, view, invalid.data(), nullptr);
    REQUIRE_MESSAGE(status == cudaSuccess, context << ": " << cudaGetErrorName(status));
    const std::vector<float> got = targets.download();
    size_t wrong = 0, first_wrong = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      if (std::memcmp(&got[i], &expected[i], sizeof(float)) != 0 && wrong++ == 0) first_wrong = i;
    }
    CHECK_MESSAGE(wrong == 0, context << ": " << wrong << " targets differ, first at " << first_wrong << " (got "
                                      << got[first_wrong] << ", expected " << expected[first_wrong] << ")");
    CHECK_MESSAGE(invalid.download() == expected_invalid, context << ": invalid counts");
    std::string where;
    CHECK_MESSAGE(targets.guards_intact(&where), context << ": targets " << where);
    CHECK_MESSAGE(invalid.guards_intact(&where), context << ": counters " << where);
    CHECK_MESSAGE(masks.guards_intact(&where), context << ": masks " << where);
    if (first.empty()) first = got;
    CHECK(std::memcmp(first.data(), got.data(), got.size() * sizeof(float)) == 0);
  }
  if (k.is_float) {
    unsigned long long total = 0;
    for (unsigned long long v : expected_invalid) total += v;
    REQUIRE(total > 0);  // the case does test the counting
  }
}

}  // namespace

TEST_CASE("mask_targets: U8 masks, 1 channel, 17 x 34 in a 32 x 48 frame, padded rows and images") {
  run_case({"u8 1ch", false, 2, 1, 17, 34, 32, 48, 3, 5});
}

TEST_CASE("mask_targets: U8 masks, 5 channels (padded to 8), 13 x 21 in 16 x 32") {
  run_case({"u8 5ch", false, 1, 5, 13, 21, 16, 32, 0, 0});
}

TEST_CASE("mask_targets: F32 targets, 3 channels, values outside [0, 1] written 0 and counted per image") {
  run_case({"f32 3ch", true, 2, 3, 19, 23, 32, 32, 8, 12});
}

TEST_CASE("mask_targets: arguments that do not fit are refused") {
  DeviceBuffer<unsigned char> masks(4096);
  DeviceBuffer<float> targets(2 * 16 * 16 * 4);
  DeviceBuffer<unsigned long long> invalid(2);
  const m2u::TensorView<float> view{targets.data(), 2, 16, 16, 1, 4};
  const m2u::MaskPlanes good{masks.data(), true, 2, 1, 10, 10, 40, 400, 400};
  CHECK(m2u::mask_targets(good, view, invalid.data(), nullptr) == cudaSuccess);
  m2u::MaskPlanes p = good;
  p.row_stride = 42;  // F32 rows not 4-byte aligned
  p.plane_stride = 420;
  p.image_stride = 420;
  CHECK(m2u::mask_targets(p, view, invalid.data(), nullptr) == cudaErrorInvalidValue);
  p = good;
  p.height = 17;  // larger than the frame
  p.plane_stride = p.image_stride = 17 * 40;
  CHECK(m2u::mask_targets(p, view, invalid.data(), nullptr) == cudaErrorInvalidValue);
  p = good;
  p.batch = 1;
  CHECK(m2u::mask_targets(p, view, invalid.data(), nullptr) == cudaErrorInvalidValue);
  p = good;
  p.row_stride = 39;  // shorter than a row
  CHECK(m2u::mask_targets(p, view, invalid.data(), nullptr) == cudaErrorInvalidValue);
  CHECK(m2u::mask_targets(good, view, nullptr, nullptr) == cudaErrorInvalidValue);
}
