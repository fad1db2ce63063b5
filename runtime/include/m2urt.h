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
#define M2U_VERSION_MINOR 3
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
  M2U_ERROR_SHAPE = 7,            /* an image does not fit the model or the engine */
  M2U_ERROR_INPUT = 8             /* the input holds values that cannot be computed (NaN or
                                     infinity in an F32 frame): the run was made, its output
                                     is not valid (see m2u_engine_run) */
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

/* What the activations are stored in and what each layer computes in
 * (m2u_engine_get_layer lists it; the README has the table):
 *   FP32: float activations, FP32 arithmetic everywhere.
 *   FP16: half activations (half the arena); the 1x1 and depthwise convs
 *         compute in half2 (two values per instruction, the Jetson Nano's
 *         fast path) with partial sums flushed into FP32 accumulators; the
 *         input conversion, the stem, the upsampling and the final 1x1 +
 *         sigmoid compute in FP32 from half storage. Probabilities differ
 *         from FP32 by about 1e-3 on average, up to a few 1e-2 (the README
 *         gives the measured figures).
 *   INT8: int8 activations with one scale per tensor from calibration (a
 *         model written by m2u_calibrate / m2u_calibrator_save; others are
 *         refused with M2U_ERROR_BAD_MODEL naming m2u_calibrate), int8
 *         weights per output channel; the 1x1 convs sum in int32 (dp4a on
 *         sm_61 and newer, the same integers in scalar code on sm_53, where
 *         INT8 is correct but not faster), the depthwise convs in int32,
 *         requantised in FP32; the stem, the upsampling, the input and the
 *         final 1x1 + sigmoid compute in FP32 on int8 storage. */
typedef enum m2u_precision {
  M2U_PRECISION_FP32 = 0,
  M2U_PRECISION_FP16 = 1,
  M2U_PRECISION_INT8 = 2
} m2u_precision;

/* Growable: struct_size comes first and is set by m2u_engine_options_init
 * (a macro passing the caller's sizeof); the library reads only struct_size
 * bytes, so a caller compiled against an older, shorter struct keeps
 * working and gets the defaults for fields added since. Fields are only
 * ever added at the end and start at or after the previous sizeof, so
 * that tail padding an older struct_size covers is never read as a field
 * (m2u_pipeline_options.reserved_0; cuda_graph and time_layers here came
 * in 0.3 development snapshots before this rule). */
typedef struct m2u_engine_options {
  size_t struct_size;      /* set by m2u_engine_options_init: the caller's sizeof */
  int max_batch;           /* frames per run, 1.. (default 1) */
  int max_height;          /* largest frame; any frame up to these, rounded up to a multiple of 16, runs (default 512) */
  int max_width;
  m2u_precision precision; /* default M2U_PRECISION_FP32 */
  int device;              /* CUDA device index (default 0) */
  void* stream;            /* a cudaStream_t to run on; NULL: the engine makes its own */
  int fuse_blocks;         /* 1: each inverted-residual block with an expand that fits runs as one
                              fused kernel, its expanded tensors kept on chip (less DRAM
                              traffic, a smaller arena; README "Performance model"). FP32 and
                              FP16 (half2 in its half2 stages, FP32 in its FP32 decoder stages,
                              as FP16's unfused blocks); the last decoder block also runs the
                              final 1x1 (its output stays on chip: the probabilities out).
                              INT8 engines and trainers refuse it (default 0) */
  int cuda_graph;          /* 1: the device work of a run (statistics, input conversion, every
                              layer) is captured as a CUDA graph at the first run of a frame
                              layout and replayed after: one graph launch instead of ~60 kernel
                              launches. The layout is the input and output dtype, size, batch,
                              strides and, for device memory, the buffers' addresses: a run that
                              changes any of them captures anew (correct, but a capture costs
                              more than a run: keep them fixed, e.g. pinned slots, which go
                              through the engine's own staging). The engine holds the graphs of
                              up to 64 layouts and drops the least recently used beyond. Copies
                              from and to host memory stay outside the graph. The stream
                              (options.stream) must not be the legacy default stream nor be
                              captured by the caller. Any precision (default 0) */
  int time_layers;         /* 1: every run records CUDA events between its layers, for
                              m2u_engine_layer_times (a little host work a layer; not with
                              cuda_graph, which it refuses) (default 0) */
} m2u_engine_options;

/* Fills the first `size` bytes of *options with the defaults above and sets
 * struct_size = size; use the macro. */
M2U_API void m2u_engine_options_init_sized(m2u_engine_options* options, size_t size);
#define m2u_engine_options_init(options) m2u_engine_options_init_sized((options), sizeof(*(options)))

/* Uploads the model (batch norm folded) and allocates every device buffer
 * the largest frame needs: weights, one activation arena, staging for host
 * input and output. Nothing is allocated afterwards. */
