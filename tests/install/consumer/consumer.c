/* consumer.c - the smallest program on an installed libm2urt: the install
 * test (tests/install/run_install_test.sh) builds it against the installed
 * package, with CMake (find_package) and with pkg-config, shared and static.
 * Plain C99, only <m2urt.h>.
 *
 * Usage: consumer MODEL.m2u
 * Loads the model, makes an engine for 48 x 80 frames, runs one U8 grey
 * frame (a fixed pattern) from ordinary host memory and prints the fraction
 * of output values above 0.5. Exit status 0 on success, 1 on any error. */
#include <stdio.h>
#include <stdlib.h>

#include <m2urt.h>

#define HEIGHT 48
#define WIDTH 80

int main(int argc, char** argv) {
  m2u_model* model = NULL;
  m2u_engine* engine = NULL;
  m2u_model_info info;
  m2u_engine_options options;
  m2u_image input = {0};
  m2u_image output = {0};
  unsigned char frame[HEIGHT * WIDTH];
  float* probabilities = NULL;
  size_t values, above = 0, i;
  m2u_status status;
  int x, y, result = 1;

  if (argc != 2) {
    fprintf(stderr, "usage: %s MODEL.m2u\n", argv[0]);
    return 1;
  }
  status = m2u_model_load(argv[1], &model);
  if (status != M2U_OK) {
    fprintf(stderr, "consumer: %s: %s\n", m2u_status_string(status), m2u_last_error());
    return 1;
  }
  status = m2u_model_get_info(model, &info);
  if (status != M2U_OK) {
    fprintf(stderr, "consumer: %s: %s\n", m2u_status_string(status), m2u_last_error());
    goto done;
  }
  m2u_engine_options_init(&options);
  options.max_height = HEIGHT;
  options.max_width = WIDTH;
  status = m2u_engine_create(model, &options, &engine);
  if (status != M2U_OK) {
    fprintf(stderr, "consumer: %s: %s\n", m2u_status_string(status), m2u_last_error());
    goto done;
  }

  for (y = 0; y < HEIGHT; ++y) {
    for (x = 0; x < WIDTH; ++x) frame[y * WIDTH + x] = (unsigned char)((x * 7 + y * 13 + x * y) & 0xFF);
  }
  values = (size_t)info.out_channels * HEIGHT * WIDTH;
  probabilities = (float*)malloc(values * sizeof(float));
  if (!probabilities) {
    fprintf(stderr, "consumer: out of memory\n");
    goto done;
  }
  input.data = frame;
  input.memory = M2U_MEMORY_HOST;
  input.dtype = M2U_DTYPE_U8;
  input.batch = 1;
  input.channels = 1;
  input.height = HEIGHT;
  input.width = WIDTH;
  output.data = probabilities;
  output.memory = M2U_MEMORY_HOST;
  output.dtype = M2U_DTYPE_F32;
  output.batch = 1;
  output.channels = info.out_channels;
  output.height = HEIGHT;
  output.width = WIDTH;
  status = m2u_engine_run(engine, &input, &output);
  if (status != M2U_OK) {
    fprintf(stderr, "consumer: %s: %s\n", m2u_status_string(status), m2u_engine_last_error(engine));
    goto done;
  }
  for (i = 0; i < values; ++i) above += probabilities[i] > 0.5f;
  printf("consumer: libm2urt %s, %dx%d, %d output channel(s), above 0.5: %.6f\n", m2u_version_string(),
         WIDTH, HEIGHT, info.out_channels, (double)above / (double)values);
  result = 0;

done:
  free(probabilities);
  m2u_engine_destroy(engine);
  m2u_model_destroy(model);
  return result;
}
