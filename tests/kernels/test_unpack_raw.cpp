// test_unpack_raw.cpp - unpack_raw against a CPU decoder written from the
// format definitions (Mono12p read bit by bit as an LSB-first bit stream):
// every format on odd shapes (1x1, odd Mono12p widths ending in a half
// group), rows with padding bytes (0xAB) between them, frames at odd
// addresses, intensity pitches wider than the width, the output poisoned and
// its padding and guards checked, the input in an exact-size allocation;
// hand-packed bytes; the row sizes; argument validation; several schedules.
#include <doctest/doctest.h>

#include <climits>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "emu_test_support.h"
#include "plane_test_support.h"
#include "raw_kernels.h"

namespace {

using namespace plane_test;
using m2u::RawFormat;

const RawFormat kFormats[] = {RawFormat::kMono8, RawFormat::kMono16, RawFormat::kMono12,
                              RawFormat::kMono12p};

std::string format_name(RawFormat format) {
  switch (format) {
    case RawFormat::kMono8:
      return "Mono8";
    case RawFormat::kMono16:
      return "Mono16";
    case RawFormat::kMono12:
      return "Mono12";
    case RawFormat::kMono12p:
      return "Mono12p";
  }
  return "?";
}

double full_scale(RawFormat format) {
  return format == RawFormat::kMono8 ? 255.0 : format == RawFormat::kMono16 ? 65535.0 : 4095.0;
}

// Pixel x of a row from the format's definition.
unsigned reference_value(const uint8_t* row, RawFormat format, int x) {
  switch (format) {
    case RawFormat::kMono8:
      return row[x];
    case RawFormat::kMono16:
      return row[2 * x] | row[2 * x + 1] << 8;
    case RawFormat::kMono12:
      return (row[2 * x] | row[2 * x + 1] << 8) & 0xFFFu;
    case RawFormat::kMono12p:
      break;
  }
  unsigned value = 0;
  for (int bit = 0; bit < 12; ++bit) {
    const size_t position = 12 * static_cast<size_t>(x) + bit;
    value |= ((row[position / 8] >> (position % 8)) & 1u) << bit;
  }
  return value;
}

// A frame: random bytes in each row's raw_row_bytes (Mono12 words above
// 4095 included, the unused nibble of an odd Mono12p row too), 0xAB in the
// stride padding; `offset` bytes of 0xAB before the first row.
struct RawFrame {
  RawFormat format;
  int height;
  int width;
  size_t row_stride;
  size_t offset;
  std::vector<uint8_t> bytes;

  const uint8_t* row(int y) const { return bytes.data() + offset + y * row_stride; }
};

RawFrame make_frame(RawFormat format, int height, int width, size_t stride_padding, size_t offset,
                    uint32_t seed) {
  const size_t row_bytes = m2u::raw_row_bytes(format, width);
  RawFrame frame{format, height, width, row_bytes + stride_padding, offset, {}};
  frame.bytes.assign(offset + (height - 1) * frame.row_stride + row_bytes, 0xAB);
  std::mt19937 generator(seed);
  for (int y = 0; y < height; ++y)
    for (size_t i = 0; i < row_bytes; ++i)
      frame.bytes[offset + y * frame.row_stride + i] = static_cast<uint8_t>(generator());
  return frame;
}

std::vector<double> expected_intensity(const RawFrame& frame) {
  std::vector<double> expected(static_cast<size_t>(frame.height) * frame.width);
  for (int y = 0; y < frame.height; ++y)
    for (int x = 0; x < frame.width; ++x)
      expected[static_cast<size_t>(y) * frame.width + x] =
          reference_value(frame.row(y), frame.format, x) / full_scale(frame.format);
  return expected;
}

// Unpacks `frame` into a plane of pitch width + pitch_extra under every
// schedule and checks it.
void run_unpack_case(const RawFrame& frame, size_t pitch_extra, Worst* worst) {
  const Plane plane{frame.height, frame.width, frame.width + pitch_extra};
  const std::vector<double> expected = expected_intensity(frame);
  const std::unique_ptr<DeviceBuffer<uint8_t>> raw = upload_exact(frame.bytes);
  const std::string name = format_name(frame.format) + " " + plane.name() + " stride " +
                           std::to_string(frame.row_stride) + " offset " +
                           std::to_string(frame.offset);
  for (uint64_t schedule : emu_test::test_seeds()) {
    emu_test::ScopedSeed scoped(schedule);
    DeviceBuffer<float> output(plane.full());
    const std::vector<float> before = output.download();
    const cudaError_t status =
        m2u::unpack_raw(raw->data() + frame.offset, frame.format, frame.height, frame.width,
                        frame.row_stride, output.data(), plane.pitch, nullptr);
    const std::string context = name + " schedule " + std::to_string(schedule);
    REQUIRE_MESSAGE(status == cudaSuccess, context << ": " << cudaGetErrorName(status));
    check_float_plane(output, before, plane, expected, 1e-6, 0.0, context, worst);
  }
}

// Unpacks hand-written bytes of one row and returns the intensities.
std::vector<float> unpack_row(RawFormat format, const std::vector<uint8_t>& bytes, int width) {
  const std::unique_ptr<DeviceBuffer<uint8_t>> raw = upload_exact(bytes);
  DeviceBuffer<float> output(static_cast<size_t>(width));
  REQUIRE(m2u::unpack_raw(raw->data(), format, 1, width, bytes.size(), output.data(),
                          static_cast<size_t>(width), nullptr) == cudaSuccess);
  CHECK(output.guards_intact());
  return output.download();
}

}  // namespace

