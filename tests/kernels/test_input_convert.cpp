// test_input_convert.cpp - input_convert (with image_statistics for
// per-image standardisation) against the input convention computed on the
// CPU in double (weights/FORMAT.md "Input convention"; for 8-bit grey also
// against the reference's apply_input_convention): U8 / U16 / F32, grey
// replicated or first channel only, colour, padded rows and columns written
// 0, the output in decode1's concat slice beside an untouched slice, FP32
// and FP16 storage, several schedules; non-finite F32 values read as 0 and
// counted per image (odd shapes, NaN and infinities anywhere, the last
// pixel included, none of the row padding).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "emu_test_support.h"
#include "io_kernels.h"
#include "kernel_test_support.h"
#include "model.h"
#include "reference_preprocess.h"

namespace {

using namespace kernel_test;

constexpr double kFp32InputTolerance = 1e-6;

template <typename T>
double input_tolerance() {
  return std::is_same<T, float>::value ? kFp32InputTolerance : Precision<T>::kTolerance;
}

m2u::KernelInputConvention affine(float pixel_scale, std::vector<float> means,
                                  std::vector<float> stds, bool replicate_grey) {
  m2u::KernelInputConvention convention{};
  convention.per_image_standardize = 0;
  convention.replicate_grey = replicate_grey ? 1 : 0;
  convention.pixel_scale = pixel_scale;
  for (size_t c = 0; c < means.size(); ++c) {
    convention.channel_mean[c] = means[c];
    convention.channel_std[c] = stds[c];
  }
  return convention;
}

m2u::KernelInputConvention per_image(float std_floor, bool replicate_grey) {
  m2u::KernelInputConvention convention{};
  convention.per_image_standardize = 1;
  convention.replicate_grey = replicate_grey ? 1 : 0;
  convention.pixel_scale = 1.0f;
  convention.std_floor = std_floor;
  return convention;
}

// The network input on the CPU, in double: batch x channels x padded_height
// x padded_width, zeros outside the image.
HostTensor expected_input(const RawImage& image, const m2u::KernelInputConvention& convention,
                          int channels, int padded_height, int padded_width) {
  HostTensor expected(image.batch, channels, padded_height, padded_width, 0.0f);
  for (int n = 0; n < image.batch; ++n) {
    const ImageMoments moments = image_moments(image, n, convention.pixel_scale);
    for (int c = 0; c < channels; ++c) {
      const bool grey = image.channels == 1;
      if (grey && c > 0 && !convention.replicate_grey) continue;
      const double offset =
          convention.per_image_standardize ? moments.mean : convention.channel_mean[c];
      const double divisor = convention.per_image_standardize
                                 ? std::fmax(moments.std_dev, convention.std_floor)
                                 : convention.channel_std[c];
      for (int y = 0; y < image.height; ++y)
        for (int x = 0; x < image.width; ++x) {
          const double v =
              image.value(n, y, x, grey ? 0 : c) / image.max_value * convention.pixel_scale;
          expected.at(n, c, y, x) = static_cast<float>((v - offset) / divisor);
        }
    }
  }
  return expected;
}

// Converts `image` into a view of `channels` at `output_offset` of a buffer
// `output_extra` channels wider, padded to padded_height x padded_width,
// under every schedule, and checks it against `expected` and the per-image
// counts of non-finite values against `expected_nonfinite` (none if empty).
template <typename T>
void run_convert_case(const std::string& name, const RawImage& image,
                      const m2u::KernelInputConvention& convention, int channels, int padded_height,
                      int padded_width, int output_offset, int output_extra,
                      const HostTensor& expected, WorstError* worst,
                      std::vector<unsigned long long> expected_nonfinite = {}) {
  if (expected_nonfinite.empty()) expected_nonfinite.assign(image.batch, 0);
  DeviceBuffer<unsigned char> device_image(image.bytes.size());
  device_image.upload(image.bytes);
  const m2u::PixelImage pixels = image.pixel_image(device_image.data());
  DeviceBuffer<double> partials(m2u::image_statistics_scratch(pixels));
  DeviceBuffer<float> stats(2 * static_cast<size_t>(image.batch));
  if (convention.per_image_standardize) {
    REQUIRE(m2u::image_statistics(pixels, convention, partials.data(), stats.data(), nullptr) ==
            cudaSuccess);
  }
  const BufferShape shape{image.batch, padded_height, padded_width,
                          output_offset + m2u::padded_channels<T>(channels) + output_extra};
  const std::vector<T> before = output_before<T>(shape, output_offset, channels, -8.5f);
  for (uint64_t schedule : emu_test::test_seeds()) {
    emu_test::ScopedSeed scoped(schedule);
    DeviceBuffer<T> output(shape.elements());
    output.upload(before);
    DeviceBuffer<unsigned long long> counts(image.batch);
    counts.upload(std::vector<unsigned long long>(image.batch, 0));
    const std::string context =
        Precision<T>::name() + " " + name + " schedule " + std::to_string(schedule);
    const cudaError_t status = m2u::input_convert<T>(
        pixels, convention, convention.per_image_standardize ? stats.data() : nullptr,
        view_of(output.data(), shape, output_offset, channels), counts.data(), nullptr);
    REQUIRE_MESSAGE(status == cudaSuccess, context << ": " << cudaGetErrorName(status));
    check_output(output, before, shape, output_offset, expected, input_tolerance<T>(), context,
                 worst);
    CHECK_MESSAGE(counts.download() == expected_nonfinite, context << ": non-finite counts");
    CHECK_MESSAGE(counts.guards_intact(), context);
  }
}

// Stores `value` as channel c of pixel (y, x) of image n of an F32 image.
void put_value(RawImage& image, int n, int y, int x, int c, float value) {
  std::memcpy(image.bytes.data() + image.offset(n, y, x, c), &value, sizeof(value));
}

struct Planted {
  int n, y, x, c;
  float value;
};

// `image` with the planted values, or with 0 in their place (`zeroed`:
// what the kernels must read them as).
RawImage with_planted(RawImage image, const std::vector<Planted>& planted, bool zeroed) {
  for (const Planted& p : planted) put_value(image, p.n, p.y, p.x, p.c, zeroed ? 0.0f : p.value);
  return image;
}

// Every byte of `image` outside its pixels (row and image padding) set to
// 0xFF, a NaN bit pattern.
void poison_padding(RawImage& image) {
  const size_t row_bytes = static_cast<size_t>(image.width) * image.channels * image.value_bytes();
  for (int n = 0; n < image.batch; ++n) {
    const size_t first = n * image.image_stride_bytes;
    for (int y = 0; y < image.height; ++y) {
      const size_t row = first + y * image.row_stride_bytes;
      std::memset(image.bytes.data() + row + row_bytes, 0xFF, image.row_stride_bytes - row_bytes);
    }
    const size_t pixels_end = first + image.row_stride_bytes * image.height;
    std::memset(image.bytes.data() + pixels_end, 0xFF,
                first + image.image_stride_bytes - pixels_end);
  }
}

std::vector<unsigned long long> counts_per_image(int batch, const std::vector<Planted>& planted) {
  std::vector<unsigned long long> counts(batch, 0);
  for (const Planted& p : planted) ++counts[p.n];
  return counts;
}

}  // namespace

