// summary_json.h - m2u_infer's JSON summary of one input: model,
// precision, device, input size, tiling, threshold, cell count and cells,
// per-stage timings.
#ifndef M2U_EXAMPLES_INFER_SUMMARY_JSON_H
#define M2U_EXAMPLES_INFER_SUMMARY_JSON_H

#include <string>
#include <utility>
#include <vector>

#include "m2urt.h"

namespace m2u_infer {

struct Summary {
  std::string input;
  std::string model;
  std::string device;
  int width = 0;
  int height = 0;
  int tile = 0;      // 0: whole frame
  int overlap = 0;
  int tiles = 1;     // tiles run
  std::string tile_statistics;  // "frame" or "tile" (per-image standardisation of tiles)
  std::string threshold_method;  // "fixed" or "otsu"
  std::string precision = "fp32";  // "fp32", "fp16" or "int8"
  std::vector<m2u_layer_info> layers;  // each step's precision (m2u_pipeline_get_layer)
  std::string precision_note;          // e.g. INT8 on a GPU without dp4a; "" none
  double threshold = 0.5;
  int otsu_threshold_8bit = -1;
  double foreground_fraction = 0.0;
  std::vector<m2u_cell> cells;
  std::vector<std::pair<std::string, double>> timings;  // name, milliseconds
};

std::string summary_json(const Summary& summary);

// Every step of the pipeline's network with its precision; empty when the
// library cannot say.
std::vector<m2u_layer_info> layer_precisions(const m2u_pipeline* pipeline);

// `text` as a JSON string literal (quotes, backslashes, control characters
// escaped; bytes >= 0x80 passed through as UTF-8).
std::string json_string(const std::string& text);

}  // namespace m2u_infer

#endif  // M2U_EXAMPLES_INFER_SUMMARY_JSON_H
