/* m2u_firmware_dpc.c - a firmware-like DPC acquisition loop on libm2urt's
 * imaging pipeline: raw Mono12p left / right frames from the camera to a
 * cell count, with nothing but m2urt.h.
 *
 * Usage:
 *   m2u_firmware_dpc [--fp16|--int8] MODEL.m2u LEFT.raw RIGHT.raw WIDTH HEIGHT [LEFT_FLAT.raw RIGHT_FLAT.raw]
 *
 *   --fp16, --int8       run the network in FP16 or INT8 (M2U_PRECISION_FP16 /
 *                        _INT8; INT8 needs a model calibrated by m2u_calibrate)
 *   LEFT.raw, RIGHT.raw  the frames under left and right illumination, as
 *                        the sensor delivers them: GenICam Mono12p (two
 *                        pixels in three bytes), frame after frame, no
 *                        header; pair k is frame k of both files.
 *   *_FLAT.raw           one blank-field frame per side, same format: every
 *                        frame is divided by its side's flat field first.
 *
 * Prints one line per pair, then a summary:
 *   pair 0: 503 cells, 12.9% foreground, Otsu threshold 0.498, 812.4 ms
 * Exit status: 0 success, 1 any error (status name and libm2urt's message
 * printed; a file that ends inside a frame names the byte counts), 2 bad
 * arguments.
 *
 * As on a device: two pinned frame buffers (m2u_host_alloc) are refilled
 * from the "sensor" for every pair; the pipeline (m2u_pipeline_create) holds
 * every device buffer, so the loop allocates nothing; the flat fields are
 * uploaded once. Threshold: Otsu's; cells below 20 pixels are dropped (the
 * settings of README command 1, so its cell count is the same).
 * Plain C99 (plus POSIX clock_gettime). */
#define _POSIX_C_SOURCE 200112L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "m2urt.h"

typedef struct dpc_state {
  m2u_model* model;
  m2u_pipeline* pipeline;
  void* frames[2]; /* pinned: left, right */
  FILE* files[2];
} dpc_state;

