/* m2u_make_test_frames.c - writes a raw frame file for m2u_firmware_loop's
 * tests (examples/CMakeLists.txt): what a grey sensor would deliver, a
 * bright disc moving over a dark gradient with pseudo-random noise
 * (seeded, the same bytes everywhere).
 *
 * Usage: m2u_make_test_frames OUT.raw WIDTH HEIGHT BITS FRAMES [DROP_BYTES]
 *   BITS 8: one byte a sample; 9..16: 16-bit little-endian samples of which
 *   BITS are significant. DROP_BYTES leaves that many bytes off the end (a
 *   file that ends inside its last frame). Exit status 0, or 1 on error. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  long width, height, bits, frames, drop = 0, frame, x, y, total, written = 0;
  unsigned long state = 12345u;
  FILE* file;

  if (argc != 6 && argc != 7) {
    fprintf(stderr, "usage: %s OUT.raw WIDTH HEIGHT BITS FRAMES [DROP_BYTES]\n", argv[0]);
    return 1;
  }
  width = strtol(argv[2], NULL, 10);
  height = strtol(argv[3], NULL, 10);
  bits = strtol(argv[4], NULL, 10);
  frames = strtol(argv[5], NULL, 10);
  if (argc == 7) drop = strtol(argv[6], NULL, 10);
  total = width * height * frames * (bits == 8 ? 1 : 2) - drop;
  if (width < 1 || height < 1 || bits < 8 || bits > 16 || frames < 0 || drop < 0 || total < 0) {
    fprintf(stderr, "%s: bad arguments\n", argv[0]);
    return 1;
  }
  file = fopen(argv[1], "wb");
  if (!file) {
    perror(argv[1]);
    return 1;
  }
  for (frame = 0; frame < frames; ++frame) {
    const double cx = width * (0.3 + 0.2 * (double)frame / (frames > 1 ? frames - 1 : 1));
    const double cy = height * 0.5;
    const double r = (width < height ? width : height) * 0.3;
    for (y = 0; y < height; ++y) {
      for (x = 0; x < width; ++x) {
        const double inside = (x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r;
        const double noise = (double)((state = state * 1103515245u + 12345u) >> 16 & 0x7FFF) / 32767.0;
        double v = 0.15 + 0.2 * (double)x / (double)width + 0.5 * inside + 0.1 * noise;
        const unsigned long max = (1ul << bits) - 1ul;
        unsigned long sample;
        unsigned char bytes[2];
        int n = 0, i;
        if (v > 1.0) v = 1.0;
        sample = (unsigned long)(v * (double)max + 0.5);
        bytes[n++] = (unsigned char)(sample & 0xFF);
        if (bits > 8) bytes[n++] = (unsigned char)(sample >> 8);
        for (i = 0; i < n && written < total; ++i, ++written) {
          if (fputc(bytes[i], file) == EOF) {
            perror(argv[1]);
            fclose(file);
            return 1;
          }
        }
      }
    }
  }
  if (fclose(file) != 0) {
    perror(argv[1]);
    return 1;
  }
  printf("%s: %ld frames of %ldx%ld, %ld bits, %ld bytes\n", argv[1], frames, width, height, bits, total);
  return 0;
}