TEST_CASE("raw_row_bytes and raw_full_scale follow the formats") {
  CHECK(m2u::raw_row_bytes(RawFormat::kMono8, 17) == 17);
  CHECK(m2u::raw_row_bytes(RawFormat::kMono16, 5) == 10);
  CHECK(m2u::raw_row_bytes(RawFormat::kMono12, 5) == 10);
  CHECK(m2u::raw_row_bytes(RawFormat::kMono12p, 1) == 2);
  CHECK(m2u::raw_row_bytes(RawFormat::kMono12p, 2) == 3);
  CHECK(m2u::raw_row_bytes(RawFormat::kMono12p, 3) == 5);
  CHECK(m2u::raw_row_bytes(RawFormat::kMono12p, 4) == 6);
  CHECK(m2u::raw_row_bytes(RawFormat::kMono12p, 2047) == 3071);
  CHECK(m2u::raw_row_bytes(RawFormat::kMono12p, INT_MAX) == (3 * static_cast<size_t>(INT_MAX) + 1) / 2);
  CHECK(m2u::raw_row_bytes(RawFormat::kMono8, 0) == 0);
  CHECK(m2u::raw_row_bytes(RawFormat::kMono16, -3) == 0);
  CHECK(m2u::raw_row_bytes(static_cast<RawFormat>(7), 4) == 0);
  CHECK(m2u::raw_full_scale(RawFormat::kMono8) == 255u);
  CHECK(m2u::raw_full_scale(RawFormat::kMono16) == 65535u);
  CHECK(m2u::raw_full_scale(RawFormat::kMono12) == 4095u);
  CHECK(m2u::raw_full_scale(RawFormat::kMono12p) == 4095u);
}

TEST_CASE("unpack_raw decodes hand-packed bytes") {
  // Mono12p: 0xABC, 0x123 in one group, then 0xDEF in a half group whose
  // unused high nibble (7) must be ignored.
  const std::vector<float> packed =
      unpack_row(RawFormat::kMono12p, {0xBC, 0x3A, 0x12, 0xEF, 0x7D}, 3);
  CHECK(packed[0] == 0xABC / 4095.0f);
  CHECK(packed[1] == 0x123 / 4095.0f);
  CHECK(packed[2] == 0xDEF / 4095.0f);
  const std::vector<float> ones = unpack_row(RawFormat::kMono12p, {0xFF, 0xFF, 0xFF}, 2);
  CHECK(ones[0] == 1.0f);
  CHECK(ones[1] == 1.0f);
  // Mono16 little-endian; Mono12 keeps the low 12 bits of 0xF123.
  const std::vector<float> wide = unpack_row(RawFormat::kMono16, {0x34, 0x12, 0xFF, 0xFF, 0, 0}, 3);
  CHECK(wide[0] == 0x1234 / 65535.0f);
  CHECK(wide[1] == 1.0f);
  CHECK(wide[2] == 0.0f);
  const std::vector<float> twelve =
      unpack_row(RawFormat::kMono12, {0x23, 0xF1, 0xFF, 0x0F, 0x00, 0x10}, 3);
  CHECK(twelve[0] == 0x123 / 4095.0f);
  CHECK(twelve[1] == 1.0f);
  CHECK(twelve[2] == 0.0f);
  const std::vector<float> bytes = unpack_row(RawFormat::kMono8, {0, 255, 128}, 3);
  CHECK(bytes[0] == 0.0f);
  CHECK(bytes[1] == 1.0f);
  CHECK(bytes[2] == 128 / 255.0f);
}

