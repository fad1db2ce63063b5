// m2u_calibrate - INT8 calibration from the user's own frames: runs the
// model in FP32 on the GPU over every input, gathers each activation's
// statistics there, and writes a copy of the model with the activation
// scales (libm2urt's m2u_calibrator_*; m2urt.h only).
//
//   m2u_calibrate --model M.m2u --out M_int8.m2u [--method percentile|minmax|entropy]
//                 [--format mono8|mono16|mono12|mono12p --width W --height H
//                  [--stride B] [--offset B]] INPUT...
//
// INPUT: what m2u_infer takes (PNG / BMP / PGM images, raw sensor dumps with
// --format, directories of them, - for standard input), in the form the
// model sees (e.g. DPC images for a DPC model). The model file is never
// overwritten (--out naming it is refused); --out is written through a
// temporary file. Exit status 0, 1 on a failed input or calibration, 2 on
// bad usage.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "frame_source.h"
#include "m2urt.h"

namespace {

using m2u_infer::HostFrame;
using m2u_infer::RawLayout;

const char kUsage[] =
    "usage: m2u_calibrate --model M.m2u --out M_int8.m2u [--method percentile|minmax|entropy]\n"
    "                     [--format mono8|mono16|mono12|mono12p --width W --height H [--stride B] [--offset B]]\n"
    "                     INPUT...\n"
    "Runs the model in FP32 over the inputs (images, raw dumps with --format, directories, -)\n"
    "and writes a copy with INT8 activation scales. --method: percentile (default: clip at the\n"
    "99.99th percentile of each activation's magnitude), minmax (no clipping), entropy (the\n"
    "clipping whose 8-bit histogram is closest to the real one; clips too much for the real\n"
    "Octopi model: mask IoU 0.37 against FP32, where percentile and minmax reach 0.985).\n"
    "Calibrate on frames like the ones the INT8 model will see, not on the ones it is judged on.\n";

struct Options {
  std::string model, out;
  m2u_calibration_method method = M2U_CALIBRATION_PERCENTILE;
  RawLayout layout;
  std::vector<std::string> inputs;
};

bool parse(int argc, char** argv, Options* o, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    auto value = [&]() -> const char* { return argv[++i]; };
    if (arg == "--help" || arg == "-h") {
      *error = "";
      return false;
    } else if ((arg == "--model" || arg == "--out" || arg == "--method" || arg == "--format" || arg == "--width" ||
                arg == "--height" || arg == "--stride" || arg == "--offset") && !has_value) {
      *error = arg + " needs a value";
      return false;
    } else if (arg == "--model") {
      o->model = value();
    } else if (arg == "--out") {
      o->out = value();
    } else if (arg == "--method") {
      const std::string m = value();
      if (m == "entropy") o->method = M2U_CALIBRATION_ENTROPY;
      else if (m == "percentile") o->method = M2U_CALIBRATION_PERCENTILE;
      else if (m == "minmax") o->method = M2U_CALIBRATION_MINMAX;
      else {
        *error = "--method " + m + ": expected entropy, percentile or minmax";
        return false;
      }
    } else if (m2u_infer::is_raw_layout_option(arg)) {
      if (!m2u_infer::apply_raw_layout_option(arg, value(), &o->layout, error)) return false;
    } else if (arg.size() > 1 && arg[0] == '-') {
      *error = "unknown option " + arg;
      return false;
    } else {
      o->inputs.push_back(arg);
    }
  }
  if (o->model.empty()) *error = "--model is required";
  else if (o->out.empty()) *error = "--out is required";
  else if (o->inputs.empty()) *error = "no input: calibration needs frames";
  else if (o->layout.given && (o->layout.width < 1 || o->layout.height < 1)) *error = "--format needs --width and --height";
  return error->empty();
}

