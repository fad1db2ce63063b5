// bench_tensors.h - what the kernel benchmarks share: random tensors, their
// padded-NHWC device form (tensor_view.h's layout) and back, the check of a
// kernel's output against the CPU reference, and the timing loop that turns
// CUDA events into Google Benchmark's manual time with the work model's
// rates beside it.
#ifndef M2U_BENCH_KERNELS_BENCH_TENSORS_H
#define M2U_BENCH_KERNELS_BENCH_TENSORS_H

#include <benchmark/benchmark.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "device_buffer.h"
#include "device_profiles.h"
#include "host_tensor.h"
#include "tensor_view.h"
#include "work_model.h"

namespace bench {

using m2u::ref::HostTensor;
using m2u_test::DeviceBuffer;

#if defined(M2U_FLAVOUR_EMU)
constexpr bool kEmulated = true;
// The emulation runs a 512x512 layer in seconds: an eighth of each side.
constexpr int kSpatialDivisor = 8;
#else
constexpr bool kEmulated = false;
constexpr int kSpatialDivisor = 1;
#endif

// A spatial size of a 512x512 frame's layer, scaled for the flavour.
inline int scaled(int size) { return size / kSpatialDivisor < 8 ? 8 : size / kSpatialDivisor; }

inline float to_float(float v) { return v; }
inline float to_float(__half v) { return __half2float(v); }
template <typename T>
T from_float(float v);
template <>
inline float from_float<float>(float v) { return v; }
template <>
inline __half from_float<__half>(float v) { return __float2half_rn(v); }

inline std::vector<float> random_values(size_t count, uint32_t seed, float low, float high) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<float> distribution(low, high);
  std::vector<float> values(count);
  for (float& v : values) v = distribution(generator);
  return values;
}

inline HostTensor random_tensor(int c, int h, int w, uint32_t seed) {
  HostTensor t(1, c, h, w);
  t.data = random_values(t.size(), seed, -1.0f, 1.0f);
  return t;
}

// `t` as T rounds it (the reference then sees what the kernel reads).
template <typename T>
HostTensor rounded(HostTensor t) {
  for (float& v : t.data) v = to_float(from_float<T>(v));
  return t;
}

// Batch-1 NHWC with channels padded to 16 bytes (zeros in the padding).
template <typename T>
std::vector<T> to_nhwc(const HostTensor& t) {
  const int padded = m2u::padded_channels<T>(t.c);
  std::vector<T> out(static_cast<size_t>(t.h) * t.w * padded, from_float<T>(0.0f));
  for (int c = 0; c < t.c; ++c)
    for (int y = 0; y < t.h; ++y)
      for (int x = 0; x < t.w; ++x) out[(static_cast<size_t>(y) * t.w + x) * padded + c] = from_float<T>(t.at(0, c, y, x));
  return out;
}

template <typename T>
HostTensor from_nhwc(const std::vector<T>& values, int c, int h, int w) {
  const int padded = m2u::padded_channels<T>(c);
  HostTensor t(1, c, h, w);
  for (int ch = 0; ch < c; ++ch)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) t.at(0, ch, y, x) = to_float(values[(static_cast<size_t>(y) * w + x) * padded + ch]);
  return t;
}

template <typename T>
m2u::TensorView<T> view_of(T* data, int c, int h, int w) {
  return m2u::TensorView<T>{data, 1, h, w, c, m2u::padded_channels<typename std::remove_const<T>::type>(c)};
}

// A device tensor of logical shape c x h x w in padded NHWC.
template <typename T>
struct DeviceTensor {
  DeviceTensor(int channels, int height, int width)
      : c(channels), h(height), w(width), buffer(static_cast<size_t>(h) * w * m2u::padded_channels<T>(c)) {}
  explicit DeviceTensor(const HostTensor& t) : DeviceTensor(t.c, t.h, t.w) { buffer.upload(to_nhwc<T>(t)); }
  m2u::TensorView<T> view() { return view_of(buffer.data(), c, h, w); }
  m2u::TensorView<const T> const_view() const { return view_of<const T>(buffer.data(), c, h, w); }
  double bytes() const { return static_cast<double>(buffer.size()) * sizeof(T); }
  HostTensor download() const { return from_nhwc(buffer.download(), c, h, w); }
  int c, h, w;
  DeviceBuffer<T> buffer;
};

