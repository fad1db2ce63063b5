// c_api.cpp - the C API of m2urt.h over the C++ model loader and engine.
// Checks at the edge (NULL handles, options), keeps messages, never throws
// across the C boundary: allocation failures become M2U_ERROR_OUT_OF_MEMORY.
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "c_api_support.h"
#include "engine.h"
#include "layer_precision.h"
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

m2u_status create_engine(const m2u_model* model, const m2u_engine_options& options, m2u_engine** engine,
                         const char* who) {
  *engine = nullptr;
  if (!model) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, std::string(who) + ": model is NULL");
  const int precision = enum_value(options.precision);
  if (precision != M2U_PRECISION_FP32 && precision != M2U_PRECISION_FP16 && precision != M2U_PRECISION_INT8) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT, std::string(who) + ": precision " + std::to_string(precision) +
                                                          " is not available (M2U_PRECISION_FP32 = 0, "
                                                          "M2U_PRECISION_FP16 = 1, M2U_PRECISION_INT8 = 2)");
  }
  return guarded([&] {
    m2u::EngineOptions engine_options;
    engine_options.max_batch = options.max_batch;
    engine_options.max_height = options.max_height;
    engine_options.max_width = options.max_width;
    engine_options.device = options.device;
    engine_options.precision = static_cast<m2u_precision>(precision);
    engine_options.stream = static_cast<cudaStream_t>(options.stream);
    engine_options.fuse_blocks = options.fuse_blocks != 0;
    engine_options.cuda_graph = options.cuda_graph != 0;
    engine_options.time_layers = options.time_layers != 0;
    m2u_status status = M2U_OK;
    std::string error;
    std::unique_ptr<m2u::Engine> created = m2u::Engine::create(model->model, engine_options, &status, &error);
    if (!created) return set_last_error(status, std::string(who) + ": " + error);
    *engine = new m2u_engine{std::move(created), std::string()};
    thread_last_error().clear();
    return M2U_OK;
  });
}

m2u_status layer_count(const m2u::Engine& engine, int* count) {
  *count = static_cast<int>(engine.plan().steps.size());
  return M2U_OK;
}

m2u_status get_layer(const m2u::Engine& engine, int index, m2u_layer_info* info, const char* who) {
  const std::vector<m2u::PlannedStep>& steps = engine.plan().steps;
  if (index < 0 || index >= static_cast<int>(steps.size())) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT, std::string(who) + ": index " + std::to_string(index) +
                                                          " outside 0.." + std::to_string(steps.size() - 1));
  }
  if (info->struct_size < sizeof(size_t)) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT, std::string(who) + ": info->struct_size is " +
                                                          std::to_string(info->struct_size) +
                                                          ": set it to sizeof(m2u_layer_info)");
  }
  const m2u::PlannedStep& step = steps[static_cast<size_t>(index)];
  const m2u::LayerPrecision precision = m2u::layer_precision(engine.plan(), step, engine.precision());
  write_sized(m2u_layer_info{0, step.label.c_str(), precision.storage, precision.arithmetic}, info->struct_size,
              info);
  return M2U_OK;
}

}  // namespace m2u_capi

namespace {

using m2u_capi::enum_value;
using m2u_capi::guarded;
using m2u_capi::set_last_error;

m2u_engine_options default_engine_options() {
  m2u_engine_options o;
  std::memset(&o, 0, sizeof(o));
  o.struct_size = sizeof(o);
  o.max_batch = 1;
  o.max_height = 512;
  o.max_width = 512;
  o.precision = M2U_PRECISION_FP32;
  o.device = 0;
  o.stream = nullptr;
  return o;
}

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

void m2u_engine_options_init_sized(m2u_engine_options* options, size_t size) {
  if (!options || size < sizeof(size_t)) return;
  m2u_capi::write_sized(default_engine_options(), size, options);
}

m2u_status m2u_engine_create_sized(const m2u_model* model, const m2u_engine_options* options, m2u_engine** engine) {
  if (!engine) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_engine_create: engine is NULL");
  *engine = nullptr;
  if (!options) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_engine_create: options is NULL");
  // An older caller's shorter struct: its fields over the defaults.
  m2u_engine_options full;
  if (!m2u_capi::read_sized(*options, default_engine_options(), offsetof(m2u_engine_options, max_width) + sizeof(int),
                            &full)) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_engine_create: options.struct_size is " +
                                                          std::to_string(options->struct_size) +
                                                          ": call m2u_engine_options_init first");
  }
  return m2u_capi::create_engine(model, full, engine, "m2u_engine_create");
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

m2u_status m2u_engine_layer_times(m2u_engine* engine, double* milliseconds, int capacity, int* count) {
  if (!engine || !count) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_engine_layer_times: NULL argument");
  engine->message.clear();
  if (capacity < 0 || (capacity > 0 && !milliseconds)) {
    engine->message = "m2u_engine_layer_times: capacity " + std::to_string(capacity) + " with " +
                      (milliseconds ? "an array" : "a NULL array");
    return M2U_ERROR_INVALID_ARGUMENT;
  }
  std::vector<double> times;
  const m2u_status status = engine->engine->layer_times(&times);
  if (status != M2U_OK) return status;
  *count = static_cast<int>(times.size());
  for (int i = 0; i < capacity && i < *count; ++i) milliseconds[i] = times[i];
  return M2U_OK;
}

const char* m2u_engine_last_error(const m2u_engine* engine) {
  if (!engine) return "m2u_engine_last_error: engine is NULL";
  return engine->message.empty() ? engine->engine->last_error().c_str() : engine->message.c_str();
}

m2u_status m2u_engine_layer_count(const m2u_engine* engine, int* count) {
  if (!engine || !count) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_engine_layer_count: NULL argument");
  return m2u_capi::layer_count(*engine->engine, count);
}

m2u_status m2u_engine_get_layer(const m2u_engine* engine, int index, m2u_layer_info* info) {
  if (!engine || !info) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_engine_get_layer: NULL argument");
  return m2u_capi::get_layer(*engine->engine, index, info, "m2u_engine_get_layer");
}

m2u_status m2u_engine_work_model(const m2u_engine* engine, const m2u_work_request* request,
                                  m2u_work_model** model) {
  if (!model) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_engine_work_model: model is NULL");
  *model = nullptr;
  if (!engine) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_engine_work_model: engine is NULL");
  return guarded([&] {
    const m2u::ExecutionPlan& plan = engine->engine->plan();
    m2u::WorkRequest r;
    const m2u::DeviceProfile* profile = nullptr;
    const m2u_status resolved = m2u_capi::resolve_work_request(request, plan.max_batch, plan.max_height,
                                                               plan.max_width, "m2u_engine_work_model", &r, &profile);
    if (resolved != M2U_OK) return resolved;
    return m2u_capi::publish_work_model(engine->engine->work_model(r), *profile, model);
  });
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