TEST_CASE("unpack_raw matches the reference decoder on odd shapes, strides and pitches") {
  struct Shape {
    int height;
    int width;
  };
  const Shape shapes[] = {{17, 34}, {1, 1}, {1, 2}, {3, 1}, {5, 7}, {2, 33}, {4, 257}, {9, 3}};
  Worst worst;
  uint32_t seed = 1;
  for (RawFormat format : kFormats)
    for (const Shape& shape : shapes)
      for (size_t stride_padding : {size_t{0}, size_t{3}})
        for (size_t pitch_extra : {size_t{0}, size_t{5}}) {
          const RawFrame frame =
              make_frame(format, shape.height, shape.width, stride_padding, 0, seed++);
          run_unpack_case(frame, pitch_extra, &worst);
        }
  MESSAGE("unpack_raw worst relative error " << worst.error);
}

TEST_CASE("unpack_raw reads frames at any address and stride") {
  Worst worst;
  uint32_t seed = 100;
  for (RawFormat format : kFormats)
    for (size_t offset : {size_t{1}, size_t{3}}) {
      run_unpack_case(make_frame(format, 7, 13, 1, offset, seed++), 2, &worst);
      run_unpack_case(make_frame(format, 2, 1, 5, offset, seed++), 0, &worst);
    }
  MESSAGE("unpack_raw (odd addresses) worst relative error " << worst.error);
}

TEST_CASE("unpack_raw rejects invalid arguments") {
  const int height = 3;
  const int width = 5;
  const size_t stride = m2u::raw_row_bytes(RawFormat::kMono12p, width);  // 8
  DeviceBuffer<uint8_t> raw(height * stride + 16);
  DeviceBuffer<float> output(static_cast<size_t>(height) * width + 4);
  const uint8_t* in = raw.data();
  float* out = output.data();
  REQUIRE(m2u::unpack_raw(in, RawFormat::kMono12p, height, width, stride, out, width, nullptr) ==
          cudaSuccess);
  const cudaError_t invalid = cudaErrorInvalidValue;
  CHECK(m2u::unpack_raw(nullptr, RawFormat::kMono12p, height, width, stride, out, width, nullptr) ==
        invalid);
  CHECK(m2u::unpack_raw(in, RawFormat::kMono12p, height, width, stride, nullptr, width, nullptr) ==
        invalid);
  CHECK(m2u::unpack_raw(in, static_cast<RawFormat>(4), height, width, stride, out, width,
                        nullptr) == invalid);
  CHECK(m2u::unpack_raw(in, RawFormat::kMono12p, 0, width, stride, out, width, nullptr) == invalid);
  CHECK(m2u::unpack_raw(in, RawFormat::kMono12p, 65536, width, stride, out, width, nullptr) ==
        invalid);
  CHECK(m2u::unpack_raw(in, RawFormat::kMono12p, height, 0, stride, out, width, nullptr) == invalid);
  CHECK(m2u::unpack_raw(in, RawFormat::kMono12p, height, -5, stride, out, width, nullptr) ==
        invalid);
  CHECK(m2u::unpack_raw(in, RawFormat::kMono12p, height, width, stride - 1, out, width, nullptr) ==
        invalid);
  CHECK(m2u::unpack_raw(in, RawFormat::kMono16, height, width, 2 * width - 1, out, width,
                        nullptr) == invalid);
  CHECK(m2u::unpack_raw(in, RawFormat::kMono12p, height, width, stride, out, width - 1, nullptr) ==
        invalid);
  CHECK(m2u::unpack_raw(in, RawFormat::kMono12p, height, width, SIZE_MAX / 2, out, width,
                        nullptr) == invalid);
  float* misaligned = reinterpret_cast<float*>(reinterpret_cast<char*>(out) + 2);
  CHECK(m2u::unpack_raw(in, RawFormat::kMono12p, height, width, stride, misaligned, width,
                        nullptr) == invalid);
  CHECK(m2u::unpack_raw(in, RawFormat::kMono12p, height, width, stride, out, SIZE_MAX / 2,
                        nullptr) == invalid);
  CHECK(cudaGetLastError() == cudaSuccess);
}
