/* m2u_firmware_loop.c - a firmware-like acquisition loop on libm2urt's C API.
 *
 * Usage:
 *   m2u_firmware_loop MODEL.m2u FRAMES.raw WIDTH HEIGHT BITS [FRAMES]
 *
 *   FRAMES.raw  frames one after another, grey, row-major, no header, as a
 *               sensor delivers them: WIDTH * HEIGHT samples per frame.
 *   BITS        8: one byte per sample (U8);
 *               16: 16-bit little-endian samples (U16, all 16 bits used);
 *               9..15: 16-bit little-endian samples of which BITS are
 *               significant (12 for a 12-bit camera: 0..4095).
 *   FRAMES      how many frames to process (default: every frame in the
 *               file). A file that ends inside a frame, or that holds fewer
 *               frames than asked for, is an error naming the byte counts:
 *               the frames in flight are completed and reported, then the
 *               program exits with status 1.
 *
 * Prints one line per frame, in frame order:
 *   frame 0: engine 0, slot 0, latency 3.412 ms, above 0.5: 0.179948
 * (latency: from m2u_engine_run to the return of m2u_engine_synchronize for
 * that frame; "above 0.5": the fraction of output values above 0.5, or
 * above 0 for a model without a final sigmoid), then a summary line.
 * Exit status: 0 success, 1 any error (the status name and libm2urt's
 * message are printed), 2 bad arguments.
 *
 * The pipeline, as on a device with a camera:
 *   - a ring of SLOTS (3) pinned input buffers and SLOTS pinned output
 *     buffers (m2u_host_alloc); frame k uses slot k % SLOTS;
 *   - ENGINES (2) engines, each owning its CUDA stream, take alternate
 *     frames: frame k runs on engine k % ENGINES. With pinned memory on both
 *     sides m2u_engine_run only queues the upload, the kernels and the
 *     download on the engine's stream, and returns;
 *   - per frame k: acquire frame k into its slot while frames k-1 and k-2
 *     are in flight; complete frame k-2 (m2u_engine_synchronize on its
 *     engine, which is frame k's engine; then read its output slot); queue
 *     frame k. So the upload of frame k overlaps the inference of frame k-1
 *     on the other stream, and a slot is only refilled (frame k+3) after its
 *     frame was synchronized.
 *   - each engine runs with options.cuda_graph: its first frame's kernels
 *     are captured as a CUDA graph, every later frame is one graph launch
 *     (the uploads and downloads stay outside the graph);
 *   - all device memory is allocated when the engines are created; the loop
 *     allocates nothing (the graph is made at the first frame).
 * Plain C99 (plus POSIX clock_gettime); only m2urt.h from libm2urt.
 * In the emu flavour the kernels run on the CPU and the runs are in effect
 * synchronous; the code is the same. */
#define _POSIX_C_SOURCE 200112L

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "m2urt.h"

#define SLOTS 3
#define ENGINES 2

typedef struct loop_state {
  m2u_model* model;
  m2u_engine* engines[ENGINES];
  void* inputs[SLOTS];   /* pinned frames */
  float* outputs[SLOTS]; /* pinned results */
  FILE* file;
} loop_state;

/* Frees everything; waits for the engines first so that no copy still
 * targets a buffer being freed. Safe on a partly built state. */
static void release(loop_state* state) {
  int i;
  for (i = 0; i < ENGINES; ++i) {
    if (state->engines[i]) (void)m2u_engine_synchronize(state->engines[i]);
  }
  for (i = 0; i < ENGINES; ++i) m2u_engine_destroy(state->engines[i]);
  for (i = 0; i < SLOTS; ++i) {
    m2u_host_free(state->inputs[i]);
    m2u_host_free(state->outputs[i]);
  }
  m2u_model_destroy(state->model);
  if (state->file) fclose(state->file);
  memset(state, 0, sizeof *state);
}

/* Prints a failed call: what, the status, libm2urt's message (the engine's
 * for a call on an engine, the thread's otherwise). */
