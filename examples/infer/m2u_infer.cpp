// m2u_infer.cpp - raw sensor dumps or images in, cell masks out.
//
//   m2u_infer --model MODEL.m2u --out DIR [options] INPUT...
//   m2u_infer --model MODEL.m2u --out DIR --dpc LEFT RIGHT [--flat LF RF] [options]
//
// Per input: the file's pixels (frame_source) -> libm2urt's imaging
// pipeline (m2urt.h: unpack, flat field and DPC on the GPU, M2U-Net on the
// whole frame or tiles, threshold, connected components) -> probability /
// mask / label / overlay PNGs and a JSON summary (output_files: written as
// a group, the JSON last). Uses m2urt.h only. Each failing input is a
// one-line message naming the file and the numbers; the others still run;
// the exit status is 0 when every input succeeded, 1 when any failed, 2 for
// bad usage.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "frame_source.h"
#include "infer_options.h"
#include "m2urt.h"
#include "output_files.h"
#include "overlay.h"
#include "png_write.h"
#include "summary_json.h"

namespace m2u_infer {
namespace {

std::string stem_of(const std::string& path) {
  if (path == "-" || path == "stdin") return "stdin";
  const size_t slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = name.find_last_of('.');
  return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

std::string size_text(int width, int height) { return std::to_string(width) + "x" + std::to_string(height); }

// One input: the paths of a frame, or of a DPC pair (and its flat fields),
// and the stem of its outputs.
struct Job {
  std::vector<std::string> paths;
  std::string stem;
  std::string error;  // set: this input fails with this message (e.g. an empty directory)
};

// The pipeline, made (again) for the largest frame seen so far.
class Segmenter {
 public:
  Segmenter(const Options& options, const m2u_model* model) : options_(options), model_(model) {}
  ~Segmenter() { m2u_pipeline_destroy(pipeline_); }

  // Segments `frames` (one, or left + right); flats: 0 or 2 frames.
  bool run(const std::vector<HostFrame>& frames, const std::vector<HostFrame>& flats, std::string* error);
  m2u_pipeline* pipeline() const { return pipeline_; }
  std::vector<std::string> warnings;

 private:
  bool ensure(int height, int width, const std::vector<HostFrame>& flats, std::string* error);
  const Options& options_;
  const m2u_model* model_;
  m2u_pipeline* pipeline_ = nullptr;
  int height_ = 0, width_ = 0;
};

bool Segmenter::ensure(int height, int width, const std::vector<HostFrame>& flats, std::string* error) {
  if (pipeline_ && height <= height_ && width <= width_) return true;
  m2u_pipeline_destroy(pipeline_);
  pipeline_ = nullptr;
  m2u_pipeline_options o;
  m2u_pipeline_options_init(&o);
  o.max_height = height;
  o.max_width = width;
  o.dpc = options_.dpc ? 1 : 0;
  o.flat_field = flats.empty() ? 0 : 1;
  o.tile = options_.tile;
  o.overlap = options_.overlap;
  o.tile_statistics = options_.per_tile_statistics ? M2U_TILE_STATISTICS_TILE : M2U_TILE_STATISTICS_FRAME;
  o.threshold_method = options_.otsu ? M2U_THRESHOLD_OTSU : M2U_THRESHOLD_FIXED;
  o.threshold = options_.threshold;
  o.min_area = options_.min_area;
  o.precision = options_.precision;
  o.fuse_blocks = options_.fuse_blocks ? 1 : 0;
  o.cuda_graph = options_.cuda_graph ? 1 : 0;
  const m2u_status status = m2u_pipeline_create(model_, &o, &pipeline_);
  if (status != M2U_OK) {
    *error = size_text(width, height) + " frame: " + m2u_status_string(status) + ": " + m2u_last_error();
    return false;
  }
  height_ = height;
  width_ = width;
  if (!flats.empty()) {
    const m2u_raw_frame left = raw_frame_of(flats[0]), right = raw_frame_of(flats[1]);
    if (m2u_pipeline_set_flat_fields(pipeline_, &left, &right) != M2U_OK) {
      *error = m2u_pipeline_last_error(pipeline_);
      m2u_pipeline_destroy(pipeline_);
      pipeline_ = nullptr;
      return false;
    }
  }
  return true;
}

bool Segmenter::run(const std::vector<HostFrame>& frames, const std::vector<HostFrame>& flats, std::string* error) {
  const int height = frames[0].height, width = frames[0].width;
  for (const HostFrame& frame : frames) {
    if (frame.height != height || frame.width != width) {
      *error = frame.name + ": " + size_text(frame.width, frame.height) + ", but " + frames[0].name + " is " +
               size_text(width, height);
      return false;
    }
  }
  for (const HostFrame& flat : flats) {
    if (flat.height != height || flat.width != width) {
      *error = flat.name + ": " + size_text(flat.width, flat.height) + ", but the frames are " + size_text(width, height);
      return false;
    }
  }
  if (!ensure(height, width, flats, error)) return false;
  const m2u_raw_frame first = raw_frame_of(frames[0]);
  m2u_status status;
  if (frames.size() == 2) {
    const m2u_raw_frame second = raw_frame_of(frames[1]);
    status = m2u_pipeline_run_dpc(pipeline_, &first, &second);
  } else {
    status = m2u_pipeline_run(pipeline_, &first);
  }
  if (status != M2U_OK) {
    *error = std::string(m2u_status_string(status)) + ": " + m2u_pipeline_last_error(pipeline_);
    return false;
  }
  return true;
}

// Encodes and writes one input's outputs (the JSON last).
bool write_outputs(const Options& options, m2u_pipeline* pipeline, const std::string& stem, Summary* summary,
                   std::string* error) {
  m2u_pipeline_result result;
  m2u_pipeline_result_init(&result);
  if (m2u_pipeline_get_result(pipeline, &result) != M2U_OK) {
    *error = m2u_pipeline_last_error(pipeline);
    return false;
  }
  const int height = result.height, width = result.width;
  const size_t pixels = static_cast<size_t>(height) * width;
  std::vector<float> probability(pixels), intensity(pixels);
  std::vector<uint8_t> mask(pixels);
  std::vector<uint32_t> labels(pixels);
  if (m2u_pipeline_read_plane(pipeline, M2U_PLANE_PROBABILITY, probability.data(), 0) != M2U_OK ||
      m2u_pipeline_read_plane(pipeline, M2U_PLANE_INTENSITY, intensity.data(), 0) != M2U_OK ||
      m2u_pipeline_read_plane(pipeline, M2U_PLANE_MASK, mask.data(), 0) != M2U_OK ||
      m2u_pipeline_read_plane(pipeline, M2U_PLANE_LABELS, labels.data(), 0) != M2U_OK) {
    *error = m2u_pipeline_last_error(pipeline);
    return false;
  }
  summary->cells.resize(static_cast<size_t>(result.cell_count));
  for (long long i = 0; i < result.cell_count; ++i) {
    m2u_cell& cell = summary->cells[static_cast<size_t>(i)];
    cell.struct_size = sizeof(cell);
    if (m2u_pipeline_get_cell(pipeline, i, &cell) != M2U_OK) {
      *error = m2u_pipeline_last_error(pipeline);
      return false;
    }
  }
  summary->width = width;
  summary->height = height;
  summary->tiles = result.tiles;
  summary->threshold = result.threshold;
  summary->otsu_threshold_8bit = result.otsu_threshold_8bit;
  summary->foreground_fraction = static_cast<double>(result.foreground_pixels) / static_cast<double>(pixels);
  summary->timings = {{"input", result.input_ms}, {"inference", result.inference_ms},
                      {"postprocess", result.postprocess_ms}};

  std::vector<uint8_t> probability_png;
  auto clamp01 = [](float p) { return std::min(std::max(p, 0.0f), 1.0f); };
  if (options.probability_bits == 16) {
    std::vector<uint16_t> p16(pixels);
    for (size_t i = 0; i < pixels; ++i) p16[i] = static_cast<uint16_t>(std::lround(clamp01(probability[i]) * 65535.0f));
    probability_png = encode_png(p16.data(), width, height, 1, 16);
  } else {
    std::vector<uint8_t> p8(pixels);
    for (size_t i = 0; i < pixels; ++i) p8[i] = static_cast<uint8_t>(std::lround(clamp01(probability[i]) * 255.0f));
    probability_png = encode_png(p8.data(), width, height, 1, 8);
  }
  // 16-bit label PNG: labels above 65535 saturate (the JSON has every cell).
  std::vector<uint16_t> labels16(pixels);
  for (size_t i = 0; i < pixels; ++i) labels16[i] = static_cast<uint16_t>(std::min<uint32_t>(labels[i], 65535));
  OutputBatch batch(options.out);
  if (!batch.stage(stem + "_probability.png", probability_png, error) ||
      !batch.stage(stem + "_mask.png", encode_png(mask.data(), width, height, 1, 8), error) ||
      !batch.stage(stem + "_labels.png", encode_png(labels16.data(), width, height, 1, 16), error) ||
      !batch.stage(stem + "_overlay.png",
                   encode_png(draw_outlines(intensity, mask, height, width).data(), width, height, 3, 8), error)) {
    return false;
  }
  if (options.raw_output) {
    const uint8_t* bytes = reinterpret_cast<const uint8_t*>(probability.data());
    if (!batch.stage(stem + "_probability.f32", std::vector<uint8_t>(bytes, bytes + pixels * sizeof(float)), error)) {
      return false;
    }
  }
  const std::string json = summary_json(*summary);
  if (!batch.stage(stem + ".json", std::vector<uint8_t>(json.begin(), json.end()), error)) return false;
  std::vector<std::string> written;
  return batch.commit(&written, error);
}

// The inputs as jobs; an empty or unreadable directory becomes a failing
// job of its own (the other inputs still run). False with *error when two
// inputs would write the same outputs.
bool make_jobs(const Options& options, std::vector<Job>* jobs, std::string* error) {
  if (options.dpc) {
    Job job{options.inputs, stem_of(options.inputs[0]) + "_dpc", ""};
    jobs->push_back(job);
    return true;
  }
  for (const std::string& input : options.inputs) {
    std::vector<std::string> listed;
    std::string listing_error;
    if (input != "-" && list_directory(input, options.layout.given, &listed, &listing_error)) {
      for (const std::string& path : listed) jobs->push_back(Job{{path}, stem_of(path), ""});
    } else if (input != "-" && listing_error.find(": no ") != std::string::npos) {
      jobs->push_back(Job{{input}, "", listing_error});
    } else {
      jobs->push_back(Job{{input}, stem_of(input), ""});
    }
  }
  std::map<std::string, std::string> owners;
  for (const Job& job : *jobs) {
    if (!job.error.empty()) continue;
    const auto inserted = owners.emplace(job.stem, job.paths[0]);
    if (!inserted.second) {
      *error = inserted.first->second + " and " + job.paths[0] + " would both write " + options.out + "/" + job.stem +
               "_*: rename one, or run them with different --out directories";
      return false;
    }
  }
  return true;
}

int run(int argc, char** argv) {
  Options options;
  std::string error;
  std::vector<std::string> warnings;
  if (!parse_options(argc, argv, &options, &error, &warnings)) {
    if (error.empty()) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::fprintf(stderr, "m2u_infer: %s\n%s", error.c_str(), kUsage);
    return 2;
  }
  for (const std::string& warning : warnings) std::fprintf(stderr, "m2u_infer: warning: %s\n", warning.c_str());
  std::vector<Job> jobs;
  if (!make_jobs(options, &jobs, &error)) {
    std::fprintf(stderr, "m2u_infer: %s\n", error.c_str());
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
  const int stale = remove_stale_temporaries(options.out);
  if (stale && !options.quiet) std::fprintf(stderr, "m2u_infer: removed %d temporary file(s) of an interrupted run\n", stale);
  m2u_device_info device;
  if (m2u_query_device(0, &device) != M2U_OK) {
    std::fprintf(stderr, "m2u_infer: no usable CUDA device: %s\n", m2u_last_error());
    return 1;
  }
  std::vector<HostFrame> flats;
  if (!options.flat_left.empty()) {
    flats.resize(2);
    for (int side = 0; side < 2; ++side) {
      if (!read_frame(side == 0 ? options.flat_left : options.flat_right, options.layout, &flats[side], &error)) {
        std::fprintf(stderr, "m2u_infer: %s\n", error.c_str());
        return 1;
      }
    }
  }
  Segmenter segmenter(options, model);
  const bool progress = !options.quiet && jobs.size() > 1 && isatty(fileno(stderr));
  // --profile N: the profiler runs from after the first input's warm-up run
  // to the end of the N-th input's run.
  const size_t profiled = std::min(jobs.size(), static_cast<size_t>(options.profile_frames));
  if (options.profile_frames > 0 && profiled < static_cast<size_t>(options.profile_frames)) {
    std::fprintf(stderr, "m2u_infer: warning: --profile %d, but there are %zu input(s): profiling them all\n",
                 options.profile_frames, jobs.size());
  }
  int failures = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    const Job& job = jobs[j];
    if (progress) std::fprintf(stderr, "\r[%zu/%zu] %s", j + 1, jobs.size(), job.paths[0].c_str());
    std::vector<HostFrame> frames(job.paths.size());
    bool ok = job.error.empty();
    if (!ok) error = job.error;
    for (size_t k = 0; k < job.paths.size() && ok; ++k) ok = read_frame(job.paths[k], options.layout, &frames[k], &error);
    const std::string label = options.dpc ? job.paths[0] + " + " + job.paths[1] : frames.empty() ? "" : frames[0].name;
    if (ok && j == 0 && profiled > 0) {
      ok = segmenter.run(frames, flats, &error);  // the warm-up run, outside the profiled range
      if (ok && m2u_profiler_start() != M2U_OK) {
        error = std::string("starting the profiler: ") + m2u_last_error();
        ok = false;
      }
    }
    if (ok && !segmenter.run(frames, flats, &error)) {
      error = label + ": " + error;
      ok = false;
    }
    Summary summary;
    if (ok) {
      summary.input = label;
      summary.model = options.model;
      summary.device = device.name;
      summary.tile = options.tile;
      summary.overlap = options.overlap;
      summary.tile_statistics = options.per_tile_statistics ? "tile" : "frame";
      summary.threshold_method = options.otsu ? "otsu" : "fixed";
      summary.precision = options.precision == M2U_PRECISION_FP16   ? "fp16"
                          : options.precision == M2U_PRECISION_INT8 ? "int8"
                                                                    : "fp32";
      summary.layers = layer_precisions(segmenter.pipeline());
      const int capability = device.compute_capability_major * 10 + device.compute_capability_minor;
      if (options.precision == M2U_PRECISION_INT8 && !device.is_emulated && capability < 61) {
        summary.precision_note = "INT8 on sm_" + std::to_string(capability) +
                                 " (no dp4a before sm_61, e.g. the Jetson Nano) is correct but not faster than "
                                 "FP32; FP16 is this GPU's fast path";
      } else if (options.precision == M2U_PRECISION_INT8 && device.is_emulated) {
        summary.precision_note = "emulated on the CPU: INT8 runs the dp4a path's integers, no speed figure";
      }
      ok = write_outputs(options, segmenter.pipeline(), job.stem, &summary, &error);
      if (!ok) error = label + ": " + error;
    }
    if (profiled > 0 && j + 1 == profiled && m2u_profiler_stop() != M2U_OK && ok) {
      error = std::string("stopping the profiler: ") + m2u_last_error();
      ok = false;
    }
    if (!ok) {
      if (progress) std::fputc('\n', stderr);
      std::fprintf(stderr, "m2u_infer: %s\n", error.c_str());
      ++failures;
    } else if (!options.quiet) {
      m2u_pipeline_result result;
      m2u_pipeline_result_init(&result);
      m2u_pipeline_get_result(segmenter.pipeline(), &result);
      if (result.flat_floored_pixels > 0 && j == 0) {
        std::fprintf(stderr, "m2u_infer: warning: %lld flat-field pixel(s) are 0 and were floored at 1e-6 of full scale\n",
                     result.flat_floored_pixels);
      }
      if (progress) std::fputc('\n', stderr);
      std::printf("%s: %lld cells, %.1f%% foreground, threshold %.3f%s; overlay %s\n", label.c_str(),
                  result.cell_count, 100.0 * summary.foreground_fraction, result.threshold, options.otsu ? " (Otsu)" : "",
                  (options.out + "/" + job.stem + "_overlay.png").c_str());
    }
    error.clear();
  }
  if (progress) std::fputc('\n', stderr);
  if (failures) {
    std::fprintf(stderr, "m2u_infer: %d of %zu input(s) failed\n", failures, jobs.size());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace m2u_infer

int main(int argc, char** argv) { return m2u_infer::run(argc, argv); }
