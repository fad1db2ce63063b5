/* m2urt.h - the public C API of libm2urt (C99 and C++).
 *
 * m2urt runs M2U-Net cell segmentation with hand-written CUDA kernels on
 * NVIDIA Jetson GPUs. This header is free of CUDA device code and of CUDA
 * headers; plain C firmware code includes it and links -lm2urt.
 *
 * Typical use:
 *   m2u_model* model;  m2u_engine* engine;
 *   m2u_model_load("rbc.m2u", &model);                  // weights, host side
 *   m2u_engine_options options;  m2u_engine_options_init(&options);
 *   options.max_height = 1024;  options.max_width = 1024;
 *   m2u_engine_create(model, &options, &engine);        // all device memory here
 *   m2u_engine_run(engine, &frame, &probabilities);     // per frame: no allocation
 *   m2u_engine_destroy(engine);  m2u_model_destroy(model);
 *
 * Errors: every function returns an m2u_status; m2u_status_string() gives
 * its name. A failed call keeps a message saying what was wrong (the file,
 * the tensor, the size): m2u_engine_last_error() for a call on an engine,
 * m2u_last_error() for the calls that have no handle yet (loading a model,
 * creating an engine) - a per-thread message. The library never prints and
 * never exits.
 *
 * Ownership: the caller owns every handle it gets from a _load/_create call
 * and releases it with the matching _destroy (NULL is accepted). An engine
 * keeps no reference to its model: the model may be destroyed once the
 * engine exists. Returned strings belong to the library and stay valid until
 * the next call on the same handle (or, for m2u_last_error, on the thread).
 *
 * Threads: a model is immutable and may be shared by engines on any threads.
 * An engine is used by one thread at a time; engines on different threads
 * run independently (each has its own device memory and stream).
 */
#ifndef M2URT_H
#define M2URT_H

#include <stddef.h>

#define M2U_VERSION_MAJOR 0
#define M2U_VERSION_MINOR 2
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
  M2U_ERROR_CUDA = 3,             /* a CUDA runtime call or a kernel failed */
  M2U_ERROR_FILE = 4,             /* a file cannot be opened or read */
  M2U_ERROR_BAD_MODEL = 5,        /* a malformed or unsupported .m2u file */
  M2U_ERROR_OUT_OF_MEMORY = 6,    /* host or device memory exhausted */
  M2U_ERROR_SHAPE = 7             /* an image does not fit the model or the engine */
} m2u_status;

/* Name of a status ("ok", "invalid argument", ...); never NULL. */
M2U_API const char* m2u_status_string(m2u_status status);

/* Message of the last failed call on this thread that had no handle to keep
 * it (every call but those taking an m2u_engine*: m2u_model_load*,
 * m2u_model_get_info, m2u_engine_create, m2u_host_alloc); "" if none. */
M2U_API const char* m2u_last_error(void);

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

/* ---- Models: weights loaded from a .m2u file (weights/FORMAT.md) ---- */

typedef struct m2u_model m2u_model;

typedef enum m2u_input_normalization {
  M2U_INPUT_AFFINE = 0,               /* (v - mean[c]) / std[c] */
  M2U_INPUT_PER_IMAGE_STANDARDIZE = 1 /* (v - mean(v)) / std(v) over the image */
} m2u_input_normalization;

typedef struct m2u_model_info {
  int in_channels;
  int out_channels;
  int bn_folded;          /* 1: the file had batch norm folded into its convs */
  int output_is_sigmoid;  /* 1: probabilities; 0: linear outputs */
  m2u_input_normalization input_normalization;
  float pixel_scale;      /* v = intensity in [0, 1] * pixel_scale */
} m2u_model_info;

/* Loads and validates a .m2u file. On failure *model is NULL and
 * m2u_last_error() names the problem (M2U_ERROR_FILE, M2U_ERROR_BAD_MODEL). */
M2U_API m2u_status m2u_model_load(const char* path, m2u_model** model);
/* The same from `size` bytes in memory (copied; the caller keeps its buffer). */
M2U_API m2u_status m2u_model_load_memory(const void* data, size_t size, m2u_model** model);
M2U_API void m2u_model_destroy(m2u_model* model);
M2U_API m2u_status m2u_model_get_info(const m2u_model* model, m2u_model_info* info);

/* ---- Engines: a model on a device, with all memory for its frame size ---- */

typedef struct m2u_engine m2u_engine;

typedef enum m2u_precision { M2U_PRECISION_FP32 = 0 } m2u_precision;

typedef struct m2u_engine_options {
  int max_batch;   /* frames per run, 1.. (default 1) */
  int max_height;  /* largest frame; any frame up to these runs (default 512) */
  int max_width;
  m2u_precision precision; /* default M2U_PRECISION_FP32 */
  int device;              /* CUDA device index (default 0) */
  void* stream;            /* a cudaStream_t to run on; NULL: the engine makes its own */
} m2u_engine_options;

