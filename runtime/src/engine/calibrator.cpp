// calibrator.cpp - INT8 calibration's passes over the frames and the
// calibrated file (see calibrator.h).
#include "calibrator.h"

#include <cmath>
#include <cstring>

#include "atomic_file.h"
#include "calibration_kernels.h"

namespace m2u {
namespace {

size_t element_bytes(m2u_dtype dtype) { return dtype == M2U_DTYPE_U8 ? 1 : dtype == M2U_DTYPE_U16 ? 2 : 4; }

}  // namespace

std::unique_ptr<Calibrator> Calibrator::create(const Model& model, const CalibratorOptions& options,
                                               m2u_status* status, std::string* error) {
  std::unique_ptr<Calibrator> calibrator(new Calibrator());
  Calibrator& c = *calibrator;
  c.model_source_ = model.source;
  EngineOptions engine_options;
  engine_options.max_height = options.max_height;
  engine_options.max_width = options.max_width;
  engine_options.device = options.device;
  engine_options.precision = M2U_PRECISION_FP32;
  c.engine_ = Engine::create(model, engine_options, status, error);
  if (!c.engine_) return nullptr;
  c.engine_->set_step_observer(&c);
  const size_t buffers = c.engine_->plan().buffers.size();
  const cudaError_t allocated = cudaMalloc(reinterpret_cast<void**>(&c.maxima_), buffers * sizeof(unsigned int));
  const cudaError_t allocated_bins =
      allocated == cudaSuccess
          ? cudaMalloc(reinterpret_cast<void**>(&c.bins_), buffers * kCalibrationBins * sizeof(unsigned long long))
          : allocated;
  if (allocated_bins != cudaSuccess) {
    cudaGetLastError();
    *status = allocated_bins == cudaErrorMemoryAllocation ? M2U_ERROR_OUT_OF_MEMORY : M2U_ERROR_CUDA;
    *error = std::string("allocating the calibration statistics: ") + cudaGetErrorString(allocated_bins);
    return nullptr;
  }
  c.ranges_.assign(buffers, 0.0f);
  *status = M2U_OK;
  return calibrator;
}

Calibrator::~Calibrator() {
  engine_.reset();
  cudaFree(maxima_);
  cudaFree(bins_);
}

m2u_status Calibrator::fail(m2u_status status, const std::string& message) {
  last_error_ = message;
  return status;
}

m2u_status Calibrator::add_frames(const m2u_image& image) {
  last_error_.clear();
  if (!image.data) return fail(M2U_ERROR_INVALID_ARGUMENT, "frame: data is NULL");
  if (image.memory == M2U_MEMORY_DEVICE) {
    return fail(M2U_ERROR_INVALID_ARGUMENT, "frame: calibration frames are copied from host or pinned memory");
  }
  const int dtype = static_cast<int>(image.dtype);
  if (dtype != M2U_DTYPE_U8 && dtype != M2U_DTYPE_U16 && dtype != M2U_DTYPE_F32) {
    return fail(M2U_ERROR_INVALID_ARGUMENT, "frame: unknown dtype " + std::to_string(dtype));
  }
  if (image.batch < 1 || image.height < 1 || image.width < 1 || image.channels < 1 || image.channels > 8) {
    return fail(M2U_ERROR_SHAPE, "frame is " + std::to_string(image.batch) + " x " + std::to_string(image.height) +
                                     " x " + std::to_string(image.width) + " x " + std::to_string(image.channels));
  }
  const size_t row = static_cast<size_t>(image.width) * image.channels * element_bytes(image.dtype);
  const size_t row_stride = image.row_stride ? image.row_stride : row;
  const size_t image_stride = image.image_stride ? image.image_stride : row_stride * image.height;
  if (row_stride < row || image_stride < row_stride * (image.height - 1) + row) {
    return fail(M2U_ERROR_INVALID_ARGUMENT, "frame: strides are smaller than its rows or images");
  }
  for (int n = 0; n < image.batch; ++n) {
    Frame frame;
    frame.bytes.resize(row * image.height);
    const unsigned char* source = static_cast<const unsigned char*>(image.data) + n * image_stride;
    for (int y = 0; y < image.height; ++y) std::memcpy(frame.bytes.data() + y * row, source + y * row_stride, row);
    frame.image = image;
    frame.image.memory = M2U_MEMORY_HOST;
    frame.image.batch = 1;
    frame.image.row_stride = frame.image.plane_stride = frame.image.image_stride = 0;
    frames_.push_back(std::move(frame));
    frames_.back().image.data = frames_.back().bytes.data();
  }
  return M2U_OK;
}

cudaError_t Calibrator::after_step(const PlannedStep& step, const TensorView<const float>& output,
                                   cudaStream_t stream) {
  const size_t buffer = static_cast<size_t>(step.output.buffer);
  switch (pass_) {
    case Pass::kMaximum:
      return activation_absmax(output, maxima_ + buffer, stream);
    case Pass::kHistogram:
      return activation_histogram(output, ranges_[buffer], bins_ + buffer * kCalibrationBins, stream);
    case Pass::kNone:
      break;
  }
  return cudaSuccess;
}

m2u_status Calibrator::run_pass(Pass pass) {
  pass_ = pass;
  for (size_t i = 0; i < frames_.size(); ++i) {
    const m2u_image& in = frames_[i].image;
    const int channels = engine_->architecture().out_channels;
    probabilities_.resize(static_cast<size_t>(in.height) * in.width * channels);
    m2u_image out{};
    out.data = probabilities_.data();
    out.memory = M2U_MEMORY_HOST;
    out.dtype = M2U_DTYPE_F32;
    out.batch = 1;
    out.channels = channels;
    out.height = in.height;
    out.width = in.width;
    const m2u_status status = engine_->run(in, out);
    if (status != M2U_OK) {
      pass_ = Pass::kNone;
      return fail(status, "calibration frame " + std::to_string(i) + ": " + engine_->last_error());
    }
  }
  pass_ = Pass::kNone;
  return M2U_OK;
}

m2u_status Calibrator::compute_scales(CalibrationMethod method) {
  last_error_.clear();
  scales_.clear();
  if (frames_.empty()) return fail(M2U_ERROR_INVALID_ARGUMENT, "no calibration frames were added");
  const std::vector<PlannedBuffer>& buffers = engine_->plan().buffers;
  auto cuda = [&](cudaError_t result, const char* what) {
    if (result == cudaSuccess) return M2U_OK;
    cudaGetLastError();
    return fail(M2U_ERROR_CUDA, std::string(what) + ": " + cudaGetErrorString(result));
  };
  m2u_status status = cuda(cudaMemset(maxima_, 0, buffers.size() * sizeof(unsigned int)), "clearing the maxima");
  if (status != M2U_OK) return status;
  status = run_pass(Pass::kMaximum);
  if (status != M2U_OK) return status;
  std::vector<unsigned int> maxima(buffers.size());
  status = cuda(cudaMemcpy(maxima.data(), maxima_, maxima.size() * sizeof(unsigned int), cudaMemcpyDeviceToHost),
                "reading the maxima");
  if (status != M2U_OK) return status;
  for (size_t b = 0; b < buffers.size(); ++b) {
    float largest;
    std::memcpy(&largest, &maxima[b], sizeof(largest));
    // An all-zero activation still needs a positive range for its histogram.
    ranges_[b] = largest > 0.0f ? largest : 1.0f;
  }
  status = cuda(cudaMemset(bins_, 0, buffers.size() * kCalibrationBins * sizeof(unsigned long long)),
                "clearing the histograms");
  if (status != M2U_OK) return status;
  status = run_pass(Pass::kHistogram);
  if (status != M2U_OK) return status;
  std::vector<unsigned long long> bins(buffers.size() * kCalibrationBins);
  status = cuda(cudaMemcpy(bins.data(), bins_, bins.size() * sizeof(unsigned long long), cudaMemcpyDeviceToHost),
                "reading the histograms");
  if (status != M2U_OK) return status;
  for (size_t b = 0; b < buffers.size(); ++b) {
    const std::vector<unsigned long long> histogram(bins.begin() + b * kCalibrationBins,
                                                    bins.begin() + (b + 1) * kCalibrationBins);
    const float threshold = calibration_threshold(histogram, ranges_[b], method);
    scales_.emplace_back(activation_scale_name(buffers[b].name), threshold / 127.0f);
  }
  return M2U_OK;
}

m2u_status Calibrator::save(const std::string& path, CalibrationMethod method) {
  const m2u_status computed = compute_scales(method);
  if (computed != M2U_OK) return computed;
  std::vector<uint8_t> bytes;
  std::string problem;
  if (!write_activation_scales(model_source_, scales_, &bytes, &problem)) return fail(M2U_ERROR_BAD_MODEL, problem);
  if (!write_file_atomically(path, bytes, &problem)) return fail(M2U_ERROR_FILE, problem);
  return M2U_OK;
}

}  // namespace m2u