TEST_CASE_TEMPLATE("input_convert: affine conventions for grey and colour images", T, float,
                   __half) {
  WorstError worst;
  // Octopi 3-channel: raw 0..255, grey replicated, into decode1's concat
  // buffer after up(decode2)'s 32 channels (the latter untouched).
  const RawImage grey8 = make_raw_image(m2u::PixelType::kU8, 2, 17, 35, 1, 255.0f, 3, 7, 1);
  const m2u::KernelInputConvention octopi = affine(255.0f, {0, 0, 0}, {1, 1, 1}, true);
  run_convert_case<T>("U8 grey -> 3 replicated, Octopi affine, in a concat slice", grey8, octopi, 3,
                      32, 48, m2u::padded_channels<T>(30), 0,
                      expected_input(grey8, octopi, 3, 32, 48), &worst);
  const m2u::KernelInputConvention first_only =
      affine(1.0f, {0.5f, 0.25f, 0.0f}, {0.25f, 0.5f, 1.0f}, false);
  run_convert_case<T>("U8 grey -> channel 0 only", grey8, first_only, 3, 17, 35, 0, 0,
                      expected_input(grey8, first_only, 3, 17, 35), &worst);
  const RawImage colour12 = make_raw_image(m2u::PixelType::kU16, 2, 9, 17, 3, 4095.0f, 6, 2, 2);
  const m2u::KernelInputConvention colour =
      affine(1.0f, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}, true);
  run_convert_case<T>("U16 12-bit colour", colour12, colour, 3, 16, 32, 0, 0,
                      expected_input(colour12, colour, 3, 16, 32), &worst);
  const RawImage grey_float = make_raw_image(m2u::PixelType::kF32, 1, 9, 17, 1, 1.0f, 4, 0, 3);
  const m2u::KernelInputConvention scaled = affine(255.0f, {127.5f}, {64.0f}, true);
  run_convert_case<T>("F32 grey -> 1", grey_float, scaled, 1, 16, 17, 0, 0,
                      expected_input(grey_float, scaled, 1, 16, 17), &worst);
  MESSAGE(Precision<T>::name() << " input_convert affine worst relative error " << worst.relative);
}

