// c_api_support.h - what the C API's translation units share: the model
// handle, the per-thread last error of handle-less calls, reading C enum
// fields as ints, and turning exceptions into statuses at the C boundary.
#ifndef M2U_RUNTIME_C_API_SUPPORT_H
#define M2U_RUNTIME_C_API_SUPPORT_H

#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "m2urt.h"
#include "model.h"

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

// The integer a C caller stored in an enum field: C allows any int there,
// while loading an out-of-range enumerator in C++ is undefined.
template <typename Enum>
int enum_value(const Enum& value) {
  static_assert(sizeof(Enum) == sizeof(int), "C enums are int-sized here");
  int raw;
  std::memcpy(&raw, &value, sizeof(raw));
  return raw;
}

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
