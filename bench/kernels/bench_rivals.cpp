// bench_rivals.cpp - what a user would pick instead of our kernels, at the
// same layer shapes as bench_kernels.cpp (cuda flavour only; linked into
// the benchmarks, never into libm2urt): cuDNN's convolution for the 1x1 and
// for the depthwise 3x3 (a grouped convolution, one group a channel), and
// cuBLAS's SGEMM for the 1x1 (pixels x in_channels times in_channels x
// out_channels). FP32 (FMA math: no TF32), NHWC, the convolution alone (no
// bias or activation: a slight advantage to the rival). Each is checked against the same CPU
// reference before it is timed, like our kernels.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cudnn.h>

#include <functional>
#include <string>
#include <vector>

#include "bench_tensors.h"
#include "reference_ops.h"

namespace {

using bench::DeviceBuffer;
using bench::HostTensor;

constexpr double kFp32Tolerance = 1e-5;

void check_cudnn(cudnnStatus_t status, const char* what) {
  if (status != CUDNN_STATUS_SUCCESS) throw std::runtime_error(std::string(what) + ": " + cudnnGetErrorString(status));
}
void check_cublas(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS) throw std::runtime_error(std::string(what) + ": cuBLAS status " + std::to_string(status));
}

// Unpadded NHWC floats, as the rivals take them.
std::vector<float> packed_nhwc(const HostTensor& t) {
  std::vector<float> out(t.size());
  for (int c = 0; c < t.c; ++c)
    for (int y = 0; y < t.h; ++y)
      for (int x = 0; x < t.w; ++x) out[(static_cast<size_t>(y) * t.w + x) * t.c + c] = t.at(0, c, y, x);
  return out;
}
HostTensor from_packed_nhwc(const std::vector<float>& v, int c, int h, int w) {
  HostTensor t(1, c, h, w);
  for (int ch = 0; ch < c; ++ch)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) t.at(0, ch, y, x) = v[(static_cast<size_t>(y) * w + x) * c + ch];
  return t;
}

bool check_or_skip(benchmark::State& state, const DeviceBuffer<float>& out, const HostTensor& ref) {
  std::string why;
  if (bench::matches(from_packed_nhwc(out.download(), ref.c, ref.h, ref.w), ref, kFp32Tolerance, &why)) return true;
  state.SkipWithError(why.c_str());
  return false;
}

// A convolution of `groups` groups (1: dense; channels: depthwise).
void bench_cudnn(benchmark::State& state, int size, int in_channels, int out_channels, int kernel, int stride,
                 int groups) {
  const int h = bench::scaled(size), w = h, oh = (h + stride - 1) / stride, ow = oh;
  const HostTensor x = bench::random_tensor(in_channels, h, w, 41);
  const std::vector<float> weight =
      bench::random_values(static_cast<size_t>(out_channels) * (in_channels / groups) * kernel * kernel, 42, -0.3f, 0.3f);
  const HostTensor ref = m2u::ref::conv2d(x, weight, {}, out_channels, kernel, stride, groups);
  // cuDNN's NHWC filter is [k][r][s][c]: for a 1x1 or a depthwise filter
  // (one input channel a group) the same order as PyTorch's [k][c][r][s].
  DeviceBuffer<float> in(x.size()), filter(weight.size()), out(ref.size());
  in.upload(packed_nhwc(x));
  filter.upload(weight);
  cudnnHandle_t handle = nullptr;
  cudnnTensorDescriptor_t x_desc = nullptr, y_desc = nullptr;
  cudnnFilterDescriptor_t w_desc = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  check_cudnn(cudnnCreate(&handle), "cudnnCreate");
  check_cudnn(cudnnCreateTensorDescriptor(&x_desc), "descriptor");
  check_cudnn(cudnnCreateTensorDescriptor(&y_desc), "descriptor");
  check_cudnn(cudnnCreateFilterDescriptor(&w_desc), "descriptor");
  check_cudnn(cudnnCreateConvolutionDescriptor(&conv), "descriptor");
  check_cudnn(cudnnSetTensor4dDescriptor(x_desc, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 1, in_channels, h, w), "x");
  check_cudnn(cudnnSetTensor4dDescriptor(y_desc, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 1, out_channels, oh, ow), "y");
  check_cudnn(cudnnSetFilter4dDescriptor(w_desc, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, out_channels,
                                         in_channels / groups, kernel, kernel), "w");
  check_cudnn(cudnnSetConvolution2dDescriptor(conv, kernel / 2, kernel / 2, stride, stride, 1, 1,
                                              CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT), "conv");
  check_cudnn(cudnnSetConvolutionGroupCount(conv, groups), "groups");
  // FP32 FMA math: without it cuDNN may use TF32 on Ampere and newer (about
  // 1e-3 relative), which is another precision than our FP32 kernels'.
  check_cudnn(cudnnSetConvolutionMathType(conv, CUDNN_FMA_MATH), "math type");
  cudnnConvolutionFwdAlgoPerf_t choice{};
  int returned = 0;
  check_cudnn(cudnnGetConvolutionForwardAlgorithm_v7(handle, x_desc, w_desc, conv, y_desc, 1, &returned, &choice),
              "cudnnGetConvolutionForwardAlgorithm_v7");
  size_t workspace_bytes = 0;
  check_cudnn(cudnnGetConvolutionForwardWorkspaceSize(handle, x_desc, w_desc, conv, y_desc, choice.algo,
                                                      &workspace_bytes), "workspace size");
  DeviceBuffer<unsigned char> workspace(workspace_bytes ? workspace_bytes : 1);
  const float one = 1.0f, zero = 0.0f;
  auto launch = [&] {
    const cudnnStatus_t status =
        cudnnConvolutionForward(handle, &one, x_desc, in.data(), w_desc, filter.data(), conv, choice.algo,
                                workspace.data(), workspace_bytes, &zero, y_desc, out.data());
    return status == CUDNN_STATUS_SUCCESS ? cudaSuccess : cudaErrorUnknown;
  };
  bench::check(launch(), "cudnnConvolutionForward");
  if (check_or_skip(state, out, ref)) {
    bench::time_launches(state, launch,
                         bench::work_of(groups == 1 ? "cuDNN conv" : "cuDNN grouped conv", m2u::WorkArithmetic::kFp32,
                                        static_cast<double>(oh) * ow * out_channels * (in_channels / groups) * kernel * kernel,
                                        x.size() * 4.0, weight.size() * 4.0, ref.size() * 4.0));
    state.SetLabel(std::string("cuDNN algorithm ") + std::to_string(static_cast<int>(choice.algo)));
  }
  cudnnDestroyConvolutionDescriptor(conv);
  cudnnDestroyFilterDescriptor(w_desc);
  cudnnDestroyTensorDescriptor(y_desc);
  cudnnDestroyTensorDescriptor(x_desc);
  cudnnDestroy(handle);
}

