// pointwise_conv_int8.cu - pointwise_conv_int8 (conv_kernels_int8.h): the 1x1
// convolution on int8 activations and weights, int32 sums, the FP32
// requantising epilogue (bias, activation, optional residual, rounding to
// int8) of conv_kernels_int8.h. A GEMM of the pixels (rows) by the weight
// rows, reduced over the input's padded channels K.
//
// A block of 256 threads computes a tile of kPixels pixels x kTileChannels
// output channels (64 x 64, 128 x 32 or 256 x 16, picked by the output's
// padded channels); each thread 4 consecutive pixels x 4 consecutive
// channels in 16 int32 accumulators. The reduction runs in chunks of 16
// input channels, staged through shared memory as packed int8 words (4
// channels per 32-bit word, as dp4a takes them): the input tile transposed
// to [word][pixel], the weight tile to [word][output channel], rows padded
// by 4 words against bank conflicts (keeping 16-byte alignment). A staged
// word of a thread's 4 pixels and one of its 4 channels is one dot4: 16 dot4
// per word, 64 per chunk. Out-of-range pixels and weight rows stage as 0.
// Channels of the output's padding are written 0; the 4 channels of a thread
// go out as one 32-bit store. `residual` may alias `output` (each thread
// reads its residual word before writing the same place).
//
// The dot products (Int8DotPath, a template argument of the kernel): kNative
// is __dp4a on sm_61+ (and in the emulation) and the scalar code when
// compiled for sm_53 (no dp4a there); kScalar is sign-extended byte
// multiply-adds everywhere. Integer sums are exact and associative, so both
// give the same int32 sums; the epilogue is shared. nvcc (11.8 and 13)
// recognises the scalar byte products and emits dp4a for them too on
// sm_61+ (keeping some of the byte extractions: more instructions than
// kNative); the scalar code runs as such in the emulation and on sm_53.
//
// Per output pixel (K = padded input channels, Cout outputs): K Cout int8
// multiply-adds (2 K Cout int ops: K Cout / 4 dp4a, or K Cout IMADs plus
// the byte extractions on the scalar code) and 4-6 FP32 operations per
// output channel (FMA, activation, residual multiply and add, scale,
// clamp). Minimal DRAM traffic: K + Cout_pad (+ Cout_pad with a residual)
// bytes, plus the weights (Cout K bytes) and 8 Cout bytes of multipliers and
// biases once.
//
// PTX rules: every instantiation rounds with the explicit intrinsics
// (directives below, all architectures). "dp4a in the kNative kernel on
// sm_61+, none in any kernel on sm_53" differs by architecture, which a
// directive cannot say; tests/sim/run_sim_tests.sh checks it on
// device_check's PTX from nvcc 11.8 for sm_53, sm_61 and sm_87.
// device_check: kernel_pointwise_conv_int8 expects-ptx fma.rn.f32
// device_check: kernel_pointwise_conv_int8 expects-ptx cvt.rni.s32.f32
#include "conv_kernels_int8.h"
#include "device_math.cuh"
#include "int8_math.cuh"
#include "launch.h"
#include "launcher_support.h"