M2U_API m2u_status m2u_engine_create_sized(const m2u_model* model, const m2u_engine_options* options,
                                           m2u_engine** engine);
/* (m2u_engine_create and m2u_engine_options_init are macros so that
 * binaries built against m2urt 0.2, whose options had no struct_size, keep
 * calling the functions of those names, which read the 0.2 layout.) */
#define m2u_engine_create(model, options, engine) m2u_engine_create_sized((model), (options), (engine))
M2U_API void m2u_engine_destroy(m2u_engine* engine);
/* Message of the engine's last failed call; "" if none. */
M2U_API const char* m2u_engine_last_error(const m2u_engine* engine);
/* Bytes of the activation arena (and of the packed weights). */
M2U_API m2u_status m2u_engine_memory(const m2u_engine* engine, size_t* arena_bytes,
                                     size_t* weight_bytes);

/* One step of the engine's forward pass and the precision it runs in. */
typedef struct m2u_layer_info {
  size_t struct_size;      /* set by the caller: sizeof(m2u_layer_info) */
  const char* name;        /* "conv4.13.conv.3 (depthwise)"; the library's, valid
                              while the engine exists */
  const char* storage;     /* what its output is stored in: "fp32", "fp16" */
  const char* arithmetic;  /* what it computes in: "fp32", "half2, fp32 flush every 16
                              channels", ... */
} m2u_layer_info;

/* Number of steps (*count) of the forward pass, in order. */
M2U_API m2u_status m2u_engine_layer_count(const m2u_engine* engine, int* count);
/* Step `index` (0 .. count - 1) into *info (info->struct_size set by the
 * caller; only that many bytes are written). */
M2U_API m2u_status m2u_engine_get_layer(const m2u_engine* engine, int index, m2u_layer_info* info);

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
 * it returns after the result is in place. No memory is allocated.
 *
 * Non-finite input is an error, never a silent NaN: an F32 input value
 * that is NaN or infinite is read as intensity 0 (also in per-image
 * statistics), so the rest of the frame is computed and the output fully
 * written, but the run reports M2U_ERROR_INPUT with the message "input: N
 * non-finite pixel value(s) (NaN or infinity) in image B; ..." (every
 * image that had any): treat that output as not valid. The values are
 * counted on the GPU while converting the input; the count comes back with
 * the run, so the status comes from m2u_engine_run itself for a
 * synchronous run (ordinary host memory), and from the next
 * m2u_engine_synchronize, or m2u_engine_query once it says done, for an
 * asynchronous one - covering every run queued since the previous report.
 * U8 and U16 input is always finite (and not checked). Outputs are not
 * checked: with finite input and finite folded weights (m2u_engine_create
 * refuses others), a model whose activations overflow float (finite but
 * huge weights) can still give non-finite outputs with M2U_OK. */
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
/* Waits for the engine's stream. M2U_ERROR_INPUT when a run queued since
 * the last report had non-finite input (see m2u_engine_run); reported once. */
M2U_API m2u_status m2u_engine_synchronize(m2u_engine* engine);
/* Without waiting: *done = 1 when all work queued on the engine's stream
 * has finished, else 0 (poll instead of m2u_engine_synchronize). With
 * *done = 1 it reports non-finite input as m2u_engine_synchronize does. */
M2U_API m2u_status m2u_engine_query(m2u_engine* engine, int* done);


/* ---- INT8 calibration: activation scales from the user's own frames ----
 *
 *   m2u_calibrator_options options;  m2u_calibrator_options_init(&options);
 *   options.max_height = 1024;  options.max_width = 1024;
 *   m2u_calibrator_create(model, &options, &calibrator);
 *   m2u_calibrator_add_frames(calibrator, &frame);    // each frame is copied
 *   m2u_calibrator_save(calibrator, "model_int8.m2u");
 *
 * The network runs in FP32 on the GPU over every frame; the magnitudes of
 * every activation buffer are gathered on the GPU (their maximum, then a
 * 2048-bin histogram over it) and a per-tensor scale is chosen by the
 * method. save() writes a copy of the model's file with those scales in
 * its quantisation table (weights/FORMAT.md; names "act:<buffer>", e.g.
 * "act:decode1.concat"); weights stay float (their per-output-channel INT8
 * scales are max |w| / 127 of the folded weights, made at engine
 * creation). Frames take the engine's types and conventions (m2u_image:
 * U8, U16 with significant bits, F32 intensity; grey or the model's
 * channels; host or pinned memory), up to max_height x max_width; frames
 * should be like the ones the INT8 model will see, and not the ones it is
 * judged on. */
typedef struct m2u_calibrator m2u_calibrator;

