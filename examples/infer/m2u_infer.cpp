// m2u_infer.cpp - raw sensor dumps or images in, cell masks out.
//
//   m2u_infer --model MODEL.m2u --out DIR [options] INPUT...
//   m2u_infer --model MODEL.m2u --out DIR --dpc LEFT RIGHT [--flat LF RF] [options]
//
// Per input: pixels -> (unpack, flat-field, DPC on the GPU) -> intensity in
// [0, 1] -> M2U-Net (libm2urt; the model's input convention on the GPU;
// whole frame or tiles) -> probability -> threshold (fixed or Otsu on the
// GPU's 8-bit histogram) -> mask -> connected components on the CPU ->
// probability / mask / label / overlay PNGs and a JSON summary. Every
// output of an input is written to a temporary name and renamed only when
// all of them are complete. Exit status 0 when every input succeeded, 1 when
// any failed (each failure a one-line message naming the file and the
// numbers), 2 for bad usage.
#include <cuda_runtime_api.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "components.h"
#include "dpc_kernels.h"
#include "frame_source.h"
#include "io_kernels.h"
#include "m2urt.h"
#include "mask_kernels.h"
#include "otsu.h"
#include "output_files.h"
#include "overlay.h"
#include "png_write.h"
#include "raw_kernels.h"
#include "summary_json.h"
#include "tiling.h"

