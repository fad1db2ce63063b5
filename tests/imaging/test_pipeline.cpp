// test_pipeline.cpp - the imaging pipeline through the public C API
// (m2urt.h) against what it is made of: the unpacked intensity against the
// raw values, the probability against an engine run on that intensity
// (bit-identical), the mask against the threshold, Otsu against the host
// histogram, DPC with flat fields against the formula, tiled against whole
// frame on odd sizes (overlap = the receptive-field radius), CUDA graphs
// (bit-identical to without, whole and tiled, over frames; none for a frame
// of more tiles than the engine holds graphs for), refusals with
// messages, growable structs read and written only to struct_size, and no
// device allocation per run.
#include <doctest/doctest.h>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#if defined(M2U_FLAVOUR_EMU)
#include "emu/emu_device_state.h"
#endif
#include "m2urt.h"
#include "otsu.h"
#include "split_mix64.h"

namespace {

std::string fixture(const char* name) { return std::string(M2U_FIXTURE_DIR) + "/" + name; }

struct ModelHandle {
  m2u_model* model = nullptr;
  explicit ModelHandle(const char* name) { REQUIRE(m2u_model_load(fixture(name).c_str(), &model) == M2U_OK); }
  ~ModelHandle() { m2u_model_destroy(model); }
};

struct PipelineHandle {
  m2u_pipeline* pipeline = nullptr;
  ~PipelineHandle() { m2u_pipeline_destroy(pipeline); }
};

// A smooth pattern with noise: blobs that the random-weight fixtures turn
// into a mix of probabilities.
std::vector<uint16_t> pattern(int height, int width, unsigned full_scale, uint64_t seed) {
  m2u_test::SplitMix64 random(seed);
  std::vector<uint16_t> values(static_cast<size_t>(height) * width);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const double v = 0.5 + 0.3 * std::sin(y / 5.0) * std::cos(x / 7.0) + random.uniform(-0.1, 0.1);
      values[static_cast<size_t>(y) * width + x] =
          static_cast<uint16_t>(std::lround(std::min(std::max(v, 0.0), 1.0) * full_scale));
    }
  return values;
}

std::vector<uint8_t> mono8(const std::vector<uint16_t>& v) { return std::vector<uint8_t>(v.begin(), v.end()); }

std::vector<uint8_t> mono16(const std::vector<uint16_t>& v) {
  std::vector<uint8_t> bytes(2 * v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    bytes[2 * i] = static_cast<uint8_t>(v[i]);
    bytes[2 * i + 1] = static_cast<uint8_t>(v[i] >> 8);
  }
  return bytes;
}

// GenICam Mono12p rows (odd widths end with two bytes).
std::vector<uint8_t> mono12p(const std::vector<uint16_t>& v, int height, int width) {
  const size_t row = (3 * static_cast<size_t>(width) + 1) / 2;
  std::vector<uint8_t> bytes(row * height, 0);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; x += 2) {
      const unsigned p0 = v[static_cast<size_t>(y) * width + x];
      const unsigned p1 = x + 1 < width ? v[static_cast<size_t>(y) * width + x + 1] : 0;
      uint8_t* g = &bytes[y * row + 3 * (x / 2)];
      g[0] = static_cast<uint8_t>(p0);
      g[1] = static_cast<uint8_t>((p0 >> 8) | (p1 & 0xF) << 4);
      if (x + 1 < width) g[2] = static_cast<uint8_t>(p1 >> 4);
    }
  return bytes;
}

m2u_raw_frame host_frame(const std::vector<uint8_t>& bytes, m2u_raw_format format, int height, int width) {
  m2u_raw_frame frame{};
  frame.data = bytes.data();
  frame.memory = M2U_MEMORY_HOST;
  frame.format = format;
  frame.height = height;
  frame.width = width;
  return frame;
}

