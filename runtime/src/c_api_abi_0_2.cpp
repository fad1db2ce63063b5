// c_api_abi_0_2.cpp - m2urt 0.2's engine option functions, kept in
// libm2urt.so.0 for binaries built against the 0.2 header. In 0.2,
// m2u_engine_options had no struct_size (it could not grow); since 0.3 the
// header's m2u_engine_options_init and m2u_engine_create are macros over
// m2u_engine_options_init_sized and m2u_engine_create_sized, so new code
// never calls these two symbols. They read and write the 0.2 layout only.
// tests/engine/test_abi_0_2.c runs a caller compiled against that layout.
#include "c_api_support.h"

#undef m2u_engine_options_init
#undef m2u_engine_create

namespace m2u_capi {

// m2urt 0.2's m2u_engine_options, field for field.
struct EngineOptions02 {
  int max_batch;
  int max_height;
  int max_width;
  m2u_precision precision;
  int device;
  void* stream;
};

}  // namespace m2u_capi

extern "C" {

M2U_API void m2u_engine_options_init(m2u_capi::EngineOptions02* options);
M2U_API m2u_status m2u_engine_create(const m2u_model* model, const m2u_capi::EngineOptions02* options,
                                     m2u_engine** engine);

void m2u_engine_options_init(m2u_capi::EngineOptions02* options) {
  if (!options) return;
  m2u_engine_options defaults;
  m2u_engine_options_init_sized(&defaults, sizeof(defaults));
  *options = m2u_capi::EngineOptions02{defaults.max_batch, defaults.max_height, defaults.max_width,
                                       defaults.precision,  defaults.device,     defaults.stream};
}

m2u_status m2u_engine_create(const m2u_model* model, const m2u_capi::EngineOptions02* options,
                             m2u_engine** engine) {
  if (!engine) return m2u_capi::set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_engine_create: engine is NULL");
  *engine = nullptr;
  if (!options) return m2u_capi::set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_engine_create: options is NULL");
  m2u_engine_options full;
  m2u_engine_options_init_sized(&full, sizeof(full));
  full.max_batch = options->max_batch;
  full.max_height = options->max_height;
  full.max_width = options->max_width;
  std::memcpy(&full.precision, &options->precision, sizeof(full.precision));
  full.device = options->device;
  full.stream = options->stream;
  return m2u_capi::create_engine(model, full, engine, "m2u_engine_create");
}

}  // extern "C"
