// c_api_pipeline.cpp - the imaging pipeline's C API (m2urt.h, "Imaging
// pipeline") over m2u::Pipeline: growable option and result structs read
// and written only up to the caller's struct_size.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>

#include "c_api_support.h"
#include "pipeline.h"
#include "raw_kernels.h"

struct m2u_pipeline {
  std::unique_ptr<m2u::Pipeline> pipeline;
  std::string message;  // for failures before the pipeline is reached
};

// The struct that ended at fuse_blocks was 72 bytes (LP64): fields added
// since start there or later (m2urt.h: tail padding is never a field).
static_assert(offsetof(m2u_pipeline_options, cuda_graph) >= 72 || sizeof(void*) != 8,
              "m2u_pipeline_options: cuda_graph in the tail padding of the older struct");

namespace {

using m2u_capi::guarded;
using m2u_capi::set_last_error;

m2u_pipeline_options default_options() {
  m2u_pipeline_options o;
  std::memset(&o, 0, sizeof(o));
  o.struct_size = sizeof(o);
  o.max_height = 1024;
  o.max_width = 1024;
  o.overlap = 32;
  o.tile_statistics = M2U_TILE_STATISTICS_FRAME;
  o.threshold_method = M2U_THRESHOLD_FIXED;
  o.threshold = 0.5f;
  o.precision = M2U_PRECISION_FP32;
  return o;
}

m2u_status pipeline_failure(m2u_pipeline* handle, m2u_status status, const char* what) {
  handle->message = std::string(what) + ": " + handle->pipeline->last_error();
  return status;
}

}  // namespace

extern "C" {

size_t m2u_raw_row_bytes(m2u_raw_format format, int width) {
  const int value = m2u_capi::enum_value(format);
  if (value < M2U_RAW_MONO8 || value > M2U_RAW_MONO12P) return 0;
  return m2u::raw_row_bytes(static_cast<m2u::RawFormat>(value), width);
}

void m2u_pipeline_options_init_sized(m2u_pipeline_options* options, size_t size) {
  if (!options || size < sizeof(size_t)) return;
  m2u_capi::write_sized(default_options(), size, options);
}

m2u_status m2u_pipeline_create(const m2u_model* model, const m2u_pipeline_options* options,
                               m2u_pipeline** pipeline) {
  if (!pipeline) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_pipeline_create: pipeline is NULL");
  *pipeline = nullptr;
  if (!model || !options) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_pipeline_create: model or options is NULL");
  }
  // An older caller's shorter struct: its fields over the defaults.
  m2u_pipeline_options full;
  if (!m2u_capi::read_sized(*options, default_options(), offsetof(m2u_pipeline_options, max_height) + sizeof(int),
                            &full)) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT,
                          "m2u_pipeline_create: options.struct_size is " + std::to_string(options->struct_size) +
                              ": call m2u_pipeline_options_init first");
  }
  return guarded([&] {
    m2u_status status = M2U_OK;
    std::string error;
    std::unique_ptr<m2u::Pipeline> created = m2u::Pipeline::create(model->model, full, &status, &error);
    if (!created) return set_last_error(status, "m2u_pipeline_create: " + error);
    *pipeline = new m2u_pipeline{std::move(created), std::string()};
    m2u_capi::thread_last_error().clear();
    return M2U_OK;
  });
}

void m2u_pipeline_destroy(m2u_pipeline* pipeline) { delete pipeline; }

m2u_status m2u_pipeline_layer_count(const m2u_pipeline* pipeline, int* count) {
  if (!pipeline || !count) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_pipeline_layer_count: NULL argument");
  return m2u_capi::layer_count(pipeline->pipeline->engine(), count);
}

m2u_status m2u_pipeline_get_layer(const m2u_pipeline* pipeline, int index, m2u_layer_info* info) {
  if (!pipeline || !info) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_pipeline_get_layer: NULL argument");
  return m2u_capi::get_layer(pipeline->pipeline->engine(), index, info, "m2u_pipeline_get_layer");
}

const char* m2u_pipeline_last_error(const m2u_pipeline* pipeline) {
  if (!pipeline) return "m2u_pipeline_last_error: pipeline is NULL";
  return pipeline->message.c_str();
}

m2u_status m2u_pipeline_set_flat_fields(m2u_pipeline* pipeline, const m2u_raw_frame* left_or_only,
                                        const m2u_raw_frame* right) {
  if (!pipeline) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_pipeline_set_flat_fields: pipeline is NULL");
  pipeline->message.clear();
  return guarded([&] {
    const m2u_status status = pipeline->pipeline->set_flat_fields(left_or_only, right);
    return status == M2U_OK ? status : pipeline_failure(pipeline, status, "m2u_pipeline_set_flat_fields");
  });
}

m2u_status m2u_pipeline_run(m2u_pipeline* pipeline, const m2u_raw_frame* frame) {
  if (!pipeline) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_pipeline_run: pipeline is NULL");
  pipeline->message.clear();
  return guarded([&] {
    const m2u_raw_frame* frames[1] = {frame};
    const m2u_status status = pipeline->pipeline->run(frames, 1);
    return status == M2U_OK ? status : pipeline_failure(pipeline, status, "m2u_pipeline_run");
  });
}

m2u_status m2u_pipeline_run_dpc(m2u_pipeline* pipeline, const m2u_raw_frame* left, const m2u_raw_frame* right) {
  if (!pipeline) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_pipeline_run_dpc: pipeline is NULL");
  pipeline->message.clear();
  return guarded([&] {
    const m2u_raw_frame* frames[2] = {left, right};
    const m2u_status status = pipeline->pipeline->run(frames, 2);
    return status == M2U_OK ? status : pipeline_failure(pipeline, status, "m2u_pipeline_run_dpc");
  });
}

void m2u_pipeline_result_init_sized(m2u_pipeline_result* result, size_t size) {
  if (!result || size < sizeof(size_t)) return;
  m2u_pipeline_result empty;
  std::memset(&empty, 0, sizeof(empty));
  empty.otsu_threshold_8bit = -1;
  m2u_capi::write_sized(empty, size, result);
}

m2u_status m2u_pipeline_get_result(const m2u_pipeline* pipeline, m2u_pipeline_result* result) {
  if (!pipeline || !result) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_pipeline_get_result: NULL argument");
  auto* handle = const_cast<m2u_pipeline*>(pipeline);
  handle->message.clear();
  const m2u_status status = pipeline->pipeline->get_result(result);
  return status == M2U_OK ? status : pipeline_failure(handle, status, "m2u_pipeline_get_result");
}

m2u_status m2u_pipeline_get_cell(const m2u_pipeline* pipeline, long long index, m2u_cell* cell) {
  if (!pipeline || !cell) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_pipeline_get_cell: NULL argument");
  auto* handle = const_cast<m2u_pipeline*>(pipeline);
  handle->message.clear();
  const m2u_status status = pipeline->pipeline->get_cell(index, cell);
  return status == M2U_OK ? status : pipeline_failure(handle, status, "m2u_pipeline_get_cell");
}

m2u_status m2u_pipeline_read_plane(m2u_pipeline* pipeline, m2u_plane plane, void* data, size_t row_stride) {
  if (!pipeline) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_pipeline_read_plane: pipeline is NULL");
  pipeline->message.clear();
  return guarded([&] {
    const m2u_status status = pipeline->pipeline->read_plane(m2u_capi::enum_value(plane), data, row_stride);
    return status == M2U_OK ? status : pipeline_failure(pipeline, status, "m2u_pipeline_read_plane");
  });
}

}  // extern "C"