typedef enum m2u_calibration_method {
  M2U_CALIBRATION_ENTROPY = 0,    /* the clipping that keeps the quantised histogram closest
                                     (Kullback-Leibler) to the real one; clips too much for
                                     the real Octopi model (README "Precision") */
  M2U_CALIBRATION_PERCENTILE = 1, /* clip at the 99.99th percentile of |v| (default) */
  M2U_CALIBRATION_MINMAX = 2      /* no clipping: the largest |v| seen */
} m2u_calibration_method;

typedef struct m2u_calibrator_options {
  size_t struct_size;            /* set by m2u_calibrator_options_init: the caller's sizeof */
  int max_height;                /* largest frame (default 1024 x 1024) */
  int max_width;
  m2u_calibration_method method; /* default M2U_CALIBRATION_PERCENTILE */
  int device;                    /* CUDA device index (default 0) */
} m2u_calibrator_options;

M2U_API void m2u_calibrator_options_init_sized(m2u_calibrator_options* options, size_t size);
#define m2u_calibrator_options_init(options) m2u_calibrator_options_init_sized((options), sizeof(*(options)))

M2U_API m2u_status m2u_calibrator_create(const m2u_model* model, const m2u_calibrator_options* options,
                                         m2u_calibrator** calibrator);
M2U_API void m2u_calibrator_destroy(m2u_calibrator* calibrator);
/* Message of the calibrator's last failed call; "" if none. */
M2U_API const char* m2u_calibrator_last_error(const m2u_calibrator* calibrator);
/* Copies every image of `frames` (host or pinned memory). */
M2U_API m2u_status m2u_calibrator_add_frames(m2u_calibrator* calibrator, const m2u_image* frames);
/* Runs the calibration over the frames added so far and writes the
 * calibrated model to `path` (a temporary file renamed into place; an
 * existing file at `path` is replaced). M2U_ERROR_INVALID_ARGUMENT without
 * frames, M2U_ERROR_FILE when it cannot be written. */
M2U_API m2u_status m2u_calibrator_save(m2u_calibrator* calibrator, const char* path);
/* After a successful save: the number of activation scales and each one's
 * name (the library's, valid until the next call on the calibrator) and
 * value. */
M2U_API m2u_status m2u_calibrator_scale_count(const m2u_calibrator* calibrator, int* count);
M2U_API m2u_status m2u_calibrator_get_scale(const m2u_calibrator* calibrator, int index, const char** name,
                                            float* scale);

/* ---- Decoder fine-tuning on the device ----
 *
 *   m2u_trainer_options options;  m2u_trainer_options_init(&options);
 *   options.max_batch = 4;  options.max_height = 256;  options.max_width = 256;
 *   options.optimizer = M2U_OPTIMIZER_ADAM;  options.learning_rate = 1e-3f;
 *   m2u_trainer_create(model, &options, &trainer);     // all memory here
 *   m2u_trainer_step(trainer, &images, &masks, &loss, &skipped);  // per batch
 *   m2u_trainer_evaluation e;  m2u_trainer_evaluation_init(&e);
 *   m2u_trainer_evaluate(trainer, &val_images, &val_masks, &e);  // e.iou
 *   m2u_trainer_save(trainer, "tuned.m2u", NULL);      // atomic
 *   m2u_trainer_destroy(trainer);
 *
 * The encoder is frozen and only runs forward; the decoder's convolutions
 * (as options.schedule says), their batch norms' gamma and beta and the
 * final 1x1 conv are trained as FP32 master weights, batch norm in eval
 * form (running statistics unchanged). A step: the network forward in FP32
 * keeping the decoder's activations, the loss from the logits (binary
 * cross-entropy averaged over the images' own pixels, plus soft Dice with
 * M2U_LOSS_BCE_DICE), the handwritten backward pass, the optimiser's update
 * (PyTorch's torch.optim rules), the batch norm refolded for the next step.
 * Weight gradients are reduced in a fixed order: two identical runs give
 * bit-identical files. A step whose loss or any gradient is not finite
 * updates nothing: *skipped is 1 and it is counted (m2u_trainer_get_stats);
 * what to do after several in a row is the caller's choice.
 *
 * Images: as m2u_engine_run takes them (U8, U16, F32; grey or the model's
 * channels; host, pinned or device memory), up to max_batch x max_height x
 * max_width. Masks: batch x the model's out_channels planes of the images'
 * height x width (m2u_image with channels = out_channels, planar like
 * m2u_engine_run's output), host, pinned or device memory (F32 in device
 * memory 4-byte aligned), U8 (0 background, anything else foreground) or
 * F32 targets in [0, 1] (otherwise M2U_ERROR_INPUT naming the images, and
 * nothing is updated). Masks are turned into targets on the GPU.
 *
 * The saved file (weights/FORMAT.md) keeps raw batch norm, writes the
 * trained tensors as F32 and every other one as it was, records the source
 * file's SHA-256 and the training in its provenance, and drops INT8
 * activation scales (they were measured on the old weights: calibrate the
 * trained model again with m2u_calibrate before an INT8 engine takes it;
 * FP32 and FP16 engines take it as it is). Memory: every buffer is
 * allocated by m2u_trainer_create; a step allocates nothing. One thread at a
 * time, like an engine. m2u_trainer_options, m2u_trainer_evaluation and
 * m2u_trainer_stats grow like the other options (struct_size first). */
