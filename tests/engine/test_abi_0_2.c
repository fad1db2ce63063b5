/* test_abi_0_2.c - engine options across library versions, as a plain C
 * caller linked to libm2urt.so sees them.
 *
 * 1. A caller built against m2urt 0.2, whose m2u_engine_options had no
 *    struct_size: it calls the symbols m2u_engine_options_init and
 *    m2u_engine_create with the 0.2 layout (declared here exactly as the
 *    0.2 header had it). The defaults come back without a byte written past
 *    the 0.2 struct, and its engine gives the same probabilities, bit for
 *    bit, as one made through today's header.
 * 2. A caller of a later header whose struct is shorter than today's: a
 *    struct_size that ends before `precision` gets the FP32 default, and
 *    m2u_engine_options_init_sized writes no byte past the size it is given.
 * 3. A struct_size too small to hold the frame size is refused by name.
 * Exit 0 when every check passes; each failure prints one line. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "m2urt.h"

#undef m2u_engine_options_init
#undef m2u_engine_create

typedef struct engine_options_0_2 {
  int max_batch;
  int max_height;
  int max_width;
  m2u_precision precision;
  int device;
  void* stream;
} engine_options_0_2;

void m2u_engine_options_init(engine_options_0_2* options);
m2u_status m2u_engine_create(const m2u_model* model, const engine_options_0_2* options, m2u_engine** engine);

enum { kHeight = 21, kWidth = 37, kGuard = 64 };

static int failures = 0;

static void check(int ok, const char* what) {
  if (!ok) {
    printf("FAIL: %s (%s)\n", what, m2u_last_error());
    ++failures;
  }
}

static int guard_intact(const unsigned char* guard) {
  for (int i = 0; i < kGuard; ++i)
    if (guard[i] != 0xA5) return 0;
  return 1;
}

/* The probabilities of a fixed U8 frame. */
static int run_frame(m2u_engine* engine, float* probabilities) {
  static unsigned char frame[kHeight * kWidth];
  for (int i = 0; i < kHeight * kWidth; ++i) frame[i] = (unsigned char)((i * 37) % 251);
  m2u_image in;
  memset(&in, 0, sizeof(in));
  in.data = frame;
  in.memory = M2U_MEMORY_HOST;
  in.dtype = M2U_DTYPE_U8;
  in.batch = 1;
  in.channels = 1;
  in.height = kHeight;
  in.width = kWidth;
  m2u_image out = in;
  out.data = probabilities;
  out.dtype = M2U_DTYPE_F32;
  return m2u_engine_run(engine, &in, &out) == M2U_OK;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    printf("usage: %s MODEL.m2u\n", argv[0]);
    return 2;
  }
  m2u_model* model = NULL;
  if (m2u_model_load(argv[1], &model) != M2U_OK) {
    printf("FAIL: loading %s: %s\n", argv[1], m2u_last_error());
    return 1;
  }

  /* 1. The 0.2 caller. */
  struct {
    engine_options_0_2 options;
    unsigned char guard[kGuard];
  } old;
  memset(&old, 0xA5, sizeof(old));
  m2u_engine_options_init(&old.options);
  check(old.options.max_batch == 1 && old.options.max_height == 512 && old.options.max_width == 512 &&
            old.options.precision == M2U_PRECISION_FP32 && old.options.device == 0 && old.options.stream == NULL,
        "0.2 layout: the defaults");
  check(guard_intact(old.guard), "0.2 layout: nothing written past the 0.2 struct");
  old.options.max_height = kHeight;
  old.options.max_width = kWidth;
  m2u_engine* old_engine = NULL;
  check(m2u_engine_create(model, &old.options, &old_engine) == M2U_OK, "0.2 layout: engine created");

  m2u_engine_options options;
  m2u_engine_options_init_sized(&options, sizeof(options));
  options.max_height = kHeight;
  options.max_width = kWidth;
  m2u_engine* engine = NULL;
  check(m2u_engine_create_sized(model, &options, &engine) == M2U_OK, "today's layout: engine created");
  static float old_probabilities[kHeight * kWidth], probabilities[kHeight * kWidth];
  if (old_engine && engine) {
    check(run_frame(old_engine, old_probabilities), "0.2 layout: run");
    check(run_frame(engine, probabilities), "today's layout: run");
    check(memcmp(old_probabilities, probabilities, sizeof(probabilities)) == 0,
          "0.2 layout: the same probabilities as today's");
  }
  m2u_engine_destroy(old_engine);
  m2u_engine_destroy(engine);

  /* 2. A shorter struct of a later header: it ends before `precision`. */
  const size_t short_size = offsetof(m2u_engine_options, precision);
  struct {
    m2u_engine_options options;
    unsigned char guard[kGuard];
  } shorter;
  memset(&shorter, 0xA5, sizeof(shorter));
  m2u_engine_options_init_sized(&shorter.options, short_size);
  const unsigned char* bytes = (const unsigned char*)&shorter.options;
  int untouched = 1;
  for (size_t i = short_size; i < sizeof(shorter.options); ++i) untouched &= bytes[i] == 0xA5;
  check(untouched && guard_intact(shorter.guard), "short struct: nothing written past struct_size");
  check(shorter.options.struct_size == short_size && shorter.options.max_height == 512,
        "short struct: struct_size and defaults");
  shorter.options.max_height = kHeight;
  shorter.options.max_width = kWidth;
  shorter.options.precision = (m2u_precision)12345; /* past struct_size: must not be read */
  engine = NULL;
  check(m2u_engine_create_sized(model, &shorter.options, &engine) == M2U_OK, "short struct: engine created");
  if (engine) {
    static float short_probabilities[kHeight * kWidth];
    check(run_frame(engine, short_probabilities) &&
              memcmp(short_probabilities, probabilities, sizeof(probabilities)) == 0,
          "short struct: FP32, the same probabilities");
  }
  m2u_engine_destroy(engine);

  /* 3. Too small to hold the frame size. */
  shorter.options.struct_size = offsetof(m2u_engine_options, max_height);
  engine = NULL;
  check(m2u_engine_create_sized(model, &shorter.options, &engine) == M2U_ERROR_INVALID_ARGUMENT && engine == NULL &&
            strstr(m2u_last_error(), "call m2u_engine_options_init") != NULL,
        "struct_size too small: refused, naming m2u_engine_options_init");

  m2u_model_destroy(model);
  if (failures == 0) printf("engine options ABI: 0.2 layout, shorter struct and too-small struct all pass\n");
  return failures == 0 ? 0 : 1;
}