inline void check(cudaError_t status, const char* what) { m2u_test::check_cuda(status, what); }

// M2U_BENCH_CORRUPT=1: one output value is moved before the check (the
// check's own test: every benchmark must then stop with an error).
inline bool corrupt_outputs() {
  const char* value = std::getenv("M2U_BENCH_CORRUPT");
  return value && std::string(value) == "1";
}

// The check against the reference: max |got - ref| <= tolerance * max |ref|.
// False with the figures in *why.
inline bool matches(HostTensor got, const HostTensor& ref, double tolerance, std::string* why) {
  double worst = 0.0, largest = 0.0;
  size_t where = 0;
  if (corrupt_outputs()) got.data[got.size() / 2] += 1.0f + std::fabs(got.data[got.size() / 2]);
  for (size_t i = 0; i < ref.size(); ++i) {
    largest = std::fmax(largest, std::fabs(ref.data[i]));
    const double diff = std::fabs(static_cast<double>(got.data[i]) - ref.data[i]);
    if (!(diff <= worst)) {  // NaN counts as the worst
      worst = std::isnan(diff) ? INFINITY : diff;
      where = i;
    }
  }
  if (worst <= tolerance * largest) return true;
  *why = "output differs from the CPU reference: max |diff| " + std::to_string(worst) + " at value " +
         std::to_string(where) + " (got " + std::to_string(got.data[where]) + ", reference " +
         std::to_string(ref.data[where]) + "), more than " + std::to_string(tolerance) + " x max |ref| " +
         std::to_string(largest);
  return false;
}

// Times `launch` (returning a cudaError_t) once per iteration with CUDA
// events, as manual time, and reports the work model's rates and the Nano
// profile's modeled time for `work`.
template <typename Launch>
void time_launches(benchmark::State& state, Launch launch, const m2u::KernelWork& work) {
  cudaEvent_t start = nullptr, stop = nullptr;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  for (auto _ : state) {
    check(cudaEventRecord(start, nullptr), "cudaEventRecord");
    check(launch(), "the kernel launch");
    check(cudaEventRecord(stop, nullptr), "cudaEventRecord");
    check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0.0f;
    check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    state.SetIterationTime(ms / 1e3);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  using benchmark::Counter;
  state.counters["GB"] = Counter((work.bytes_read + work.bytes_written) / 1e9, Counter::kIsIterationInvariantRate);
  state.counters["GFLOP"] = Counter(2.0 * work.multiply_adds / 1e9, Counter::kIsIterationInvariantRate);
  state.counters["model_us_nano"] = m2u::estimate_launch(*m2u::find_device_profile("nano"), work).us;
  state.counters["MB"] = (work.bytes_read + work.bytes_written) / 1e6;
  if (kEmulated) state.SetLabel("emulated on the CPU: a smoke test, not a GPU timing");
}

inline m2u::KernelWork work_of(const char* kernel, m2u::WorkArithmetic arithmetic, double multiply_adds,
                               double bytes_read, double weight_bytes, double bytes_written) {
  m2u::KernelWork work;
  work.kernel = kernel;
  work.arithmetic = arithmetic;
  work.launches = 1;
  work.multiply_adds = multiply_adds;
  work.bytes_read = bytes_read + weight_bytes;
  work.weight_bytes = weight_bytes;
  work.bytes_written = bytes_written;
  return work;
}

}  // namespace bench

#endif  // M2U_BENCH_KERNELS_BENCH_TENSORS_H