typedef struct m2u_trainer m2u_trainer;

typedef enum m2u_train_schedule {
  M2U_TRAIN_DECODER = 0,        /* every decoder conv and the final conv (default) */
  M2U_TRAIN_DECODER_LAST = 1,   /* the last decoder stage (decode1's block) and the final conv */
  M2U_TRAIN_DECODER_PROJECT = 2 /* the four decoder blocks' project convs only */
} m2u_train_schedule;

typedef enum m2u_train_loss {
  M2U_LOSS_BCE = 0,     /* binary cross-entropy from logits (default) */
  M2U_LOSS_BCE_DICE = 1 /* plus soft Dice, 1 - (2 sum p t + s) / (sum p + sum t + s) */
} m2u_train_loss;

typedef enum m2u_optimizer {
  M2U_OPTIMIZER_SGD = 0,    /* momentum, weight decay */
  M2U_OPTIMIZER_ADAM = 1,   /* beta1, beta2, epsilon, weight decay (default) */
  M2U_OPTIMIZER_RMSPROP = 2 /* alpha, epsilon, momentum, weight decay */
} m2u_optimizer;

typedef struct m2u_trainer_options {
  size_t struct_size;          /* set by m2u_trainer_options_init: the caller's sizeof */
  int max_batch;               /* default 1 */
  int max_height;              /* largest frame (default 256 x 256) */
  int max_width;
  int device;                  /* CUDA device index (default 0) */
  m2u_train_schedule schedule; /* default M2U_TRAIN_DECODER */
  m2u_train_loss loss;         /* default M2U_LOSS_BCE */
  m2u_optimizer optimizer;     /* default M2U_OPTIMIZER_ADAM */
  float learning_rate;         /* default 1e-3 */
  float momentum;              /* SGD, RMSprop (default 0) */
  float weight_decay;          /* L2, added to the gradient (default 0) */
  float beta1, beta2;          /* Adam (default 0.9, 0.999) */
  float alpha;                 /* RMSprop (default 0.99) */
  float epsilon;               /* Adam, RMSprop (default 1e-8) */
  float dice_smoothing;        /* M2U_LOSS_BCE_DICE's s (default 1) */
} m2u_trainer_options;

M2U_API void m2u_trainer_options_init_sized(m2u_trainer_options* options, size_t size);
#define m2u_trainer_options_init(options) m2u_trainer_options_init_sized((options), sizeof(*(options)))

/* M2U_ERROR_INVALID_ARGUMENT for options out of range (named), the engine's
 * errors otherwise; `model` may be destroyed afterwards. */
M2U_API m2u_status m2u_trainer_create(const m2u_model* model, const m2u_trainer_options* options,
                                      m2u_trainer** trainer);
M2U_API void m2u_trainer_destroy(m2u_trainer* trainer);
/* Message of the trainer's last call when it failed; "" after a call that
 * succeeded. */
M2U_API const char* m2u_trainer_last_error(const m2u_trainer* trainer);
/* One step on a batch; *loss (may be NULL) the batch's loss before the
 * update, *skipped (may be NULL) 1 when nothing was updated for a
 * non-finite value. Returns when the update is done. A step that fails
 * updates nothing; after a CUDA failure in the update itself the trainer
 * refuses further calls (create it again). */
M2U_API m2u_status m2u_trainer_step(m2u_trainer* trainer, const m2u_image* images, const m2u_image* masks,
                                    float* loss, int* skipped);
/* The current weights' mask (probability >= 0.5) against `masks` (U8 non-zero
 * or F32 >= 0.5) over the whole batch. */
typedef struct m2u_trainer_evaluation {
  size_t struct_size;      /* set by m2u_trainer_evaluation_init */
  double iou;              /* intersection / union; 1 when both are empty */
  long long intersection;  /* pixels foreground in both */
  long long union_pixels;  /* pixels foreground in either */
} m2u_trainer_evaluation;
M2U_API void m2u_trainer_evaluation_init_sized(m2u_trainer_evaluation* evaluation, size_t size);
#define m2u_trainer_evaluation_init(evaluation) \
  m2u_trainer_evaluation_init_sized((evaluation), sizeof(*(evaluation)))
M2U_API m2u_status m2u_trainer_evaluate(m2u_trainer* trainer, const m2u_image* images, const m2u_image* masks,
                                        m2u_trainer_evaluation* evaluation);
