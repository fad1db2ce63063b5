/* m2urt.h - the public C API of libm2urt (C99 and C++).
 *
 * m2urt runs M2U-Net cell segmentation with hand-written CUDA kernels on
 * NVIDIA Jetson GPUs. This header is free of CUDA device code and of CUDA
 * headers; it can be included from plain C firmware code.
 *
 * Errors: every function returns an m2u_status; m2u_status_string() turns it
 * into text. The library never prints and never exits.
 * Ownership: out-parameters are filled by the callee into memory the caller
 * owns; returned strings are static and must not be freed.
 * Thread safety: every function declared here may be called from any thread.
 */
#ifndef M2URT_H
#define M2URT_H

#include <stddef.h>

#define M2U_VERSION_MAJOR 0
#define M2U_VERSION_MINOR 1
#define M2U_VERSION_PATCH 0
/* major * 10000 + minor * 100 + patch, comparable with m2u_version(). */
#define M2U_VERSION (M2U_VERSION_MAJOR * 10000 + M2U_VERSION_MINOR * 100 + M2U_VERSION_PATCH)

#if defined(M2U_BUILDING_LIBRARY)
#define M2U_API __attribute__((visibility("default")))
#else
#define M2U_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum m2u_status {
  M2U_OK = 0,
  M2U_ERROR_INVALID_ARGUMENT = 1, /* a NULL pointer, an out-of-range value */
  M2U_ERROR_NO_DEVICE = 2,        /* no CUDA device, or the index is out of range */
  M2U_ERROR_CUDA = 3              /* a CUDA runtime call failed */
} m2u_status;

/* Text for a status ("ok", "invalid argument", ...); never NULL. */
M2U_API const char* m2u_status_string(m2u_status status);

/* Version of the library actually linked (M2U_VERSION of its build). */
M2U_API int m2u_version(void);
/* The same as "major.minor.patch (flavour)", flavour "cuda" or "emu". */
M2U_API const char* m2u_version_string(void);

typedef struct m2u_device_info {
  char name[256];
  int compute_capability_major;
  int compute_capability_minor;
  int multiprocessor_count;
  size_t global_memory_bytes;
  size_t shared_memory_per_block_bytes;
  int is_emulated; /* 1 when libm2urt runs kernels on the CPU (emu flavour) */
} m2u_device_info;

/* Number of CUDA devices libm2urt can use (1 in the emu flavour). */
M2U_API m2u_status m2u_device_count(int* count);
/* Describes device `device` (0-based) into *info. */
M2U_API m2u_status m2u_query_device(int device, m2u_device_info* info);

#ifdef __cplusplus
}
#endif

#endif /* M2URT_H */
