// version.cpp - library version and status texts.
#include "m2urt.h"

#define M2U_STRINGIFY_(x) #x
#define M2U_STRINGIFY(x) M2U_STRINGIFY_(x)

#if defined(M2U_FLAVOUR_CUDA)
#define M2U_FLAVOUR_NAME "cuda"
#else
#define M2U_FLAVOUR_NAME "emu"
#endif

extern "C" {

const char* m2u_status_string(m2u_status status) {
  switch (status) {
    case M2U_OK: return "ok";
    case M2U_ERROR_INVALID_ARGUMENT: return "invalid argument";
    case M2U_ERROR_NO_DEVICE: return "no usable CUDA device";
    case M2U_ERROR_CUDA: return "CUDA runtime error";
    case M2U_ERROR_FILE: return "file cannot be read";
    case M2U_ERROR_BAD_MODEL: return "malformed or unsupported model";
    case M2U_ERROR_OUT_OF_MEMORY: return "out of memory";
    case M2U_ERROR_SHAPE: return "image shape does not fit";
    case M2U_ERROR_INPUT: return "input holds values that cannot be computed";
  }
  return "unknown status";
}

int m2u_version(void) { return M2U_VERSION; }

const char* m2u_version_string(void) {
  return M2U_STRINGIFY(M2U_VERSION_MAJOR) "." M2U_STRINGIFY(M2U_VERSION_MINOR) "." M2U_STRINGIFY(
      M2U_VERSION_PATCH) " (" M2U_FLAVOUR_NAME ")";
}

}  // extern "C"