/* Writes the trained model to `path` through a temporary file renamed into
 * place; `provenance_lines` (NULL: none) are appended to the provenance
 * ("key: value" lines). M2U_ERROR_FILE when it cannot be written. */
M2U_API m2u_status m2u_trainer_save(m2u_trainer* trainer, const char* path, const char* provenance_lines);

typedef struct m2u_trainer_stats {
  size_t struct_size;           /* set by m2u_trainer_stats_init */
  long long updates;            /* steps that updated the weights */
  long long skipped_steps;      /* steps skipped for a non-finite loss or gradient */
  long long skipped_in_a_row;   /* of the latest steps */
  long long trainable_parameters;
  size_t device_bytes;          /* the trainer's own, beside its engine's arena and weights */
} m2u_trainer_stats;
M2U_API void m2u_trainer_stats_init_sized(m2u_trainer_stats* stats, size_t size);
#define m2u_trainer_stats_init(stats) m2u_trainer_stats_init_sized((stats), sizeof(*(stats)))
M2U_API m2u_status m2u_trainer_get_stats(const m2u_trainer* trainer, m2u_trainer_stats* stats);

/* ---- Imaging pipeline: raw camera frames in, a mask and cells out ----
 *
 * What m2u_infer does, for firmware: a raw monochrome frame (or a left /
 * right pair of differential phase contrast frames, each divided by its
 * flat field) is unpacked to intensity in [0, 1] on the GPU, segmented by
 * the network (whole frame, or tiles stitched into one map), thresholded on
 * the GPU (a fixed probability, or Otsu's threshold on the GPU's 8-bit
 * histogram of the probability), and its connected components are labelled
 * on the CPU (8-connectivity, union-find; per cell the area and centroid).
 *
 *   m2u_pipeline_options options;  m2u_pipeline_options_init(&options);
 *   options.max_height = 768;  options.max_width = 1024;  options.dpc = 1;
 *   options.flat_field = 1;  options.threshold_method = M2U_THRESHOLD_OTSU;
 *   m2u_pipeline_create(model, &options, &pipeline);    // all device memory here
 *   m2u_pipeline_set_flat_fields(pipeline, &left_flat, &right_flat);
 *   m2u_pipeline_run_dpc(pipeline, &left, &right);      // per frame pair
 *   m2u_pipeline_result result;  m2u_pipeline_result_init(&result);
 *   m2u_pipeline_get_result(pipeline, &result);         // result.cell_count, ...
 *   m2u_pipeline_destroy(pipeline);
 *
 * Memory: every device buffer (the engine's, the frames', the intensity,
 * probability and mask planes) and the host mask and label planes are
 * allocated by m2u_pipeline_create for max_height x max_width; a run
 * allocates no device memory. The cell list grows on the host as needed.
 * Runs are synchronous: m2u_pipeline_run returns when the cells are known.
 * A pipeline is used by one thread at a time, like an engine.
 *
 * Growing structs: m2u_pipeline_options, m2u_pipeline_result and m2u_cell
 * start with struct_size, the size the caller was compiled with: the _init
 * macros pass sizeof of the caller's struct to the library, which writes
 * only that many bytes and sets struct_size (for m2u_cell the caller sets
 * it). The library then reads or writes only struct_size bytes, so a caller
 * built against an older, shorter struct keeps working with a newer
 * library: the fields it does not know keep their defaults. A new field
 * starts at or after the previous sizeof (see m2u_engine_options). */

typedef enum m2u_raw_format {
  M2U_RAW_MONO8 = 0,  /* one byte a pixel, intensity v / 255 */
  M2U_RAW_MONO16 = 1, /* 16-bit little-endian words, intensity v / 65535 */
  M2U_RAW_MONO12 = 2, /* 12 bits in 16-bit little-endian words, v / 4095 (a word
                         above 4095 is not Mono12: only its low 12 bits are used) */
  M2U_RAW_MONO12P = 3 /* GenICam Mono12p: two pixels in three bytes (pixel 0 =
                         byte 0 + low nibble of byte 1 << 8, pixel 1 = high nibble
                         of byte 1 + byte 2 << 4); a row of odd width ends with
                         two bytes; every row starts on a byte */
} m2u_raw_format;

/* Bytes of one packed row of `width` pixels (width, 2 width, 2 width,
 * ceil(3 width / 2)); 0 for a width below 1 or an unknown format. */
M2U_API size_t m2u_raw_row_bytes(m2u_raw_format format, int width);

/* A raw frame in memory the caller owns. Only the rows' m2u_raw_row_bytes
 * are read: row_stride * (height - 1) + m2u_raw_row_bytes(format, width)
 * bytes from data. */
typedef struct m2u_raw_frame {
  const void* data;      /* the first byte of row 0 */
  m2u_memory memory;     /* host, pinned or device */
  m2u_raw_format format;
  int height;
  int width;
  size_t row_stride;     /* bytes from one row to the next; 0: packed */
} m2u_raw_frame;