TEST_CASE_TEMPLATE("input_convert: per-image standardisation with image_statistics", T, float,
                   __half) {
  WorstError worst;
  const RawImage grey8 = make_raw_image(m2u::PixelType::kU8, 2, 17, 35, 1, 255.0f, 1, 0, 4);
  const m2u::KernelInputConvention one_channel = per_image(1e-3f, true);
  run_convert_case<T>("U8 grey -> 1, per image", grey8, one_channel, 1, 32, 48, 0, 0,
                      expected_input(grey8, one_channel, 1, 32, 48), &worst);
  const m2u::KernelInputConvention first_only = per_image(0.0f, false);
  run_convert_case<T>("U8 grey -> channel 0 of 3, per image", grey8, first_only, 3, 17, 35, 0, 8,
                      expected_input(grey8, first_only, 3, 17, 35), &worst);
  const RawImage colour = make_raw_image(m2u::PixelType::kU16, 1, 9, 17, 3, 65535.0f, 0, 0, 5);
  run_convert_case<T>("U16 colour, per image", colour, one_channel, 3, 9, 17, 0, 0,
                      expected_input(colour, one_channel, 3, 9, 17), &worst);
  MESSAGE(Precision<T>::name() << " input_convert per-image worst relative error "
                               << worst.relative);
}

