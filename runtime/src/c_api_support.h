// c_api_support.h - what the C API's translation units share: the model
// handle, the per-thread last error of handle-less calls, reading C enum
// fields as ints, growable structs read up to the caller's struct_size, and
// turning exceptions into statuses at the C boundary.
#ifndef M2U_RUNTIME_C_API_SUPPORT_H
#define M2U_RUNTIME_C_API_SUPPORT_H

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "caller_values.h"
#include "m2urt.h"
#include "model.h"

namespace m2u {
class Engine;
struct WorkRequest;
struct WorkModel;
struct DeviceProfile;
}

struct m2u_model {
  m2u::Model model;
};

namespace m2u_capi {

// The message m2u_last_error() returns on this thread.
std::string& thread_last_error();

inline m2u_status set_last_error(m2u_status status, const std::string& message) {
  thread_last_error() = message;
  return status;
}

// The integer a C caller stored in an enum field (caller_values.h).
using m2u::enum_value;

// Growable structs (struct_size first): `given`'s first struct_size bytes
// over `defaults` (an older caller's shorter struct gets the defaults of
// the fields added since). False when struct_size is smaller than
// `required` bytes (the caller did not call the _init function).
template <typename Struct>
bool read_sized(const Struct& given, const Struct& defaults, size_t required, Struct* full) {
  if (given.struct_size < required) return false;
  *full = defaults;
  std::memcpy(full, &given, std::min(given.struct_size, sizeof(Struct)));
  return true;
}

// Writes the first `size` bytes of `value` (struct_size set to `size`)
// into a caller's growable struct.
template <typename Struct>
void write_sized(Struct value, size_t size, Struct* destination) {
  value.struct_size = size;
  std::memcpy(destination, &value, std::min(size, sizeof(Struct)));
}

// Creates *engine from complete options (m2u_engine_create_sized, and the
// 0.2 ABI's m2u_engine_create in c_api_abi_0_2.cpp); `who` names the call
// in messages.
m2u_status create_engine(const m2u_model* model, const m2u_engine_options& options, m2u_engine** engine,
                         const char* who);

// m2u_engine_layer_count / m2u_engine_get_layer for `engine` (also the
// pipeline's); `who` names the call in messages.
m2u_status layer_count(const m2u::Engine& engine, int* count);
m2u_status get_layer(const m2u::Engine& engine, int index, m2u_layer_info* info, const char* who);

// The work-model calls (c_api_work_model.cpp). resolve_work_request:
// `given` over the defaults (height or width 0: the maximum), checked against the
// maxima, the profile looked up; failures name `who` and the numbers.
// publish_work_model: *model from `work` estimated on `profile`.
m2u_status resolve_work_request(const m2u_work_request* given, int max_batch, int max_height, int max_width,
                                const char* who, m2u::WorkRequest* request, const m2u::DeviceProfile** profile);
m2u_status publish_work_model(m2u::WorkModel&& work, const m2u::DeviceProfile& profile, m2u_work_model** model);

// Runs `body`, turning an escaping exception into a status (the library
// must not throw into C code).
template <typename Body>
m2u_status guarded(Body body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return set_last_error(M2U_ERROR_OUT_OF_MEMORY, "out of host memory");
  } catch (const std::exception& e) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT, e.what());
  }
}

}  // namespace m2u_capi

#endif  // M2U_RUNTIME_C_API_SUPPORT_H