static void release(dpc_state* state) {
  int i;
  m2u_pipeline_destroy(state->pipeline);
  m2u_model_destroy(state->model);
  for (i = 0; i < 2; ++i) {
    m2u_host_free(state->frames[i]);
    if (state->files[i]) fclose(state->files[i]);
  }
  memset(state, 0, sizeof *state);
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static int parse_int(const char* text, long low, long high, long* value) {
  char* end;
  errno = 0;
  *value = strtol(text, &end, 10);
  return errno == 0 && end != text && *end == '\0' && *value >= low && *value <= high;
}

/* Reads frame `index` of `path` (open as `file`) into `buffer`: 1 a whole
 * frame, 0 the end of the file between frames, -1 an error (printed). */
static int acquire(FILE* file, const char* path, long index, void* buffer, size_t frame_bytes) {
  const size_t got = fread(buffer, 1, frame_bytes, file);
  if (got == frame_bytes) return 1;
  if (ferror(file)) {
    fprintf(stderr, "m2u_firmware_dpc: error: %s: read failed: %s\n", path, strerror(errno));
    return -1;
  }
  if (got == 0) return 0;
  fprintf(stderr, "m2u_firmware_dpc: error: %s: truncated frame %ld: the file ends %lu bytes into it, a frame is %lu bytes\n",
          path, index, (unsigned long)got, (unsigned long)frame_bytes);
  return -1;
}

/* Reads the single frame a flat-field file must hold into `buffer`. */
static int read_flat(const char* path, void* buffer, size_t frame_bytes) {
  FILE* file = fopen(path, "rb");
  int ok;
  if (!file) {
    fprintf(stderr, "m2u_firmware_dpc: error: %s: cannot open: %s\n", path, strerror(errno));
    return 0;
  }
  ok = acquire(file, path, 0, buffer, frame_bytes) == 1;
  if (ok && fgetc(file) != EOF) {
    fprintf(stderr, "m2u_firmware_dpc: error: %s: more than one %lu-byte frame in a flat field\n", path,
            (unsigned long)frame_bytes);
    ok = 0;
  } else if (!ok) {
    fprintf(stderr, "m2u_firmware_dpc: error: %s: no whole frame\n", path);
  }
  fclose(file);
  return ok;
}

static m2u_raw_frame mono12p_frame(void* data, int width, int height) {
  m2u_raw_frame frame;
  memset(&frame, 0, sizeof frame);
  frame.data = data;
  frame.memory = M2U_MEMORY_PINNED;
  frame.format = M2U_RAW_MONO12P;
  frame.width = width;
  frame.height = height;
  return frame;
}

static int fail(dpc_state* state, const char* what, m2u_status status, const char* message) {
  fprintf(stderr, "m2u_firmware_dpc: error: %s: %s: %s\n", what, m2u_status_string(status), message);
  release(state);
  return 1;
}

int main(int argc, char** argv) {
  dpc_state state;
  m2u_pipeline_options options;
  m2u_pipeline_result result;
  m2u_status status;
  long width, height, pair = 0;
  size_t frame_bytes;
  double total_ms = 0.0;
  int side;
  m2u_precision precision = M2U_PRECISION_FP32;
  memset(&state, 0, sizeof state);
  if (argc > 1 && (strcmp(argv[1], "--fp16") == 0 || strcmp(argv[1], "--int8") == 0)) {
    precision = argv[1][2] == 'f' ? M2U_PRECISION_FP16 : M2U_PRECISION_INT8;
    --argc;
    ++argv;
  }
  if ((argc != 6 && argc != 8) || !parse_int(argv[4], 1, 65535, &width) || !parse_int(argv[5], 1, 65535, &height)) {
    fprintf(stderr, "usage: %s [--fp16|--int8] MODEL.m2u LEFT.raw RIGHT.raw WIDTH HEIGHT [LEFT_FLAT.raw RIGHT_FLAT.raw]\n"
                    "  (Mono12p frames; WIDTH and HEIGHT 1..65535)\n", argv[0]);
    return 2;
  }
  frame_bytes = m2u_raw_row_bytes(M2U_RAW_MONO12P, (int)width) * (size_t)height;
  status = m2u_model_load(argv[1], &state.model);
  if (status != M2U_OK) return fail(&state, "loading the model", status, m2u_last_error());
  m2u_pipeline_options_init(&options);
  options.max_width = (int)width;
  options.max_height = (int)height;
  options.dpc = 1;
  options.flat_field = argc == 8;
  options.threshold_method = M2U_THRESHOLD_OTSU;
  options.min_area = 20;
  options.precision = precision;
  status = m2u_pipeline_create(state.model, &options, &state.pipeline);
  if (status != M2U_OK) return fail(&state, "creating the pipeline", status, m2u_last_error());
  for (side = 0; side < 2; ++side) {
    status = m2u_host_alloc(frame_bytes, &state.frames[side]);
    if (status != M2U_OK) return fail(&state, "allocating a pinned frame", status, m2u_last_error());
  }
  if (argc == 8) {
    m2u_raw_frame flats[2];
    for (side = 0; side < 2; ++side) {
      if (!read_flat(argv[6 + side], state.frames[side], frame_bytes)) {
        release(&state);
        return 1;
      }
      flats[side] = mono12p_frame(state.frames[side], (int)width, (int)height);
    }
    status = m2u_pipeline_set_flat_fields(state.pipeline, &flats[0], &flats[1]);
    if (status != M2U_OK) return fail(&state, "flat fields", status, m2u_pipeline_last_error(state.pipeline));
  }
  for (side = 0; side < 2; ++side) {
    state.files[side] = fopen(argv[2 + side], "rb");
    if (!state.files[side]) {
      fprintf(stderr, "m2u_firmware_dpc: error: %s: cannot open: %s\n", argv[2 + side], strerror(errno));
      release(&state);
      return 1;
    }
  }
  for (;;) {
    const m2u_raw_frame left = mono12p_frame(state.frames[0], (int)width, (int)height);
    const m2u_raw_frame right = mono12p_frame(state.frames[1], (int)width, (int)height);
    const int got_left = acquire(state.files[0], argv[2], pair, state.frames[0], frame_bytes);
    const int got_right = got_left < 0 ? -1 : acquire(state.files[1], argv[3], pair, state.frames[1], frame_bytes);
    double start;
    if (got_left < 0 || got_right < 0) {
      release(&state);
      return 1;
    }
    if (got_left != got_right) {
      fprintf(stderr, "m2u_firmware_dpc: error: %s has %ld frame(s), %s more\n", got_left ? argv[3] : argv[2], pair,
              got_left ? argv[2] : argv[3]);
      release(&state);
      return 1;
    }
    if (!got_left) break;
    start = now_ms();
    status = m2u_pipeline_run_dpc(state.pipeline, &left, &right);
    if (status != M2U_OK) return fail(&state, "segmenting", status, m2u_pipeline_last_error(state.pipeline));
    m2u_pipeline_result_init(&result);
    status = m2u_pipeline_get_result(state.pipeline, &result);
    if (status != M2U_OK) return fail(&state, "the result", status, m2u_pipeline_last_error(state.pipeline));
    total_ms += now_ms() - start;
    printf("pair %ld: %lld cells, %.1f%% foreground, Otsu threshold %.3f, %.1f ms\n", pair, result.cell_count,
           100.0 * (double)result.foreground_pixels / ((double)width * (double)height), result.threshold,
           now_ms() - start);
    ++pair;
  }
  if (pair == 0) {
    fprintf(stderr, "m2u_firmware_dpc: error: %s: no frame in the file\n", argv[2]);
    release(&state);
    return 1;
  }
  printf("m2u_firmware_dpc: %ld pair(s), %.1f ms a pair (%s)\n", pair, total_ms / (double)pair, m2u_version_string());
  release(&state);
  return 0;
}