typedef enum m2u_threshold_method {
  M2U_THRESHOLD_FIXED = 0, /* probability > options.threshold */
  M2U_THRESHOLD_OTSU = 1   /* Otsu's threshold on the 8-bit probability histogram */
} m2u_threshold_method;

typedef enum m2u_tile_statistics {
  M2U_TILE_STATISTICS_FRAME = 0, /* per-image standardisation of tiles with the
                                    whole frame's mean and deviation: tiles
                                    stitch into the whole-frame result */
  M2U_TILE_STATISTICS_TILE = 1   /* each tile with its own */
} m2u_tile_statistics;

typedef struct m2u_pipeline_options {
  size_t struct_size;      /* set by m2u_pipeline_options_init: the caller's sizeof */
  int max_height;          /* largest frame (default 1024 x 1024) */
  int max_width;
  int dpc;                 /* 1: frames come as left / right pairs (m2u_pipeline_run_dpc) */
  int flat_field;          /* 1: each frame is divided by its flat field
                              (m2u_pipeline_set_flat_fields) first */
  int tile;                /* 0: the whole frame at once (default); else tiles of
                              at most tile x tile pixels, a multiple of 16 */
  int overlap;             /* tiles: pixels of context kept on each side of the
                              part a tile contributes (default 32). The stitched
                              map equals the whole-frame one only when the
                              overlap is at least M2U_RECEPTIVE_FIELD_RADIUS */
  m2u_tile_statistics tile_statistics; /* default M2U_TILE_STATISTICS_FRAME */
  m2u_threshold_method threshold_method; /* default M2U_THRESHOLD_FIXED */
  float threshold;         /* fixed threshold, in (0, 1) (default 0.5) */
  long long min_area;      /* cells of fewer pixels are dropped (default 0) */
  int device;              /* CUDA device index (default 0) */
  m2u_precision precision; /* the network's precision (default M2U_PRECISION_FP32) */
  int fuse_blocks;         /* the engine's fused blocks (m2u_engine_options; default 0) */
  int reserved_0;          /* ignored: the tail padding of the struct that ended at fuse_blocks */
  int cuda_graph;          /* 1: the engine's CUDA graphs (m2u_engine_options.cuda_graph): from
                              the second frame of a size on, each tile (or the whole frame) is
                              one graph launch; a tiled frame of more than 64 tiles (more than
                              the engine holds graphs for) runs without graphs (default 0) */
} m2u_pipeline_options;

/* Input pixels on each side of an output pixel that M2U-Net's output there
 * depends on: the overlap tiles need to stitch without seams. */
#define M2U_RECEPTIVE_FIELD_RADIUS 178

/* Fills the first `size` bytes of *options with the defaults above and sets
 * struct_size = size; use the macro, which passes the caller's sizeof. */
M2U_API void m2u_pipeline_options_init_sized(m2u_pipeline_options* options, size_t size);
#define m2u_pipeline_options_init(options) m2u_pipeline_options_init_sized((options), sizeof(*(options)))

typedef struct m2u_pipeline m2u_pipeline;

/* Creates the pipeline and its engine (FP32) for `model`, which must have
 * one output channel (a cell probability). Options are checked here: a bad
 * size, tile, overlap or threshold is M2U_ERROR_INVALID_ARGUMENT naming the
 * field and the value; m2u_last_error() has the message. The model may be
 * destroyed afterwards. */
M2U_API m2u_status m2u_pipeline_create(const m2u_model* model, const m2u_pipeline_options* options,
                                       m2u_pipeline** pipeline);
M2U_API void m2u_pipeline_destroy(m2u_pipeline* pipeline);
/* The pipeline's network, step by step, as m2u_engine_layer_count and
 * m2u_engine_get_layer give it for an engine. */
M2U_API m2u_status m2u_pipeline_layer_count(const m2u_pipeline* pipeline, int* count);
M2U_API m2u_status m2u_pipeline_get_layer(const m2u_pipeline* pipeline, int index, m2u_layer_info* info);
/* Message of the pipeline's last failed call; "" if none. */
M2U_API const char* m2u_pipeline_last_error(const m2u_pipeline* pipeline);

/* Flat fields (blank-field frames as captured, or their average) of the
 * left and right illumination (dpc) or of the one frame (right NULL); they
 * are unpacked and kept on the device until replaced, and every later frame
 * must have their size. A frame is divided by max(flat, 1e-6) pixel by
 * pixel. A flat field with no pixel above 1e-6 is refused; the number of
 * pixels that were floored is in m2u_pipeline_result.flat_floored_pixels. */
M2U_API m2u_status m2u_pipeline_set_flat_fields(m2u_pipeline* pipeline, const m2u_raw_frame* left_or_only,
                                                const m2u_raw_frame* right);

