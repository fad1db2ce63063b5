// test_c_api.cpp - the C API: handles, statuses and messages, options,
// shapes, strides, output types, host and device pointers; models the
// engine cannot run (INT8, batch-norm folding that overflows) and
// non-finite input (M2U_ERROR_INPUT, synchronous and asynchronous).
#include <doctest/doctest.h>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "engine_test_support.h"
#include "m2urt.h"
#include "weights_writer.h"

namespace {

bool contains(const char* text, const std::string& part) { return std::string(text).find(part) != std::string::npos; }

struct Loaded {
  m2u_model* model = nullptr;
  m2u_engine* engine = nullptr;
  ~Loaded() {
    m2u_engine_destroy(engine);
    m2u_model_destroy(model);
  }
};

void load(Loaded& loaded, int height, int width, int batch = 1, const char* fixture = "cin1_relu.m2u") {
  REQUIRE_MESSAGE(m2u_model_load(engine_test::fixture_path(fixture).c_str(), &loaded.model) == M2U_OK,
                  m2u_last_error());
  m2u_engine_options options;
  m2u_engine_options_init(&options);
  options.max_batch = batch;
  options.max_height = height;
  options.max_width = width;
  REQUIRE_MESSAGE(m2u_engine_create(loaded.model, &options, &loaded.engine) == M2U_OK, m2u_last_error());
}

m2u_test::WriterTensor& writer_tensor(m2u_test::WeightsFile& file, const std::string& name) {
  for (m2u_test::WriterTensor& tensor : file.tensors) {
    if (tensor.name == name) return tensor;
  }
  FAIL("no tensor " << name);
  return file.tensors.front();
}

void set_f32(m2u_test::WriterTensor& tensor, size_t index, float value) {
  REQUIRE(tensor.dtype == 0);
  std::memcpy(tensor.bytes.data() + 4 * index, &value, sizeof(value));
}

// Loads `file` (which the loader must accept) and tries to make an engine of it.
m2u_status create_engine(const m2u_test::WeightsFile& file, m2u_engine** engine) {
  const std::vector<uint8_t> bytes = m2u_test::serialize(file);
  m2u_model* model = nullptr;
  REQUIRE_MESSAGE(m2u_model_load_memory(bytes.data(), bytes.size(), &model) == M2U_OK, m2u_last_error());
  m2u_engine_options options;
  m2u_engine_options_init(&options);
  options.max_height = 16;
  options.max_width = 32;
  const m2u_status status = m2u_engine_create(model, &options, engine);
  m2u_model_destroy(model);
  return status;
}

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// A smooth F32 intensity frame in [0, 1], `channels` interleaved.
std::vector<float> float_frame(int batch, int height, int width, int channels) {
  std::vector<float> frame(static_cast<size_t>(batch) * height * width * channels);
  for (size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<float>((i * 37) % 101) / 100.0f;
  return frame;
}

}  // namespace

TEST_CASE("loading reports missing and malformed files with their names") {
  m2u_model* model = reinterpret_cast<m2u_model*>(0x1);
  CHECK(m2u_model_load("/nonexistent/rbc.m2u", &model) == M2U_ERROR_FILE);
  CHECK(model == nullptr);
  CHECK(contains(m2u_last_error(), "/nonexistent/rbc.m2u: cannot open"));
  const char garbage[300] = "not a model";
  CHECK(m2u_model_load_memory(garbage, sizeof(garbage), &model) == M2U_ERROR_BAD_MODEL);
  CHECK(contains(m2u_last_error(), "not an .m2u weights file"));
  CHECK(m2u_model_load(nullptr, &model) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(m2u_model_load("x", nullptr) == M2U_ERROR_INVALID_ARGUMENT);
  m2u_model_destroy(nullptr);
  m2u_engine_destroy(nullptr);
}

TEST_CASE("a model from memory equals the model from its file; info describes it") {
  std::ifstream file(engine_test::fixture_path("cin3_relu6.m2u"), std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  m2u_model* model = nullptr;
  REQUIRE(m2u_model_load_memory(bytes.data(), bytes.size(), &model) == M2U_OK);
  m2u_model_info info;
  REQUIRE(m2u_model_get_info(model, &info) == M2U_OK);
  CHECK(info.in_channels == 3);
  CHECK(info.out_channels == 1);
  CHECK(info.output_is_sigmoid == 1);
  CHECK(info.input_normalization == M2U_INPUT_AFFINE);
  CHECK(info.pixel_scale == 255.0f);
  m2u_model_destroy(model);
}

TEST_CASE("engine options are validated") {
  m2u_model* model = nullptr;
  REQUIRE(m2u_model_load(engine_test::fixture_path("cin1_relu.m2u").c_str(), &model) == M2U_OK);
  m2u_engine_options options;
  m2u_engine_options_init(&options);
  CHECK(options.max_batch == 1);
  m2u_engine* engine = nullptr;
  options.max_height = 0;
  CHECK(m2u_engine_create(model, &options, &engine) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(contains(m2u_last_error(), "max_batch, max_height and max_width must be >= 1"));
  m2u_engine_options_init(&options);
  const int unknown_precision = 7;  // as a C caller may store it
  std::memcpy(&options.precision, &unknown_precision, sizeof(unknown_precision));
  CHECK(m2u_engine_create(model, &options, &engine) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(contains(m2u_last_error(), "precision 7 is not available"));
  m2u_engine_options_init(&options);
  options.device = 3;
  CHECK(m2u_engine_create(model, &options, &engine) == M2U_ERROR_NO_DEVICE);
  CHECK(engine == nullptr);
  m2u_model_destroy(model);
}

TEST_CASE("an FP16 engine: half the arena, the layers and their precision, probabilities near FP32") {
  m2u_model* model = nullptr;
  REQUIRE(m2u_model_load(engine_test::fixture_path("cin1_relu.m2u").c_str(), &model) == M2U_OK);
  const int height = 40, width = 72;
  std::vector<uint8_t> frame(static_cast<size_t>(height) * width);
  for (size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<uint8_t>((i * 37 + i / width * 11) % 256);
  std::vector<float> probabilities[2];
  size_t arena[2] = {0, 0};
  for (int half = 0; half < 2; ++half) {
    m2u_engine_options options;
    m2u_engine_options_init(&options);
    options.max_height = height;
    options.max_width = width;
    options.precision = half ? M2U_PRECISION_FP16 : M2U_PRECISION_FP32;
    m2u_engine* engine = nullptr;
    REQUIRE_MESSAGE(m2u_engine_create(model, &options, &engine) == M2U_OK, m2u_last_error());
    REQUIRE(m2u_engine_memory(engine, &arena[half], nullptr) == M2U_OK);
    int count = 0;
    REQUIRE(m2u_engine_layer_count(engine, &count) == M2U_OK);
    CHECK(count > 40);
    int half2_layers = 0;
    for (int i = 0; i < count; ++i) {
      m2u_layer_info info;
      info.struct_size = sizeof(info);
      REQUIRE(m2u_engine_get_layer(engine, i, &info) == M2U_OK);
      REQUIRE(info.name != nullptr);
      const std::string storage = info.storage, arithmetic = info.arithmetic, name = info.name;
      // FP16's per-layer choice (layer_precision.cpp): half2 in conv2..conv4,
      // FP32 storage and arithmetic in decode2's and decode1's blocks.
      const bool float_block = name.rfind("decode2.ir1", 0) == 0 || name.rfind("decode1.ir1", 0) == 0;
      const bool half2_stage = name.rfind("conv2.", 0) == 0 || name.rfind("conv3.", 0) == 0 ||
                               name.rfind("conv4.", 0) == 0;
      if (name.find("(output)") == std::string::npos) {
        CHECK_MESSAGE(storage == (half && !float_block ? "fp16" : "fp32"), name);
      }
      const bool in_half2 = arithmetic.find("half2") != std::string::npos;
      CHECK_MESSAGE(in_half2 == (half && half2_stage), name << ": " << arithmetic);
      half2_layers += in_half2;
      if (!half) CHECK(arithmetic == "fp32");
    }
    if (half) CHECK(half2_layers == 36);
    m2u_layer_info info;
    info.struct_size = sizeof(info);
    CHECK(m2u_engine_get_layer(engine, count, &info) == M2U_ERROR_INVALID_ARGUMENT);
    CHECK(contains(m2u_last_error(), "outside 0.."));
    probabilities[half].assign(frame.size(), -1.0f);
    const m2u_image in = engine_test::host_image(frame.data(), M2U_DTYPE_U8, 1, 1, height, width);
    m2u_image out = engine_test::host_image(probabilities[half].data(), M2U_DTYPE_F32, 1, 1, height, width);
    REQUIRE_MESSAGE(m2u_engine_run(engine, &in, &out) == M2U_OK, m2u_engine_last_error(engine));
    m2u_engine_destroy(engine);
  }
  MESSAGE("arena at " << height << "x" << width << ": FP32 " << arena[0] << " bytes, FP16 " << arena[1]);
  CHECK(arena[1] * 10 < arena[0] * 6);
  double worst = 0.0;
  for (size_t i = 0; i < frame.size(); ++i) {
    REQUIRE(std::isfinite(probabilities[1][i]));
    worst = std::max(worst, static_cast<double>(std::fabs(probabilities[1][i] - probabilities[0][i])));
  }
  MESSAGE("FP16 vs FP32 max |dp| " << worst);
  CHECK(worst <= 1e-2);
  m2u_model_destroy(model);
}

TEST_CASE("runs refuse images that do not fit, naming the sizes") {
  Loaded loaded;
  load(loaded, 32, 48);
  std::vector<uint8_t> frame(64 * 64, 0);
  std::vector<float> out(64 * 64, 0.0f);
  m2u_image input = engine_test::host_image(frame.data(), M2U_DTYPE_U8, 1, 1, 64, 64);
  m2u_image output = engine_test::host_image(out.data(), M2U_DTYPE_F32, 1, 1, 64, 64);
  CHECK(m2u_engine_run(loaded.engine, &input, &output) == M2U_ERROR_SHAPE);
  CHECK(contains(m2u_engine_last_error(loaded.engine), "input is 1 x 64 x 64; this engine takes 1..1 frames of at most 32 x 48"));
  input.height = output.height = 30;
  input.width = output.width = 40;
  output.channels = 2;
  CHECK(m2u_engine_run(loaded.engine, &input, &output) == M2U_ERROR_SHAPE);
  CHECK(contains(m2u_engine_last_error(loaded.engine), "expected 1 x 1 x 30 x 40"));
  output.channels = 1;
  input.channels = 3;
  CHECK(m2u_engine_run(loaded.engine, &input, &output) == M2U_ERROR_SHAPE);
  input.channels = 1;
  input.row_stride = 10;
  CHECK(m2u_engine_run(loaded.engine, &input, &output) == M2U_ERROR_INVALID_ARGUMENT);
  input.row_stride = 0;
  input.data = nullptr;
  CHECK(m2u_engine_run(loaded.engine, &input, &output) == M2U_ERROR_INVALID_ARGUMENT);
  input.data = frame.data();
  CHECK(m2u_engine_run(loaded.engine, &input, &output) == M2U_OK);
  CHECK(std::string(m2u_engine_last_error(loaded.engine)).empty());
}

TEST_CASE("strided U16 host input, U8 output and device pointers agree with the packed float path") {
  const int height = 30, width = 40;
  Loaded loaded;
  load(loaded, height, width);
  // A 12-bit frame in a row-padded 16-bit buffer, and the same as floats.
  const size_t row_stride = (width + 6) * sizeof(uint16_t);
  std::vector<uint16_t> raw(static_cast<size_t>(height) * (width + 6), 0xFFFF);
  std::vector<float> intensity(static_cast<size_t>(height) * width);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const uint16_t v = static_cast<uint16_t>((y * 97 + x * 31) % 4096);
      raw[y * (width + 6) + x] = v;
      intensity[y * width + x] = v / 4095.0f;
    }
  std::vector<float> from_float(height * width), from_u16(height * width);
  m2u_image f32_in = engine_test::host_image(intensity.data(), M2U_DTYPE_F32, 1, 1, height, width);
  m2u_image out = engine_test::host_image(from_float.data(), M2U_DTYPE_F32, 1, 1, height, width);
  REQUIRE(m2u_engine_run(loaded.engine, &f32_in, &out) == M2U_OK);
  m2u_image u16_in = engine_test::host_image(raw.data(), M2U_DTYPE_U16, 1, 1, height, width);
  u16_in.row_stride = row_stride;
  u16_in.significant_bits = 12;
  out.data = from_u16.data();
  REQUIRE(m2u_engine_run(loaded.engine, &u16_in, &out) == M2U_OK);
  for (size_t i = 0; i < from_float.size(); ++i) CHECK(std::fabs(from_float[i] - from_u16[i]) <= 1e-5f);

  std::vector<uint8_t> as_u8(height * width);
  m2u_image u8_out = engine_test::host_image(as_u8.data(), M2U_DTYPE_U8, 1, 1, height, width);
  REQUIRE(m2u_engine_run(loaded.engine, &f32_in, &u8_out) == M2U_OK);
  for (size_t i = 0; i < as_u8.size(); ++i) {
    CHECK(std::abs(static_cast<int>(as_u8[i]) - static_cast<int>(std::lround(from_float[i] * 255.0f))) <= 1);
  }

  void* device_in = nullptr;
  void* device_out = nullptr;
  REQUIRE(cudaMalloc(&device_in, intensity.size() * sizeof(float)) == cudaSuccess);
  REQUIRE(cudaMalloc(&device_out, from_float.size() * sizeof(float)) == cudaSuccess);
  REQUIRE(cudaMemcpy(device_in, intensity.data(), intensity.size() * sizeof(float), cudaMemcpyHostToDevice) == cudaSuccess);
  m2u_image d_in = f32_in, d_out = out;
  d_in.data = device_in;
  d_in.memory = M2U_MEMORY_DEVICE;
  d_out.data = device_out;
  d_out.memory = M2U_MEMORY_DEVICE;
  REQUIRE(m2u_engine_run(loaded.engine, &d_in, &d_out) == M2U_OK);
  REQUIRE(m2u_engine_synchronize(loaded.engine) == M2U_OK);
  int done = 0;
  CHECK(m2u_engine_query(loaded.engine, &done) == M2U_OK);
  CHECK(done == 1);
  std::vector<float> from_device(from_float.size());
  REQUIRE(cudaMemcpy(from_device.data(), device_out, from_device.size() * sizeof(float), cudaMemcpyDeviceToHost) == cudaSuccess);
  CHECK(from_device == from_float);
  cudaFree(device_in);
  cudaFree(device_out);
}

TEST_CASE("enum fields holding values C allows but the API does not name are refused") {
  Loaded loaded;
  load(loaded, 16, 16);
  std::vector<uint8_t> frame(16 * 16, 0);
  std::vector<float> out(16 * 16, 0.0f);
  m2u_image input = engine_test::host_image(frame.data(), M2U_DTYPE_U8, 1, 1, 16, 16);
  m2u_image output = engine_test::host_image(out.data(), M2U_DTYPE_F32, 1, 1, 16, 16);
  const int bogus = 42;
  std::memcpy(&input.dtype, &bogus, sizeof(bogus));
  CHECK(m2u_engine_run(loaded.engine, &input, &output) == M2U_ERROR_INVALID_ARGUMENT);
  input.dtype = M2U_DTYPE_U8;
  std::memcpy(&output.memory, &bogus, sizeof(bogus));
  CHECK(m2u_engine_run(loaded.engine, &input, &output) == M2U_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("given input statistics replace the per-frame ones") {
  const int height = 32, width = 48;
  Loaded loaded;  // cin1_relu: per-image standardisation, pixel_scale 255
  load(loaded, height, width);
  std::vector<uint8_t> frame(height * width);
  double sum = 0.0, squares = 0.0;
  for (size_t i = 0; i < frame.size(); ++i) {
    frame[i] = static_cast<uint8_t>((i * 37) % 251);
    sum += frame[i];
    squares += double(frame[i]) * frame[i];
  }
  const double mean = sum / frame.size();
  const float mean_std[2] = {static_cast<float>(mean),
                             static_cast<float>(std::sqrt(squares / frame.size() - mean * mean))};
  std::vector<float> own(frame.size()), given(frame.size()), shifted(frame.size());
  m2u_image in = engine_test::host_image(frame.data(), M2U_DTYPE_U8, 1, 1, height, width);
  m2u_image out = engine_test::host_image(own.data(), M2U_DTYPE_F32, 1, 1, height, width);
  REQUIRE(m2u_engine_run(loaded.engine, &in, &out) == M2U_OK);
  REQUIRE(m2u_engine_set_input_statistics(loaded.engine, mean_std, 1) == M2U_OK);
  out.data = given.data();
  REQUIRE(m2u_engine_run(loaded.engine, &in, &out) == M2U_OK);
  for (size_t i = 0; i < own.size(); ++i) CHECK(std::fabs(own[i] - given[i]) <= 1e-4f);
  const float other[2] = {mean_std[0] + 40.0f, mean_std[1]};
  REQUIRE(m2u_engine_set_input_statistics(loaded.engine, other, 1) == M2U_OK);
  out.data = shifted.data();
  REQUIRE(m2u_engine_run(loaded.engine, &in, &out) == M2U_OK);
  CHECK(shifted != own);
  const float bad[2] = {0.0f, -1.0f};
  CHECK(m2u_engine_set_input_statistics(loaded.engine, bad, 1) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(m2u_engine_set_input_statistics(loaded.engine, mean_std, 2) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(m2u_engine_set_input_statistics(loaded.engine, nullptr, 0) == M2U_OK);
}

TEST_CASE("every status has a name, M2U_ERROR_INPUT included") {
  CHECK(M2U_ERROR_INPUT == 8);
  CHECK(std::string(m2u_status_string(M2U_ERROR_INPUT)) == "input holds values that cannot be computed");
}

TEST_CASE("batch-norm folding that overflows float is refused at engine creation, naming the tensor") {
  // decode2's expand conv: its BN (decode2.ir1.conv.1) with gamma 3e38 over
  // a running_var of 0 at channel 5. Every stored value is finite (the
  // loader accepts the file); the folded weight is not.
  m2u_test::WeightsFile file = m2u_test::make_valid_file(1, 1, false, 0, 21);
  set_f32(writer_tensor(file, "decode2.ir1.conv.1.weight"), 5, 3e38f);
  set_f32(writer_tensor(file, "decode2.ir1.conv.1.running_var"), 5, 0.0f);
  m2u_engine* engine = reinterpret_cast<m2u_engine*>(0x1);
  CHECK(create_engine(file, &engine) == M2U_ERROR_BAD_MODEL);
  CHECK(engine == nullptr);
  const std::string message = m2u_last_error();
  CHECK_MESSAGE(contains(message.c_str(), "tensor 'decode2.ir1.conv.0.weight': batch-norm folding with "
                                          "'decode2.ir1.conv.1' gives a non-finite weight at output channel 5"),
                message);
  CHECK_MESSAGE(contains(message.c_str(), "(gamma 3e+38, running_var 0,"), message);
  m2u_engine_destroy(engine);

  // Zero weights keep the folded weights finite (0 * scale); a running_mean
  // then makes the folded bias overflow.
  m2u_test::WeightsFile bias_file = m2u_test::make_valid_file(1, 1, false, 0, 22);
  m2u_test::WriterTensor& weight = writer_tensor(bias_file, "conv3.5.conv.3.weight");  // depthwise, 192 x 1 x 3 x 3
  for (size_t k = 0; k < 9; ++k) set_f32(weight, 7 * 9 + k, 0.0f);
  set_f32(writer_tensor(bias_file, "conv3.5.conv.4.weight"), 7, 3e38f);
  set_f32(writer_tensor(bias_file, "conv3.5.conv.4.running_var"), 7, 0.0f);
  set_f32(writer_tensor(bias_file, "conv3.5.conv.4.running_mean"), 7, 0.25f);
  engine = nullptr;
  CHECK(create_engine(bias_file, &engine) == M2U_ERROR_BAD_MODEL);
  CHECK_MESSAGE(contains(m2u_last_error(), "tensor 'conv3.5.conv.3.weight': batch-norm folding with "
                                           "'conv3.5.conv.4' gives a non-finite bias at output channel 7"),
                m2u_last_error());
  m2u_engine_destroy(engine);

  // The same model without the overflow runs.
  REQUIRE(create_engine(m2u_test::make_valid_file(1, 1, false, 0, 21), &engine) == M2U_OK);
  m2u_engine_destroy(engine);
}

TEST_CASE("a model with INT8 weights is refused at engine creation, naming the tensor") {
  m2u_test::WeightsFile file = m2u_test::make_valid_file(1, 1, true, 0, 23);
  m2u_test::WriterTensor& tensor = writer_tensor(file, "conv2.2.conv.0.weight");
  const size_t count = tensor.bytes.size() / 4;
  tensor.dtype = 2;
  tensor.bytes.assign(count, 0);
  for (size_t k = 0; k < count; ++k) tensor.bytes[k] = static_cast<uint8_t>(k * 7 % 255);
  tensor.quant_index = 0;
  m2u_test::WriterQuant quant;
  quant.name = tensor.name;
  quant.kind = 1;
  quant.scales.assign(tensor.dims[0], 0.01f);
  file.quant.push_back(quant);
  m2u_engine* engine = nullptr;
  CHECK(create_engine(file, &engine) == M2U_ERROR_BAD_MODEL);
  CHECK(engine == nullptr);
  CHECK_MESSAGE(contains(m2u_last_error(), "tensor 'conv2.2.conv.0.weight' is stored as INT8 (I8): INT8 "
                                           "weights are not supported by this build yet"),
                m2u_last_error());
}

TEST_CASE("one NaN or infinite F32 pixel is an input error, not a silent NaN; the next finite run is OK") {
  const int height = 20, width = 27;
  // Per-image standardisation (cin1_relu) and an affine convention with a
  // grey frame replicated into 3 channels (cin3_relu6).
  for (const char* fixture : {"cin1_relu.m2u", "cin3_relu6.m2u"}) {
    CAPTURE(fixture);
    Loaded loaded;
    load(loaded, height, width, 1, fixture);
    const std::vector<float> finite = float_frame(1, height, width, 1);
    std::vector<float> zeroed = finite;
    zeroed[7 * width + 11] = 0.0f;
    std::vector<float> reference(height * width), got(height * width, -1.0f);
    m2u_image in = engine_test::host_image(zeroed.data(), M2U_DTYPE_F32, 1, 1, height, width);
    m2u_image out = engine_test::host_image(reference.data(), M2U_DTYPE_F32, 1, 1, height, width);
    REQUIRE(m2u_engine_run(loaded.engine, &in, &out) == M2U_OK);
    for (float bad : {kNan, kInf, -kInf}) {
      CAPTURE(bad);
      std::vector<float> frame = finite;
      frame[7 * width + 11] = bad;
      in.data = frame.data();
      out.data = got.data();
      CHECK(m2u_engine_run(loaded.engine, &in, &out) == M2U_ERROR_INPUT);
      CHECK_MESSAGE(contains(m2u_engine_last_error(loaded.engine),
                             "input: 1 non-finite pixel value(s) (NaN or infinity) in image 0;"),
                    m2u_engine_last_error(loaded.engine));
      // The documented output: the value read as 0, the rest computed.
      CHECK(got == reference);
      // The counter is reset per run: a finite frame is OK again.
      in.data = zeroed.data();
      CHECK(m2u_engine_run(loaded.engine, &in, &out) == M2U_OK);
      CHECK(std::string(m2u_engine_last_error(loaded.engine)).empty());
    }
    // U8 output of a frame with NaN: still reported (the old result was a
    // silent all-0 mask).
    std::vector<float> frame = finite;
    frame.back() = kNan;
    std::vector<uint8_t> mask(height * width);
    in.data = frame.data();
    m2u_image u8_out = engine_test::host_image(mask.data(), M2U_DTYPE_U8, 1, 1, height, width);
    CHECK(m2u_engine_run(loaded.engine, &in, &u8_out) == M2U_ERROR_INPUT);
  }
}

TEST_CASE("non-finite input counts per image of a batch and per colour channel") {
  const int height = 16, width = 18;
  Loaded loaded;
  load(loaded, height, width, 3, "cin3_relu6.m2u");
  std::vector<float> frame = float_frame(3, height, width, 3);
  const size_t image = static_cast<size_t>(height) * width * 3;
  frame[0] = kNan;                      // image 0, pixel 0, channel 0
  frame[image - 1] = kInf;              // image 0, last pixel, channel 2
  frame[2 * image + 5 * 3 + 1] = -kInf;  // image 2, pixel 5, channel 1
  std::vector<float> out(3 * height * width);
  const m2u_image in = engine_test::host_image(frame.data(), M2U_DTYPE_F32, 3, 3, height, width);
  m2u_image output = engine_test::host_image(out.data(), M2U_DTYPE_F32, 3, 1, height, width);
  CHECK(m2u_engine_run(loaded.engine, &in, &output) == M2U_ERROR_INPUT);
  CHECK_MESSAGE(contains(m2u_engine_last_error(loaded.engine),
                         "input: 2 non-finite pixel value(s) (NaN or infinity) in image 0, 1 in image 2;"),
                m2u_engine_last_error(loaded.engine));
}

TEST_CASE("an asynchronous run with non-finite input reports it at synchronize and query, once") {
  const int height = 16, width = 32;
  Loaded loaded;
  load(loaded, height, width);
  std::vector<float> frame = float_frame(1, height, width, 1);
  frame[3 * width + 30] = kNan;
  frame[15 * width + 31] = kInf;
  const size_t bytes = frame.size() * sizeof(float);
  void* device_in = nullptr;
  void* device_out = nullptr;
  REQUIRE(cudaMalloc(&device_in, bytes) == cudaSuccess);
  REQUIRE(cudaMalloc(&device_out, bytes) == cudaSuccess);
  REQUIRE(cudaMemcpy(device_in, frame.data(), bytes, cudaMemcpyHostToDevice) == cudaSuccess);
  m2u_image in = engine_test::host_image(device_in, M2U_DTYPE_F32, 1, 1, height, width);
  m2u_image out = engine_test::host_image(device_out, M2U_DTYPE_F32, 1, 1, height, width);
  in.memory = out.memory = M2U_MEMORY_DEVICE;
  // Queued: the count is not known yet.
  CHECK(m2u_engine_run(loaded.engine, &in, &out) == M2U_OK);
  CHECK(m2u_engine_synchronize(loaded.engine) == M2U_ERROR_INPUT);
  CHECK_MESSAGE(contains(m2u_engine_last_error(loaded.engine),
                         "input: 2 non-finite pixel value(s) (NaN or infinity) in image 0;"),
                m2u_engine_last_error(loaded.engine));
  CHECK(m2u_engine_synchronize(loaded.engine) == M2U_OK);  // reported once
  // Two runs queued before a report add up; m2u_engine_query reports them.
  CHECK(m2u_engine_run(loaded.engine, &in, &out) == M2U_OK);
  CHECK(m2u_engine_run(loaded.engine, &in, &out) == M2U_OK);
  int done = 0;
  CHECK(m2u_engine_query(loaded.engine, &done) == M2U_ERROR_INPUT);
  CHECK(done == 1);
  CHECK(contains(m2u_engine_last_error(loaded.engine), "input: 4 non-finite pixel value(s)"));
  CHECK(m2u_engine_query(loaded.engine, &done) == M2U_OK);
  // A finite frame afterwards is OK.
  const std::vector<float> finite = float_frame(1, height, width, 1);
  REQUIRE(cudaMemcpy(device_in, finite.data(), bytes, cudaMemcpyHostToDevice) == cudaSuccess);
  CHECK(m2u_engine_run(loaded.engine, &in, &out) == M2U_OK);
  CHECK(m2u_engine_synchronize(loaded.engine) == M2U_OK);
  std::vector<float> result(frame.size());
  REQUIRE(cudaMemcpy(result.data(), device_out, bytes, cudaMemcpyDeviceToHost) == cudaSuccess);
  for (float p : result) CHECK(std::isfinite(p));
  cudaFree(device_in);
  cudaFree(device_out);
}