template <typename T>
std::vector<T> read_plane(m2u_pipeline* pipeline, m2u_plane plane, int height, int width) {
  std::vector<T> values(static_cast<size_t>(height) * width);
  REQUIRE_MESSAGE(m2u_pipeline_read_plane(pipeline, plane, values.data(), 0) == M2U_OK,
                  m2u_pipeline_last_error(pipeline));
  return values;
}

m2u_pipeline_result result_of(m2u_pipeline* pipeline) {
  m2u_pipeline_result result;
  m2u_pipeline_result_init(&result);
  REQUIRE(m2u_pipeline_get_result(pipeline, &result) == M2U_OK);
  return result;
}

// The engine alone on a float intensity plane (host memory).
std::vector<float> engine_probability(const m2u_model* model, const std::vector<float>& intensity, int height, int width) {
  m2u_engine_options options;
  m2u_engine_options_init(&options);
  options.max_height = height;
  options.max_width = width;
  m2u_engine* engine = nullptr;
  REQUIRE(m2u_engine_create(model, &options, &engine) == M2U_OK);
  std::vector<float> probability(intensity.size());
  m2u_image in{}, out{};
  in.data = const_cast<float*>(intensity.data());
  in.memory = M2U_MEMORY_HOST;
  in.dtype = M2U_DTYPE_F32;
  in.batch = 1;
  in.channels = 1;
  in.height = height;
  in.width = width;
  out = in;
  out.data = probability.data();
  REQUIRE_MESSAGE(m2u_engine_run(engine, &in, &out) == M2U_OK, m2u_engine_last_error(engine));
  m2u_engine_destroy(engine);
  return probability;
}

// Default options for frames up to height x width.
m2u_pipeline_options sized_options(int height, int width) {
  m2u_pipeline_options options;
  m2u_pipeline_options_init(&options);
  options.max_height = height;
  options.max_width = width;
  return options;
}

}  // namespace