/* Segments one frame (pipelines without dpc). */
M2U_API m2u_status m2u_pipeline_run(m2u_pipeline* pipeline, const m2u_raw_frame* frame);
/* Segments a DPC pair: intensity = clip((L - R) / (L + R) + 0.5, 0, 1) of
 * the flat-field-corrected left and right frames (0.5 where L + R = 0).
 * Both frames must have the same size. */
M2U_API m2u_status m2u_pipeline_run_dpc(m2u_pipeline* pipeline, const m2u_raw_frame* left,
                                        const m2u_raw_frame* right);

typedef struct m2u_pipeline_result {
  size_t struct_size;            /* set by m2u_pipeline_result_init: the caller's sizeof */
  int height;                    /* of the last frame */
  int width;
  int tiles;                     /* tiles run (1 for a whole frame) */
  float threshold;               /* the probability threshold applied */
  int otsu_threshold_8bit;       /* Otsu: background = 8-bit probabilities 0..this; else -1 */
  long long cell_count;          /* cells after min_area */
  long long foreground_pixels;   /* mask pixels, after min_area */
  long long flat_floored_pixels; /* flat-field pixels at or below 1e-6 (set_flat_fields) */
  double input_ms;               /* upload, unpack, flat field, DPC */
  double inference_ms;           /* the network, all tiles */
  double postprocess_ms;         /* threshold, download, components */
} m2u_pipeline_result;

/* Zeroes the first `size` bytes of *result (otsu_threshold_8bit -1) and
 * sets struct_size = size; use the macro, which passes the caller's sizeof. */
M2U_API void m2u_pipeline_result_init_sized(m2u_pipeline_result* result, size_t size);
#define m2u_pipeline_result_init(result) m2u_pipeline_result_init_sized((result), sizeof(*(result)))
/* The figures of the last successful run; M2U_ERROR_INVALID_ARGUMENT before any. */
M2U_API m2u_status m2u_pipeline_get_result(const m2u_pipeline* pipeline, m2u_pipeline_result* result);

typedef struct m2u_cell {
  size_t struct_size;  /* set by the caller: sizeof(m2u_cell) */
  unsigned label;      /* 1..cell_count: its value in the label plane */
  long long area;      /* pixels */
  double centroid_x;   /* mean column and row of its pixels */
  double centroid_y;
} m2u_cell;

/* Cell `index` (0..cell_count - 1, raster order of each cell's first pixel)
 * of the last run. */
M2U_API m2u_status m2u_pipeline_get_cell(const m2u_pipeline* pipeline, long long index, m2u_cell* cell);

typedef enum m2u_plane {
  M2U_PLANE_INTENSITY = 0,   /* float: the network's input intensity in [0, 1] */
  M2U_PLANE_PROBABILITY = 1, /* float: the network's output */
  M2U_PLANE_MASK = 2,        /* uint8: 255 cell, 0 background (after min_area) */
  M2U_PLANE_LABELS = 3       /* uint32: 0 background, else the cell's label */
} m2u_plane;

/* Copies a plane of the last run (height x width of its frame) into host
 * memory at `data`, rows `row_stride` bytes apart (0: packed). */
M2U_API m2u_status m2u_pipeline_read_plane(m2u_pipeline* pipeline, m2u_plane plane, void* data,
                                           size_t row_stride);

/* ---- Profiling (Nsight; README "Profiling with Nsight") ---- */

/* In the cuda flavour every engine run is an NVTX range "m2u forward" with
 * one range per step, named as m2u_engine_get_layer names it, and these
 * two calls are cudaProfilerStart / cudaProfilerStop, so that
 * `nsys profile --capture-range=cudaProfilerApi` and
 * `ncu --profile-from-start off` see only the frames between them
 * (M2U_ERROR_CUDA with the runtime's message on failure). In the emu
 * flavour there is no profiler: no ranges, and both calls do nothing and
 * return M2U_OK. */
M2U_API m2u_status m2u_profiler_start(void);
M2U_API m2u_status m2u_profiler_stop(void);

/* ---- Work model: what a forward pass or a training step asks of a GPU ---- */

/* The model counts, per kernel launch, the multiply-adds and the minimal
 * DRAM bytes (every input read once, every output written once, weights
 * included, at the engine's storage and padded channels) from the shapes it
 * runs on, and turns them into modeled microseconds on a target GPU:
 * launch overhead + max(compute, DRAM), each at an achievable fraction of
 * the profile's peak. A roofline floor, not a timing of any device. The
 * profiles and every assumption are in runtime/src/perf/device_profiles.cpp
 * and the README ("Performance model"). Handle-less failures leave their
 * message in m2u_last_error(). */