// out[p][co] = sum_ci in[p][ci] w[co][ci]: column-major out^T (co x p) =
// w^T^T (co x ci) * in^T (ci x p).
void bench_cublas_1x1(benchmark::State& state, int size, int in_channels, int out_channels) {
  const int h = bench::scaled(size), w = h, pixels = h * w;
  const HostTensor x = bench::random_tensor(in_channels, h, w, 51);
  const std::vector<float> weight = bench::random_values(static_cast<size_t>(out_channels) * in_channels, 52, -0.3f, 0.3f);
  const HostTensor ref = m2u::ref::conv2d(x, weight, {}, out_channels, 1, 1, 1);
  DeviceBuffer<float> in(x.size()), filter(weight.size()), out(ref.size());
  in.upload(packed_nhwc(x));
  filter.upload(weight);
  cublasHandle_t handle = nullptr;
  check_cublas(cublasCreate(&handle), "cublasCreate");
  const float one = 1.0f, zero = 0.0f;
  auto launch = [&] {
    const cublasStatus_t status = cublasSgemm(handle, CUBLAS_OP_T, CUBLAS_OP_N, out_channels, pixels, in_channels, &one,
                                              filter.data(), in_channels, in.data(), in_channels, &zero, out.data(),
                                              out_channels);
    return status == CUBLAS_STATUS_SUCCESS ? cudaSuccess : cudaErrorUnknown;
  };
  bench::check(launch(), "cublasSgemm");
  if (check_or_skip(state, out, ref)) {
    bench::time_launches(state, launch,
                         bench::work_of("cuBLAS SGEMM", m2u::WorkArithmetic::kFp32,
                                        static_cast<double>(pixels) * out_channels * in_channels, x.size() * 4.0,
                                        weight.size() * 4.0, ref.size() * 4.0));
  }
  cublasDestroy(handle);
}

void add(const std::string& name, std::function<void(benchmark::State&)> body) {
  benchmark::RegisterBenchmark(name.c_str(), body)->UseManualTime()->Unit(benchmark::kMicrosecond);
}

std::string at(int size) {
  const int s = bench::scaled(size);
  return " @" + std::to_string(s) + "x" + std::to_string(s);
}

}  // namespace

void register_rival_benchmarks() {
  struct Pointwise {
    const char* layer;
    int size, in_channels, out_channels;
  };
  for (const Pointwise& p : {Pointwise{"conv2.3 expand 24->144", 128, 24, 144},
                             Pointwise{"conv2.3 project 144->24", 128, 144, 24},
                             Pointwise{"conv4.12 expand 96->576", 32, 96, 576}}) {
    add("rival/cudnn/fp32/" + std::string(p.layer) + at(p.size),
        [p](benchmark::State& s) { bench_cudnn(s, p.size, p.in_channels, p.out_channels, 1, 1, 1); });
    add("rival/cublas/fp32/" + std::string(p.layer) + at(p.size),
        [p](benchmark::State& s) { bench_cublas_1x1(s, p.size, p.in_channels, p.out_channels); });
  }
  add("rival/cudnn/fp32/conv2.3 depthwise 144" + at(128),
      [](benchmark::State& s) { bench_cudnn(s, 128, 144, 144, 3, 1, 144); });
  add("rival/cudnn/fp32/conv2.2 depthwise 96 stride 2" + at(256),
      [](benchmark::State& s) { bench_cudnn(s, 256, 96, 96, 3, 2, 96); });
}
