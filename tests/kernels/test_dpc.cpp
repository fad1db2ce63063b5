// test_dpc.cpp - flat_field_divide and dpc_combine against the formulas
// computed on the CPU in double: random planes plus the special values
// (flats below the floor, zero and negative flats, L + R == 0, saturation,
// NaN and infinities), odd shapes (17x34, 1x1, 5x3), pitches wider than the
// width with NaN in the input padding columns that the kernels must not
// read, outputs poisoned with padding and guards checked, in-place runs,
// argument validation; several schedules.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "dpc_kernels.h"
#include "emu_test_support.h"
#include "plane_test_support.h"

namespace {

using namespace plane_test;

const Plane kPlanes[] = {{17, 34, 40}, {1, 1, 1}, {5, 3, 3}, {3, 70, 77}};

// A plane's pixels as a host plane of plane.span() values, NaN in the
// padding columns (a kernel that read them would produce NaN).
std::vector<float> to_padded(const Plane& plane, const std::vector<float>& pixels) {
  std::vector<float> padded = padded_plane<float>(plane.span(), kNaN);
  for (int y = 0; y < plane.height; ++y)
    for (int x = 0; x < plane.width; ++x)
      padded[plane.index(y, x)] = pixels[static_cast<size_t>(y) * plane.width + x];
  return padded;
}

// Random pixels in [low, high), then the first values of `specials` over
// the first pixels (as many as fit).
std::vector<float> pixels_with(const Plane& plane, uint32_t seed, float low, float high,
                               const std::vector<float>& specials) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<float> distribution(low, high);
  std::vector<float> pixels(static_cast<size_t>(plane.height) * plane.width);
  for (float& value : pixels) value = distribution(generator);
  for (size_t i = 0; i < specials.size() && i < pixels.size(); ++i) pixels[i] = specials[i];
  return pixels;
}

double reference_flat_field(float image, float flat) {
  const double divisor = std::isnan(flat) ? flat : std::max(static_cast<double>(flat), 1e-6);
  return image / divisor;
}

double reference_dpc(float left, float right) {
  const double l = left;
  const double r = right;
  if (std::isnan(l) || std::isnan(r) || std::isinf(l) || std::isinf(r)) return NAN;
  if (l + r == 0.0) return 0.5;
  return std::min(std::max((l - r) / (l + r) + 0.5, 0.0), 1.0);
}

// Runs one of the two kernels (op(a, b, out)) on every schedule, out-of-place
// and in place (out == a), and checks the output.
template <typename Run>
void run_binary_case(const std::string& name, const Plane& plane, const std::vector<float>& a,
                     const std::vector<float>& b, const std::vector<double>& expected,
                     double tolerance, double scale, Run run, Worst* worst) {
  const std::vector<float> a_padded = to_padded(plane, a);
  const std::unique_ptr<DeviceBuffer<float>> a_device = upload_exact(a_padded);
  const std::unique_ptr<DeviceBuffer<float>> b_device = upload_exact(to_padded(plane, b));
  for (uint64_t schedule : emu_test::test_seeds()) {
    emu_test::ScopedSeed scoped(schedule);
    const std::string context = name + " " + plane.name() + " schedule " + std::to_string(schedule);
    DeviceBuffer<float> output(plane.full());
    const std::vector<float> before = output.download();
    cudaError_t status = run(a_device->data(), b_device->data(), output.data());
    REQUIRE_MESSAGE(status == cudaSuccess, context << ": " << cudaGetErrorName(status));
    check_float_plane(output, before, plane, expected, tolerance, scale, context, worst);

    // In place: the output is the first input's buffer (padding NaN).
    DeviceBuffer<float> in_place(plane.full());
    std::vector<float> in_place_before = padded_plane<float>(plane.full(), kNaN);
    std::copy(a_padded.begin(), a_padded.end(), in_place_before.begin());
    in_place.upload(in_place_before);
    status = run(in_place.data(), b_device->data(), in_place.data());
    REQUIRE_MESSAGE(status == cudaSuccess, context << " in place: " << cudaGetErrorName(status));
    check_float_plane(in_place, in_place_before, plane, expected, tolerance, scale,
                      context + " in place", worst);
  }
}

}  // namespace