// True when both paths name one existing file.
bool same_file(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int run(int argc, char** argv) {
  Options options;
  std::string error;
  if (!parse(argc, argv, &options, &error)) {
    if (error.empty()) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::fprintf(stderr, "m2u_calibrate: %s\n%s", error.c_str(), kUsage);
    return 2;
  }
  if (options.out == options.model || same_file(options.out, options.model)) {
    std::fprintf(stderr, "m2u_calibrate: --out %s is the model itself; the input file is never overwritten\n",
                 options.out.c_str());
    return 2;
  }
  std::vector<std::string> paths;
  for (const std::string& input : options.inputs) {
    std::vector<std::string> listed;
    std::string listing_error;
    if (input != "-" && m2u_infer::list_directory(input, options.layout.given, &listed, &listing_error)) {
      paths.insert(paths.end(), listed.begin(), listed.end());
    } else if (input != "-" && listing_error.find(": no ") != std::string::npos) {
      std::fprintf(stderr, "m2u_calibrate: %s\n", listing_error.c_str());
      return 1;
    } else {
      paths.push_back(input);
    }
  }
  std::vector<HostFrame> frames(paths.size());
  int max_height = 16, max_width = 16;
  for (size_t i = 0; i < paths.size(); ++i) {
    if (!m2u_infer::read_frame(paths[i], options.layout, &frames[i], &error)) {
      std::fprintf(stderr, "m2u_calibrate: %s\n", error.c_str());
      return 1;
    }
    max_height = std::max(max_height, frames[i].height);
    max_width = std::max(max_width, frames[i].width);
  }
  m2u_model* model = nullptr;
  if (m2u_model_load(options.model.c_str(), &model) != M2U_OK) {
    std::fprintf(stderr, "m2u_calibrate: %s\n", m2u_last_error());
    return 1;
  }
  m2u_calibrator_options calibrator_options;
  m2u_calibrator_options_init(&calibrator_options);
  calibrator_options.max_height = max_height;
  calibrator_options.max_width = max_width;
  calibrator_options.method = options.method;
  m2u_calibrator* calibrator = nullptr;
  if (m2u_calibrator_create(model, &calibrator_options, &calibrator) != M2U_OK) {
    std::fprintf(stderr, "m2u_calibrate: %s\n", m2u_last_error());
    m2u_model_destroy(model);
    return 1;
  }
  int status = 0;
  for (size_t i = 0; i < frames.size() && status == 0; ++i) {
    std::vector<uint16_t> unpacked;
    const m2u_image image = m2u_infer::image_of(frames[i], &unpacked);
    if (m2u_calibrator_add_frames(calibrator, &image) != M2U_OK) {
      std::fprintf(stderr, "m2u_calibrate: %s: %s\n", frames[i].name.c_str(), m2u_calibrator_last_error(calibrator));
      status = 1;
    }
  }
  const auto start = std::chrono::steady_clock::now();
  if (status == 0 && m2u_calibrator_save(calibrator, options.out.c_str()) != M2U_OK) {
    std::fprintf(stderr, "m2u_calibrate: %s\n", m2u_calibrator_last_error(calibrator));
    status = 1;
  }
  if (status == 0) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    int count = 0;
    m2u_calibrator_scale_count(calibrator, &count);
    float smallest = 0.0f, largest = 0.0f;
    for (int i = 0; i < count; ++i) {
      const char* name = nullptr;
      float scale = 0.0f;
      m2u_calibrator_get_scale(calibrator, i, &name, &scale);
      smallest = i == 0 ? scale : std::min(smallest, scale);
      largest = std::max(largest, scale);
    }
    const char* methods[] = {"entropy", "percentile", "minmax"};
    std::printf("m2u_calibrate: %zu frame(s), %s: %d activation scales (%.3g .. %.3g) in %s (%.1f s)\n",
                frames.size(), methods[options.method], count, smallest, largest, options.out.c_str(), seconds);
  }
  m2u_calibrator_destroy(calibrator);
  m2u_model_destroy(model);
  return status;
}

}  // namespace

int main(int argc, char** argv) { return run(argc, argv); }