/* Fills *options with the defaults above. */
M2U_API void m2u_engine_options_init(m2u_engine_options* options);

/* Uploads the model (batch norm folded) and allocates every device buffer
 * the largest frame needs: weights, one activation arena, staging for host
 * input and output. Nothing is allocated afterwards. */
M2U_API m2u_status m2u_engine_create(const m2u_model* model, const m2u_engine_options* options,
                                     m2u_engine** engine);
M2U_API void m2u_engine_destroy(m2u_engine* engine);
/* Message of the engine's last failed call; "" if none. */
M2U_API const char* m2u_engine_last_error(const m2u_engine* engine);
/* Bytes of the activation arena (and of the packed weights). */
M2U_API m2u_status m2u_engine_memory(const m2u_engine* engine, size_t* arena_bytes,
                                     size_t* weight_bytes);

typedef enum m2u_dtype { M2U_DTYPE_U8 = 0, M2U_DTYPE_U16 = 1, M2U_DTYPE_F32 = 2 } m2u_dtype;
typedef enum m2u_memory {
  M2U_MEMORY_HOST = 0,   /* ordinary (pageable) host memory */
  M2U_MEMORY_DEVICE = 1, /* device memory (cudaMalloc) */
  M2U_MEMORY_PINNED = 2  /* page-locked host memory from m2u_host_alloc (or cudaMallocHost);
                            pageable memory declared pinned still works, but
                            its copies no longer overlap with other work */
} m2u_memory;

/* Page-locked host memory for frames and results: copies from and to it
 * run asynchronously, so a run on pinned memory overlaps with the caller's
 * next frame. Free with m2u_host_free. */
M2U_API m2u_status m2u_host_alloc(size_t bytes, void** pointer);
M2U_API void m2u_host_free(void* pointer);

/* An image in memory the caller owns.
 * Input: `channels` interleaved values per pixel (1: grey, replicated into
 * the model's channels as its input convention says; else the model's
 * in_channels). Output: one plane per model output channel.
 * Strides in bytes; 0 means tightly packed. U16 input may carry fewer
 * significant bits (12 for a 12-bit camera): intensity = value / (2^bits - 1).
 * Float input is intensity in [0, 1]. Output: F32 as computed, U8 / U16 as
 * round(p * 255) / round(p * 65535) clamped. */
typedef struct m2u_image {
  void* data;
  m2u_memory memory;
  m2u_dtype dtype;
  int batch;
  int channels;
  int height;
  int width;
  size_t row_stride;     /* bytes from one row to the next */
  size_t plane_stride;   /* output: bytes from one channel plane to the next */
  size_t image_stride;   /* bytes from one image of the batch to the next */
  int significant_bits;  /* U16 input only: 1..16, 0 means 16 */
} m2u_image;

/* Runs the network on `input` into `output` (same batch, height, width; at
 * most the engine's maxima; any height and width: frames are padded to
 * multiples of 16 with zeros after normalisation, and the output cropped).
 * The input convention comes from the model and is applied on the GPU.
 * With device or pinned memory on both sides the call is asynchronous on
 * the engine's stream: the caller must not touch either buffer before
 * m2u_engine_synchronize returns. With ordinary host memory on either side
 * it returns after the result is in place. No memory is allocated. */
M2U_API m2u_status m2u_engine_run(m2u_engine* engine, const m2u_image* input, m2u_image* output);
/* For models with per-image standardisation: use these statistics instead
 * of computing them from each frame - mean_std[2 n] the mean and
 * mean_std[2 n + 1] the standard deviation of v = intensity * pixel_scale
 * for image n of a batch of `batch` (the model's std_floor still applies).
 * For tiles of one frame, pass the whole frame's statistics so that every
 * tile is normalised alike. Copied; applies to the following runs until
 * called with mean_std NULL (back to per-frame statistics).
 * M2U_ERROR_INVALID_ARGUMENT for a batch outside 1..max_batch or a value
 * that is not finite (or a negative deviation). */
M2U_API m2u_status m2u_engine_set_input_statistics(m2u_engine* engine, const float* mean_std, int batch);
/* Waits for the engine's stream. */
M2U_API m2u_status m2u_engine_synchronize(m2u_engine* engine);
/* Without waiting: *done = 1 when all work queued on the engine's stream
 * has finished, else 0 (poll instead of m2u_engine_synchronize). */
M2U_API m2u_status m2u_engine_query(m2u_engine* engine, int* done);

#ifdef __cplusplus
}
#endif

#endif /* M2URT_H */
