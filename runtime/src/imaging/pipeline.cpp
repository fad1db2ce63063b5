// pipeline.cpp - the imaging pipeline (see pipeline.h): creation with every
// buffer, flat fields, and the per-frame run.
#include "pipeline.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "caller_values.h"
#include "dpc_kernels.h"
#include "io_kernels.h"
#include "mask_kernels.h"
#include "otsu.h"
#include "raw_kernels.h"

namespace m2u {
namespace {

constexpr int kMaxDimension = 65535;  // the unpack and mask kernels' limit

bool valid_raw_format(int format) { return format >= M2U_RAW_MONO8 && format <= M2U_RAW_MONO12P; }

const char* raw_format_name(int format) {
  static const char* const names[] = {"mono8", "mono16", "mono12", "mono12p"};
  return valid_raw_format(format) ? names[format] : "unknown";
}

double milliseconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

std::string size_text(int width, int height) { return std::to_string(width) + "x" + std::to_string(height); }

}  // namespace

std::unique_ptr<Pipeline> Pipeline::create(const Model& model, const m2u_pipeline_options& options,
                                           m2u_status* status, std::string* error) {
  auto refuse = [&](m2u_status code, const std::string& message) {
    *status = code;
    *error = message;
    return std::unique_ptr<Pipeline>();
  };
  const m2u_pipeline_options& o = options;
  if (o.max_height < 1 || o.max_width < 1 || o.max_height > kMaxDimension || o.max_width > kMaxDimension) {
    return refuse(M2U_ERROR_INVALID_ARGUMENT, "max_height x max_width is " + std::to_string(o.max_height) + " x " +
                                                  std::to_string(o.max_width) + ", expected 1.." +
                                                  std::to_string(kMaxDimension) + " each");
  }
  if (o.dpc != 0 && o.dpc != 1) return refuse(M2U_ERROR_INVALID_ARGUMENT, "dpc is " + std::to_string(o.dpc) + ", expected 0 or 1");
  if (o.flat_field != 0 && o.flat_field != 1) {
    return refuse(M2U_ERROR_INVALID_ARGUMENT, "flat_field is " + std::to_string(o.flat_field) + ", expected 0 or 1");
  }
  if (o.tile != 0) {
    const std::string problem = check_tile_parameters(o.tile, o.overlap);
    if (!problem.empty()) return refuse(M2U_ERROR_INVALID_ARGUMENT, problem);
  }
  const int statistics = enum_value(o.tile_statistics), method = enum_value(o.threshold_method);
  if (statistics != M2U_TILE_STATISTICS_FRAME && statistics != M2U_TILE_STATISTICS_TILE) {
    return refuse(M2U_ERROR_INVALID_ARGUMENT, "tile_statistics is " + std::to_string(statistics) + ", expected 0 or 1");
  }
  if (method != M2U_THRESHOLD_FIXED && method != M2U_THRESHOLD_OTSU) {
    return refuse(M2U_ERROR_INVALID_ARGUMENT, "threshold_method is " + std::to_string(method) + ", expected 0 or 1");
  }
  if (method == M2U_THRESHOLD_FIXED && !(o.threshold > 0.0f && o.threshold < 1.0f)) {
    return refuse(M2U_ERROR_INVALID_ARGUMENT,
                  "threshold is " + std::to_string(o.threshold) + ", expected a probability in (0, 1)");
  }
  if (o.min_area < 0) return refuse(M2U_ERROR_INVALID_ARGUMENT, "min_area is " + std::to_string(o.min_area) + ", expected >= 0");
  if (model.architecture.out_channels != 1) {
    return refuse(M2U_ERROR_SHAPE, "the model has " + std::to_string(model.architecture.out_channels) +
                                       " output channels; the pipeline segments with one (a cell probability)");
  }

  std::unique_ptr<Pipeline> pipeline(new Pipeline());
  Pipeline& p = *pipeline;
  p.options_ = o;
  p.in_channels_ = model.architecture.in_channels;
  p.standardize_ = model.input.normalization == NormalizationKind::kPerImageStandardize;
  p.pixel_scale_ = model.input.pixel_scale;
  auto cuda = [&](cudaError_t result, const std::string& what) {
    if (result == cudaSuccess) return true;
    cudaGetLastError();
    *status = result == cudaErrorMemoryAllocation ? M2U_ERROR_OUT_OF_MEMORY : M2U_ERROR_CUDA;
    *error = what + ": " + cudaGetErrorString(result);
    return false;
  };
  int device_count = 0;
  if (cudaGetDeviceCount(&device_count) != cudaSuccess || o.device < 0 || o.device >= device_count) {
    cudaGetLastError();
    return refuse(M2U_ERROR_NO_DEVICE, "CUDA device " + std::to_string(o.device) + " not available (" +
                                           std::to_string(device_count) + " device(s))");
  }
  if (!cuda(cudaSetDevice(o.device), "cudaSetDevice") ||
      !cuda(cudaStreamCreate(&p.stream_), "creating the pipeline's stream")) {
    return nullptr;
  }
  const bool tiled = o.tile > 0;
  EngineOptions engine_options;
  engine_options.max_height = tiled ? std::min(o.tile, o.max_height) : o.max_height;
  engine_options.max_width = tiled ? std::min(o.tile, o.max_width) : o.max_width;
  engine_options.device = o.device;
  engine_options.precision = o.precision;
  engine_options.fuse_blocks = o.fuse_blocks != 0;
  engine_options.cuda_graph = o.cuda_graph != 0;
  engine_options.stream = p.stream_;
  p.engine_ = Engine::create(model, engine_options, status, error);
  if (!p.engine_) return nullptr;

  const size_t pixels = static_cast<size_t>(o.max_height) * o.max_width;
  const std::string frame = " for a " + size_text(o.max_width, o.max_height) + " frame";
  p.raw_staging_bytes_ = static_cast<size_t>(o.max_height) * raw_row_bytes(RawFormat::kMono16, o.max_width);
  const size_t tile_pixels = static_cast<size_t>(engine_options.max_height) * engine_options.max_width;
  if (!cuda(p.raw_staging_.allocate(p.raw_staging_bytes_), "allocating raw frame staging" + frame) ||
      !cuda(p.intensity_.allocate(pixels), "allocating the intensity plane" + frame) ||
      !cuda(p.probability_.allocate(pixels), "allocating the probability plane" + frame) ||
      !cuda(p.mask_.allocate(pixels), "allocating the mask plane" + frame) ||
      !cuda(p.bins_.allocate(kProbabilityBins), "allocating the histogram") ||
      (o.dpc && !cuda(p.right_.allocate(pixels), "allocating the right DPC plane" + frame)) ||
      (o.flat_field && !cuda(p.flat_left_.allocate(pixels), "allocating a flat-field plane" + frame)) ||
      (o.flat_field && o.dpc && !cuda(p.flat_right_.allocate(pixels), "allocating a flat-field plane" + frame)) ||
      (tiled && !cuda(p.tile_probability_.allocate(tile_pixels), "allocating a tile's probability"))) {
    return nullptr;
  }
  if (tiled && p.standardize_) {
    const PixelImage largest{nullptr, PixelType::kF32, 1, o.max_height, o.max_width, 1, 0, 0, 1.0f};
    if (!cuda(p.statistics_scratch_.allocate(std::max<size_t>(image_statistics_scratch(largest), 1)),
              "allocating statistics scratch") ||
        !cuda(p.statistics_.allocate(2), "allocating statistics")) {
      return nullptr;
    }
  }
  p.host_mask_.assign(pixels, 0);
  p.host_labels_.assign(pixels, 0);
  p.host_bins_.assign(kProbabilityBins, 0);
  *status = M2U_OK;
  return pipeline;
}

Pipeline::~Pipeline() {
  if (stream_) cudaStreamSynchronize(stream_);
  engine_.reset();
  if (stream_) cudaStreamDestroy(stream_);
}

m2u_status Pipeline::fail(m2u_status status, const std::string& message) {
  last_error_ = message;
  return status;
}

m2u_status Pipeline::cuda_failure(const std::string& what, cudaError_t error) {
  cudaGetLastError();
  return fail(error == cudaErrorMemoryAllocation ? M2U_ERROR_OUT_OF_MEMORY : M2U_ERROR_CUDA,
              what + ": " + cudaGetErrorName(error) + " (" + cudaGetErrorString(error) + ")");
}

m2u_status Pipeline::check_frame(const m2u_raw_frame& frame, const char* what) const {
  const std::string name = what;
  if (!frame.data) {
    last_error_ = name + ": data is NULL";
    return M2U_ERROR_INVALID_ARGUMENT;
  }
  const int format = enum_value(frame.format), memory = enum_value(frame.memory);
  if (!valid_raw_format(format)) {
    last_error_ = name + ": format " + std::to_string(format) + " is unknown (0 mono8, 1 mono16, 2 mono12, 3 mono12p)";
    return M2U_ERROR_INVALID_ARGUMENT;
  }
  if (memory != M2U_MEMORY_HOST && memory != M2U_MEMORY_DEVICE && memory != M2U_MEMORY_PINNED) {
    last_error_ = name + ": memory kind " + std::to_string(memory) + " is unknown";
    return M2U_ERROR_INVALID_ARGUMENT;
  }
  if (frame.height < 1 || frame.width < 1 || frame.height > options_.max_height || frame.width > options_.max_width) {
    last_error_ = name + ": " + size_text(frame.width, frame.height) + "; this pipeline takes frames of 1x1 to " +
                  size_text(options_.max_width, options_.max_height);
    return M2U_ERROR_SHAPE;
  }
  const size_t row_bytes = raw_row_bytes(static_cast<RawFormat>(format), frame.width);
  if (frame.row_stride != 0 && frame.row_stride < row_bytes) {
    last_error_ = name + ": row_stride " + std::to_string(frame.row_stride) + " is smaller than a " +
                  raw_format_name(format) + " row of " + std::to_string(frame.width) + " pixels (" +
                  std::to_string(row_bytes) + " bytes)";
    return M2U_ERROR_INVALID_ARGUMENT;
  }
  return M2U_OK;
}

m2u_status Pipeline::unpack(const m2u_raw_frame& frame, const char* what, float* plane) {
  const RawFormat format = static_cast<RawFormat>(enum_value(frame.format));
  const size_t row_bytes = raw_row_bytes(format, frame.width);
  const size_t stride = frame.row_stride ? frame.row_stride : row_bytes;
  const uint8_t* source = static_cast<const uint8_t*>(frame.data);
  size_t source_stride = stride;
  if (frame.memory != M2U_MEMORY_DEVICE) {
    const cudaError_t copied = cudaMemcpy2DAsync(raw_staging_.get(), row_bytes, source, stride, row_bytes,
                                                 frame.height, cudaMemcpyHostToDevice, stream_);
    if (copied != cudaSuccess) return cuda_failure(std::string(what) + ": upload", copied);
    source = raw_staging_.get();
    source_stride = row_bytes;
  }
  const cudaError_t unpacked =
      unpack_raw(source, format, frame.height, frame.width, source_stride, plane, frame.width, stream_);
  if (unpacked != cudaSuccess) return cuda_failure(std::string(what) + ": unpack", unpacked);
  // The staging buffer is reused by the next frame: wait for this one.
  if (frame.memory != M2U_MEMORY_DEVICE) {
    const cudaError_t synced = cudaStreamSynchronize(stream_);
    if (synced != cudaSuccess) return cuda_failure(std::string(what) + ": unpack", synced);
  }
  return M2U_OK;
}

m2u_status Pipeline::set_flat_fields(const m2u_raw_frame* left_or_only, const m2u_raw_frame* right) {
  last_error_.clear();
  if (!options_.flat_field) return fail(M2U_ERROR_INVALID_ARGUMENT, "set_flat_fields: the pipeline was created without flat_field");
  const int expected = options_.dpc ? 2 : 1;
  if (!left_or_only || (right != nullptr) != (expected == 2)) {
    return fail(M2U_ERROR_INVALID_ARGUMENT, options_.dpc ? "set_flat_fields: a DPC pipeline needs a left and a right flat field"
                                                         : "set_flat_fields: a pipeline without dpc takes one flat field (right NULL)");
  }
  const m2u_raw_frame* flats[2] = {left_or_only, right};
  float* planes[2] = {flat_left_.get(), flat_right_.get()};
  const char* names[2] = {options_.dpc ? "left flat field" : "flat field", "right flat field"};
  for (int i = 0; i < expected; ++i) {
    const m2u_status checked = check_frame(*flats[i], names[i]);
    if (checked != M2U_OK) return checked;
  }
  if (expected == 2 && (flats[0]->height != flats[1]->height || flats[0]->width != flats[1]->width)) {
    return fail(M2U_ERROR_SHAPE, "right flat field: " + size_text(flats[1]->width, flats[1]->height) +
                                     ", but the left one is " + size_text(flats[0]->width, flats[0]->height));
  }
  flat_count_ = 0;
  const size_t pixels = static_cast<size_t>(flats[0]->height) * flats[0]->width;
  std::vector<float> host(pixels);
  long long floored = 0;
  for (int i = 0; i < expected; ++i) {
    const m2u_status unpacked = unpack(*flats[i], names[i], planes[i]);
    if (unpacked != M2U_OK) return unpacked;
    const cudaError_t copied = cudaMemcpy(host.data(), planes[i], pixels * sizeof(float), cudaMemcpyDeviceToHost);
    if (copied != cudaSuccess) return cuda_failure(std::string(names[i]) + ": download", copied);
    const long long dark = std::count_if(host.begin(), host.end(), [](float v) { return !(v > kFlatFieldFloor); });
    if (dark == static_cast<long long>(pixels)) {
      return fail(M2U_ERROR_INVALID_ARGUMENT, std::string(names[i]) + ": every one of its " + std::to_string(pixels) +
                                                  " pixels is 0 (at most 1e-6 of full scale): not a flat field");
    }
    floored += dark;
  }
  flat_count_ = expected;
  flat_height_ = flats[0]->height;
  flat_width_ = flats[0]->width;
  flat_floored_pixels_ = floored;
  return M2U_OK;
}

m2u_status Pipeline::frame_statistics(float mean_std[2]) {
  const PixelImage image{intensity_.get(), PixelType::kF32, 1, height_, width_, 1,
                         static_cast<size_t>(width_) * sizeof(float),
                         static_cast<size_t>(width_) * height_ * sizeof(float), 1.0f};
  KernelInputConvention convention{};
  convention.per_image_standardize = 1;
  convention.replicate_grey = 1;
  convention.pixel_scale = pixel_scale_;
  float host[2];
  cudaError_t status = image_statistics(image, convention, statistics_scratch_.get(), statistics_.get(), stream_);
  if (status == cudaSuccess) status = cudaMemcpyAsync(host, statistics_.get(), sizeof(host), cudaMemcpyDeviceToHost, stream_);
  if (status == cudaSuccess) status = cudaStreamSynchronize(stream_);
  if (status != cudaSuccess) return cuda_failure("frame statistics", status);
  // The kernel gives 1 / std (std_floor 0 here: infinite for a flat frame);
  // the engine applies the model's floor to the deviation given.
  mean_std[0] = host[0];
  mean_std[1] = std::isfinite(host[1]) && host[1] > 0.0f ? 1.0f / host[1] : 0.0f;
  return M2U_OK;
}

m2u_status Pipeline::run_network() {
  std::string error;
  const bool tiled = options_.tile > 0;
  if (tiled) {
    tiles_ = plan_tiles(height_, width_, options_.tile, options_.overlap, &error);
    if (tiles_.empty()) return fail(M2U_ERROR_INVALID_ARGUMENT, error);
  } else {
    tiles_.assign(1, Tile{0, 0, height_, width_, 0, height_, 0, width_});
  }
  // More tiles than the engine holds graphs for: every tile would capture
  // anew each frame (least recently used order gets no hits), so the frame
  // runs without graphs.
  engine_->set_graphs_enabled(tiles_.size() <= Engine::kMaxHeldGraphs);
  const bool frame_statistics_given =
      tiled && standardize_ && enum_value(options_.tile_statistics) == M2U_TILE_STATISTICS_FRAME;
  if (frame_statistics_given) {
    float mean_std[2];
    const m2u_status computed = frame_statistics(mean_std);
    if (computed != M2U_OK) return computed;
    if (engine_->set_input_statistics(mean_std, 1) != M2U_OK) return fail(M2U_ERROR_CUDA, engine_->last_error());
  }
  const size_t pitch = static_cast<size_t>(width_) * sizeof(float);
  for (const Tile& t : tiles_) {
    m2u_image input{};
    input.data = intensity_.get() + static_cast<size_t>(t.y) * width_ + t.x;
    input.memory = M2U_MEMORY_DEVICE;
    input.dtype = M2U_DTYPE_F32;
    input.batch = 1;
    input.channels = 1;
    input.height = t.height;
    input.width = t.width;
    input.row_stride = pitch;
    m2u_image output = input;
    output.data = tiled ? tile_probability_.get() : probability_.get();
    output.row_stride = tiled ? t.width * sizeof(float) : pitch;
    const m2u_status ran = engine_->run(input, output);
    if (ran != M2U_OK) {
      if (frame_statistics_given) engine_->set_input_statistics(nullptr, 0);
      return fail(ran, (tiled ? "tile at (" + std::to_string(t.x) + ", " + std::to_string(t.y) + "): " : std::string()) +
                           engine_->last_error());
    }
    if (tiled) {
      const float* source = tile_probability_.get() + static_cast<size_t>(t.keep_y0 - t.y) * t.width + (t.keep_x0 - t.x);
      float* destination = probability_.get() + static_cast<size_t>(t.keep_y0) * width_ + t.keep_x0;
      const cudaError_t copied = cudaMemcpy2DAsync(destination, pitch, source, t.width * sizeof(float),
                                                   (t.keep_x1 - t.keep_x0) * sizeof(float), t.keep_y1 - t.keep_y0,
                                                   cudaMemcpyDeviceToDevice, stream_);
      if (copied != cudaSuccess) return cuda_failure("stitching the tile at (" + std::to_string(t.x) + ", " +
                                                         std::to_string(t.y) + ")", copied);
    }
  }
  if (frame_statistics_given) engine_->set_input_statistics(nullptr, 0);
  return M2U_OK;
}

m2u_status Pipeline::threshold_and_label() {
  float threshold = options_.threshold;
  int otsu = -1;
  const size_t pixels = static_cast<size_t>(height_) * width_;
  cudaError_t status = cudaSuccess;
  if (enum_value(options_.threshold_method) == M2U_THRESHOLD_OTSU) {
    status = probability_histogram(probability_.get(), height_, width_, width_, bins_.get(), stream_);
    if (status == cudaSuccess) {
      status = cudaMemcpyAsync(host_bins_.data(), bins_.get(), kProbabilityBins * sizeof(unsigned),
                               cudaMemcpyDeviceToHost, stream_);
    }
    if (status == cudaSuccess) status = cudaStreamSynchronize(stream_);
    if (status != cudaSuccess) return cuda_failure("probability histogram", status);
    otsu = otsu_threshold(host_bins_.data());
    threshold = otsu_probability_threshold(otsu);
  }
  status = threshold_mask(probability_.get(), height_, width_, width_, threshold, mask_.get(), width_, stream_);
  if (status == cudaSuccess) status = cudaMemcpyAsync(host_mask_.data(), mask_.get(), pixels, cudaMemcpyDeviceToHost, stream_);
  if (status == cudaSuccess) status = cudaStreamSynchronize(stream_);
  if (status != cudaSuccess) return cuda_failure("threshold", status);
  labeler_.label(host_mask_.data(), width_, height_, width_, options_.min_area, host_labels_.data(), width_, &cells_);
  result_.threshold = threshold;
  result_.otsu_threshold_8bit = otsu;
  result_.cell_count = static_cast<long long>(cells_.size());
  long long foreground = 0;
  for (size_t i = 0; i < pixels; ++i) foreground += host_mask_[i] != 0;
  result_.foreground_pixels = foreground;
  return M2U_OK;
}

m2u_status Pipeline::run(const m2u_raw_frame* const* frames, int count) {
  last_error_.clear();
  have_result_ = false;
  const int expected = options_.dpc ? 2 : 1;
  if (count != expected) {
    return fail(M2U_ERROR_INVALID_ARGUMENT, options_.dpc ? "this pipeline was created for DPC: use m2u_pipeline_run_dpc"
                                                         : "this pipeline was created without dpc: use m2u_pipeline_run");
  }
  const char* names[2] = {options_.dpc ? "left frame" : "frame", "right frame"};
  for (int i = 0; i < count; ++i) {
    if (!frames[i]) return fail(M2U_ERROR_INVALID_ARGUMENT, std::string(names[i]) + " is NULL");
    const m2u_status checked = check_frame(*frames[i], names[i]);
    if (checked != M2U_OK) return checked;
  }
  const int height = frames[0]->height, width = frames[0]->width;
  if (count == 2 && (frames[1]->height != height || frames[1]->width != width)) {
    return fail(M2U_ERROR_SHAPE, "right frame: " + size_text(frames[1]->width, frames[1]->height) +
                                     ", but the left one is " + size_text(width, height));
  }
  if (options_.flat_field) {
    if (flat_count_ == 0) return fail(M2U_ERROR_INVALID_ARGUMENT, "no flat fields: call m2u_pipeline_set_flat_fields first");
    if (flat_height_ != height || flat_width_ != width) {
      return fail(M2U_ERROR_SHAPE, std::string(names[0]) + ": " + size_text(width, height) + ", but the flat fields are " +
                                       size_text(flat_width_, flat_height_));
    }
  }
  height_ = height;
  width_ = width;
  auto start = std::chrono::steady_clock::now();
  float* planes[2] = {intensity_.get(), right_.get()};
  const float* flats[2] = {flat_left_.get(), flat_right_.get()};
  for (int i = 0; i < count; ++i) {
    m2u_status status = unpack(*frames[i], names[i], planes[i]);
    if (status != M2U_OK) return status;
    if (options_.flat_field) {
      const cudaError_t divided = flat_field_divide(planes[i], flats[i], height, width, width, planes[i], stream_);
      if (divided != cudaSuccess) return cuda_failure(std::string(names[i]) + ": flat-field division", divided);
    }
  }
  if (count == 2) {
    const cudaError_t combined = dpc_combine(planes[0], planes[1], height, width, width, intensity_.get(), stream_);
    if (combined != cudaSuccess) return cuda_failure("DPC", combined);
  }
  cudaError_t synced = cudaStreamSynchronize(stream_);
  if (synced != cudaSuccess) return cuda_failure("input", synced);
  result_.input_ms = milliseconds_since(start);

  start = std::chrono::steady_clock::now();
  m2u_status status = run_network();
  if (status != M2U_OK) return status;
  // The engine's own wait: it also reports what its asynchronous runs found.
  status = engine_->synchronize();
  if (status != M2U_OK) return fail(status, "inference: " + engine_->last_error());
  result_.inference_ms = milliseconds_since(start);

  start = std::chrono::steady_clock::now();
  status = threshold_and_label();
  if (status != M2U_OK) return status;
  result_.postprocess_ms = milliseconds_since(start);
  result_.height = height;
  result_.width = width;
  result_.tiles = static_cast<int>(tiles_.size());
  result_.flat_floored_pixels = options_.flat_field ? flat_floored_pixels_ : 0;
  have_result_ = true;
  return M2U_OK;
}

m2u_status Pipeline::get_result(m2u_pipeline_result* result) const {
  if (!have_result_) {
    last_error_ = "get_result: no successful run yet";
    return M2U_ERROR_INVALID_ARGUMENT;
  }
  const size_t size = result->struct_size;
  if (size < sizeof(size_t)) {
    last_error_ = "get_result: struct_size is " + std::to_string(size) + ": call m2u_pipeline_result_init first";
    return M2U_ERROR_INVALID_ARGUMENT;
  }
  m2u_pipeline_result full = result_;
  full.struct_size = size;
  std::memcpy(result, &full, std::min(size, sizeof(full)));
  return M2U_OK;
}

m2u_status Pipeline::get_cell(long long index, m2u_cell* cell) const {
  if (!have_result_ || index < 0 || index >= static_cast<long long>(cells_.size())) {
    last_error_ = "get_cell: index " + std::to_string(index) + " outside 0.." +
                  std::to_string(static_cast<long long>(have_result_ ? cells_.size() : 0) - 1);
    return M2U_ERROR_INVALID_ARGUMENT;
  }
  const size_t size = cell->struct_size;
  if (size < sizeof(size_t)) {
    last_error_ = "get_cell: struct_size is " + std::to_string(size) + ": set it to sizeof(m2u_cell)";
    return M2U_ERROR_INVALID_ARGUMENT;
  }
  const Cell& c = cells_[static_cast<size_t>(index)];
  m2u_cell full{size, c.label, c.area, c.centroid_x, c.centroid_y};
  std::memcpy(cell, &full, std::min(size, sizeof(full)));
  return M2U_OK;
}

m2u_status Pipeline::read_plane(int plane, void* data, size_t row_stride) {
  last_error_.clear();
  if (!have_result_) return fail(M2U_ERROR_INVALID_ARGUMENT, "read_plane: no successful run yet");
  if (!data) return fail(M2U_ERROR_INVALID_ARGUMENT, "read_plane: data is NULL");
  size_t element = 0;
  const void* host = nullptr;
  const float* device = nullptr;
  switch (plane) {
    case M2U_PLANE_INTENSITY: element = sizeof(float); device = intensity_.get(); break;
    case M2U_PLANE_PROBABILITY: element = sizeof(float); device = probability_.get(); break;
    case M2U_PLANE_MASK: element = 1; host = host_mask_.data(); break;
    case M2U_PLANE_LABELS: element = sizeof(uint32_t); host = host_labels_.data(); break;
    default: return fail(M2U_ERROR_INVALID_ARGUMENT, "read_plane: plane " + std::to_string(plane) + " is unknown");
  }
  const size_t row_bytes = static_cast<size_t>(width_) * element;
  const size_t stride = row_stride ? row_stride : row_bytes;
  if (stride < row_bytes) {
    return fail(M2U_ERROR_INVALID_ARGUMENT, "read_plane: row_stride " + std::to_string(row_stride) +
                                                " is smaller than a row (" + std::to_string(row_bytes) + " bytes)");
  }
  if (device) {
    const cudaError_t copied = cudaMemcpy2D(data, stride, device, row_bytes, row_bytes, height_, cudaMemcpyDeviceToHost);
    if (copied != cudaSuccess) return cuda_failure("read_plane", copied);
    return M2U_OK;
  }
  for (int y = 0; y < height_; ++y) {
    std::memcpy(static_cast<uint8_t*>(data) + y * stride, static_cast<const uint8_t*>(host) + y * row_bytes, row_bytes);
  }
  return M2U_OK;
}

}  // namespace m2u
