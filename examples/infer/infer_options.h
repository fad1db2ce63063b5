// infer_options.h - m2u_infer's command line: the options, their parsing
// and checks (every limit checked here, before any input is read), and the
// usage text.
#ifndef M2U_EXAMPLES_INFER_INFER_OPTIONS_H
#define M2U_EXAMPLES_INFER_INFER_OPTIONS_H

#include <string>
#include <vector>

#include "frame_source.h"
#include "m2urt.h"

namespace m2u_infer {

extern const char kUsage[];

struct Options {
  std::string model;
  std::string out;
  std::vector<std::string> inputs;
  bool dpc = false;
  std::string flat_left, flat_right;
  RawLayout layout;
  int tile = 0;
  int overlap = 32;
  float threshold = 0.5f;
  bool threshold_given = false;
  bool otsu = false;
  long long min_area = 0;
  int probability_bits = 8;
  bool raw_output = false;
  bool quiet = false;
  bool per_tile_statistics = false;
  m2u_precision precision = M2U_PRECISION_FP32;  // --precision
  bool fuse_blocks = false;                       // --fuse-blocks
  bool cuda_graph = false;                        // --cuda-graph
  int profile_frames = 0;                         // --profile N (0: no profiler calls)
};

// Fills *options. Returns false with *error on bad usage ("" for --help);
// *warnings gets what is allowed but probably not meant (e.g. an overlap
// below the receptive field).
bool parse_options(int argc, char** argv, Options* options, std::string* error, std::vector<std::string>* warnings);

}  // namespace m2u_infer

#endif  // M2U_EXAMPLES_INFER_INFER_OPTIONS_H