TEST_CASE_TEMPLATE("input_convert agrees with the reference's apply_input_convention", T, float,
                   __half) {
  WorstError worst;
  const RawImage grey8 = make_raw_image(m2u::PixelType::kU8, 1, 17, 35, 1, 255.0f, 0, 0, 6);
  struct Convention {
    const char* name;
    m2u::InputConvention model;
    int channels;
  };
  m2u::InputConvention octopi;
  octopi.normalization = m2u::NormalizationKind::kAffine;
  octopi.grey_fill = m2u::GreyFill::kReplicate;
  octopi.pixel_scale = 255.0f;
  for (int c = 0; c < m2u::kMaxInputChannels; ++c) octopi.channel_std[c] = 1.0f;
  m2u::InputConvention standardised;
  standardised.normalization = m2u::NormalizationKind::kPerImageStandardize;
  standardised.grey_fill = m2u::GreyFill::kFirstChannel;
  standardised.pixel_scale = 1.0f;
  standardised.std_floor = 1e-3f;
  for (const Convention& convention :
       {Convention{"Octopi 3ch", octopi, 3}, Convention{"per-image 1ch", standardised, 1},
        Convention{"per-image channel 0 of 3", standardised, 3}}) {
    m2u::KernelInputConvention kernel_convention{};
    kernel_convention.per_image_standardize =
        convention.model.normalization == m2u::NormalizationKind::kPerImageStandardize;
    kernel_convention.replicate_grey = convention.model.grey_fill == m2u::GreyFill::kReplicate;
    kernel_convention.pixel_scale = convention.model.pixel_scale;
    kernel_convention.std_floor = convention.model.std_floor;
    for (int c = 0; c < m2u::kMaxInputChannels; ++c) {
      kernel_convention.channel_mean[c] = convention.model.channel_mean[c];
      kernel_convention.channel_std[c] = convention.model.channel_std[c];
    }
    const HostTensor reference = m2u::ref::apply_input_convention(
        convention.model, convention.channels, grey8.bytes.data(), grey8.height, grey8.width, 255);
    HostTensor expected(1, convention.channels, 32, 48, 0.0f);
    for (int c = 0; c < convention.channels; ++c)
      for (int y = 0; y < grey8.height; ++y)
        for (int x = 0; x < grey8.width; ++x) expected.at(0, c, y, x) = reference.at(0, c, y, x);
    run_convert_case<T>(convention.name, grey8, kernel_convention, convention.channels, 32, 48, 0,
                        0, expected, &worst);
  }
  MESSAGE(Precision<T>::name() << " input_convert vs apply_input_convention worst relative error "
                               << worst.relative);
}

TEST_CASE_TEMPLATE("input_convert reads non-finite F32 values as 0 and counts them per image", T,
                   float, __half) {
  WorstError worst;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  // Grey, 2 images of 13 x 19 with padded rows and images: NaN and
  // infinities at the first, an inner and the last pixel; the row padding
  // holds NaN bytes too, which are not pixels and must not count.
  RawImage grey = make_raw_image(m2u::PixelType::kF32, 2, 13, 19, 1, 1.0f, 8, 12, 11);
  poison_padding(grey);
  const std::vector<Planted> grey_planted = {
      {0, 0, 0, 0, nan}, {0, 6, 11, 0, inf}, {0, 12, 18, 0, -inf},
      {1, 3, 3, 0, -nan}, {1, 12, 18, 0, nan}};
  const RawImage grey_bad = with_planted(grey, grey_planted, false);
  const RawImage grey_zero = with_planted(grey, grey_planted, true);
  const std::vector<unsigned long long> grey_counts = counts_per_image(2, grey_planted);
  // Replicated into 3 channels: each grey value counts once.
  const m2u::KernelInputConvention replicated = affine(255.0f, {1, 2, 3}, {2, 4, 8}, true);
  run_convert_case<T>("F32 grey with NaN/Inf -> 3 replicated", grey_bad, replicated, 3, 16, 32, 0,
                      0, expected_input(grey_zero, replicated, 3, 16, 32), &worst, grey_counts);
  const m2u::KernelInputConvention first_only = affine(1.0f, {0.5f, 0, 0}, {0.25f, 1, 1}, false);
  run_convert_case<T>("F32 grey with NaN/Inf -> channel 0 of 3", grey_bad, first_only, 3, 13, 19,
                      0, 0, expected_input(grey_zero, first_only, 3, 13, 19), &worst, grey_counts);
  // Per-image standardisation: the statistics read them as 0 too.
  const m2u::KernelInputConvention standardised = per_image(1e-3f, true);
  run_convert_case<T>("F32 grey with NaN/Inf -> 1, per image", grey_bad, standardised, 1, 16, 32,
                      0, 0, expected_input(grey_zero, standardised, 1, 16, 32), &worst,
                      grey_counts);
  // Colour: every channel value counts, the last channel of the last pixel
  // included; image 0 has none.
  const RawImage colour = make_raw_image(m2u::PixelType::kF32, 2, 7, 9, 3, 1.0f, 4, 0, 12);
  const std::vector<Planted> colour_planted = {
      {1, 0, 0, 1, inf}, {1, 0, 0, 2, nan}, {1, 4, 5, 0, -inf}, {1, 6, 8, 2, nan}};
  const RawImage colour_bad = with_planted(colour, colour_planted, false);
  const RawImage colour_zero = with_planted(colour, colour_planted, true);
  const m2u::KernelInputConvention unit = affine(1.0f, {0, 0, 0}, {1, 1, 1}, true);
  const std::vector<unsigned long long> colour_counts = counts_per_image(2, colour_planted);
  run_convert_case<T>("F32 colour with NaN/Inf", colour_bad, unit, 3, 16, 16, 0, 0,
                      expected_input(colour_zero, unit, 3, 16, 16), &worst, colour_counts);
  run_convert_case<T>("F32 colour with NaN/Inf, per image", colour_bad, standardised, 3, 7, 9, 0,
                      0, expected_input(colour_zero, standardised, 3, 7, 9), &worst,
                      colour_counts);
  MESSAGE(Precision<T>::name() << " input_convert with non-finite values worst relative error "
                               << worst.relative);
}