typedef struct m2u_device_profile {
  size_t struct_size;       /* set by the caller: sizeof(m2u_device_profile) */
  const char* name;         /* "nano", "xavier-nx", "orin-nano" (the library's strings) */
  const char* description;
  int compute_capability;   /* 53, 72, 87 */
  double fp32_gflops;       /* peak rates: FP32, FP16 in half2, int8 (dp4a or scalar) */
  double half2_gflops;
  double int8_gops;
  double dram_gbps;         /* 1e9 bytes per second */
  double compute_fraction;  /* achievable fractions of the peaks */
  double dram_fraction;
  double launch_us;         /* per kernel launch on a stream */
  double graph_launch_us;   /* per kernel node of a replayed CUDA Graph */
  const char* assumptions;
} m2u_device_profile;

M2U_API m2u_status m2u_device_profile_count(int* count);
/* Profile `index` (0 .. count - 1) into *profile (struct_size set by the
 * caller; only that many bytes are written). */
M2U_API m2u_status m2u_get_device_profile(int index, m2u_device_profile* profile);

/* Growable like the options structs: struct_size first, set by
 * m2u_work_request_init (a macro passing the caller's sizeof). */
typedef struct m2u_work_request {
  size_t struct_size;
  int batch;                  /* default 1 */
  int height;                 /* the frame; 0 (default): the engine's (trainer's) largest */
  int width;
  m2u_dtype input_dtype;      /* what the caller's frames are (default M2U_DTYPE_U8) */
  int input_channels;         /* default 1 */
  m2u_dtype output_dtype;     /* the probability image's dtype (default M2U_DTYPE_F32) */
  const char* device_profile; /* a profile's name; default NULL: "nano" */
} m2u_work_request;

M2U_API void m2u_work_request_init_sized(m2u_work_request* request, size_t size);
#define m2u_work_request_init(request) m2u_work_request_init_sized((request), sizeof(*(request)))

/* A computed work model; owned by the caller (m2u_work_model_destroy). Its
 * strings live as long as it does. */
typedef struct m2u_work_model m2u_work_model;

/* One forward of the engine on `request`'s frame: one row per kernel launch,
 * in launch order. The frame must fit the engine (batch, height and width
 * at most its maxima): else M2U_ERROR_SHAPE naming the numbers. An unknown
 * profile: M2U_ERROR_INVALID_ARGUMENT naming the known ones. */
M2U_API m2u_status m2u_engine_work_model(const m2u_engine* engine, const m2u_work_request* request,
                                         m2u_work_model** model);
/* One training step (forward, loss, backward of the trainable layers, the
 * update): one row per kind of kernel, its launches summed; FP32. */
M2U_API m2u_status m2u_trainer_work_model(const m2u_trainer* trainer, const m2u_work_request* request,
                                          m2u_work_model** model);
M2U_API void m2u_work_model_destroy(m2u_work_model* model);

/* Measured beside modeled: the device milliseconds of each row of
 * m2u_engine_work_model for the last run's frame, in the same order (the
 * input statistics' row first when the model standardises per image, then
 * one row per layer), from CUDA events recorded between the layers on the
 * engine's stream (in the emu flavour, the CPU's time: not a GPU timing).
 * Waits for that run. *count = the number of rows; up to `capacity` values
 * are written to milliseconds (which may be NULL to ask the count).
 * M2U_ERROR_INVALID_ARGUMENT without m2u_engine_options.time_layers or
 * before the first run. */
M2U_API m2u_status m2u_engine_layer_times(m2u_engine* engine, double* milliseconds, int capacity, int* count);

typedef struct m2u_work_row {
  size_t struct_size;      /* set by the caller: sizeof(m2u_work_row) */
  const char* kernel;      /* "1x1 conv", "depthwise 3x3", ..., "total" */
  const char* layer;       /* the engine step ("conv4.13.conv.3 (depthwise)"); "" for summed rows */
  const char* arithmetic;  /* "fp32", "half2", "int8" (what its multiply-adds run at) */
  long long launches;
  int batch, height, width;        /* the output's shape; 0 in summed rows */
  int in_channels, out_channels;
  double multiply_adds;
  double bytes_read, bytes_written;
  double compute_us, dram_us, overhead_us;  /* the model's terms */
  double modeled_us;       /* overhead + max(compute, dram); the total: the rows' sum */
  const char* bound;       /* "compute", "dram" or "launch"; the total: "" */
} m2u_work_row;

M2U_API m2u_status m2u_work_model_row_count(const m2u_work_model* model, int* count);
M2U_API m2u_status m2u_work_model_get_row(const m2u_work_model* model, int index, m2u_work_row* row);
/* The sums over the rows (kernel "total"). */
M2U_API m2u_status m2u_work_model_get_total(const m2u_work_model* model, m2u_work_row* total);
/* The profile the model was computed for. */
M2U_API m2u_status m2u_work_model_get_profile(const m2u_work_model* model, m2u_device_profile* profile);

#ifdef __cplusplus
}
#endif

#endif /* M2URT_H */