TEST_CASE("a Mono12p frame: intensity = v / 4095, probability = the engine's, mask = p > threshold") {
  const int height = 37, width = 71;  // odd width: the last Mono12p group is half used
  ModelHandle model("cin1_relu.m2u");
  const std::vector<uint16_t> values = pattern(height, width, 4095, 3);
  const std::vector<uint8_t> raw = mono12p(values, height, width);
  m2u_pipeline_options options = sized_options(40, 80);
  options.threshold = 0.5f;
  PipelineHandle p;
  REQUIRE_MESSAGE(m2u_pipeline_create(model.model, &options, &p.pipeline) == M2U_OK, m2u_last_error());
  const m2u_raw_frame frame = host_frame(raw, M2U_RAW_MONO12P, height, width);
  REQUIRE_MESSAGE(m2u_pipeline_run(p.pipeline, &frame) == M2U_OK, m2u_pipeline_last_error(p.pipeline));
  const std::vector<float> intensity = read_plane<float>(p.pipeline, M2U_PLANE_INTENSITY, height, width);
  for (size_t i = 0; i < intensity.size(); ++i) REQUIRE(intensity[i] == static_cast<float>(values[i]) / 4095.0f);
  const std::vector<float> probability = read_plane<float>(p.pipeline, M2U_PLANE_PROBABILITY, height, width);
  CHECK(probability == engine_probability(model.model, intensity, height, width));
  const std::vector<uint8_t> mask = read_plane<uint8_t>(p.pipeline, M2U_PLANE_MASK, height, width);
  const std::vector<uint32_t> labels = read_plane<uint32_t>(p.pipeline, M2U_PLANE_LABELS, height, width);
  long long foreground = 0, above = 0;
  for (size_t i = 0; i < mask.size(); ++i) {
    CHECK(mask[i] == (probability[i] > 0.5f ? 255 : 0));
    CHECK((labels[i] != 0) == (mask[i] != 0));
    foreground += mask[i] != 0;
    above += probability[i] > 0.5f;
  }
  const m2u_pipeline_result result = result_of(p.pipeline);
  CHECK(result.height == height);
  CHECK(result.width == width);
  CHECK(result.tiles == 1);
  CHECK(result.threshold == 0.5f);
  CHECK(result.otsu_threshold_8bit == -1);
  CHECK(result.foreground_pixels == foreground);
  CHECK(above > 0);
  CHECK(above < static_cast<long long>(mask.size()));
  // Every cell's label, area and centroid agree with the label plane.
  REQUIRE(result.cell_count > 0);
  std::vector<long long> area(static_cast<size_t>(result.cell_count) + 1, 0);
  for (uint32_t l : labels) {
    REQUIRE(l <= result.cell_count);
    area[l]++;
  }
  for (long long i = 0; i < result.cell_count; ++i) {
    m2u_cell cell;
    cell.struct_size = sizeof(cell);
    REQUIRE(m2u_pipeline_get_cell(p.pipeline, i, &cell) == M2U_OK);
    CHECK(cell.label == i + 1);
    CHECK(cell.area == area[static_cast<size_t>(i) + 1]);
  }
  m2u_cell cell;
  cell.struct_size = sizeof(cell);
  CHECK(m2u_pipeline_get_cell(p.pipeline, result.cell_count, &cell) == M2U_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("Otsu: the threshold of the host histogram of the probability; min_area drops small cells") {
  const int height = 33, width = 47;
  ModelHandle model("cin3_relu6.m2u");
  const std::vector<uint8_t> raw = mono8(pattern(height, width, 255, 11));
  m2u_pipeline_options options = sized_options(height, width);
  options.threshold_method = M2U_THRESHOLD_OTSU;
  options.min_area = 4;
  PipelineHandle p;
  REQUIRE_MESSAGE(m2u_pipeline_create(model.model, &options, &p.pipeline) == M2U_OK, m2u_last_error());
  const m2u_raw_frame frame = host_frame(raw, M2U_RAW_MONO8, height, width);
  REQUIRE_MESSAGE(m2u_pipeline_run(p.pipeline, &frame) == M2U_OK, m2u_pipeline_last_error(p.pipeline));
  const std::vector<float> probability = read_plane<float>(p.pipeline, M2U_PLANE_PROBABILITY, height, width);
  unsigned bins[256] = {};
  for (float v : probability) bins[m2u::probability_bin(v)]++;
  const int t8 = m2u::otsu_threshold(bins);
  const m2u_pipeline_result result = result_of(p.pipeline);
  CHECK(result.otsu_threshold_8bit == t8);
  CHECK(result.threshold == m2u::otsu_probability_threshold(t8));
  for (long long i = 0; i < result.cell_count; ++i) {
    m2u_cell cell;
    cell.struct_size = sizeof(cell);
    REQUIRE(m2u_pipeline_get_cell(p.pipeline, i, &cell) == M2U_OK);
    CHECK(cell.area >= 4);
  }
}

TEST_CASE("DPC from device-memory Mono16 frames with flat fields: the formula, pixel by pixel") {
  const int height = 21, width = 34;
  ModelHandle model("cin1_relu.m2u");
  const std::vector<uint16_t> left = pattern(height, width, 40000, 1), right = pattern(height, width, 40000, 2);
  std::vector<uint16_t> flat_left = pattern(height, width, 60000, 4), flat_right = pattern(height, width, 60000, 5);
  flat_left[7] = 0;  // one dark flat-field pixel: floored, counted
  m2u_pipeline_options options = sized_options(height, width);
  options.dpc = 1;
  options.flat_field = 1;
  PipelineHandle p;
  REQUIRE_MESSAGE(m2u_pipeline_create(model.model, &options, &p.pipeline) == M2U_OK, m2u_last_error());
  const std::vector<uint8_t> bytes[4] = {mono16(left), mono16(right), mono16(flat_left), mono16(flat_right)};
  void* device[4] = {};
  const size_t padded_row = 2 * width + 6;  // strided device frames
  m2u_raw_frame frames[4];
  for (int i = 0; i < 4; ++i) {
    REQUIRE(cudaMalloc(&device[i], padded_row * height) == cudaSuccess);
    REQUIRE(cudaMemcpy2D(device[i], padded_row, bytes[i].data(), 2 * width, 2 * width, height,
                         cudaMemcpyHostToDevice) == cudaSuccess);
    frames[i] = host_frame(bytes[i], M2U_RAW_MONO16, height, width);
    frames[i].data = device[i];
    frames[i].memory = M2U_MEMORY_DEVICE;
    frames[i].row_stride = padded_row;
  }
  CHECK(m2u_pipeline_run_dpc(p.pipeline, &frames[0], &frames[1]) == M2U_ERROR_INVALID_ARGUMENT);  // no flats yet
  CHECK(std::string(m2u_pipeline_last_error(p.pipeline)).find("m2u_pipeline_set_flat_fields") != std::string::npos);
  REQUIRE_MESSAGE(m2u_pipeline_set_flat_fields(p.pipeline, &frames[2], &frames[3]) == M2U_OK,
                  m2u_pipeline_last_error(p.pipeline));
  REQUIRE_MESSAGE(m2u_pipeline_run_dpc(p.pipeline, &frames[0], &frames[1]) == M2U_OK,
                  m2u_pipeline_last_error(p.pipeline));
  const std::vector<float> intensity = read_plane<float>(p.pipeline, M2U_PLANE_INTENSITY, height, width);
  float worst = 0.0f;
  for (size_t i = 0; i < intensity.size(); ++i) {
    const float l = (left[i] / 65535.0f) / std::max(flat_left[i] / 65535.0f, 1e-6f);
    const float r = (right[i] / 65535.0f) / std::max(flat_right[i] / 65535.0f, 1e-6f);
    const float dpc = l + r == 0.0f ? 0.5f : std::min(std::max((l - r) / (l + r) + 0.5f, 0.0f), 1.0f);
    worst = std::max(worst, std::fabs(intensity[i] - dpc));
  }
  CHECK(worst <= 1e-6f);
  CHECK(result_of(p.pipeline).flat_floored_pixels == 1);
  // A frame of another size than the flat fields is refused, naming both.
  frames[0].width = width - 1;
  frames[1].width = width - 1;
  CHECK(m2u_pipeline_run_dpc(p.pipeline, &frames[0], &frames[1]) == M2U_ERROR_SHAPE);
  CHECK(std::string(m2u_pipeline_last_error(p.pipeline)).find("33x21, but the flat fields are 34x21") !=
        std::string::npos);
  for (void* d : device) cudaFree(d);
}

TEST_CASE("tiled equals whole frame on odd sizes when the overlap covers the receptive field") {
  struct Case {
    const char* model;
    int height, width;
  };
  std::vector<Case> cases = {{"cin1_relu.m2u", 41, 613}, {"cin3_relu6.m2u", 613, 41}};
#ifndef M2U_SANITIZED
  cases.push_back({"cin1_relu.m2u", 467, 461});  // both axes tiled (about 10 s of emulation)
#endif
  for (const Case& c : cases) {
    ModelHandle model(c.model);
    const std::vector<uint8_t> raw = mono8(pattern(c.height, c.width, 255, 9));
    const m2u_raw_frame frame = host_frame(raw, M2U_RAW_MONO8, c.height, c.width);
    std::vector<float> maps[2];
    int tiles = 0;
    for (int tiled = 0; tiled < 2; ++tiled) {
      m2u_pipeline_options options = sized_options(c.height, c.width);
      options.tile = tiled ? 448 : 0;
      options.overlap = M2U_RECEPTIVE_FIELD_RADIUS;
      PipelineHandle p;
      REQUIRE_MESSAGE(m2u_pipeline_create(model.model, &options, &p.pipeline) == M2U_OK, m2u_last_error());
      REQUIRE_MESSAGE(m2u_pipeline_run(p.pipeline, &frame) == M2U_OK, m2u_pipeline_last_error(p.pipeline));
      maps[tiled] = read_plane<float>(p.pipeline, M2U_PLANE_PROBABILITY, c.height, c.width);
      if (tiled) tiles = result_of(p.pipeline).tiles;
    }
    float worst = 0.0f;
    for (size_t i = 0; i < maps[0].size(); ++i) worst = std::max(worst, std::fabs(maps[0][i] - maps[1][i]));
    CHECK_MESSAGE(worst <= 1e-4f, std::string(c.model) << " " << c.width << "x" << c.height << ": max |dp| " << worst);
    CHECK(tiles > 1);
    MESSAGE(std::string(c.model) << " " << c.width << "x" << c.height << " in " << tiles << " tiles: max |dp| " << worst);
  }
}

TEST_CASE("frame sizes that broke the old tile planner run (tile 128, overlap 16 on 250x333)") {
  ModelHandle model("cin3_relu6.m2u");
  const int height = 250, width = 333;
  const std::vector<uint8_t> raw = mono8(pattern(height, width, 255, 13));
  m2u_pipeline_options options = sized_options(height, width);
  options.tile = 128;
  options.overlap = 16;
  PipelineHandle p;
  REQUIRE(m2u_pipeline_create(model.model, &options, &p.pipeline) == M2U_OK);
  const m2u_raw_frame frame = host_frame(raw, M2U_RAW_MONO8, height, width);
  REQUIRE_MESSAGE(m2u_pipeline_run(p.pipeline, &frame) == M2U_OK, m2u_pipeline_last_error(p.pipeline));
  const std::vector<float> probability = read_plane<float>(p.pipeline, M2U_PLANE_PROBABILITY, height, width);
  CHECK(std::all_of(probability.begin(), probability.end(), [](float v) { return v >= 0.0f && v <= 1.0f; }));
  CHECK(result_of(p.pipeline).tiles == 12);  // rows 0, 96, 122->128; columns 0, 96, 192, 208
}

TEST_CASE("cuda_graph: whole and tiled frames equal the plain pipeline's bit for bit, frame after frame") {
  ModelHandle model("cin3_relu6.m2u");
  const int height = 250, width = 333;
  for (const int tile : {0, 128}) {
    CAPTURE(tile);
    PipelineHandle pipelines[2];
    for (int graph = 0; graph < 2; ++graph) {
      m2u_pipeline_options options = sized_options(height, width);
      options.tile = tile;
      options.overlap = 16;
      options.cuda_graph = graph;
      REQUIRE_MESSAGE(m2u_pipeline_create(model.model, &options, &pipelines[graph].pipeline) == M2U_OK,
                      m2u_last_error());
    }
    // New content every frame: a graph replayed for the wrong tile, or one
    // holding a stale input, would show.
    for (uint64_t seed = 21; seed < 24; ++seed) {
      CAPTURE(seed);
      const std::vector<uint8_t> raw = mono8(pattern(height, width, 255, seed));
      const m2u_raw_frame frame = host_frame(raw, M2U_RAW_MONO8, height, width);
      std::vector<float> maps[2];
      for (int graph = 0; graph < 2; ++graph) {
        m2u_pipeline* p = pipelines[graph].pipeline;
#if defined(M2U_FLAVOUR_EMU)
        const uint64_t before = m2u_emu::graph_launches();
#endif
        REQUIRE_MESSAGE(m2u_pipeline_run(p, &frame) == M2U_OK, m2u_pipeline_last_error(p));
        maps[graph] = read_plane<float>(p, M2U_PLANE_PROBABILITY, height, width);
        CHECK(result_of(p).tiles == (tile ? 12 : 1));
#if defined(M2U_FLAVOUR_EMU)
        // One graph launch a tile (a capture is launched once too), none without.
        CHECK(m2u_emu::graph_launches() - before == static_cast<uint64_t>(graph ? (tile ? 12 : 1) : 0));
#endif
      }
      CHECK(maps[1] == maps[0]);
    }
  }
}

TEST_CASE("cuda_graph: a frame of more tiles than the engine holds graphs for runs without graphs, as the plain "
          "pipeline") {
  ModelHandle model("cin1_relu.m2u");
  const int height = 70, width = 333;  // 32-pixel tiles overlapping by 8: more than 64
  PipelineHandle pipelines[2];
  for (int graph = 0; graph < 2; ++graph) {
    m2u_pipeline_options options = sized_options(height, width);
    options.tile = 32;
    options.overlap = 8;
    options.cuda_graph = graph;
    REQUIRE_MESSAGE(m2u_pipeline_create(model.model, &options, &pipelines[graph].pipeline) == M2U_OK,
                    m2u_last_error());
  }
  for (uint64_t seed = 31; seed < 33; ++seed) {
    CAPTURE(seed);
    const std::vector<uint8_t> raw = mono8(pattern(height, width, 255, seed));
    const m2u_raw_frame frame = host_frame(raw, M2U_RAW_MONO8, height, width);
    std::vector<float> maps[2];
    for (int graph = 0; graph < 2; ++graph) {
      m2u_pipeline* p = pipelines[graph].pipeline;
#if defined(M2U_FLAVOUR_EMU)
      const uint64_t before = m2u_emu::graph_launches();
#endif
      REQUIRE_MESSAGE(m2u_pipeline_run(p, &frame) == M2U_OK, m2u_pipeline_last_error(p));
      maps[graph] = read_plane<float>(p, M2U_PLANE_PROBABILITY, height, width);
      CHECK(result_of(p).tiles > 64);
#if defined(M2U_FLAVOUR_EMU)
      CHECK(m2u_emu::graph_launches() == before);
#endif
    }
    CHECK(maps[1] == maps[0]);
  }
}

TEST_CASE("refusals name the field, the frame and the numbers") {
  ModelHandle model("cin1_relu.m2u");
  m2u_pipeline_options options = sized_options(32, 48);
  PipelineHandle bad;
  options.tile = 100;
  CHECK(m2u_pipeline_create(model.model, &options, &bad.pipeline) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(m2u_last_error()).find("tile 100 must be a positive multiple of 16") != std::string::npos);
  CHECK(bad.pipeline == nullptr);
  options.tile = 64;
  options.overlap = 28;
  CHECK(m2u_pipeline_create(model.model, &options, &bad.pipeline) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(m2u_last_error()).find("leaves less than 16 pixels") != std::string::npos);
  options.tile = 0;
  options.threshold = 1.0f;
  CHECK(m2u_pipeline_create(model.model, &options, &bad.pipeline) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(m2u_last_error()).find("threshold is 1") != std::string::npos);
  options.threshold = 0.5f;
  options.struct_size = 0;
  CHECK(m2u_pipeline_create(model.model, &options, &bad.pipeline) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(m2u_last_error()).find("m2u_pipeline_options_init") != std::string::npos);

  options = sized_options(32, 48);
  PipelineHandle p;
  REQUIRE(m2u_pipeline_create(model.model, &options, &p.pipeline) == M2U_OK);
  m2u_pipeline_result result;
  m2u_pipeline_result_init(&result);
  CHECK(m2u_pipeline_get_result(p.pipeline, &result) == M2U_ERROR_INVALID_ARGUMENT);  // no run yet
  const std::vector<uint8_t> raw(2 * 40 * 50, 7);
  m2u_raw_frame frame = host_frame(raw, M2U_RAW_MONO16, 40, 50);
  CHECK(m2u_pipeline_run(p.pipeline, &frame) == M2U_ERROR_SHAPE);
  CHECK(std::string(m2u_pipeline_last_error(p.pipeline)).find("frame: 50x40; this pipeline takes frames of 1x1 to 48x32") !=
        std::string::npos);
  frame = host_frame(raw, M2U_RAW_MONO16, 20, 30);
  frame.row_stride = 59;
  CHECK(m2u_pipeline_run(p.pipeline, &frame) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(m2u_pipeline_last_error(p.pipeline)).find("row_stride 59 is smaller than a mono16 row of 30 pixels (60 bytes)") !=
        std::string::npos);
  frame.row_stride = 0;
  int bad_format = 9;
  std::memcpy(&frame.format, &bad_format, sizeof(int));
  CHECK(m2u_pipeline_run(p.pipeline, &frame) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(m2u_pipeline_last_error(p.pipeline)).find("format 9 is unknown") != std::string::npos);
  frame.format = M2U_RAW_MONO16;
  CHECK(m2u_pipeline_run_dpc(p.pipeline, &frame, &frame) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(m2u_pipeline_set_flat_fields(p.pipeline, &frame, nullptr) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(m2u_pipeline_run(p.pipeline, &frame) == M2U_OK);
  CHECK(m2u_pipeline_read_plane(p.pipeline, M2U_PLANE_MASK, nullptr, 0) == M2U_ERROR_INVALID_ARGUMENT);
  std::vector<uint8_t> small(30 * 20);
  CHECK(m2u_pipeline_read_plane(p.pipeline, M2U_PLANE_LABELS, small.data(), 100) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(m2u_pipeline_last_error(p.pipeline)).find("row_stride 100 is smaller than a row (120 bytes)") !=
        std::string::npos);

  // An all-zero flat field is not a flat field.
  options = sized_options(32, 48);
  options.flat_field = 1;
  PipelineHandle flat;
  REQUIRE(m2u_pipeline_create(model.model, &options, &flat.pipeline) == M2U_OK);
  const std::vector<uint8_t> zeros(20 * 30, 0);
  const m2u_raw_frame zero_flat = host_frame(zeros, M2U_RAW_MONO8, 20, 30);
  CHECK(m2u_pipeline_set_flat_fields(flat.pipeline, &zero_flat, nullptr) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(m2u_pipeline_last_error(flat.pipeline)).find("every one of its 600 pixels is 0") !=
        std::string::npos);
}

// The option and result structs as a caller compiled against a shorter,
// older m2urt.h would have them.
struct OldOptions {
  size_t struct_size;
  int max_height, max_width, dpc, flat_field;
};
struct OldResult {
  size_t struct_size;
  int height, width;
};

TEST_CASE("an older caller's shorter structs: its fields read, the rest defaults, nothing written past them") {
  ModelHandle model("cin1_relu.m2u");
  // The old caller's _init macro passes its own sizeof: nothing past it is written.
  struct {
    OldOptions options;
    unsigned char guard[64];
  } old_options;
  std::memset(&old_options, 0xA5, sizeof(old_options));
  m2u_pipeline_options_init_sized(reinterpret_cast<m2u_pipeline_options*>(&old_options.options), sizeof(OldOptions));
  CHECK(std::all_of(old_options.guard, old_options.guard + 64, [](unsigned char b) { return b == 0xA5; }));
  CHECK(old_options.options.struct_size == sizeof(OldOptions));
  CHECK(old_options.options.max_height == 1024);  // the defaults, as far as the old struct goes
  OldOptions old = old_options.options;
  old.max_height = 24;
  old.max_width = 40;
  PipelineHandle p;
  REQUIRE_MESSAGE(m2u_pipeline_create(model.model, reinterpret_cast<const m2u_pipeline_options*>(&old), &p.pipeline) ==
                      M2U_OK,
                  m2u_last_error());
  const std::vector<uint8_t> raw(24 * 40, 100);
  const m2u_raw_frame frame = host_frame(raw, M2U_RAW_MONO8, 24, 40);
  REQUIRE(m2u_pipeline_run(p.pipeline, &frame) == M2U_OK);
  const m2u_raw_frame larger = host_frame(std::vector<uint8_t>(25 * 40), M2U_RAW_MONO8, 25, 40);
  CHECK(m2u_pipeline_run(p.pipeline, &larger) == M2U_ERROR_SHAPE);  // max_height 24 was read
  struct {
    OldResult result;
    unsigned char guard[64];
  } old_result;
  std::memset(&old_result, 0xA5, sizeof(old_result));
  m2u_pipeline_result_init_sized(reinterpret_cast<m2u_pipeline_result*>(&old_result.result), sizeof(OldResult));
  CHECK(std::all_of(old_result.guard, old_result.guard + 64, [](unsigned char b) { return b == 0xA5; }));
  REQUIRE(m2u_pipeline_run(p.pipeline, &frame) == M2U_OK);
  REQUIRE(m2u_pipeline_get_result(p.pipeline, reinterpret_cast<m2u_pipeline_result*>(&old_result.result)) == M2U_OK);
  CHECK(old_result.result.height == 24);
  CHECK(old_result.result.width == 40);
  CHECK(std::all_of(old_result.guard, old_result.guard + 64, [](unsigned char b) { return b == 0xA5; }));
  m2u_pipeline_result full;
  m2u_pipeline_result_init(&full);
  REQUIRE(m2u_pipeline_get_result(p.pipeline, &full) == M2U_OK);
  CHECK(full.threshold == 0.5f);  // the default of the field the old caller did not have
}

#if defined(M2U_FLAVOUR_EMU)
TEST_CASE("runs allocate no device memory (the emulated runtime's counters)") {
  ModelHandle model("cin1_relu.m2u");
  m2u_pipeline_options options = sized_options(48, 96);
  options.tile = 64;
  options.overlap = 8;
  options.threshold_method = M2U_THRESHOLD_OTSU;
  PipelineHandle p;
  REQUIRE(m2u_pipeline_create(model.model, &options, &p.pipeline) == M2U_OK);
  const std::vector<uint8_t> raw = mono8(pattern(45, 90, 255, 21));
  const m2u_raw_frame frame = host_frame(raw, M2U_RAW_MONO8, 45, 90);
  REQUIRE(m2u_pipeline_run(p.pipeline, &frame) == M2U_OK);
  const m2u_emu::MemoryCounters before = m2u_emu::memory_counters();
  for (int i = 0; i < 2; ++i) REQUIRE(m2u_pipeline_run(p.pipeline, &frame) == M2U_OK);
  CHECK(m2u_emu::memory_counters().device_allocations == before.device_allocations);
}
#endif

TEST_CASE("an engine's channel refusal says what a 1-channel model takes") {
  ModelHandle model("cin1_relu.m2u");
  m2u_engine_options options;
  m2u_engine_options_init(&options);
  options.max_height = 16;
  options.max_width = 16;
  m2u_engine* engine = nullptr;
  REQUIRE(m2u_engine_create(model.model, &options, &engine) == M2U_OK);
  std::vector<float> in(16 * 16 * 3, 0.5f), out(16 * 16);
  m2u_image input{}, output{};
  input.data = in.data();
  input.memory = M2U_MEMORY_HOST;
  input.dtype = M2U_DTYPE_F32;
  input.batch = 1;
  input.channels = 3;
  input.height = 16;
  input.width = 16;
  output = input;
  output.data = out.data();
  output.channels = 1;
  CHECK(m2u_engine_run(engine, &input, &output) == M2U_ERROR_SHAPE);
  CHECK(std::string(m2u_engine_last_error(engine)) == "input has 3 channels; the model takes 1 (grey)");
  m2u_engine_destroy(engine);
}
