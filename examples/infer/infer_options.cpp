// infer_options.cpp - see infer_options.h.
#include "infer_options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "cli_numbers.h"
#include "m2urt.h"

namespace m2u_infer {

const char kUsage[] =
    "usage: m2u_infer --model MODEL.m2u --out DIR [options] INPUT...\n"
    "       m2u_infer --model MODEL.m2u --out DIR --dpc LEFT RIGHT [--flat LEFT_FLAT RIGHT_FLAT] [options]\n"
    "INPUT: image files (PNG, BMP, PGM; 8 or 16 bit), raw dumps (with --format), directories of\n"
    "       them, or - for standard input. Inputs must have different names (stems): their\n"
    "       outputs are DIR/STEM_*.\n"
    "options:\n"
    "  --format mono8|mono16|mono12|mono12p --width W --height H [--stride BYTES] [--offset BYTES]\n"
    "                         inputs are raw sensor dumps of this layout (mono12: 12 bits in 16,\n"
    "                         little-endian; mono12p: two pixels in three bytes, GenICam Mono12p);\n"
    "                         W and H at most 65535\n"
    "  --tile N [--overlap M] run tiles of at most N x N (N a multiple of 16) overlapping by 2M\n"
    "                         (default M 32), stitched into one map. The stitched map equals the\n"
    "                         whole frame's only when M >= 178, the network's receptive-field\n"
    "                         radius; with less, pixels near the seams differ (a warning says so).\n"
    "                         Default: the whole frame, padded to a multiple of 16\n"
    "  --tile-statistics frame|tile  per-image standardisation of tiles with the whole frame's\n"
    "                         statistics (default: equals the whole-frame result) or each tile's own\n"
    "  --threshold T          probability threshold in (0, 1) (default 0.5)\n"
    "  --otsu                 Otsu's threshold on the 8-bit probability instead (not with --threshold)\n"
    "  --min-area N           drop cells smaller than N pixels\n"
    "  --probability-bits 8|16  bit depth of the probability PNG (default 8)\n"
    "  --raw-output           also write the probability as raw float32 (row-major)\n"
    "  --precision fp32|fp16|int8  the network's precision (default fp32). fp16: half activations,\n"
    "                         half2 1x1 and depthwise convs (the Jetson Nano's fast path). int8: a\n"
    "                         model calibrated by m2u_calibrate; int8 activations, dp4a 1x1 convs on\n"
    "                         sm_61+ (Xavier, Orin); on the Nano (sm_53) correct but not faster.\n"
    "                         The JSON lists each layer's precision\n"
    "  --fuse-blocks          run each inverted-residual block that fits as one fused kernel (fp32\n"
    "                         and fp16; less DRAM traffic, a smaller arena)\n"
    "  --cuda-graph           capture each tile's (or the frame's) device work as a CUDA graph\n"
    "                         and replay it for every later input of the same size: one launch\n"
    "                         instead of ~60 (outputs unchanged)\n"    "  --profile N            for Nsight: one warm-up run of the first input, then the profiler\n"
    "                         (cudaProfilerStart/Stop) around the runs of the first N inputs;\n"
    "                         every layer is an NVTX range (README \"Profiling with Nsight\")\n"
    "  --quiet                no progress or per-input lines\n"
    "Outputs per input: STEM_probability.png, STEM_mask.png, STEM_labels.png (16 bit),\n"
    "STEM_overlay.png and STEM.json, the JSON written last: an input's outputs are complete\n"
    "when its JSON exists. Exit status 0 when every input succeeded, 1 when any failed,\n"
    "2 for bad usage.\n";

namespace {

using m2u_cli::parse_integer;

}  // namespace

bool parse_options(int argc, char** argv, Options* options, std::string* error, std::vector<std::string>* warnings) {
  auto need = [&](int& i, int count) {
    if (i + count >= argc) {
      *error = std::string(argv[i]) + " needs " + std::to_string(count) + " argument(s)";
      return false;
    }
    return true;
  };
  auto number = [&](int& i, long long low, long long high, long long* value) {
    if (!need(i, 1)) return false;
    if (!parse_integer(argv[++i], low, high, value)) {
      *error = std::string(argv[i - 1]) + " " + argv[i] + ": expected an integer in " + std::to_string(low) + ".." +
               std::to_string(high);
      return false;
    }
    return true;
  };
  bool overlap_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    long long value = 0;
    if (arg == "--model") {
      if (!need(i, 1)) return false;
      options->model = argv[++i];
    } else if (arg == "--out") {
      if (!need(i, 1)) return false;
      options->out = argv[++i];
    } else if (arg == "--dpc") {
      if (!need(i, 2)) return false;
      options->dpc = true;
      options->inputs.push_back(argv[++i]);
      options->inputs.push_back(argv[++i]);
    } else if (arg == "--flat") {
      if (!need(i, 2)) return false;
      options->flat_left = argv[++i];
      options->flat_right = argv[++i];
    } else if (arg == "--format") {
      if (!need(i, 1)) return false;
      options->layout.given = true;
      if (!parse_raw_format(argv[++i], &options->layout.format)) {
        *error = std::string("--format ") + argv[i] + ": expected mono8, mono16, mono12 or mono12p";
        return false;
      }
    } else if (arg == "--width" || arg == "--height") {
      if (!number(i, 1, kMaxDimension, &value)) return false;
      (arg == "--width" ? options->layout.width : options->layout.height) = static_cast<int>(value);
    } else if (arg == "--stride" || arg == "--offset") {
      if (!number(i, 0, 1LL << 40, &value)) return false;
      (arg == "--stride" ? options->layout.stride : options->layout.offset) = static_cast<size_t>(value);
    } else if (arg == "--tile") {
      if (!number(i, 16, kMaxDimension, &value)) return false;
      options->tile = static_cast<int>(value);
    } else if (arg == "--overlap") {
      if (!number(i, 0, kMaxDimension, &value)) return false;
      options->overlap = static_cast<int>(value);
      overlap_given = true;
    } else if (arg == "--threshold") {
      if (!need(i, 1)) return false;
      char* end = nullptr;
      const double parsed = std::strtod(argv[++i], &end);
      // The threshold is compared in float: it must be inside (0, 1) there.
      const float as_float = static_cast<float>(parsed);
      if (!end || end == argv[i] || *end || !(as_float > 0.0f && as_float < 1.0f)) {
        *error = std::string("--threshold ") + argv[i] + ": expected a number in (0, 1)" +
                 (parsed > 0.0 && parsed < 1.0 ? " that is not 0 or 1 as a float" : "");
        return false;
      }
      options->threshold = as_float;
      options->threshold_given = true;
    } else if (arg == "--tile-statistics") {
      if (!need(i, 1)) return false;
      const std::string which = argv[++i];
      if (which != "frame" && which != "tile") {
        *error = "--tile-statistics " + which + ": expected frame or tile";
        return false;
      }
      options->per_tile_statistics = which == "tile";
    } else if (arg == "--otsu") {
      options->otsu = true;
    } else if (arg == "--min-area") {
      if (!number(i, 0, 1LL << 40, &value)) return false;
      options->min_area = value;
    } else if (arg == "--probability-bits") {
      if (!number(i, 8, 16, &value) || (value != 8 && value != 16)) {
        *error = "--probability-bits: expected 8 or 16";
        return false;
      }
      options->probability_bits = static_cast<int>(value);
    } else if (arg == "--raw-output") {
      options->raw_output = true;
    } else if (arg == "--precision") {
      if (!need(i, 1)) return false;
      const std::string which = argv[++i];
      if (which != "fp32" && which != "fp16" && which != "int8") {
        *error = "--precision " + which + ": expected fp32, fp16 or int8";
        return false;
      }
      options->precision = which == "fp16" ? M2U_PRECISION_FP16 : which == "int8" ? M2U_PRECISION_INT8 : M2U_PRECISION_FP32;
    } else if (arg == "--profile") {
      if (!need(i, 1)) return false;
      long long value = 0;
      if (!m2u_cli::parse_integer(argv[++i], 1, 1000000, &value)) {
        *error = std::string("--profile ") + argv[i] + ": expected a number of inputs, 1..1000000";
        return false;
      }
      options->profile_frames = static_cast<int>(value);
    } else if (arg == "--fuse-blocks") {
      options->fuse_blocks = true;
    } else if (arg == "--cuda-graph") {
      options->cuda_graph = true;
    } else if (arg == "--quiet") {
      options->quiet = true;
    } else if (arg == "--help" || arg == "-h") {
      *error = "";
      return false;
    } else if (arg.size() > 1 && arg[0] == '-' && arg != "-") {
      *error = "unknown option " + arg;
      return false;
    } else {
      if (options->dpc) {
        *error = "--dpc takes exactly its LEFT and RIGHT inputs; " + arg + " is one too many";
        return false;
      }
      options->inputs.push_back(arg);
    }
  }
  const int keep = (options->tile - 2 * options->overlap) / 16 * 16;
  if (options->model.empty()) *error = "--model is required";
  else if (options->out.empty()) *error = "--out is required";
  else if (options->inputs.empty()) *error = "no input";
  else if (options->layout.given && (options->layout.width < 1 || options->layout.height < 1))
    *error = "--format needs --width and --height";
  else if (!options->layout.given && (options->layout.width || options->layout.height || options->layout.stride ||
                                      options->layout.offset))
    *error = "--width, --height, --stride and --offset describe raw dumps: give --format too";
  else if (!options->flat_left.empty() && !options->dpc)
    *error = "--flat goes with --dpc";
  else if (options->otsu && options->threshold_given)
    *error = "--otsu and --threshold exclude each other: Otsu's method chooses the threshold";
  else if (options->tile % 16 != 0)
    *error = "--tile " + std::to_string(options->tile) + " must be a positive multiple of 16";
  else if (options->tile && keep < 16)
    *error = "--overlap " + std::to_string(options->overlap) + " leaves less than 16 pixels of a " +
             std::to_string(options->tile) + "-pixel tile to keep (tile - 2 x overlap must be at least 16)";
  else if (!options->tile && (overlap_given || options->per_tile_statistics))
    *error = "--overlap and --tile-statistics go with --tile";
  if (!error->empty()) return false;
  if (options->tile && options->overlap < M2U_RECEPTIVE_FIELD_RADIUS) {
    warnings->push_back("--overlap " + std::to_string(options->overlap) + " is below the network's receptive-field radius (" +
                        std::to_string(M2U_RECEPTIVE_FIELD_RADIUS) +
                        " pixels): the tiled map will differ from the whole-frame one near the tile seams");
  }
  return true;
}

}  // namespace m2u_infer