namespace m2u_infer {
namespace {

const char kUsage[] =
    "usage: m2u_infer --model MODEL.m2u --out DIR [options] INPUT...\n"
    "       m2u_infer --model MODEL.m2u --out DIR --dpc LEFT RIGHT [--flat LEFT_FLAT RIGHT_FLAT] [options]\n"
    "INPUT: image files (PNG, BMP, PGM; 8 or 16 bit), raw dumps (with --format), directories of\n"
    "       them, or - for standard input\n"
    "options:\n"
    "  --format mono8|mono16|mono12|mono12p --width W --height H [--stride BYTES] [--offset BYTES]\n"
    "                         inputs are raw sensor dumps of this layout (mono12: 12 bits in 16,\n"
    "                         little-endian; mono12p: two pixels in three bytes, GenICam Mono12p)\n"
    "  --tile N [--overlap M] run N x N tiles (N a multiple of 16) overlapping by 2M, stitched\n"
    "                         without seams (default: the whole frame, padded to a multiple of 16)\n"
    "  --tile-statistics frame|tile  per-image standardisation of tiles with the whole frame's\n"
    "                         statistics (default: equals the whole-frame result) or each tile's own\n"
    "  --threshold T          probability threshold in (0, 1) (default 0.5)\n"
    "  --otsu                 Otsu's threshold on the 8-bit probability instead\n"
    "  --min-area N           drop cells smaller than N pixels\n"
    "  --probability-bits 8|16  bit depth of the probability PNG (default 8)\n"
    "  --raw-output           also write the probability as raw float32 (row-major)\n"
    "  --quiet                no progress or per-input lines\n";

struct Options {
  std::string model;
  std::string out;
  std::vector<std::string> inputs;
  bool dpc = false;
  std::string flat_left, flat_right;
  RawLayout layout;
  int tile = 0;
  int overlap = 32;
  double threshold = 0.5;
  bool otsu = false;
  long min_area = 0;
  int probability_bits = 8;
  bool raw_output = false;
  bool quiet = false;
  bool per_tile_statistics = false;
};

bool parse_int(const char* text, long low, long high, long* value) {
  char* end = nullptr;
  errno = 0;
  const long parsed = std::strtol(text, &end, 10);
  if (errno || !end || *end || parsed < low || parsed > high) return false;
  *value = parsed;
  return true;
}

// Fills *options; returns false with *error on bad usage.
bool parse_options(int argc, char** argv, Options* options, std::string* error) {
  auto need = [&](int& i, int count) {
    if (i + count >= argc) {
      *error = std::string(argv[i]) + " needs " + std::to_string(count) + " argument(s)";
      return false;
    }
    return true;
  };
  auto number = [&](int& i, long low, long high, long* value) {
    if (!need(i, 1)) return false;
    if (!parse_int(argv[++i], low, high, value)) {
      *error = std::string(argv[i - 1]) + " " + argv[i] + ": expected an integer in " + std::to_string(low) + ".." +
               std::to_string(high);
      return false;
    }
    return true;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    long value = 0;
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
      if (!number(i, 1, 65536, &value)) return false;
      (arg == "--width" ? options->layout.width : options->layout.height) = static_cast<int>(value);
    } else if (arg == "--stride" || arg == "--offset") {
      if (!number(i, 0, 1L << 40, &value)) return false;
      (arg == "--stride" ? options->layout.stride : options->layout.offset) = static_cast<size_t>(value);
    } else if (arg == "--tile") {
      if (!number(i, 16, 65536, &value)) return false;
      options->tile = static_cast<int>(value);
    } else if (arg == "--overlap") {
      if (!number(i, 0, 65536, &value)) return false;
      options->overlap = static_cast<int>(value);
    } else if (arg == "--threshold") {
      if (!need(i, 1)) return false;
      char* end = nullptr;
      options->threshold = std::strtod(argv[++i], &end);
      if (!end || *end || !(options->threshold > 0.0 && options->threshold < 1.0)) {
        *error = std::string("--threshold ") + argv[i] + ": expected a number in (0, 1)";
        return false;
      }
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
      if (!number(i, 0, 1L << 40, &value)) return false;
      options->min_area = value;
    } else if (arg == "--probability-bits") {
      if (!number(i, 8, 16, &value) || (value != 8 && value != 16)) {
        *error = "--probability-bits: expected 8 or 16";
        return false;
      }
      options->probability_bits = static_cast<int>(value);
    } else if (arg == "--raw-output") {
      options->raw_output = true;
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
  else if (options->tile % 16 != 0)
    *error = "--tile " + std::to_string(options->tile) + " must be a positive multiple of 16";
  return error->empty();
}

double milliseconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// A device allocation owned by the pipeline (the engine owns its own).
template <typename T>
class DeviceArray {
 public:
  DeviceArray() = default;
  ~DeviceArray() { cudaFree(data_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  cudaError_t allocate(size_t count) {
    cudaFree(data_);
    data_ = nullptr;
    return cudaMalloc(reinterpret_cast<void**>(&data_), count * sizeof(T));
  }
  T* get() const { return data_; }

 private:
  T* data_ = nullptr;
};

std::string stem_of(const std::string& path) {
  if (path == "stdin") return "stdin";
  const size_t slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = name.find_last_of('.');
  return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

class Pipeline {
 public:
  Pipeline(const Options& options, m2u_model* model) : options_(options), model_(model) {}
  ~Pipeline() {
    m2u_engine_destroy(engine_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  bool init(std::string* error) {
    if (cudaStreamCreate(&stream_) != cudaSuccess) {
      *error = "cannot create a CUDA stream";
      return false;
    }
    m2u_model_info info;
    m2u_model_get_info(model_, &info);
    model_info_ = info;
    return true;
  }

  // Processes one input (a frame, or a left/right pair); outputs written.
  bool process(const std::vector<HostFrame>& frames, const std::string& label, std::string* error);

  std::string device_name;

 private:
  bool cuda(cudaError_t status, const std::string& what, std::string* error) {
    if (status == cudaSuccess) return true;
    cudaGetLastError();
    *error = what + ": " + cudaGetErrorString(status);
    return false;
  }
  bool upload_and_unpack(const HostFrame& frame, float* intensity, std::string* error);
  bool ensure_engine(int height, int width, std::string* error);
  bool frame_statistics_of(const float* intensity, int height, int width, float mean_std[2], std::string* error);
  bool run_network(const float* intensity, int height, int width, float* probability, std::string* error);

  const Options& options_;
  m2u_model* model_;
  m2u_model_info model_info_{};
  m2u_engine* engine_ = nullptr;
  int engine_height_ = 0, engine_width_ = 0;
  cudaStream_t stream_ = nullptr;
};

bool Pipeline::upload_and_unpack(const HostFrame& frame, float* intensity, std::string* error) {
  DeviceArray<uint8_t> raw;
  if (!cuda(raw.allocate(frame.bytes.size()), frame.name + ": device memory for " +
                                                  std::to_string(frame.bytes.size()) + " bytes", error) ||
      !cuda(cudaMemcpyAsync(raw.get(), frame.bytes.data(), frame.bytes.size(), cudaMemcpyHostToDevice, stream_),
            frame.name + ": upload", error) ||
      !cuda(m2u::unpack_raw(raw.get(), frame.format, frame.height, frame.width, frame.stride, intensity,
                            static_cast<size_t>(frame.width), stream_),
            frame.name + ": unpack", error)) {
    return false;
  }
  return cuda(cudaStreamSynchronize(stream_), frame.name + ": unpack", error);
}

// Mean and standard deviation of v = intensity * pixel_scale over the frame
// (the statistics kernel gives the inverse deviation; std_floor 0 here, the
// engine applies the model's floor).
bool Pipeline::frame_statistics_of(const float* intensity, int height, int width, float mean_std[2],
                                   std::string* error) {
  const m2u::PixelImage image{intensity, m2u::PixelType::kF32, 1, height, width, 1,
                              static_cast<size_t>(width) * sizeof(float),
                              static_cast<size_t>(width) * height * sizeof(float), 1.0f};
  m2u::KernelInputConvention convention{};
  convention.per_image_standardize = 1;
  convention.replicate_grey = 1;
  convention.pixel_scale = model_info_.pixel_scale;
  DeviceArray<double> scratch;
  DeviceArray<float> stats;
  float host[2];
  if (!cuda(scratch.allocate(std::max<size_t>(m2u::image_statistics_scratch(image), 1)), "device memory", error) ||
      !cuda(stats.allocate(2), "device memory", error) ||
      !cuda(m2u::image_statistics(image, convention, scratch.get(), stats.get(), stream_), "frame statistics",
            error) ||
      !cuda(cudaMemcpyAsync(host, stats.get(), sizeof(host), cudaMemcpyDeviceToHost, stream_), "download", error) ||
      !cuda(cudaStreamSynchronize(stream_), "frame statistics", error)) {
    return false;
  }
  mean_std[0] = host[0];
  mean_std[1] = std::isfinite(host[1]) && host[1] > 0.0f ? 1.0f / host[1] : 0.0f;
  return true;
}

bool Pipeline::ensure_engine(int height, int width, std::string* error) {
  if (engine_ && height <= engine_height_ && width <= engine_width_) return true;
  m2u_engine_destroy(engine_);
  engine_ = nullptr;
  m2u_engine_options engine_options;
  m2u_engine_options_init(&engine_options);
  engine_options.max_height = height;
  engine_options.max_width = width;
  engine_options.stream = stream_;
  const m2u_status status = m2u_engine_create(model_, &engine_options, &engine_);
  if (status != M2U_OK) {
    *error = std::string(m2u_status_string(status)) + ": " + m2u_last_error();
    return false;
  }
  engine_height_ = height;
  engine_width_ = width;
  return true;
}

bool Pipeline::run_network(const float* intensity, int height, int width, float* probability, std::string* error) {
  const bool tiled = options_.tile > 0 && (height > options_.tile || width > options_.tile);
  std::vector<Tile> tiles;
  if (tiled) {
    tiles = plan_tiles(height, width, options_.tile, options_.overlap, error);
    if (tiles.empty()) return false;
  } else {
    tiles.push_back(Tile{0, 0, height, width, 0, height, 0, width});
  }
  const int engine_h = tiled ? std::min(options_.tile, height) : height;
  const int engine_w = tiled ? std::min(options_.tile, width) : width;
  if (!ensure_engine(engine_h, engine_w, error)) return false;
  // Per-image standardisation: every tile normalised with the whole frame's
  // statistics (--tile-statistics frame, the default), so tiles stitch into
  // the whole-frame result; or each with its own (tile), as some training
  // scripts did.
  const bool frame_statistics = tiled && model_info_.input_normalization == M2U_INPUT_PER_IMAGE_STANDARDIZE &&
                                !options_.per_tile_statistics;
  if (frame_statistics) {
    float mean_std[2];
    if (!frame_statistics_of(intensity, height, width, mean_std, error)) return false;
    if (m2u_engine_set_input_statistics(engine_, mean_std, 1) != M2U_OK) {
      *error = m2u_engine_last_error(engine_);
      return false;
    }
  } else {
    m2u_engine_set_input_statistics(engine_, nullptr, 0);
  }
  DeviceArray<float> tile_probability;
  if (tiled && !cuda(tile_probability.allocate(static_cast<size_t>(engine_h) * engine_w), "tile buffer", error)) {
    return false;
  }
  for (const Tile& t : tiles) {
    m2u_image in{};
    in.data = const_cast<float*>(intensity + static_cast<size_t>(t.y) * width + t.x);
    in.memory = M2U_MEMORY_DEVICE;
    in.dtype = M2U_DTYPE_F32;
    in.batch = 1;
    in.channels = 1;
    in.height = t.height;
    in.width = t.width;
    in.row_stride = static_cast<size_t>(width) * sizeof(float);
    m2u_image out{};
    out.data = tiled ? tile_probability.get() : probability;
    out.memory = M2U_MEMORY_DEVICE;
    out.dtype = M2U_DTYPE_F32;
    out.batch = 1;
    out.channels = model_info_.out_channels;
    out.height = t.height;
    out.width = t.width;
    const m2u_status status = m2u_engine_run(engine_, &in, &out);
    if (status != M2U_OK) {
      *error = std::string(m2u_status_string(status)) + ": " + m2u_engine_last_error(engine_);
      return false;
    }
    if (tiled) {
      const int rows = t.keep_y1 - t.keep_y0, columns = t.keep_x1 - t.keep_x0;
      const float* source = tile_probability.get() + static_cast<size_t>(t.keep_y0 - t.y) * t.width + (t.keep_x0 - t.x);
      float* destination = probability + static_cast<size_t>(t.keep_y0) * width + t.keep_x0;
      if (!cuda(cudaMemcpy2DAsync(destination, width * sizeof(float), source, t.width * sizeof(float),
                                  columns * sizeof(float), rows, cudaMemcpyDeviceToDevice, stream_),
                "stitching a tile", error)) {
        return false;
      }
    }
  }
  return cuda(cudaStreamSynchronize(stream_), "inference", error);
}

bool Pipeline::process(const std::vector<HostFrame>& frames, const std::string& label, std::string* error) {
  Summary summary;
  summary.input = label;
  const int height = frames[0].height, width = frames[0].width;
  for (const HostFrame& frame : frames) {
    if (frame.height != height || frame.width != width) {
      *error = frame.name + ": " + std::to_string(frame.width) + "x" + std::to_string(frame.height) +
               ", but " + frames[0].name + " is " + std::to_string(width) + "x" + std::to_string(height);
      return false;
    }
  }
  if (model_info_.out_channels != 1) {
    *error = "the model has " + std::to_string(model_info_.out_channels) +
             " output channels; m2u_infer segments with one (a cell probability)";
    return false;
  }
  // The engine first: a frame too large for the device fails here, before
  // any work is done on it.
  const bool tiled = options_.tile > 0 && (height > options_.tile || width > options_.tile);
  if (!ensure_engine(tiled ? std::min(options_.tile, height) : height, tiled ? std::min(options_.tile, width) : width,
                     error)) {
    *error = label + ": " + std::to_string(width) + "x" + std::to_string(height) + " frame: " + *error;
    return false;
  }
  const size_t pixels = static_cast<size_t>(height) * width;
  auto start = std::chrono::steady_clock::now();
  DeviceArray<float> intensity, probability, scratch_a, scratch_b;
  if (!cuda(intensity.allocate(pixels), label + ": device memory for a " + std::to_string(width) + "x" +
                                            std::to_string(height) + " frame", error) ||
      !cuda(probability.allocate(pixels), label + ": device memory for the probability", error)) {
    return false;
  }
  if (frames.size() == 1) {
    if (!upload_and_unpack(frames[0], intensity.get(), error)) return false;
  } else {
    // DPC: left, right (and their flat fields) -> clip((L - R) / (L + R) + 0.5, 0, 1).
    if (!cuda(scratch_a.allocate(pixels), "device memory", error) ||
        !cuda(scratch_b.allocate(pixels), "device memory", error) ||
        !upload_and_unpack(frames[0], scratch_a.get(), error) ||
        !upload_and_unpack(frames[1], scratch_b.get(), error)) {
      return false;
    }
    if (frames.size() == 4) {
      DeviceArray<float> flat;
      if (!cuda(flat.allocate(pixels), "device memory", error)) return false;
      for (int side = 0; side < 2; ++side) {
        float* image = side == 0 ? scratch_a.get() : scratch_b.get();
        if (!upload_and_unpack(frames[2 + side], flat.get(), error) ||
            !cuda(m2u::flat_field_divide(image, flat.get(), height, width, width, image, stream_),
                  "flat-field correction", error)) {
          return false;
        }
      }
    }
    if (!cuda(m2u::dpc_combine(scratch_a.get(), scratch_b.get(), height, width, width, intensity.get(), stream_),
              "DPC", error)) {
      return false;
    }
  }
  summary.timings.emplace_back("input", milliseconds_since(start));

  start = std::chrono::steady_clock::now();
  if (!run_network(intensity.get(), height, width, probability.get(), error)) {
    *error = label + ": " + *error;
    return false;
  }
  summary.timings.emplace_back("inference", milliseconds_since(start));

  start = std::chrono::steady_clock::now();
  double threshold = options_.threshold;
  if (options_.otsu) {
    DeviceArray<unsigned> bins;
    std::vector<unsigned> histogram(256);
    if (!cuda(bins.allocate(256), "device memory", error) ||
        !cuda(m2u::probability_histogram(probability.get(), height, width, width, bins.get(), stream_),
              "probability histogram", error) ||
        !cuda(cudaMemcpyAsync(histogram.data(), bins.get(), 256 * sizeof(unsigned), cudaMemcpyDeviceToHost, stream_),
              "histogram download", error) ||
        !cuda(cudaStreamSynchronize(stream_), "histogram", error)) {
      return false;
    }
    summary.otsu_threshold_8bit = m2u::otsu_threshold(histogram.data());
    threshold = m2u::otsu_probability_threshold(summary.otsu_threshold_8bit);
  }
  summary.threshold = threshold;
  DeviceArray<uint8_t> device_mask;
  std::vector<uint8_t> mask(pixels);
  std::vector<float> host_probability(pixels), host_intensity(pixels);
  if (!cuda(device_mask.allocate(pixels), "device memory", error) ||
      !cuda(m2u::threshold_mask(probability.get(), height, width, width, static_cast<float>(threshold),
                                device_mask.get(), width, stream_),
            "threshold", error) ||
      !cuda(cudaMemcpyAsync(mask.data(), device_mask.get(), pixels, cudaMemcpyDeviceToHost, stream_), "download",
            error) ||
      !cuda(cudaMemcpyAsync(host_probability.data(), probability.get(), pixels * sizeof(float),
                            cudaMemcpyDeviceToHost, stream_),
            "download", error) ||
      !cuda(cudaMemcpyAsync(host_intensity.data(), intensity.get(), pixels * sizeof(float), cudaMemcpyDeviceToHost,
                            stream_),
            "download", error) ||
      !cuda(cudaStreamSynchronize(stream_), "download", error)) {
    return false;
  }
  const Components components = label_components(mask, height, width, options_.min_area);
  summary.timings.emplace_back("postprocess", milliseconds_since(start));

  start = std::chrono::steady_clock::now();
  const std::string stem = stem_of(frames[0].name) + (frames.size() > 1 ? "_dpc" : "");
  OutputBatch batch(options_.out);
  std::vector<uint8_t> probability_png;
  if (options_.probability_bits == 16) {
    std::vector<uint16_t> p16(pixels);
    for (size_t i = 0; i < pixels; ++i) p16[i] = static_cast<uint16_t>(std::lround(std::min(std::max(host_probability[i], 0.0f), 1.0f) * 65535.0f));
    probability_png = encode_png(p16.data(), width, height, 1, 16);
  } else {
    std::vector<uint8_t> p8(pixels);
    for (size_t i = 0; i < pixels; ++i) p8[i] = static_cast<uint8_t>(std::lround(std::min(std::max(host_probability[i], 0.0f), 1.0f) * 255.0f));
    probability_png = encode_png(p8.data(), width, height, 1, 8);
  }
  std::vector<uint16_t> labels16(pixels);
  for (size_t i = 0; i < pixels; ++i) labels16[i] = static_cast<uint16_t>(std::min<uint32_t>(components.labels[i], 65535));
  summary.width = width;
  summary.height = height;
  summary.cells = components.cells;
  summary.foreground_fraction = 0.0;
  for (uint8_t m : mask) summary.foreground_fraction += m != 0;
  summary.foreground_fraction /= static_cast<double>(pixels);
  if (!batch.stage(stem + "_probability.png", probability_png, error) ||
      !batch.stage(stem + "_mask.png", encode_png(mask.data(), width, height, 1, 8), error) ||
      !batch.stage(stem + "_labels.png", encode_png(labels16.data(), width, height, 1, 16), error) ||
      !batch.stage(stem + "_overlay.png", encode_png(draw_outlines(host_intensity, mask, height, width).data(), width,
                                                     height, 3, 8),
                   error)) {
    return false;
  }
  if (options_.raw_output) {
    const uint8_t* bytes = reinterpret_cast<const uint8_t*>(host_probability.data());
    if (!batch.stage(stem + "_probability.f32", std::vector<uint8_t>(bytes, bytes + pixels * sizeof(float)), error)) {
      return false;
    }
  }
  summary.timings.emplace_back("write", milliseconds_since(start));
  summary.model = options_.model;
  summary.device = device_name;
  summary.tile = options_.tile;
  summary.overlap = options_.overlap;
  summary.tile_statistics = options_.per_tile_statistics ? "tile" : "frame";
  summary.threshold_method = options_.otsu ? "otsu" : "fixed";
  const std::string json = summary_json(summary);
  if (!batch.stage(stem + ".json", std::vector<uint8_t>(json.begin(), json.end()), error)) return false;
  std::vector<std::string> written;
  if (!batch.commit(&written, error)) return false;
  if (!options_.quiet) {
    std::printf("%s: %d cells, %.1f%% foreground, threshold %.3f%s; overlay %s\n", label.c_str(),
                static_cast<int>(components.cells.size()), 100.0 * summary.foreground_fraction, threshold,
                options_.otsu ? " (Otsu)" : "", (options_.out + "/" + stem + "_overlay.png").c_str());
  }
  return true;
}

int run(int argc, char** argv) {
  Options options;
  std::string error;
  if (!parse_options(argc, argv, &options, &error)) {
    if (error.empty()) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::fprintf(stderr, "m2u_infer: %s\n%s", error.c_str(), kUsage);
    return 2;
  }
  m2u_model* model = nullptr;
  if (m2u_model_load(options.model.c_str(), &model) != M2U_OK) {
    std::fprintf(stderr, "m2u_infer: %s\n", m2u_last_error());
    return 1;
  }
  std::unique_ptr<m2u_model, void (*)(m2u_model*)> model_owner(model, m2u_model_destroy);
  if (!make_directories(options.out, &error)) {
    std::fprintf(stderr, "m2u_infer: %s\n", error.c_str());
    return 1;
  }
  Pipeline pipeline(options, model);
  m2u_device_info device;
  if (m2u_query_device(0, &device) != M2U_OK || !pipeline.init(&error)) {
    std::fprintf(stderr, "m2u_infer: no usable CUDA device%s%s\n", error.empty() ? "" : ": ", error.c_str());
    return 1;
  }
  pipeline.device_name = device.name;

  // Each job: the paths of one input (a frame, or a DPC pair with flats).
  std::vector<std::vector<std::string>> jobs;
  if (options.dpc) {
    std::vector<std::string> job = options.inputs;
    if (!options.flat_left.empty()) {
      job.push_back(options.flat_left);
      job.push_back(options.flat_right);
    }
    jobs.push_back(job);
  } else {
    for (const std::string& input : options.inputs) {
      std::vector<std::string> listed;
      if (input != "-" && list_directory(input, options.layout.given, &listed, &error)) {
        for (const std::string& path : listed) jobs.push_back({path});
      } else if (input != "-" && error.find(": no ") != std::string::npos) {
        std::fprintf(stderr, "m2u_infer: %s\n", error.c_str());
        return 1;
      } else {
        jobs.push_back({input});
      }
      error.clear();
    }
  }
  const bool progress = !options.quiet && jobs.size() > 1 && isatty(fileno(stderr));
  int failures = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    if (progress) std::fprintf(stderr, "\r[%zu/%zu] %s", j + 1, jobs.size(), jobs[j][0].c_str());
    std::vector<HostFrame> frames(jobs[j].size());
    bool ok = true;
    for (size_t k = 0; k < jobs[j].size() && ok; ++k) ok = read_frame(jobs[j][k], options.layout, &frames[k], &error);
    const std::string label = options.dpc ? jobs[j][0] + " + " + jobs[j][1] : frames.empty() ? "" : frames[0].name;
    if (ok) ok = pipeline.process(frames, label, &error);
    if (!ok) {
      if (progress) std::fputc('\n', stderr);
      std::fprintf(stderr, "m2u_infer: %s\n", error.c_str());
      ++failures;
    }
    error.clear();
  }
  if (progress) std::fputc('\n', stderr);
  return failures ? 1 : 0;
}

}  // namespace
}  // namespace m2u_infer

int main(int argc, char** argv) { return m2u_infer::run(argc, argv); }