static void report(const char* what, m2u_status status, const m2u_engine* engine) {
  fprintf(stderr, "m2u_firmware_loop: error: %s: %s: %s\n", what, m2u_status_string(status),
          engine ? m2u_engine_last_error(engine) : m2u_last_error());
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

/* Parses a decimal integer in [low, high]; 0 when it is not one. */
static int parse_int(const char* text, long low, long high, long* value) {
  char* end;
  errno = 0;
  *value = strtol(text, &end, 10);
  return errno == 0 && end != text && *end == '\0' && *value >= low && *value <= high;
}

static int host_is_little_endian(void) {
  const unsigned short probe = 1;
  return *(const unsigned char*)&probe == 1;
}

/* The "sensor": reads the next frame into `buffer`. Returns 1 for a whole
 * frame, 0 at the end of the file exactly between frames, -1 on an error
 * (printed). */
static int acquire(FILE* file, const char* path, long frame, void* buffer, size_t frame_bytes,
                   int sample_bytes) {
  const size_t got = fread(buffer, 1, frame_bytes, file);
  if (got == frame_bytes) {
    if (sample_bytes == 2 && !host_is_little_endian()) {
      unsigned char* bytes = (unsigned char*)buffer;
      size_t i;
      for (i = 0; i + 1 < frame_bytes; i += 2) {
        const unsigned char low = bytes[i];
        bytes[i] = bytes[i + 1];
        bytes[i + 1] = low;
      }
    }
    return 1;
  }
  if (ferror(file)) {
    fprintf(stderr, "m2u_firmware_loop: error: %s: read error in frame %ld: %s\n", path, frame,
            strerror(errno));
    return -1;
  }
  if (got == 0) return 0;
  fprintf(stderr,
          "m2u_firmware_loop: error: %s: truncated frame %ld: the file ends %lu bytes into it, "
          "a frame is %lu bytes (file size %lu bytes = %ld whole frames + %lu bytes)\n",
          path, frame, (unsigned long)got, (unsigned long)frame_bytes,
          (unsigned long)((size_t)frame * frame_bytes + got), frame, (unsigned long)got);
  return -1;
}

static void usage(const char* program) {
  fprintf(stderr,
          "usage: %s MODEL.m2u FRAMES.raw WIDTH HEIGHT BITS [FRAMES]\n"
          "  BITS: 8 (bytes), 16 (16-bit little-endian), or 9..15 significant bits in\n"
          "  16-bit little-endian samples (12 for a 12-bit camera)\n",
          program);
}

int main(int argc, char** argv) {
  loop_state state;
  m2u_model_info info;
  m2u_engine_options options;
  m2u_status status;
  long width, height, bits, requested = -1;
  int sample_bytes, i;
  size_t frame_bytes, output_values, arena_bytes = 0, weight_bytes = 0;
  float threshold;
  double submitted_at[SLOTS];
  double total_ms = 0.0, max_ms = 0.0, started;
  long next = 0, completed = 0; /* next frame to acquire; frames completed */
  int end_of_stream = 0, stream_failed = 0;

  memset(&state, 0, sizeof state);
  if (argc != 6 && argc != 7) {
    usage(argv[0]);
    return 2;
  }
  if (!parse_int(argv[3], 1, 1 << 16, &width) || !parse_int(argv[4], 1, 1 << 16, &height) ||
      !parse_int(argv[5], 8, 16, &bits) || (argc == 7 && !parse_int(argv[6], 1, LONG_MAX, &requested))) {
    usage(argv[0]);
    return 2;
  }
  sample_bytes = bits == 8 ? 1 : 2;
  frame_bytes = (size_t)width * (size_t)height * (size_t)sample_bytes;

  /* The model and two engines, each with its own stream (options.stream NULL). */
  status = m2u_model_load(argv[1], &state.model);
  if (status != M2U_OK) {
    report("m2u_model_load", status, NULL);
    release(&state);
    return 1;
  }
  status = m2u_model_get_info(state.model, &info);
  if (status != M2U_OK) {
    report("m2u_model_get_info", status, NULL);
    release(&state);
    return 1;
  }
  m2u_engine_options_init(&options);
  options.max_batch = 1;
  options.max_width = (int)width;
  options.max_height = (int)height;
  /* Each engine captures its device work as a CUDA graph at its first frame
   * and replays it for every later one: the frames all have one layout, and
   * pinned slots go through the engine's own staging buffer. */
  options.cuda_graph = 1;
  for (i = 0; i < ENGINES; ++i) {
    status = m2u_engine_create(state.model, &options, &state.engines[i]);
    if (status != M2U_OK) {
      report("m2u_engine_create", status, NULL);
      release(&state);
      return 1;
    }
  }
  status = m2u_engine_memory(state.engines[0], &arena_bytes, &weight_bytes);
  if (status != M2U_OK) {
    report("m2u_engine_memory", status, state.engines[0]);
    release(&state);
    return 1;
  }
  /* The engines hold their own copy of the weights: the host model can go. */
  m2u_model_destroy(state.model);
  state.model = NULL;

  /* The ring of pinned buffers. */
  output_values = (size_t)info.out_channels * (size_t)width * (size_t)height;
  for (i = 0; i < SLOTS; ++i) {
    void* output = NULL;
    status = m2u_host_alloc(frame_bytes, &state.inputs[i]);
    if (status == M2U_OK) status = m2u_host_alloc(output_values * sizeof(float), &output);
    state.outputs[i] = (float*)output;
    if (status != M2U_OK) {
      report("m2u_host_alloc", status, NULL);
      release(&state);
      return 1;
    }
  }
  threshold = info.output_is_sigmoid ? 0.5f : 0.0f;

  state.file = fopen(argv[2], "rb");
  if (!state.file) {
    fprintf(stderr, "m2u_firmware_loop: error: %s: cannot open: %s\n", argv[2], strerror(errno));
    release(&state);
    return 1;
  }
  printf("m2u_firmware_loop: libm2urt %s; %s: %d -> %d channel(s)%s; frames %ldx%ld %s, %ld-bit "
         "(%lu bytes); %d engines x (%.1f MiB arena + %.1f MiB weights), %d pinned slots\n",
         m2u_version_string(), argv[1], info.in_channels, info.out_channels,
         info.output_is_sigmoid ? ", sigmoid" : "", width, height, bits == 8 ? "U8" : "U16 LE", bits,
         (unsigned long)frame_bytes, ENGINES, (double)arena_bytes / 1048576.0,
         (double)weight_bytes / 1048576.0, SLOTS);
  fflush(stdout);

  started = now_ms();
  /* Each round: acquire frame `next` into its slot (frames next-1 and next-2
   * may be in flight meanwhile); if both engines are busy, complete the
   * oldest frame in flight (next - ENGINES, on the engine frame `next` needs);
   * queue frame `next`. At the end of the stream, complete the rest in order. */
  for (;;) {
    int got = 0;
    if (!end_of_stream) {
      if (requested >= 0 && next == requested) {
        end_of_stream = 1;
      } else {
        got = acquire(state.file, argv[2], next, state.inputs[next % SLOTS], frame_bytes, sample_bytes);
        if (got <= 0) {
          /* End of the stream, or a sensor error (printed): complete the
           * frames in flight, then stop. */
          end_of_stream = 1;
          if (got < 0) {
            got = 0;
            stream_failed = 1;
          } else if (requested >= 0) {
            fprintf(stderr,
                    "m2u_firmware_loop: error: %s: %ld frames requested, the file holds %ld "
                    "(%lu bytes, %lu bytes a frame)\n",
                    argv[2], requested, next, (unsigned long)((size_t)next * frame_bytes),
                    (unsigned long)frame_bytes);
            stream_failed = 1;
          }
        }
      }
    }
    if (got ? next - completed == ENGINES : completed < next) {
      /* Complete frame `completed`: wait for its engine, read its slot. */
      const int slot = (int)(completed % SLOTS);
      m2u_engine* engine = state.engines[completed % ENGINES];
      const float* result = state.outputs[slot];
      size_t above = 0, v;
      double latency;
      status = m2u_engine_synchronize(engine);
      if (status != M2U_OK) {
        report("m2u_engine_synchronize", status, engine);
        release(&state);
        return 1;
      }
      latency = now_ms() - submitted_at[slot];
      for (v = 0; v < output_values; ++v) above += result[v] > threshold;
      printf("frame %ld: engine %ld, slot %d, latency %.3f ms, above %.1f: %.6f\n", completed,
             completed % ENGINES, slot, latency, (double)threshold, (double)above / (double)output_values);
      fflush(stdout); /* one line per frame, as it completes */
      total_ms += latency;
      if (latency > max_ms) max_ms = latency;
      ++completed;
    } else if (!got) {
      break; /* nothing acquired, nothing in flight */
    }
    if (got) {
      /* Queue frame `next` on its engine: with pinned memory on both sides
       * this returns once the copies and kernels are queued on its stream. */
      const int slot = (int)(next % SLOTS);
      m2u_engine* engine = state.engines[next % ENGINES];
      m2u_image input;
      m2u_image output;
      memset(&input, 0, sizeof input);
      input.data = state.inputs[slot];
      input.memory = M2U_MEMORY_PINNED;
      input.dtype = sample_bytes == 1 ? M2U_DTYPE_U8 : M2U_DTYPE_U16;
      input.batch = 1;
      input.channels = 1;
      input.height = (int)height;
      input.width = (int)width;
      input.significant_bits = sample_bytes == 2 ? (int)bits : 0;
      memset(&output, 0, sizeof output);
      output.data = state.outputs[slot];
      output.memory = M2U_MEMORY_PINNED;
      output.dtype = M2U_DTYPE_F32;
      output.batch = 1;
      output.channels = info.out_channels;
      output.height = (int)height;
      output.width = (int)width;
      submitted_at[slot] = now_ms();
      status = m2u_engine_run(engine, &input, &output);
      if (status != M2U_OK) {
        report("m2u_engine_run", status, engine);
        release(&state);
        return 1;
      }
      ++next;
    }
  }

  if (stream_failed) {
    release(&state);
    return 1;
  }
  if (completed == 0) {
    fprintf(stderr, "m2u_firmware_loop: error: %s: no frame in the file\n", argv[2]);
    release(&state);
    return 1;
  }
  printf("m2u_firmware_loop: %ld frames, latency mean %.3f ms, max %.3f ms, %.1f frames/s\n",
         completed, total_ms / (double)completed, max_ms,
         (double)completed * 1e3 / (now_ms() - started));
  release(&state);
  return 0;
}