namespace m2u {
namespace {

constexpr int kPointwiseThreads = 256;
constexpr int kChunk = 16;               // input channels staged per step
constexpr int kChunkWords = kChunk / 4;  // packed words per staged pixel / weight row

template <int kTileChannels>
struct Int8Tile {
  static constexpr int kQuads = kTileChannels / 4;  // output channel quads per tile
  static constexpr int kPixels = kPointwiseThreads / kQuads * 4;
  static constexpr int kInputRow = kPixels + 4;         // staged input: [kChunkWords][kInputRow]
  static constexpr int kWeightRow = kTileChannels + 4;  // staged weight: [kChunkWords][kWeightRow]
  static constexpr size_t kSharedBytes =
      sizeof(unsigned int) * kChunkWords * (kInputRow + kWeightRow);
};

struct PointwiseInt8Params {
  TensorView<const int8_t> input;
  TensorView<int8_t> output;
  const int8_t* weight;  // [output.channels][reduce_channels]
  Int8Requant requant;
  KernelActivation activation;
  TensorView<const int8_t> residual;
  float residual_scale;
  int reduce_channels;  // padded input channels, a multiple of kChunk
  int padded_out_channels;
};

template <int kTileChannels, Int8DotPath kPath>
M2U_HOT_KERNEL __global__ void __launch_bounds__(kPointwiseThreads)
    kernel_pointwise_conv_int8(PointwiseInt8Params params) {
  using Tile = Int8Tile<kTileChannels>;
  M2U_DYNAMIC_SHARED(unsigned int, pointwise_int8_shared);
  unsigned int* staged_input = pointwise_int8_shared;  // [kChunkWords][Tile::kInputRow]
  unsigned int* staged_weight = pointwise_int8_shared + kChunkWords * Tile::kInputRow;

  const int thread = static_cast<int>(threadIdx.x);
  const int quad = thread % Tile::kQuads;
  const int pixel_quad = thread / Tile::kQuads;
  const TensorView<int8_t>& output = params.output;
  const int pixels = output.batch * output.height * output.width;
  const int first_pixel = static_cast<int>(blockIdx.x) * Tile::kPixels;
  const int first_channel = static_cast<int>(blockIdx.y) * kTileChannels;
  const int out_channels = output.channels;
  const int reduce_channels = params.reduce_channels;

  int sums[4][4];
  M2U_UNROLL
  for (int i = 0; i < 4; ++i) {
    M2U_UNROLL
    for (int j = 0; j < 4; ++j) sums[i][j] = 0;
  }

  for (int chunk = 0; chunk < reduce_channels; chunk += kChunk) {
    for (int p = thread; p < Tile::kPixels; p += kPointwiseThreads) {
      uint4 words = make_uint4(0u, 0u, 0u, 0u);
      if (first_pixel + p < pixels) {
        words = *reinterpret_cast<const uint4*>(
            params.input.data + static_cast<size_t>(first_pixel + p) * params.input.pixel_stride +
            chunk);
      }
      staged_input[0 * Tile::kInputRow + p] = words.x;
      staged_input[1 * Tile::kInputRow + p] = words.y;
      staged_input[2 * Tile::kInputRow + p] = words.z;
      staged_input[3 * Tile::kInputRow + p] = words.w;
    }
    for (int c = thread; c < kTileChannels; c += kPointwiseThreads) {
      const int co = first_channel + c;
      uint4 words = make_uint4(0u, 0u, 0u, 0u);
      if (co < out_channels) {
        words = __ldg(reinterpret_cast<const uint4*>(
            params.weight + static_cast<size_t>(co) * reduce_channels + chunk));
      }
      staged_weight[0 * Tile::kWeightRow + c] = words.x;
      staged_weight[1 * Tile::kWeightRow + c] = words.y;
      staged_weight[2 * Tile::kWeightRow + c] = words.z;
      staged_weight[3 * Tile::kWeightRow + c] = words.w;
    }
    __syncthreads();
    M2U_UNROLL
    for (int k = 0; k < kChunkWords; ++k) {
      const uint4 a =
          *reinterpret_cast<const uint4*>(staged_input + k * Tile::kInputRow + pixel_quad * 4);
      const uint4 b =
          *reinterpret_cast<const uint4*>(staged_weight + k * Tile::kWeightRow + quad * 4);
      const unsigned int pixel_words[4] = {a.x, a.y, a.z, a.w};
      const unsigned int weight_words[4] = {b.x, b.y, b.z, b.w};
      M2U_UNROLL
      for (int i = 0; i < 4; ++i) {
        M2U_UNROLL
        for (int j = 0; j < 4; ++j) {
          sums[i][j] = dot4<kPath>(pixel_words[i], weight_words[j], sums[i][j]);
        }
      }
    }
    __syncthreads();
  }

  const int first_out = first_channel + quad * 4;
  if (first_out >= params.padded_out_channels) return;
  float multipliers[4];
  float biases[4];
  M2U_UNROLL
  for (int j = 0; j < 4; ++j) {
    const bool real_channel = first_out + j < out_channels;
    multipliers[j] = real_channel ? __ldg(params.requant.multiplier + first_out + j) : 0.0f;
    biases[j] = real_channel ? __ldg(params.requant.bias + first_out + j) : 0.0f;
  }
  const float inverse_scale = params.requant.output_inverse_scale;
  const bool has_residual = params.residual.data != nullptr;
  M2U_UNROLL
  for (int i = 0; i < 4; ++i) {
    const int p = first_pixel + pixel_quad * 4 + i;
    if (p >= pixels) break;
    unsigned int residual_word = 0u;
    if (has_residual) {
      residual_word = *reinterpret_cast<const unsigned int*>(
          params.residual.data + static_cast<size_t>(p) * params.residual.pixel_stride + first_out);
    }
    unsigned int packed = 0u;
    M2U_UNROLL
    for (int j = 0; j < 4; ++j) {
      if (first_out + j >= out_channels) continue;
      float real = int8_activated(sums[i][j], multipliers[j], biases[j], params.activation);
      if (has_residual) {
        real = __fadd_rn(
            real, __fmul_rn(__int2float_rn(signed_byte(residual_word, j)), params.residual_scale));
      }
      packed |= int8_quantized_byte(real, inverse_scale) << (8 * j);
    }
    *reinterpret_cast<unsigned int*>(output.data + static_cast<size_t>(p) * output.pixel_stride +
                                     first_out) = packed;
  }
}

template <int kTileChannels>
cudaError_t launch_pointwise_int8(const PointwiseInt8Params& params, Int8DotPath path,
                                  cudaStream_t stream) {
  using Tile = Int8Tile<kTileChannels>;
  const int pixels = static_cast<int>(params.output.pixel_count());
  const dim3 grid(
      static_cast<unsigned>((pixels + Tile::kPixels - 1) / Tile::kPixels),
      static_cast<unsigned>((params.padded_out_channels + kTileChannels - 1) / kTileChannels));
  const auto kernel = path == Int8DotPath::kScalar
                          ? kernel_pointwise_conv_int8<kTileChannels, Int8DotPath::kScalar>
                          : kernel_pointwise_conv_int8<kTileChannels, Int8DotPath::kNative>;
  return launch("pointwise_conv_int8", kernel, grid, dim3(kPointwiseThreads), Tile::kSharedBytes,
                stream, params);
}

bool valid_pointwise_int8_arguments(const TensorView<const int8_t>& input,
                                    const TensorView<int8_t>& output, const int8_t* weight,
                                    const Int8Requant& requant, KernelActivation activation,
                                    const TensorView<const int8_t>& residual, Int8DotPath path) {
  return valid_view(input) && valid_view(output) && aligned_16(weight) &&
         valid_int8_epilogue(requant, activation) &&
         (path == Int8DotPath::kNative || path == Int8DotPath::kScalar) &&
         output.batch == input.batch && output.height == input.height &&
         output.width == input.width &&
         padded_channels<int8_t>(input.channels) <= kInt8MaxReduceChannels &&
         (residual.data == nullptr || (valid_view(residual) && same_shape(residual, output)));
}

}  // namespace

cudaError_t pointwise_conv_int8_on_path(TensorView<const int8_t> input, TensorView<int8_t> output,
                                        const int8_t* weight, Int8Requant requant,
                                        KernelActivation activation,
                                        TensorView<const int8_t> residual, float residual_scale,
                                        Int8DotPath path, cudaStream_t stream) {
  if (!valid_pointwise_int8_arguments(input, output, weight, requant, activation, residual, path)) {
    return cudaErrorInvalidValue;
  }
  const int padded_out = padded_channels<int8_t>(output.channels);
  const PointwiseInt8Params params{
      input,      output,   weight,         requant,
      activation, residual, residual_scale, padded_channels<int8_t>(input.channels),
      padded_out};
  if (padded_out <= 16) return launch_pointwise_int8<16>(params, path, stream);
  if (padded_out <= 32) return launch_pointwise_int8<32>(params, path, stream);
  return launch_pointwise_int8<64>(params, path, stream);
}

cudaError_t pointwise_conv_int8(TensorView<const int8_t> input, TensorView<int8_t> output,
                                const int8_t* weight, Int8Requant requant,
                                KernelActivation activation, TensorView<const int8_t> residual,
                                float residual_scale, cudaStream_t stream) {
  return pointwise_conv_int8_on_path(input, output, weight, requant, activation, residual,
                                     residual_scale, Int8DotPath::kNative, stream);
}

}  // namespace m2u