TEST_CASE("flat_field_divide matches image / max(flat, 1e-6) with NaN propagated") {
  const std::vector<float> image_specials = {0.5f, 0.5f, 0.5f, 0.5f, 0.25f, kNaN, 0.0f,
                                             1.0f, 0.5f, 0.0f, -0.5f, kInf,  0.3f};
  const std::vector<float> flat_specials = {0.0f,  -1.0f, 1e-7f, 1e-6f, kNaN, 0.5f, 0.0f,
                                            kInf, 2e-6f, kNaN, 0.25f, 0.5f, -0.0f};
  Worst worst;
  uint32_t seed = 1;
  for (const Plane& plane : kPlanes) {
    const std::vector<float> image = pixels_with(plane, seed++, 0.0f, 1.0f, image_specials);
    const std::vector<float> flat = pixels_with(plane, seed++, 0.2f, 1.2f, flat_specials);
    std::vector<double> expected(image.size());
    for (size_t i = 0; i < image.size(); ++i) expected[i] = reference_flat_field(image[i], flat[i]);
    run_binary_case(
        "flat_field_divide", plane, image, flat, expected, 1e-6, 0.0,
        [&](const float* a, const float* b, float* out) {
          return m2u::flat_field_divide(a, b, plane.height, plane.width, plane.pitch, out, nullptr);
        },
        &worst);
  }
  MESSAGE("flat_field_divide worst relative error " << worst.error);
}

TEST_CASE("flat_field_divide's special values") {
  // Spelled out: the floor, zero and negative flats, NaN either side.
  const Plane plane{1, 8, 8};
  const std::vector<float> image = {0.5f, 0.5f, 0.5f, 1.0f, kNaN, 0.5f, 0.0f, 0.0f};
  const std::vector<float> flat = {0.0f, -2.0f, 1e-7f, 0.5f, 0.5f, kNaN, 0.0f, kInf};
  const std::unique_ptr<DeviceBuffer<float>> a = upload_exact(image);
  const std::unique_ptr<DeviceBuffer<float>> b = upload_exact(flat);
  DeviceBuffer<float> out(plane.full());
  REQUIRE(m2u::flat_field_divide(a->data(), b->data(), 1, 8, 8, out.data(), nullptr) ==
          cudaSuccess);
  const std::vector<float> got = out.download();
  CHECK(got[0] == 0.5f / 1e-6f);
  CHECK(got[1] == 0.5f / 1e-6f);
  CHECK(got[2] == 0.5f / 1e-6f);
  CHECK(got[3] == 2.0f);
  CHECK(std::isnan(got[4]));
  CHECK(std::isnan(got[5]));
  CHECK(got[6] == 0.0f);
  CHECK(got[7] == 0.0f);
}

TEST_CASE("dpc_combine matches clip((L - R) / (L + R) + 0.5, 0, 1), 0.5 where L + R == 0") {
  // L + R == 0 (zeros, opposite values, signed zeros), saturation at 0 and 1
  // (R >= 3 L, L >= 3 R), the exact 1/4 - 3/4 boundaries, NaN, infinity.
  const std::vector<float> left_specials = {0.0f, 0.0f, 2.0f, 0.0f, 1.0f, 3.0f, 1.0f,
                                            -1.0f, 0.5f, kNaN, 0.4f, kInf, 1.0f, 0.75f};
  const std::vector<float> right_specials = {0.0f, -0.0f, -2.0f, 0.7f, 0.0f, 1.0f, 3.0f,
                                             1.0f, 0.5f, 0.3f, kNaN, 1.0f, 5.0f, 0.25f};
  Worst worst;
  uint32_t seed = 50;
  for (const Plane& plane : kPlanes) {
    const std::vector<float> left = pixels_with(plane, seed++, 0.0f, 2.0f, left_specials);
    const std::vector<float> right = pixels_with(plane, seed++, 0.0f, 2.0f, right_specials);
    std::vector<double> expected(left.size());
    for (size_t i = 0; i < left.size(); ++i) expected[i] = reference_dpc(left[i], right[i]);
    // The output lies in [0, 1]: 1e-6 of that range.
    run_binary_case(
        "dpc_combine", plane, left, right, expected, 1e-6, 1.0,
        [&](const float* a, const float* b, float* out) {
          return m2u::dpc_combine(a, b, plane.height, plane.width, plane.pitch, out, nullptr);
        },
        &worst);
  }
  MESSAGE("dpc_combine worst error (of the [0, 1] range) " << worst.error);
}