TEST_CASE("input_convert rejects what it cannot convert") {
  const RawImage colour = make_raw_image(m2u::PixelType::kU8, 1, 9, 17, 3, 255.0f, 0, 0, 7);
  DeviceBuffer<unsigned char> device_image(colour.bytes.size());
  const m2u::PixelImage pixels = colour.pixel_image(device_image.data());
  const BufferShape shape{1, 16, 32, 8};
  DeviceBuffer<float> output(shape.elements());
  DeviceBuffer<float> stats(2);
  const m2u::KernelInputConvention unit = affine(1.0f, {0, 0, 0}, {1, 1, 1}, true);
  const auto run = [&](const m2u::PixelImage& image, const m2u::KernelInputConvention& convention,
                       const float* statistics, m2u::TensorView<float> view) {
    return m2u::input_convert<float>(image, convention, statistics, view, nullptr, nullptr);
  };
  const m2u::TensorView<float> view = view_of(output.data(), shape, 0, 3);
  REQUIRE(run(pixels, unit, nullptr, view) == cudaSuccess);
  CHECK(run(pixels, unit, nullptr, view_of(output.data(), shape, 0, 4)) == cudaErrorInvalidValue);
  m2u::TensorView<float> smaller = view;
  smaller.width = 16;
  CHECK(run(pixels, unit, nullptr, smaller) == cudaErrorInvalidValue);
  CHECK(run(pixels, per_image(0.0f, true), nullptr, view) == cudaErrorInvalidValue);
  CHECK(run(pixels, per_image(0.0f, true), stats.data(), view) == cudaSuccess);
  CHECK(run(pixels, affine(1.0f, {0, 0, 0}, {1, 0, 1}, true), nullptr, view) ==
        cudaErrorInvalidValue);
  m2u::PixelImage two_images = pixels;
  two_images.batch = 2;
  CHECK(run(two_images, unit, nullptr, view) == cudaErrorInvalidValue);
  // F32 input needs its counters (U8 above has none).
  const RawImage floats = make_raw_image(m2u::PixelType::kF32, 1, 9, 17, 3, 1.0f, 0, 0, 8);
  DeviceBuffer<unsigned char> device_floats(floats.bytes.size());
  device_floats.upload(floats.bytes);
  DeviceBuffer<unsigned long long> counts(1);
  const m2u::PixelImage float_pixels = floats.pixel_image(device_floats.data());
  CHECK(run(float_pixels, unit, nullptr, view) == cudaErrorInvalidValue);
  CHECK(m2u::input_convert<float>(float_pixels, unit, nullptr, view, counts.data(), nullptr) ==
        cudaSuccess);
}
