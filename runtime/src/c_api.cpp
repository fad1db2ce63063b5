// c_api.cpp - the C API of m2urt.h over the C++ model loader and engine.
// Checks at the edge (NULL handles, options), keeps messages, never throws
// across the C boundary: allocation failures become M2U_ERROR_OUT_OF_MEMORY.
#include <string>

#include "c_api_support.h"
#include "engine.h"
#include "weights_loader.h"

struct m2u_engine {
  std::unique_ptr<m2u::Engine> engine;
  std::string message;  // for failures the engine itself cannot describe
};

namespace m2u_capi {

std::string& thread_last_error() {
  thread_local std::string message;
  return message;
}

}  // namespace m2u_capi

namespace {

using m2u_capi::enum_value;
using m2u_capi::guarded;
using m2u_capi::set_last_error;

m2u_status finish_load(bool ok, const std::string& error, m2u::Model&& loaded, m2u_model** model,
                       m2u_status failure) {
  if (!ok) return set_last_error(failure, error);
  *model = new m2u_model{std::move(loaded)};
  m2u_capi::thread_last_error().clear();
  return M2U_OK;
}

}  // namespace

extern "C" {

const char* m2u_last_error(void) { return m2u_capi::thread_last_error().c_str(); }

m2u_status m2u_model_load(const char* path, m2u_model** model) {
  if (!model) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_model_load: model is NULL");
  *model = nullptr;
  if (!path) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_model_load: path is NULL");
  return guarded([&] {
    m2u::Model loaded;
    std::string error;
    const bool ok = m2u::load_weights_file(path, &loaded, &error);
    // A file that cannot be opened or read is a file error; anything the
    // parser refuses is a bad model.
    const bool unreadable = !ok && (error.find(": cannot open") != std::string::npos ||
                                    error.find(": read failed") != std::string::npos ||
                                    error.find(": cannot determine the size") != std::string::npos);
    return finish_load(ok, error, std::move(loaded), model, unreadable ? M2U_ERROR_FILE : M2U_ERROR_BAD_MODEL);
  });
}

m2u_status m2u_model_load_memory(const void* data, size_t size, m2u_model** model) {
  if (!model) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_model_load_memory: model is NULL");
  *model = nullptr;
  if (!data && size) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_model_load_memory: data is NULL");
  return guarded([&] {
    m2u::Model loaded;
    std::string error;
    const bool ok = m2u::parse_weights(static_cast<const uint8_t*>(data), size, &loaded, &error);
    return finish_load(ok, "model in memory: " + error, std::move(loaded), model, M2U_ERROR_BAD_MODEL);
  });
}

void m2u_model_destroy(m2u_model* model) { delete model; }

m2u_status m2u_model_get_info(const m2u_model* model, m2u_model_info* info) {
  if (!model || !info) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_model_get_info: NULL argument");
  const m2u::Model& m = model->model;
  info->in_channels = m.architecture.in_channels;
  info->out_channels = m.architecture.out_channels;
  info->bn_folded = m.bn_folded ? 1 : 0;
  info->output_is_sigmoid = m.architecture.output_activation == m2u::Activation::kSigmoid ? 1 : 0;
  info->input_normalization = m.input.normalization == m2u::NormalizationKind::kPerImageStandardize
                                  ? M2U_INPUT_PER_IMAGE_STANDARDIZE
                                  : M2U_INPUT_AFFINE;
  info->pixel_scale = m.input.pixel_scale;
  return M2U_OK;
}

void m2u_engine_options_init(m2u_engine_options* options) {
  if (!options) return;
  options->max_batch = 1;
  options->max_height = 512;
  options->max_width = 512;
  options->precision = M2U_PRECISION_FP32;
  options->device = 0;
  options->stream = nullptr;
}

m2u_status m2u_engine_create(const m2u_model* model, const m2u_engine_options* options, m2u_engine** engine) {
  if (!engine) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_engine_create: engine is NULL");
  *engine = nullptr;
  if (!model || !options) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_engine_create: model or options is NULL");
  }
  const int precision = enum_value(options->precision);
  if (precision != M2U_PRECISION_FP32) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_engine_create: precision " + std::to_string(precision) +
                                                          " is not available (this build has FP32)");
  }
  return guarded([&] {
    m2u::EngineOptions engine_options;
    engine_options.max_batch = options->max_batch;
    engine_options.max_height = options->max_height;
    engine_options.max_width = options->max_width;
    engine_options.device = options->device;
    engine_options.stream = static_cast<cudaStream_t>(options->stream);
    m2u_status status = M2U_OK;
    std::string error;
    std::unique_ptr<m2u::Engine> created = m2u::Engine::create(model->model, engine_options, &status, &error);
    if (!created) return set_last_error(status, "m2u_engine_create: " + error);
    *engine = new m2u_engine{std::move(created), std::string()};
    m2u_capi::thread_last_error().clear();
    return M2U_OK;
  });
}

void m2u_engine_destroy(m2u_engine* engine) { delete engine; }

m2u_status m2u_engine_set_input_statistics(m2u_engine* engine, const float* mean_std, int batch) {
  if (!engine) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_engine_set_input_statistics: engine is NULL");
  engine->message.clear();
  return engine->engine->set_input_statistics(mean_std, batch);
}

m2u_status m2u_engine_query(m2u_engine* engine, int* done) {
  if (!engine || !done) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_engine_query: NULL argument");
  engine->message.clear();
  return engine->engine->query(done);
}

const char* m2u_engine_last_error(const m2u_engine* engine) {
  if (!engine) return "m2u_engine_last_error: engine is NULL";
  return engine->message.empty() ? engine->engine->last_error().c_str() : engine->message.c_str();
}

m2u_status m2u_engine_memory(const m2u_engine* engine, size_t* arena_bytes, size_t* weight_bytes) {
  if (!engine) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_engine_memory: engine is NULL");
  if (arena_bytes) *arena_bytes = engine->engine->arena_bytes();
  if (weight_bytes) *weight_bytes = engine->engine->weight_bytes();
  return M2U_OK;
}

m2u_status m2u_engine_run(m2u_engine* engine, const m2u_image* input, m2u_image* output) {
  if (!engine) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_engine_run: engine is NULL");
  engine->message.clear();
  if (!input || !output) {
    engine->message = "m2u_engine_run: input or output is NULL";
    return M2U_ERROR_INVALID_ARGUMENT;
  }
  return engine->engine->run(*input, *output);
}

m2u_status m2u_host_alloc(size_t bytes, void** pointer) {
  if (!pointer) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_host_alloc: pointer is NULL");
  *pointer = nullptr;
  const cudaError_t status = cudaMallocHost(pointer, bytes);
  if (status != cudaSuccess) {
    cudaGetLastError();
    *pointer = nullptr;
    return set_last_error(status == cudaErrorMemoryAllocation ? M2U_ERROR_OUT_OF_MEMORY : M2U_ERROR_CUDA,
                          "m2u_host_alloc(" + std::to_string(bytes) + "): " + cudaGetErrorString(status));
  }
  return M2U_OK;
}

void m2u_host_free(void* pointer) {
  if (pointer) cudaFreeHost(pointer);
}

m2u_status m2u_engine_synchronize(m2u_engine* engine) {
  if (!engine) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_engine_synchronize: engine is NULL");
  engine->message.clear();
  return engine->engine->synchronize();
}

}  // extern "C"