TEST_CASE("dpc_combine's special values") {
  const std::vector<float> left = {0.0f, 1.0f, 0.0f, 2.0f, 3.0f, 1.0f, 0.75f, kNaN, kInf};
  const std::vector<float> right = {0.0f, -1.0f, 1.0f, 0.0f, 1.0f, 3.0f, 0.25f, 1.0f, 1.0f};
  const int width = static_cast<int>(left.size());
  const std::unique_ptr<DeviceBuffer<float>> a = upload_exact(left);
  const std::unique_ptr<DeviceBuffer<float>> b = upload_exact(right);
  DeviceBuffer<float> out(left.size());
  REQUIRE(m2u::dpc_combine(a->data(), b->data(), 1, width, left.size(), out.data(), nullptr) ==
          cudaSuccess);
  const std::vector<float> got = out.download();
  CHECK(got[0] == 0.5f);  // 0 / 0
  CHECK(got[1] == 0.5f);  // L + R == 0 with L != R
  CHECK(got[2] == 0.0f);  // -1 + 0.5 clipped
  CHECK(got[3] == 1.0f);  // 1 + 0.5 clipped
  CHECK(got[4] == 1.0f);  // 0.5 + 0.5
  CHECK(got[5] == 0.0f);  // -0.5 + 0.5
  CHECK(got[6] == 1.0f);  // 0.5 + 0.5
  CHECK(std::isnan(got[7]));
  CHECK(std::isnan(got[8]));  // inf / inf
}

TEST_CASE("the DPC launchers reject invalid arguments") {
  const Plane plane{4, 6, 8};
  DeviceBuffer<float> a(plane.full());
  DeviceBuffer<float> b(plane.full());
  DeviceBuffer<float> c(plane.full());
  const cudaError_t invalid = cudaErrorInvalidValue;
  using Launcher = cudaError_t (*)(const float*, const float*, int, int, size_t, float*,
                                   cudaStream_t);
  const Launcher launchers[] = {m2u::flat_field_divide, m2u::dpc_combine};
  float* misaligned = reinterpret_cast<float*>(reinterpret_cast<char*>(c.data()) + 1);
  for (Launcher run : launchers) {
    REQUIRE(run(a.data(), b.data(), 4, 6, 8, c.data(), nullptr) == cudaSuccess);
    CHECK(run(nullptr, b.data(), 4, 6, 8, c.data(), nullptr) == invalid);
    CHECK(run(a.data(), nullptr, 4, 6, 8, c.data(), nullptr) == invalid);
    CHECK(run(a.data(), b.data(), 4, 6, 8, nullptr, nullptr) == invalid);
    CHECK(run(a.data(), b.data(), 4, 6, 8, misaligned, nullptr) == invalid);
    CHECK(run(a.data(), b.data(), 0, 6, 8, c.data(), nullptr) == invalid);
    CHECK(run(a.data(), b.data(), 65536, 6, 8, c.data(), nullptr) == invalid);
    CHECK(run(a.data(), b.data(), 4, 0, 8, c.data(), nullptr) == invalid);
    CHECK(run(a.data(), b.data(), 4, 9, 8, c.data(), nullptr) == invalid);
    CHECK(run(a.data(), b.data(), 4, 6, SIZE_MAX / 2, c.data(), nullptr) == invalid);
  }
  CHECK(cudaGetLastError() == cudaSuccess);
}
