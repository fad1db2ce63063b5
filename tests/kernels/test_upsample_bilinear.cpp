// test_upsample_bilinear.cpp - upsample_bilinear2x against the CPU reference
// (PyTorch align_corners=False) in FP32 and FP16 storage: odd sizes, 1-pixel
// edges, and the decoder's case of writing channels [0, 30) of a concat
// buffer while the skip slice beside it stays untouched; several schedules.
// Also FP32 into FP16 (an FP16 engine's FP32 decode2 into decode1's half
// concat buffer), channel counts whose float and half paddings differ.
#include <doctest/doctest.h>

#include <string>
#include <type_traits>
#include <vector>

#include "emu_test_support.h"
#include "kernel_test_support.h"
#include "reference_ops.h"
#include "upsample_kernels.h"

namespace {

using namespace kernel_test;

// Upsamples a batch x channels x height x width tensor (alone in its
// buffer, or at `input_offset` of a wider one) into the slice at
// `output_offset` of a buffer `output_extra` channels wider than the slice.
// Tin -> Tout storage; the tolerance is the output's rounding.
template <typename Tin, typename Tout = Tin>
void run_upsample_case(const std::string& name, int batch, int channels, int height, int width,
                       int input_offset, int output_offset, int output_extra, uint32_t seed,
                       WorstError* worst) {
  constexpr float kForeign = 3.25f;
  const HostTensor input =
      rounded_to<Tin>(random_tensor(batch, channels, height, width, seed, -4.0f, 4.0f));
  const BufferShape input_shape{batch, height, width, input_offset + m2u::padded_channels<Tin>(channels)};
  std::vector<Tin> input_contents = filled_buffer<Tin>(input_shape, kForeign);
  write_slice(input_contents, input_shape, input_offset, input);
  const DeviceInput<Tin> device_input(input_shape, input_contents);

  const HostTensor expected = m2u::ref::upsample_bilinear2x(input);
  const BufferShape output_shape{batch, 2 * height, 2 * width,
                                 output_offset + m2u::padded_channels<Tout>(channels) + output_extra};
  const std::vector<Tout> before = output_before<Tout>(output_shape, output_offset, channels, kForeign);
  const std::string precision =
      std::is_same<Tin, Tout>::value ? Precision<Tin>::name() : Precision<Tin>::name() + " -> " + Precision<Tout>::name();
  for (uint64_t schedule : emu_test::test_seeds()) {
    emu_test::ScopedSeed scoped(schedule);
    DeviceBuffer<Tout> output(output_shape.elements());
    output.upload(before);
    const cudaError_t status = m2u::upsample_bilinear2x<Tin>(
        device_input.view(input_offset, channels),
        view_of(output.data(), output_shape, output_offset, channels), nullptr);
    const std::string context = precision + " " + name + " schedule " + std::to_string(schedule);
    REQUIRE_MESSAGE(status == cudaSuccess, context << ": " << cudaGetErrorName(status));
    check_output(output, before, output_shape, output_offset, expected, Precision<Tout>::kTolerance,
                 context, worst);
  }
}

}  // namespace

TEST_CASE_TEMPLATE("upsample_bilinear2x matches the reference on odd sizes", T, float, __half) {
  WorstError worst;
  run_upsample_case<T>("2x33x9x17", 2, 33, 9, 17, 0, 0, 0, 1, &worst);
  run_upsample_case<T>("1x5x17x9", 1, 5, 17, 9, 0, 0, 0, 2, &worst);
  run_upsample_case<T>("2x19x1x1", 2, 19, 1, 1, 0, 0, 0, 3, &worst);
  run_upsample_case<T>("1x3x1x7", 1, 3, 1, 7, 0, 0, 0, 4, &worst);
  MESSAGE(Precision<T>::name() << " upsample_bilinear2x worst relative error " << worst.relative);
}

