// summary_json.cpp - see summary_json.h.
#include "summary_json.h"

#include <cstdio>
#include <sstream>

namespace m2u_infer {

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
          out += escaped;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::vector<m2u_layer_info> layer_precisions(const m2u_pipeline* pipeline) {
  std::vector<m2u_layer_info> layers;
  int count = 0;
  if (m2u_pipeline_layer_count(pipeline, &count) != M2U_OK) return layers;
  for (int i = 0; i < count; ++i) {
    m2u_layer_info info;
    info.struct_size = sizeof(info);
    if (m2u_pipeline_get_layer(pipeline, i, &info) != M2U_OK) return {};
    layers.push_back(info);
  }
  return layers;
}

std::string summary_json(const Summary& s) {
  std::ostringstream out;
  out.precision(6);
  out << "{\n";
  out << "  \"input\": " << json_string(s.input) << ",\n";
  out << "  \"model\": " << json_string(s.model) << ",\n";
  out << "  \"precision\": " << json_string(s.precision) << ",\n";
  if (!s.precision_note.empty()) out << "  \"precision_note\": " << json_string(s.precision_note) << ",\n";
  out << "  \"layer_precision\": [";
  for (size_t i = 0; i < s.layers.size(); ++i) {
    const m2u_layer_info& l = s.layers[i];
    out << (i ? ",\n    " : "\n    ") << "{\"layer\": " << json_string(l.name) << ", \"storage\": "
        << json_string(l.storage) << ", \"arithmetic\": " << json_string(l.arithmetic) << "}";
  }
  out << (s.layers.empty() ? "],\n" : "\n  ],\n");
  out << "  \"device\": " << json_string(s.device) << ",\n";
  out << "  \"width\": " << s.width << ",\n  \"height\": " << s.height << ",\n";
  out << "  \"tiling\": " << (s.tile ? "{\"tile\": " + std::to_string(s.tile) + ", \"overlap\": " +
                                           std::to_string(s.overlap) + ", \"statistics\": " +
                                           json_string(s.tile_statistics) + ", \"tiles\": " +
                                           std::to_string(s.tiles) + ", \"seamless\": " +
                                           (s.overlap >= M2U_RECEPTIVE_FIELD_RADIUS ? "true" : "false") + "}"
                                     : std::string("null"))
      << ",\n";
  out << "  \"threshold\": {\"method\": " << json_string(s.threshold_method) << ", \"value\": " << s.threshold;
  if (s.otsu_threshold_8bit >= 0) out << ", \"otsu_8bit\": " << s.otsu_threshold_8bit;
  out << "},\n";
  out << "  \"foreground_fraction\": " << s.foreground_fraction << ",\n";
  out << "  \"cell_count\": " << s.cells.size() << ",\n";
  out << "  \"cells\": [";
  for (size_t i = 0; i < s.cells.size(); ++i) {
    const m2u_cell& c = s.cells[i];
    out << (i ? ",\n    " : "\n    ") << "{\"label\": " << c.label << ", \"area\": " << c.area
        << ", \"centroid\": [" << c.centroid_x << ", " << c.centroid_y << "]}";
  }
  out << (s.cells.empty() ? "],\n" : "\n  ],\n");
  out << "  \"timings_ms\": {";
  for (size_t i = 0; i < s.timings.size(); ++i) {
    out << (i ? ", " : "") << json_string(s.timings[i].first) << ": "
        << s.timings[i].second;
  }
  out << "}\n}\n";
  return out.str();
}

}  // namespace m2u_infer
