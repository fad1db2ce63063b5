// engine.cpp - creation (upload, arena, staging) and the per-frame run of
// the engine (see engine.h). The run path allocates nothing: every buffer
// and every view's place comes from the plan made at creation.
#include "engine.h"

#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "caller_values.h"
#include "conv_kernels.h"
#include "conv_kernels_int8.h"
#include "kernel_activation.h"
#include "layer_precision.h"
#include "profile_ranges.h"
#include "upsample_kernels.h"

namespace m2u {
namespace {

template <typename T>
TensorView<const T> as_const(const TensorView<T>& v) {
  return TensorView<const T>{v.data, v.batch, v.height, v.width, v.channels, v.pixel_stride, v.scale};
}

PixelType pixel_type(m2u_dtype dtype) {
  return dtype == M2U_DTYPE_U8 ? PixelType::kU8 : dtype == M2U_DTYPE_U16 ? PixelType::kU16 : PixelType::kF32;
}

bool valid_dtype(const m2u_dtype& dtype) {
  const int v = enum_value(dtype);
  return v == M2U_DTYPE_U8 || v == M2U_DTYPE_U16 || v == M2U_DTYPE_F32;
}

bool valid_memory(const m2u_memory& memory) {
  const int v = enum_value(memory);
  return v == M2U_MEMORY_HOST || v == M2U_MEMORY_DEVICE || v == M2U_MEMORY_PINNED;
}

bool on_host(const m2u_image& image) { return image.memory != M2U_MEMORY_DEVICE; }

// Strides of an image with the zeros (packed) filled in.
struct Strides {
  size_t row;
  size_t plane;
  size_t image;
};

Strides input_strides(const m2u_image& image) {
  Strides s;
  const size_t row_bytes = static_cast<size_t>(image.width) * image.channels * dtype_bytes(image.dtype);
  s.row = image.row_stride ? image.row_stride : row_bytes;
  s.plane = 0;
  s.image = image.image_stride ? image.image_stride : s.row * image.height;
  return s;
}

Strides output_strides(const m2u_image& image) {
  Strides s;
  s.row = image.row_stride ? image.row_stride : static_cast<size_t>(image.width) * dtype_bytes(image.dtype);
  s.plane = image.plane_stride ? image.plane_stride : s.row * image.height;
  s.image = image.image_stride ? image.image_stride : s.plane * image.channels;
  return s;
}

}  // namespace

std::unique_ptr<Engine> Engine::create(const Model& model, const EngineOptions& options,
                                       m2u_status* status, std::string* error) {
  auto refuse = [&](m2u_status code, const std::string& message) {
    *status = code;
    *error = message;
    return std::unique_ptr<Engine>();
  };
  if (options.max_batch < 1 || options.max_height < 1 || options.max_width < 1) {
    return refuse(M2U_ERROR_INVALID_ARGUMENT,
                  "engine options: max_batch, max_height and max_width must be >= 1 (got " +
                      std::to_string(options.max_batch) + ", " + std::to_string(options.max_height) +
                      ", " + std::to_string(options.max_width) + ")");
  }
  if (options.max_height > 65536 || options.max_width > 65536 || options.max_batch > 4096) {
    return refuse(M2U_ERROR_INVALID_ARGUMENT, "engine options: frames are limited to 4096 x 65536 x 65536");
  }
  std::unique_ptr<Engine> engine(new Engine());
  Engine& e = *engine;
  e.device_ = options.device;
  e.architecture_ = model.architecture;
  const int precision = enum_value(options.precision);
  if (precision != M2U_PRECISION_FP32 && precision != M2U_PRECISION_FP16 && precision != M2U_PRECISION_INT8) {
    return refuse(M2U_ERROR_INVALID_ARGUMENT, "engine options: precision " + std::to_string(precision) +
                                                  " is not available (M2U_PRECISION_FP32 = 0, M2U_PRECISION_FP16 = 1, "
                                                  "M2U_PRECISION_INT8 = 2)");
  }
  e.precision_ = static_cast<m2u_precision>(precision);
  if (options.fuse_blocks && (precision == M2U_PRECISION_INT8 || options.keep_decoder_activations)) {
    return refuse(M2U_ERROR_INVALID_ARGUMENT,
                  "engine options: fused blocks run in FP32 and FP16 inference engines only (precision " +
                      std::to_string(precision) +
                      (options.keep_decoder_activations ? ", decoder activations kept for training" : "") +
                      "): there is no INT8 fused kernel yet");
  }

  if (options.time_layers && options.cuda_graph) {
    return refuse(M2U_ERROR_INVALID_ARGUMENT,
                  "engine options: time_layers and cuda_graph exclude each other (the layers' events would be "
                  "recorded inside the graph)");
  }
  e.use_graph_ = options.cuda_graph;
  const size_t element = precision == M2U_PRECISION_FP16 ? sizeof(__half)
                         : precision == M2U_PRECISION_INT8 ? sizeof(int8_t)
                                                            : sizeof(float);
  e.plan_ = make_execution_plan(model.architecture, options.max_batch, options.max_height, options.max_width,
                                static_cast<int>(16 / element), element, options.keep_stage_outputs,
                                options.keep_decoder_activations,
                                precision == M2U_PRECISION_FP16 ? fp16_mixed_precision() : MixedPrecision{},
                                options.fuse_blocks);
  PackedWeights packed;
  std::string packing_problem;
  if (!pack_weights(model, e.plan_, &packed, &packing_problem)) {
    return refuse(M2U_ERROR_BAD_MODEL, packing_problem);
  }
  PackedWeightsInt8 int8;
  if (precision == M2U_PRECISION_INT8) {
    for (const PlannedBuffer& buffer : e.plan_.buffers) {
      const std::string name = activation_scale_name(buffer.name);
      const QuantEntry* entry = nullptr;
      for (const QuantEntry& q : model.quantisation) {
        if (q.kind == QuantKind::kActivationPerTensor && q.name == name) entry = &q;
      }
      if (!entry) {
        return refuse(M2U_ERROR_BAD_MODEL,
                      "INT8 needs the model's activation scales, and this model has no '" + name +
                          "' (" + std::to_string(model.quantisation.size()) +
                          " quantisation entries): calibrate it first, e.g. m2u_calibrate --model M.m2u "
                          "--out M_int8.m2u FRAMES... (or m2u_calibrator_save)");
      }
      e.buffer_scales_.push_back(entry->scales[0]);
    }
    pack_weights_int8(model.architecture, e.plan_, e.buffer_scales_, &packed, &int8);
    e.int8_convs_ = int8.convs;
  }
  e.packed_convs_ = packed.convs;
  e.weight_count_ = packed.values.size();

  const InputConvention& in = model.input;
  e.normalization_.per_image_standardize = in.normalization == NormalizationKind::kPerImageStandardize;
  e.normalization_.replicate_grey = in.grey_fill == GreyFill::kReplicate;
  e.normalization_.pixel_scale = in.pixel_scale;
  e.normalization_.std_floor = in.std_floor;
  for (int c = 0; c < kMaxInputChannels; ++c) {
    e.normalization_.channel_mean[c] = in.channel_mean[c];
    e.normalization_.channel_std[c] = in.channel_std[c];
  }

  int device_count = 0;
  if (cudaGetDeviceCount(&device_count) != cudaSuccess || options.device < 0 ||
      options.device >= device_count) {
    cudaGetLastError();
    return refuse(M2U_ERROR_NO_DEVICE, "CUDA device " + std::to_string(options.device) + " not available (" +
                                           std::to_string(device_count) + " device(s))");
  }
  auto cuda = [&](cudaError_t result, const std::string& what) {
    if (result == cudaSuccess) return true;
    cudaGetLastError();
    *status = result == cudaErrorMemoryAllocation ? M2U_ERROR_OUT_OF_MEMORY : M2U_ERROR_CUDA;
    *error = what + ": " + cudaGetErrorString(result);
    return false;
  };
  if (!cuda(cudaSetDevice(options.device), "cudaSetDevice")) return nullptr;
  if (options.stream) {
    e.stream_ = options.stream;
  } else {
    if (!cuda(cudaStreamCreate(&e.stream_), "creating the engine's stream")) return nullptr;
    e.owns_stream_ = true;
  }
  // Frames are accepted up to the plan's padded maxima (check_input): the
  // staging is sized for those.
  const size_t max_pixels = static_cast<size_t>(e.plan_.max_batch) * e.plan_.max_height * e.plan_.max_width;
  e.input_staging_bytes_ = max_pixels * model.architecture.in_channels * sizeof(float);
  e.output_staging_bytes_ = max_pixels * model.architecture.out_channels * sizeof(float);
  const PixelImage largest{nullptr, PixelType::kF32, e.plan_.max_batch, e.plan_.max_height,
                           e.plan_.max_width, model.architecture.in_channels, 0, 0, 1.0f};
  const size_t scratch = image_statistics_scratch(largest);
  if (!cuda(cudaMalloc(reinterpret_cast<void**>(&e.weights_), e.weight_bytes()),
            "allocating " + std::to_string(e.weight_bytes()) + " bytes of weights") ||
      !cuda(cudaMalloc(reinterpret_cast<void**>(&e.arena_), e.plan_.arena_bytes),
            "allocating the " + std::to_string(e.plan_.arena_bytes) + "-byte activation arena") ||
      !cuda(cudaMalloc(reinterpret_cast<void**>(&e.input_staging_), e.input_staging_bytes_),
            "allocating input staging") ||
      !cuda(cudaMalloc(reinterpret_cast<void**>(&e.output_staging_), e.output_staging_bytes_),
            "allocating output staging") ||
      !cuda(cudaMalloc(reinterpret_cast<void**>(&e.statistics_scratch_), std::max<size_t>(scratch, 1) * sizeof(double)),
            "allocating statistics scratch") ||
      !cuda(cudaMalloc(reinterpret_cast<void**>(&e.statistics_), 2 * options.max_batch * sizeof(float)),
            "allocating statistics") ||
      !cuda(cudaMalloc(reinterpret_cast<void**>(&e.nonfinite_counts_),
                       options.max_batch * sizeof(unsigned long long)),
            "allocating the non-finite input counters") ||
      !cuda(cudaMallocHost(reinterpret_cast<void**>(&e.nonfinite_counts_host_),
                           options.max_batch * sizeof(unsigned long long)),
            "allocating pinned memory for the non-finite input counters") ||
      !cuda(cudaMemcpy(e.weights_, packed.values.data(), e.weight_bytes(), cudaMemcpyHostToDevice),
            "uploading weights")) {
    return nullptr;
  }
  if (!int8.weights.empty() &&
      (!cuda(cudaMalloc(reinterpret_cast<void**>(&e.int8_weights_), int8.weights.size()),
             "allocating " + std::to_string(int8.weights.size()) + " bytes of INT8 weights") ||
       !cuda(cudaMemcpy(e.int8_weights_, int8.weights.data(), int8.weights.size(), cudaMemcpyHostToDevice),
             "uploading INT8 weights"))) {
    return nullptr;
  }
  if (options.time_layers) {
    e.layer_events_.assign(e.plan_.steps.size() + 2, nullptr);
    for (cudaEvent_t& event : e.layer_events_) {
      if (!cuda(cudaEventCreate(&event), "creating the layer timing events")) return nullptr;
    }
  }
  e.given_statistics_.assign(2 * static_cast<size_t>(options.max_batch), 0.0f);
  *status = M2U_OK;
  return engine;
}

Engine::~Engine() {
  if (stream_) cudaStreamSynchronize(stream_);
  cudaFree(weights_);
  cudaFree(int8_weights_);
  cudaFree(arena_);
  cudaFree(input_staging_);
  cudaFree(output_staging_);
  cudaFree(statistics_scratch_);
  cudaFree(statistics_);
  cudaFree(nonfinite_counts_);
  cudaFreeHost(nonfinite_counts_host_);
  for (cudaEvent_t event : layer_events_) {
    if (event) cudaEventDestroy(event);
  }
  if (owns_stream_) cudaStreamDestroy(stream_);
}

m2u_status Engine::fail(m2u_status status, const std::string& message) {
  last_error_ = message;
  return status;
}

m2u_status Engine::cuda_failure(const char* what, cudaError_t error) {
  cudaGetLastError();
  return fail(M2U_ERROR_CUDA, std::string(what) + ": " + cudaGetErrorName(error) + " (" +
                                  cudaGetErrorString(error) + ")");
}

m2u_status Engine::check_images(const m2u_image& input, const m2u_image& output) {
  const m2u_status checked = check_input(input);
  if (checked != M2U_OK) return checked;
  if (!output.data) return fail(M2U_ERROR_INVALID_ARGUMENT, "output: data is NULL");
  if (!valid_dtype(output.dtype) || !valid_memory(output.memory)) {
    return fail(M2U_ERROR_INVALID_ARGUMENT, "output: unknown dtype or memory kind");
  }
  if (output.batch != input.batch || output.height != input.height || output.width != input.width ||
      output.channels != architecture_.out_channels) {
    return fail(M2U_ERROR_SHAPE, "output is " + std::to_string(output.batch) + " x " +
                                     std::to_string(output.channels) + " x " + std::to_string(output.height) +
                                     " x " + std::to_string(output.width) + "; expected " +
                                     std::to_string(input.batch) + " x " +
                                     std::to_string(architecture_.out_channels) + " x " +
                                     std::to_string(input.height) + " x " + std::to_string(input.width));
  }
  const Strides out = output_strides(output);
  const size_t out_row = static_cast<size_t>(output.width) * dtype_bytes(output.dtype);
  if (out.row < out_row || out.plane < out.row * (output.height - 1) + out_row ||
      out.image < out.plane * (output.channels - 1) + out.row * (output.height - 1) + out_row) {
    return fail(M2U_ERROR_INVALID_ARGUMENT, "output strides are smaller than its rows, planes or images");
  }
  return M2U_OK;
}

m2u_status Engine::check_input(const m2u_image& input) {
  if (!input.data) return fail(M2U_ERROR_INVALID_ARGUMENT, "input: data is NULL");
  if (!valid_dtype(input.dtype) || !valid_memory(input.memory)) {
    return fail(M2U_ERROR_INVALID_ARGUMENT, "input: unknown dtype or memory kind");
  }
  const int max_batch = plan_.max_batch;
  if (input.batch < 1 || input.batch > max_batch || input.height < 1 || input.width < 1 ||
      pad_to_spatial_multiple(input.height) > plan_.max_height ||
      pad_to_spatial_multiple(input.width) > plan_.max_width) {
    return fail(M2U_ERROR_SHAPE, "input is " + std::to_string(input.batch) + " x " + std::to_string(input.height) +
                                     " x " + std::to_string(input.width) + "; this engine takes 1.." +
                                     std::to_string(max_batch) + " frames of at most " +
                                     std::to_string(plan_.max_height) + " x " + std::to_string(plan_.max_width));
  }
  const int in_channels = architecture_.in_channels;
  if (input.channels != 1 && input.channels != in_channels) {
    return fail(M2U_ERROR_SHAPE, "input has " + std::to_string(input.channels) +
                                     " channels; the model takes " +
                                     (in_channels == 1 ? std::string("1 (grey)")
                                                       : "1 (grey) or " + std::to_string(in_channels)));
  }
  if (input.dtype == M2U_DTYPE_U16 && (input.significant_bits < 0 || input.significant_bits > 16)) {
    return fail(M2U_ERROR_INVALID_ARGUMENT, "input significant_bits is " +
                                                std::to_string(input.significant_bits) + ", expected 0..16");
  }
  const Strides in = input_strides(input);
  const size_t in_row = static_cast<size_t>(input.width) * input.channels * dtype_bytes(input.dtype);
  if (in.row < in_row || in.image < in.row * (input.height - 1) + in_row) {
    return fail(M2U_ERROR_INVALID_ARGUMENT, "input strides are smaller than its rows or images");
  }
  return M2U_OK;
}

m2u_status Engine::stage_input(const m2u_image& input, PixelImage* pixels) {
  const Strides strides = input_strides(input);
  const size_t row_bytes = static_cast<size_t>(input.width) * input.channels * dtype_bytes(input.dtype);
  const int bits = input.dtype == M2U_DTYPE_U16 && input.significant_bits ? input.significant_bits : 16;
  pixels->type = pixel_type(input.dtype);
  pixels->batch = input.batch;
  pixels->height = input.height;
  pixels->width = input.width;
  pixels->channels = input.channels;
  pixels->max_value = input.dtype == M2U_DTYPE_U8    ? 255.0f
                      : input.dtype == M2U_DTYPE_U16 ? static_cast<float>((1u << bits) - 1u)
                                                     : 1.0f;
  if (input.memory == M2U_MEMORY_DEVICE) {
    pixels->data = input.data;
    pixels->row_stride_bytes = strides.row;
    pixels->image_stride_bytes = strides.image;
    return M2U_OK;
  }
  const size_t packed_image = row_bytes * input.height;
  for (int n = 0; n < input.batch; ++n) {
    const cudaError_t copied = cudaMemcpy2DAsync(
        input_staging_ + n * packed_image, row_bytes, static_cast<const unsigned char*>(input.data) + n * strides.image,
        strides.row, row_bytes, input.height, cudaMemcpyHostToDevice, stream_);
    if (copied != cudaSuccess) return cuda_failure("copying the input frame to the device", copied);
  }
  pixels->data = input_staging_;
  pixels->row_stride_bytes = row_bytes;
  pixels->image_stride_bytes = packed_image;
  return M2U_OK;
}

template <typename T>
TensorView<T> Engine::view(const PlannedView& planned, int batch, int padded_height, int padded_width) const {
  const PlannedBuffer& buffer = plan_.buffers[planned.buffer];
  T* base = reinterpret_cast<T*>(arena_ + buffer.offset);
  const float scale = buffer_scales_.empty() ? 1.0f : buffer_scales_[planned.buffer];
  return TensorView<T>{base + planned.channel_offset, batch, padded_height / buffer.downscale,
                       padded_width / buffer.downscale, planned.channels, buffer.pixel_stride, scale};
}

TensorView<float> Engine::float_view(const PlannedView& planned, int batch, int padded_height,
                                     int padded_width) const {
  return view<float>(planned, batch, padded_height, padded_width);
}

template <typename T>
cudaError_t Engine::pointwise_step(const PlannedStep&, TensorView<const T> in, TensorView<T> out,
                                   TensorView<const T> residual, const float* weight, const float* bias,
                                   KernelActivation activation) {
  return pointwise_conv<T>(in, out, weight, bias, activation, residual, stream_);
}

template <>
cudaError_t Engine::pointwise_step<int8_t>(const PlannedStep& step, TensorView<const int8_t> in,
                                           TensorView<int8_t> out, TensorView<const int8_t> residual,
                                           const float*, const float* bias, KernelActivation activation) {
  const PackedConvInt8& q = int8_convs_[step.conv];
  const Int8Requant requant{weights_ + q.multiplier_offset, bias, 1.0f / out.scale};
  return pointwise_conv_int8(in, out, int8_weights_ + q.weight_offset, requant, activation, residual,
                             residual.scale, stream_);
}

// FP16: half2 arithmetic where the plan marks the step so, FP32 arithmetic
// on the half storage elsewhere (layer_precision.h).
template <>
cudaError_t Engine::pointwise_step<__half>(const PlannedStep& step, TensorView<const __half> in,
                                           TensorView<__half> out, TensorView<const __half> residual,
                                           const float* weight, const float* bias, KernelActivation activation) {
  return step.half2 ? pointwise_conv<__half>(in, out, weight, bias, activation, residual, stream_)
                    : pointwise_conv_float_arithmetic<__half, __half>(in, out, weight, bias, activation, residual,
                                                                      stream_);
}

template <typename T>
cudaError_t Engine::depthwise_step(const PlannedStep& step, TensorView<const T> in, TensorView<T> out,
                                   const float* weight, const float* bias, KernelActivation activation) {
  return depthwise_conv<T>(in, out, weight, bias, step.stride, activation, stream_);
}

template <>
cudaError_t Engine::depthwise_step<__half>(const PlannedStep& step, TensorView<const __half> in,
                                           TensorView<__half> out, const float* weight, const float* bias,
                                           KernelActivation activation) {
  return step.half2 ? depthwise_conv<__half>(in, out, weight, bias, step.stride, activation, stream_)
                    : depthwise_conv_float_arithmetic<__half>(in, out, weight, bias, step.stride, activation,
                                                              stream_);
}

cudaError_t Engine::float_storage_step(const PlannedStep& step, int batch, int padded_height, int padded_width,
                                       const float* weight, const float* bias, KernelActivation activation,
                                       const ProbabilityImage& probabilities) {
  const bool in_float = float_storage(step.input);
  const bool out_float = float_storage(step.output);
  auto float_view_of = [&](const PlannedView& v) { return view<float>(v, batch, padded_height, padded_width); };
  auto half_view_of = [&](const PlannedView& v) { return view<__half>(v, batch, padded_height, padded_width); };
  if (step.residual.buffer >= 0) return cudaErrorInvalidValue;  // decoder blocks have none
  switch (step.kind) {
    case StepKind::kPointwise:
      if (in_float && out_float) {
        const TensorView<float> in = float_view_of(step.input);
        return pointwise_conv<float>(as_const(in), float_view_of(step.output), weight, bias, activation,
                                     TensorView<const float>{}, stream_);
      }
      if (out_float) {
        const TensorView<__half> in = half_view_of(step.input);
        return pointwise_conv_float_arithmetic<__half, float>(as_const(in), float_view_of(step.output), weight,
                                                              bias, activation, TensorView<const float>{}, stream_);
      }
      break;
    case StepKind::kDepthwise:
      if (in_float && out_float) {
        const TensorView<float> in = float_view_of(step.input);
        return depthwise_conv<float>(as_const(in), float_view_of(step.output), weight, bias, step.stride,
                                     activation, stream_);
      }
      break;
    case StepKind::kUpsample:
      if (in_float && !out_float) {
        const TensorView<float> in = float_view_of(step.input);
        return upsample_bilinear2x<float, __half>(as_const(in), half_view_of(step.output), stream_);
      }
      break;
    case StepKind::kOutput:
      if (in_float) {
        const TensorView<float> in = float_view_of(step.input);
        return output_conv<float>(as_const(in), architecture_.out_channels, weight, bias, activation,
                                  probabilities, stream_);
      }
      break;
    case StepKind::kFusedBlock:
      if (!in_float && out_float) {  // a decoder block: the half concat buffer in, FP32 out
        const TensorView<__half> in = half_view_of(step.input);
        return inverted_residual_fused_float_arithmetic<__half, float>(
            as_const(in), float_view_of(step.output), TensorView<const float>{}, fused_block_weights(step),
            step.stride, stream_);
      }
      break;
    case StepKind::kInputConvert:
    case StepKind::kStem:
      break;
  }
  return cudaErrorInvalidValue;  // a storage pairing the plan does not make
}

template <>
cudaError_t Engine::depthwise_step<int8_t>(const PlannedStep& step, TensorView<const int8_t> in,
                                           TensorView<int8_t> out, const float*, const float* bias,
                                           KernelActivation activation) {
  const PackedConvInt8& q = int8_convs_[step.conv];
  const Int8Requant requant{weights_ + q.multiplier_offset, bias, 1.0f / out.scale};
  return depthwise_conv_int8(in, out, int8_weights_ + q.weight_offset, requant, step.stride, activation, stream_);
}

static_assert(kMaxFusedBlockOutputs == kMaxFusedOutputChannels, "the plan fuses what the fused kernel takes");
static_assert(kMaxFusedBlockInputs == kMaxFusedInputChannels, "the plan fuses what the fused kernel takes");
static_assert(kMaxFusedHeadInputs == kMaxFusedHeadBlockOutputs && kMaxFusedHeadChannels == kMaxFusedHeadOutputs,
              "the plan fuses the head the fused kernel takes");

FusedBlockWeights Engine::fused_block_weights(const PlannedStep& step) const {
  const PackedConv& expand = packed_convs_[step.conv];
  const PackedConv& depthwise = packed_convs_[step.depthwise_conv];
  const PackedConv& project = packed_convs_[step.project_conv];
  const ConvSpec& hidden = architecture_.convs[step.depthwise_conv];
  const FusedBlockWeights weights{weights_ + expand.weight_offset,
                                  weights_ + expand.bias_offset,
                                  weights_ + depthwise.weight_offset,
                                  weights_ + depthwise.bias_offset,
                                  weights_ + project.weight_offset,
                                  weights_ + project.bias_offset,
                                  hidden.out_channels,
                                  plan_.conv_inputs[step.conv].row_length,
                                  plan_.conv_inputs[step.project_conv].row_length,
                                  kernel_activation(architecture_.convs[step.conv].activation),
                                  kernel_activation(hidden.activation),
                                  kernel_activation(architecture_.convs[step.project_conv].activation)};
  return weights;
}

template <typename T>
cudaError_t Engine::fused_block_step(const PlannedStep& step, TensorView<const T> in, TensorView<T> out,
                                     TensorView<const T> residual) {
  return inverted_residual_fused<T>(in, out, residual, fused_block_weights(step), step.stride, stream_);
}

template <typename T>
cudaError_t Engine::fused_head_step(const PlannedStep& step, TensorView<const T> in,
                                    const ProbabilityImage& probabilities) {
  const PackedConv& head = packed_convs_[step.head_conv];
  const FusedHeadWeights weights{weights_ + head.weight_offset, weights_ + head.bias_offset,
                                 architecture_.out_channels, plan_.conv_inputs[step.head_conv].row_length,
                                 kernel_activation(architecture_.convs[step.head_conv].activation)};
  return inverted_residual_fused_head<T>(in, architecture_.convs[step.project_conv].out_channels,
                                         fused_block_weights(step), weights, probabilities, stream_);
}

template <>
cudaError_t Engine::fused_head_step<int8_t>(const PlannedStep&, TensorView<const int8_t>, const ProbabilityImage&) {
  return cudaErrorInvalidValue;  // INT8 engines plan no fused blocks
}

template <>
cudaError_t Engine::fused_block_step<int8_t>(const PlannedStep&, TensorView<const int8_t>, TensorView<int8_t>,
                                             TensorView<const int8_t>) {
  return cudaErrorInvalidValue;  // INT8 engines plan no fused blocks
}

m2u_status Engine::upload_given_statistics(int batch) {
  if (!normalization_.per_image_standardize || given_statistics_batch_ == 0) return M2U_OK;
  if (given_statistics_batch_ != batch) {
    return fail(M2U_ERROR_SHAPE, "input statistics were given for " + std::to_string(given_statistics_batch_) +
                                     " image(s), the run has " + std::to_string(batch));
  }
  const cudaError_t status = cudaMemcpyAsync(statistics_, given_statistics_.data(), 2 * batch * sizeof(float),
                                             cudaMemcpyHostToDevice, stream_);
  if (status != cudaSuccess) return cuda_failure("uploading the given input statistics", status);
  return M2U_OK;
}

m2u_status Engine::compute_statistics(const PixelImage& pixels) {
  if (!normalization_.per_image_standardize || given_statistics_batch_ > 0) return M2U_OK;
  const cudaError_t status = image_statistics(pixels, normalization_, statistics_scratch_, statistics_, stream_);
  if (status != cudaSuccess) return cuda_failure("input statistics", status);
  return M2U_OK;
}

bool Engine::GraphLayout::operator==(const GraphLayout& o) const {
  const PixelImage &a = pixels, &b = o.pixels;
  const ProbabilityImage &p = probabilities, &q = o.probabilities;
  return a.data == b.data && a.type == b.type && a.batch == b.batch && a.height == b.height &&
         a.width == b.width && a.channels == b.channels && a.row_stride_bytes == b.row_stride_bytes &&
         a.image_stride_bytes == b.image_stride_bytes && a.max_value == b.max_value && p.data == q.data &&
         p.type == q.type && p.height == q.height && p.width == q.width &&
         p.row_stride_bytes == q.row_stride_bytes && p.channel_stride_bytes == q.channel_stride_bytes &&
         p.image_stride_bytes == q.image_stride_bytes && nonfinite_counts == o.nonfinite_counts &&
         with_output == o.with_output && given_statistics == o.given_statistics;
}

m2u_status Engine::launch_steps_for_precision(const PixelImage& pixels, const ProbabilityImage& probabilities,
                                              unsigned long long* counts, int batch, int padded_height,
                                              int padded_width, bool with_output) {
  layer_events_recorded_ = false;  // until this run has recorded them all
  const cudaError_t timed = record_layer_event(0);
  if (timed != cudaSuccess) return cuda_failure("recording a layer timing event", timed);
  const m2u_status statistics = compute_statistics(pixels);
  if (statistics != M2U_OK) return statistics;
  return precision_ == M2U_PRECISION_FP16
             ? launch_steps<__half>(pixels, probabilities, counts, batch, padded_height, padded_width, with_output)
         : precision_ == M2U_PRECISION_INT8
             ? launch_steps<int8_t>(pixels, probabilities, counts, batch, padded_height, padded_width, with_output)
             : launch_steps<float>(pixels, probabilities, counts, batch, padded_height, padded_width, with_output);
}

m2u_status Engine::launch_device_work(const PixelImage& pixels, const ProbabilityImage& probabilities,
                                      unsigned long long* counts, int batch, int padded_height, int padded_width,
                                      bool with_output) {
  if (!use_graph_ || !graphs_enabled_ || observer_) {
    return launch_steps_for_precision(pixels, probabilities, counts, batch, padded_height, padded_width,
                                      with_output);
  }
  const GraphLayout layout{pixels, probabilities, counts, with_output, given_statistics_batch_ > 0};
  ++runs_with_graphs_;
  auto held = std::find_if(graphs_.begin(), graphs_.end(),
                           [&](const HeldGraph& g) { return g.layout == layout; });
  if (held == graphs_.end()) {
    auto graph = std::make_unique<CapturedGraph>();
    const cudaError_t began = graph->begin(stream_);
    if (began != cudaSuccess) return cuda_failure("beginning the CUDA graph capture of a run", began);
    // Ends the capture on every way out (a failed step, an exception while
    // a message is built) but the one that instantiates it.
    struct AbandonUnlessEnded {
      CapturedGraph* graph;
      cudaStream_t stream;
      bool ended;
      ~AbandonUnlessEnded() {
        if (!ended) graph->abandon(stream);
      }
    } capture{graph.get(), stream_, false};
    const m2u_status recorded =
        launch_steps_for_precision(pixels, probabilities, counts, batch, padded_height, padded_width, with_output);
    if (recorded != M2U_OK) return recorded;
    capture.ended = true;
    const cudaError_t ended = graph->end(stream_);
    if (ended != cudaSuccess) return cuda_failure("ending the CUDA graph capture of a run", ended);
    ++graph_captures_;
    if (graphs_.size() == kMaxHeldGraphs) {  // drop the least recently used
      graphs_.erase(std::min_element(graphs_.begin(), graphs_.end(), [](const HeldGraph& a, const HeldGraph& b) {
        return a.last_use < b.last_use;
      }));
    }
    graphs_.push_back(HeldGraph{layout, std::move(graph), 0});
    held = graphs_.end() - 1;
  }
  held->last_use = runs_with_graphs_;
  const cudaError_t replayed = held->graph->replay(stream_);
  if (replayed != cudaSuccess) return cuda_failure("launching the run's CUDA graph", replayed);
  return M2U_OK;
}

template <typename T>
m2u_status Engine::launch_steps(const PixelImage& pixels, const ProbabilityImage& probabilities,
                                unsigned long long* nonfinite_counts, int batch, int padded_height,
                                int padded_width, bool with_output) {
  const ProfileRange forward("m2u forward");
  size_t step_index = 0;
  for (const PlannedStep& step : plan_.steps) {
    const cudaError_t timed = record_layer_event(++step_index);
    if (timed != cudaSuccess) return cuda_failure("recording a layer timing event", timed);
    if ((step.kind == StepKind::kOutput || step.head_conv >= 0) && !with_output) continue;
    const ProfileRange range(step.label.c_str());
    const TensorView<T> out =
        step.output.buffer >= 0 ? view<T>(step.output, batch, padded_height, padded_width) : TensorView<T>{};
    const TensorView<const T> in =
        step.input.buffer >= 0 ? as_const(view<T>(step.input, batch, padded_height, padded_width))
                               : TensorView<const T>{};
    const float* weight = step.conv >= 0 ? weights_ + packed_convs_[step.conv].weight_offset : nullptr;
    const float* bias = step.conv >= 0 ? weights_ + packed_convs_[step.conv].bias_offset : nullptr;
    const KernelActivation activation =
        step.conv >= 0 ? kernel_activation(architecture_.convs[step.conv].activation) : KernelActivation::kLinear;
    if (step.head_conv >= 0) {
      const cudaError_t status = fused_head_step<T>(step, in, probabilities);
      if (status != cudaSuccess) return cuda_failure(step.label.c_str(), status);
      continue;
    }
    if (std::is_same<T, __half>::value && (float_storage(step.input) || float_storage(step.output))) {
      const cudaError_t status =
          float_storage_step(step, batch, padded_height, padded_width, weight, bias, activation, probabilities);
      if (status != cudaSuccess) return cuda_failure(step.label.c_str(), status);
      continue;
    }
    cudaError_t status = cudaSuccess;
    switch (step.kind) {
      case StepKind::kInputConvert:
        status = input_convert<T>(pixels, normalization_, statistics_, out, nonfinite_counts, stream_);
        break;
      case StepKind::kStem:
        status = conv_stem<T>(in, out, weight, bias, activation, stream_);
        break;
      case StepKind::kPointwise: {
        const TensorView<const T> residual =
            step.residual.buffer >= 0 ? as_const(view<T>(step.residual, batch, padded_height, padded_width))
                                      : TensorView<const T>{};
        status = pointwise_step<T>(step, in, out, residual, weight, bias, activation);
        break;
      }
      case StepKind::kDepthwise:
        status = depthwise_step<T>(step, in, out, weight, bias, activation);
        break;
      case StepKind::kUpsample:
        status = upsample_bilinear2x<T, T>(in, out, stream_);
        break;
      case StepKind::kOutput:
        status = output_conv<T>(in, architecture_.out_channels, weight, bias, activation, probabilities, stream_);
        break;
      case StepKind::kFusedBlock: {
        const TensorView<const T> residual =
            step.residual.buffer >= 0 ? as_const(view<T>(step.residual, batch, padded_height, padded_width))
                                      : TensorView<const T>{};
        status = fused_block_step<T>(step, in, out, residual);
        break;
      }
    }
    if (status == cudaSuccess && step.output.buffer >= 0) status = observe(step, out);
    if (status != cudaSuccess) return cuda_failure(step.label.c_str(), status);
  }
  const cudaError_t timed = record_layer_event(step_index + 1);
  if (timed != cudaSuccess) return cuda_failure("recording a layer timing event", timed);
  layer_events_recorded_ = !layer_events_.empty();
  return M2U_OK;
}

cudaError_t Engine::record_layer_event(size_t index) {
  if (layer_events_.empty()) return cudaSuccess;
  return cudaEventRecord(layer_events_[index], stream_);
}

m2u_status Engine::layer_times(std::vector<double>* milliseconds) {
  last_error_.clear();
  if (layer_events_.empty()) {
    return fail(M2U_ERROR_INVALID_ARGUMENT, "layer times: the engine was created without time_layers");
  }
  if (!layer_events_recorded_) return fail(M2U_ERROR_INVALID_ARGUMENT, "layer times: no run yet");
  const cudaError_t waited = cudaEventSynchronize(layer_events_.back());
  if (waited != cudaSuccess) return cuda_failure("waiting for the last run's timing events", waited);
  milliseconds->clear();
  for (size_t i = normalization_.per_image_standardize ? 0 : 1; i + 1 < layer_events_.size(); ++i) {
    float ms = 0.0f;
    const cudaError_t elapsed = cudaEventElapsedTime(&ms, layer_events_[i], layer_events_[i + 1]);
    if (elapsed != cudaSuccess) return cuda_failure("reading the layer timing events", elapsed);
    milliseconds->push_back(ms);
  }
  return M2U_OK;
}

cudaError_t Engine::observe(const PlannedStep& step, const TensorView<float>& output) {
  if (!observer_) return cudaSuccess;
  const TensorView<const float> written{output.data,  output.batch,    output.height,
                                        output.width, output.channels, output.pixel_stride};
  return observer_->after_step(step, written, stream_);
}

m2u_status Engine::launch(const m2u_image& input, const ProbabilityImage& probabilities, bool with_output) {
  const cudaError_t selected = cudaSetDevice(device_);
  if (selected != cudaSuccess) return cuda_failure("cudaSetDevice", selected);
  PixelImage pixels{};
  const m2u_status staged = stage_input(input, &pixels);
  if (staged != M2U_OK) return staged;
  // Only float input can hold NaN or infinity: count it (U8 / U16 pay nothing).
  const bool float_input = input.dtype == M2U_DTYPE_F32;
  if (float_input && !nonfinite_report_pending_) {
    const cudaError_t zeroed =
        cudaMemsetAsync(nonfinite_counts_, 0, plan_.max_batch * sizeof(unsigned long long), stream_);
    if (zeroed != cudaSuccess) return cuda_failure("zeroing the non-finite input counters", zeroed);
  }
  unsigned long long* counts = float_input ? nonfinite_counts_ : nullptr;
  const int padded_height = pad_to_spatial_multiple(input.height);
  const int padded_width = pad_to_spatial_multiple(input.width);
  const int batch = input.batch;
  const m2u_status uploaded = upload_given_statistics(batch);
  if (uploaded != M2U_OK) return uploaded;
  const m2u_status ran =
      launch_device_work(pixels, probabilities, counts, batch, padded_height, padded_width, with_output);
  if (ran != M2U_OK) return ran;
  if (float_input) {
    const cudaError_t copied = cudaMemcpyAsync(nonfinite_counts_host_, nonfinite_counts_,
                                               plan_.max_batch * sizeof(unsigned long long),
                                               cudaMemcpyDeviceToHost, stream_);
    if (copied != cudaSuccess) return cuda_failure("copying the non-finite input counters", copied);
    nonfinite_report_pending_ = true;
  }
  return M2U_OK;
}

m2u_status Engine::run_features(const m2u_image& input) {
  last_error_.clear();
  if (precision_ != M2U_PRECISION_FP32) {
    return fail(M2U_ERROR_INVALID_ARGUMENT, "run_features: FP32 engines only");
  }
  const m2u_status checked = check_input(input);
  if (checked != M2U_OK) return checked;
  return launch(input, ProbabilityImage{}, false);
}

m2u_status Engine::run(const m2u_image& input, const m2u_image& output) {
  last_error_.clear();
  const m2u_status checked = check_images(input, output);
  if (checked != M2U_OK) return checked;
  const Strides out = output_strides(output);
  ProbabilityImage probabilities{};
  probabilities.type = pixel_type(output.dtype);
  probabilities.height = output.height;
  probabilities.width = output.width;
  if (!on_host(output)) {
    probabilities.data = output.data;
    probabilities.row_stride_bytes = out.row;
    probabilities.channel_stride_bytes = out.plane;
    probabilities.image_stride_bytes = out.image;
  } else {
    probabilities.data = output_staging_;
    probabilities.row_stride_bytes = static_cast<size_t>(output.width) * dtype_bytes(output.dtype);
    probabilities.channel_stride_bytes = probabilities.row_stride_bytes * output.height;
    probabilities.image_stride_bytes = probabilities.channel_stride_bytes * output.channels;
  }
  const m2u_status ran = launch(input, probabilities, true);
  if (ran != M2U_OK) return ran;
  if (on_host(output)) {
    for (int n = 0; n < output.batch; ++n) {
      for (int c = 0; c < output.channels; ++c) {
        const unsigned char* source = output_staging_ + n * probabilities.image_stride_bytes +
                                      c * probabilities.channel_stride_bytes;
        unsigned char* destination = static_cast<unsigned char*>(output.data) + n * out.image + c * out.plane;
        const cudaError_t copied = cudaMemcpy2DAsync(destination, out.row, source, probabilities.row_stride_bytes,
                                                     probabilities.row_stride_bytes, output.height,
                                                     cudaMemcpyDeviceToHost, stream_);
        if (copied != cudaSuccess) return cuda_failure("copying the output to the host", copied);
      }
    }
  }
  // Pageable host memory: the caller expects the result on return.
  if (input.memory == M2U_MEMORY_HOST || output.memory == M2U_MEMORY_HOST) return synchronize();
  return M2U_OK;
}

m2u_status Engine::synchronize() {
  const cudaError_t status = cudaStreamSynchronize(stream_);
  if (status != cudaSuccess) return cuda_failure("waiting for the engine's stream", status);
  return report_nonfinite_input();
}

m2u_status Engine::report_nonfinite_input() {
  if (!nonfinite_report_pending_) return M2U_OK;
  nonfinite_report_pending_ = false;
  std::string counts;
  for (int n = 0; n < plan_.max_batch; ++n) {
    const unsigned long long count = nonfinite_counts_host_[n];
    if (count == 0) continue;
    counts += counts.empty() ? std::to_string(count) + " non-finite pixel value(s) (NaN or infinity) in image "
                             : ", " + std::to_string(count) + " in image ";
    counts += std::to_string(n);
  }
  if (counts.empty()) return M2U_OK;
  return fail(M2U_ERROR_INPUT, "input: " + counts +
                                   "; they were read as 0 and the rest of the frame was computed, but the "
                                   "output is not valid (check the camera or the preprocessing that made the "
                                   "float frame)");
}

m2u_status Engine::set_input_statistics(const float* mean_std, int batch) {
  if (!mean_std) {
    given_statistics_batch_ = 0;
    return M2U_OK;
  }
  if (batch < 1 || batch > plan_.max_batch) {
    return fail(M2U_ERROR_INVALID_ARGUMENT, "input statistics for " + std::to_string(batch) +
                                                " images; this engine takes 1.." + std::to_string(plan_.max_batch));
  }
  for (int n = 0; n < batch; ++n) {
    const float mean = mean_std[2 * n], deviation = mean_std[2 * n + 1];
    if (!std::isfinite(mean) || !std::isfinite(deviation) || deviation < 0.0f) {
      return fail(M2U_ERROR_INVALID_ARGUMENT, "input statistics of image " + std::to_string(n) + ": mean " +
                                                  std::to_string(mean) + ", deviation " + std::to_string(deviation));
    }
    // Safe to overwrite while an upload is queued: a copy from pageable
    // memory has taken its bytes before cudaMemcpyAsync returned.
    given_statistics_[2 * n] = mean;
    given_statistics_[2 * n + 1] = 1.0f / std::max(deviation, normalization_.std_floor);
  }
  given_statistics_batch_ = batch;
  return M2U_OK;
}

m2u_status Engine::query(int* done) {
  const cudaError_t status = cudaStreamQuery(stream_);
  if (status == cudaErrorNotReady) {
    cudaGetLastError();
    *done = 0;
    return M2U_OK;
  }
  if (status != cudaSuccess) {
    *done = 0;
    return cuda_failure("querying the engine's stream", status);
  }
  *done = 1;
  return report_nonfinite_input();
}

m2u_status Engine::read_stage(const std::string& name, int batch, int height, int width,
                              std::vector<float>* nchw, int* channels) {
  for (const auto& stage : plan_.stage_outputs) {
    if (stage.first != name) continue;
    if (stage.second.buffer < 0) {
      return fail(M2U_ERROR_INVALID_ARGUMENT, "stage '" + name +
                                                  "' has no buffer: the fused head keeps it on chip (an engine "
                                                  "with fuse_blocks and without keep_stage_outputs)");
    }
    const TensorView<unsigned char> v =
        view<unsigned char>(stage.second, batch, pad_to_spatial_multiple(height), pad_to_spatial_multiple(width));
    const PlannedBuffer& buffer = plan_.buffers[stage.second.buffer];
    std::vector<unsigned char> bytes(v.pixel_count() * v.pixel_stride * buffer.element_bytes);
    const m2u_status synced = synchronize();
    if (synced != M2U_OK) return synced;
    const cudaError_t copied =
        cudaMemcpy(bytes.data(), arena_ + buffer.offset, bytes.size(), cudaMemcpyDeviceToHost);
    if (copied != cudaSuccess) return cuda_failure("reading a stage", copied);
    std::vector<float> nhwc(v.pixel_count() * v.pixel_stride);
    for (size_t i = 0; i < nhwc.size(); ++i) {
      if (buffer.element_bytes == sizeof(float)) {
        std::memcpy(&nhwc[i], bytes.data() + i * sizeof(float), sizeof(float));
      } else if (buffer.element_bytes == sizeof(int8_t)) {
        nhwc[i] = static_cast<float>(static_cast<int8_t>(bytes[i])) * buffer_scales_[stage.second.buffer];
      } else {
        __half h;
        std::memcpy(&h, bytes.data() + i * sizeof(__half), sizeof(__half));
        nhwc[i] = __half2float(h);
      }
    }
    *channels = v.channels;
    nchw->assign(static_cast<size_t>(v.batch) * v.channels * v.height * v.width, 0.0f);
    for (int n = 0; n < v.batch; ++n)
      for (int y = 0; y < v.height; ++y)
        for (int x = 0; x < v.width; ++x)
          for (int c = 0; c < v.channels; ++c)
            (*nchw)[((static_cast<size_t>(n) * v.channels + c) * v.height + y) * v.width + x] =
                nhwc[((static_cast<size_t>(n) * v.height + y) * v.width + x) * v.pixel_stride +
                     stage.second.channel_offset + c];
    return M2U_OK;
  }
  return fail(M2U_ERROR_INVALID_ARGUMENT, "no stage named '" + name + "'");
}

}  // namespace m2u