TEST_CASE_TEMPLATE("upsample_bilinear2x writes its slice of a concat buffer and nothing else", T,
                   float, __half) {
  WorstError worst;
  // decode1: up(decode2) 30 channels into [0, 30) padded to 32, the input
  // image's slice (3 channels, padded) after it.
  const int skip_padded = m2u::padded_channels<T>(3);
  run_upsample_case<T>("2x30x9x17 into [0, 30) of 32 + skip", 2, 30, 9, 17, 0, 0, skip_padded, 5,
                       &worst);
  // A slice in the middle of a buffer, read from a slice too.
  const int offset = 2 * m2u::ChannelAlignment<T>::value;
  run_upsample_case<T>("2x19x5x9 slice to slice", 2, 19, 5, 9, offset, offset, 8, 6, &worst);
  MESSAGE(Precision<T>::name() << " upsample_bilinear2x into slices worst relative error "
                               << worst.relative);
}

TEST_CASE("upsample_bilinear2x from FP32 into FP16: each side padded for its own storage") {
  WorstError worst;
  // decode2's FP32 output (30 channels, padded to 32 floats) into [0, 30)
  // of decode1's half concat buffer (32 halves), the 1-channel input after it.
  run_upsample_case<float, __half>("2x30x9x17 into [0, 30) of 32 + skip", 2, 30, 9, 17, 0, 0,
                                   m2u::padded_channels<__half>(1), 7, &worst);
  // Float and half paddings differ: 20 floats against 24 halves, 36 against 40, 4 against 8.
  run_upsample_case<float, __half>("2x19x5x9 slice to slice", 2, 19, 5, 9, 4, 8, 8, 8, &worst);
  run_upsample_case<float, __half>("1x33x7x3", 1, 33, 7, 3, 0, 0, 0, 9, &worst);
  run_upsample_case<float, __half>("2x3x1x1", 2, 3, 1, 1, 0, 0, 0, 10, &worst);
  MESSAGE("FP32 -> FP16 upsample_bilinear2x worst relative error " << worst.relative);
  // The output's padding is the half one.
  DeviceBuffer<float> input_buffer(1 * 5 * 9 * 20);
  DeviceBuffer<__half> output_buffer(1 * 10 * 18 * 24);
  const m2u::TensorView<const float> input = view_of<const float>(input_buffer.data(), {1, 5, 9, 20}, 0, 19);
  m2u::TensorView<__half> output = view_of(output_buffer.data(), {1, 10, 18, 24}, 0, 19);
  REQUIRE(m2u::upsample_bilinear2x<float>(input, output, nullptr) == cudaSuccess);
  output.pixel_stride = 20;
  CHECK(m2u::upsample_bilinear2x<float>(input, output, nullptr) == cudaErrorInvalidValue);
}

TEST_CASE_TEMPLATE("upsample_bilinear2x rejects views that do not fit", T, float, __half) {
  const BufferShape input_shape{1, 5, 9, 32};
  const BufferShape output_shape{1, 10, 18, 32};
  DeviceBuffer<T> input_buffer(input_shape.elements());
  DeviceBuffer<T> output_buffer(output_shape.elements());
  const m2u::TensorView<const T> input = view_of<const T>(input_buffer.data(), input_shape, 0, 30);
  const m2u::TensorView<T> output = view_of(output_buffer.data(), output_shape, 0, 30);
  REQUIRE(m2u::upsample_bilinear2x<T>(input, output, nullptr) == cudaSuccess);
  m2u::TensorView<T> odd = output;
  odd.width = 17;
  CHECK(m2u::upsample_bilinear2x<T>(input, odd, nullptr) == cudaErrorInvalidValue);
  m2u::TensorView<T> more_channels = output;
  more_channels.channels = 31;
  CHECK(m2u::upsample_bilinear2x<T>(input, more_channels, nullptr) == cudaErrorInvalidValue);
  m2u::TensorView<T> odd_stride = output;
  odd_stride.pixel_stride = 33;
  CHECK(m2u::upsample_bilinear2x<T>(input, odd_stride, nullptr) == cudaErrorInvalidValue);
}
