// m2u_bench - the work model of a forward pass or a training step on a
// target GPU, per launch and in total, and optionally the end-to-end time
// measured on the device libm2urt runs on (libm2urt's work-model and
// engine calls; m2urt.h only).
//
//   m2u_bench --model M.m2u [--size WxH] [--batch N] [--precision fp32|fp16|int8]
//             [--device-profile nano|xavier-nx|orin-nano] [--input u8|u16|f32]
//             [--train [--schedule decoder|decoder-last|decoder-project] [--loss bce|bce+dice]]
//             [--fuse-blocks] [--cuda-graph] [--measure N [--warmup K] [--per-launch]] [--json]
//             [--list-profiles]
//
// The modeled figures are a roofline floor on the named profile, never a
// timing. --measure times N runs after K warm-ups (median, end to end:
// upload, network, download) on this machine's device; in the emu flavour
// that device is the CPU and the figure is labelled emulated. --per-launch
// also times every row with CUDA events (m2u_engine_layer_times, a second
// engine with time_layers), the median of the same N runs beside the model. Exit status
// 0, 1 on a failed call, 2 on bad usage.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli_numbers.h"
#include "m2urt.h"

namespace {

const char kUsage[] =
    "usage: m2u_bench --model M.m2u [--size WxH] [--batch N] [--precision fp32|fp16|int8]\n"
    "                 [--device-profile nano|xavier-nx|orin-nano] [--input u8|u16|f32]\n"
    "                 [--train [--schedule decoder|decoder-last|decoder-project] [--loss bce|bce+dice]]\n"
    "                 [--fuse-blocks] [--cuda-graph] [--measure N [--warmup K] [--per-launch]] [--json]\n"
    "                 [--list-profiles]\n"
    "Prints the work model of one forward (or, with --train, one decoder fine-tuning step) per\n"
    "launch: FLOPs, minimal DRAM bytes and modeled microseconds on the profile (default nano),\n"
    "and the totals. Modeled figures are a roofline floor, not a timing. --measure N times N\n"
    "forwards end to end after K warm-ups (default 3) on this machine's device (emulated in the\n"
    "emu flavour). --fuse-blocks: the engine with its blocks fused (fp32, fp16). --cuda-graph:\n"
    "the measured engine replays each run as a CUDA graph (compare with modeled_graph_ms).\n"
    "--per-launch: with --measure, also each row's median device time (CUDA events), beside its\n"
    "modeled time.\n"
    "Defaults: 512x512, batch 1, fp32, u8 input.\n";

struct Options {
  std::string model;
  int width = 512, height = 512, batch = 1;
  m2u_precision precision = M2U_PRECISION_FP32;
  std::string profile = "nano";
  m2u_dtype input = M2U_DTYPE_U8;
  bool train = false;
  m2u_train_schedule schedule = M2U_TRAIN_DECODER;
  m2u_train_loss loss = M2U_LOSS_BCE;
  int measure = 0, warmup = 3;
  bool json = false, list_profiles = false, fuse_blocks = false, cuda_graph = false, per_launch = false;
};

bool parse_size(const std::string& text, int* width, int* height) {
  const size_t x = text.find('x');
  if (x == std::string::npos) return false;
  long long w = 0, h = 0;
  if (!m2u_cli::parse_integer(text.substr(0, x).c_str(), 1, 16384, &w) ||
      !m2u_cli::parse_integer(text.substr(x + 1).c_str(), 1, 16384, &h)) {
    return false;
  }
  *width = static_cast<int>(w);
  *height = static_cast<int>(h);
  return true;
}

bool parse(int argc, char** argv, Options* o, std::string* error) {
  static const char* const with_value[] = {"--model", "--size", "--batch", "--precision", "--device-profile",
                                           "--input", "--schedule", "--loss", "--measure", "--warmup"};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool needs_value =
        std::find_if(std::begin(with_value), std::end(with_value), [&](const char* n) { return arg == n; }) !=
        std::end(with_value);
    if (needs_value && i + 1 >= argc) {
      *error = arg + " needs a value";
      return false;
    }
    const std::string v = needs_value ? argv[++i] : "";
    long long n = 0;
    if (arg == "--help" || arg == "-h") {
      *error = "";
      return false;
    } else if (arg == "--model") {
      o->model = v;
    } else if (arg == "--size") {
      if (!parse_size(v, &o->width, &o->height)) {
        *error = "--size " + v + ": expected WxH, each 1..16384";
        return false;
      }
    } else if (arg == "--batch" || arg == "--measure" || arg == "--warmup") {
      const long long low = arg == "--batch" ? 1 : 0;
      if (!m2u_cli::parse_integer(v.c_str(), low, 100000, &n)) {
        *error = arg + " " + v + ": expected an integer in " + std::to_string(low) + "..100000";
        return false;
      }
      (arg == "--batch" ? o->batch : arg == "--measure" ? o->measure : o->warmup) = static_cast<int>(n);
    } else if (arg == "--precision") {
      if (v == "fp32") o->precision = M2U_PRECISION_FP32;
      else if (v == "fp16") o->precision = M2U_PRECISION_FP16;
      else if (v == "int8") o->precision = M2U_PRECISION_INT8;
      else {
        *error = "--precision " + v + ": expected fp32, fp16 or int8";
        return false;
      }
    } else if (arg == "--device-profile") {
      o->profile = v;  // checked by the library, which knows the profiles
    } else if (arg == "--input") {
      if (v == "u8") o->input = M2U_DTYPE_U8;
      else if (v == "u16") o->input = M2U_DTYPE_U16;
      else if (v == "f32") o->input = M2U_DTYPE_F32;
      else {
        *error = "--input " + v + ": expected u8, u16 or f32";
        return false;
      }
    } else if (arg == "--schedule") {
      if (v == "decoder") o->schedule = M2U_TRAIN_DECODER;
      else if (v == "decoder-last") o->schedule = M2U_TRAIN_DECODER_LAST;
      else if (v == "decoder-project") o->schedule = M2U_TRAIN_DECODER_PROJECT;
      else {
        *error = "--schedule " + v + ": expected decoder, decoder-last or decoder-project";
        return false;
      }
    } else if (arg == "--loss") {
      if (v == "bce") o->loss = M2U_LOSS_BCE;
      else if (v == "bce+dice") o->loss = M2U_LOSS_BCE_DICE;
      else {
        *error = "--loss " + v + ": expected bce or bce+dice";
        return false;
      }
    } else if (arg == "--fuse-blocks") {
      o->fuse_blocks = true;
    } else if (arg == "--cuda-graph") {
      o->cuda_graph = true;
    } else if (arg == "--per-launch") {
      o->per_launch = true;
    } else if (arg == "--train") {
      o->train = true;
    } else if (arg == "--json") {
      o->json = true;
    } else if (arg == "--list-profiles") {
      o->list_profiles = true;
    } else {
      *error = "unknown argument " + arg;
      return false;
    }
  }
  if (o->list_profiles) return true;
  if (o->model.empty()) *error = "--model is required";
  else if (o->train && o->precision != M2U_PRECISION_FP32) *error = "--train runs in fp32 (the trainer's precision)";
  else if (o->train && o->measure > 0) *error = "--measure times forwards; it does not combine with --train";
  else if (o->train && o->fuse_blocks) *error = "--fuse-blocks is for the forward; the trainer keeps every block";
  else if (o->train && o->cuda_graph) *error = "--cuda-graph is for the forward's measurement";
  else if (o->per_launch && o->measure == 0) *error = "--per-launch needs --measure N";
  return error->empty();
}

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.9g", value);
  return text;
}

std::string json_string(const char* text) {
  std::string out = "\"";
  for (const char* c = text; *c; ++c) {
    if (*c == '"' || *c == '\\') out += '\\';
    if (static_cast<unsigned char>(*c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned char>(*c));
      out += escaped;
    } else {
      out += *c;
    }
  }
  return out + "\"";
}

const char* precision_name(m2u_precision p) {
  return p == M2U_PRECISION_FP16 ? "fp16" : p == M2U_PRECISION_INT8 ? "int8" : "fp32";
}

int list_profiles(bool json) {
  int count = 0;
  m2u_device_profile_count(&count);
  if (json) std::printf("{\"profiles\": [");
  for (int i = 0; i < count; ++i) {
    m2u_device_profile p;
    p.struct_size = sizeof(p);
    if (m2u_get_device_profile(i, &p) != M2U_OK) {
      std::fprintf(stderr, "m2u_bench: %s\n", m2u_last_error());
      return 1;
    }
    if (json) {
      std::printf("%s{\"name\": %s, \"description\": %s, \"compute_capability\": %d, \"fp32_gflops\": %.1f, "
                  "\"half2_gflops\": %.1f, \"int8_gops\": %.1f, \"dram_gbps\": %.1f, \"compute_fraction\": %.2f, "
                  "\"dram_fraction\": %.2f, \"launch_us\": %.1f, \"graph_launch_us\": %.1f}",
                  i ? ", " : "", json_string(p.name).c_str(), json_string(p.description).c_str(),
                  p.compute_capability, p.fp32_gflops, p.half2_gflops, p.int8_gops, p.dram_gbps, p.compute_fraction,
                  p.dram_fraction, p.launch_us, p.graph_launch_us);
    } else {
      std::printf("%-10s sm_%d  %s\n           %s; achievable %.0f%% of compute, %.0f%% of DRAM; "
                  "%.0f us a launch (%.0f us in a graph)\n",
                  p.name, p.compute_capability, p.description, p.assumptions, 100 * p.compute_fraction,
                  100 * p.dram_fraction, p.launch_us, p.graph_launch_us);
    }
  }
  if (json) std::printf("]}\n");
  return 0;
}

// A synthetic frame of the options' size and dtype in host memory, and its
// probabilities.
struct Frame {
  std::vector<unsigned char> values;
  std::vector<float> probabilities;
  m2u_image in, out;
  explicit Frame(const Options& o) {
    const size_t count = static_cast<size_t>(o.batch) * o.height * o.width;
    const size_t value_bytes = o.input == M2U_DTYPE_U8 ? 1 : o.input == M2U_DTYPE_U16 ? 2 : 4;
    values.resize(count * value_bytes);
    for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<unsigned char>((i * 37 + i / 4096) & 0x7f);
    if (o.input == M2U_DTYPE_F32) {
      std::vector<float> f(count);
      for (size_t i = 0; i < count; ++i) f[i] = static_cast<float>(values[i]) / 127.0f;
      std::memcpy(values.data(), f.data(), f.size() * sizeof(float));
    }
    probabilities.resize(count);
    std::memset(&in, 0, sizeof(in));
    in.data = values.data();
    in.memory = M2U_MEMORY_HOST;
    in.dtype = o.input;
    in.batch = o.batch;
    in.channels = 1;
    in.height = o.height;
    in.width = o.width;
    out = in;
    out.data = probabilities.data();
    out.dtype = M2U_DTYPE_F32;
  }
};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// The median milliseconds of `runs` forwards after `warmup` ones, end to end
// (host frame in, host probabilities out, the engine's stream synchronised).
bool measure(m2u_engine* engine, const Options& o, double* median_ms, std::string* error) {
  Frame frame(o);
  std::vector<double> times;
  for (int i = 0; i < o.warmup + o.measure; ++i) {
    const auto start = std::chrono::steady_clock::now();
    if (m2u_engine_run(engine, &frame.in, &frame.out) != M2U_OK || m2u_engine_synchronize(engine) != M2U_OK) {
      *error = m2u_engine_last_error(engine);
      return false;
    }
    const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
    if (i >= o.warmup) times.push_back(took.count());
  }
  *median_ms = median(times);
  return true;
}

// Per row of the work model, the median microseconds of the same runs on an
// engine with time_layers (m2u_engine_layer_times).
bool measure_rows(m2u_engine* timed, const Options& o, std::vector<double>* row_us, std::string* error) {
  Frame frame(o);
  std::vector<std::vector<double>> runs;
  for (int i = 0; i < o.warmup + o.measure; ++i) {
    int count = 0;
    if (m2u_engine_run(timed, &frame.in, &frame.out) != M2U_OK ||
        m2u_engine_layer_times(timed, nullptr, 0, &count) != M2U_OK) {
      *error = m2u_engine_last_error(timed);
      return false;
    }
    std::vector<double> ms(count);
    m2u_engine_layer_times(timed, ms.data(), count, &count);
    if (i >= o.warmup) runs.push_back(ms);
  }
  row_us->clear();
  for (size_t r = 0; r < runs.front().size(); ++r) {
    std::vector<double> values;
    for (const std::vector<double>& run : runs) values.push_back(1e3 * run[r]);
    row_us->push_back(median(values));
  }
  return true;
}

// memory_mb: the engine's arena (inference) or the trainer's own device
// memory (training; its engine's arena is not counted). measured_row_us:
// --per-launch's time per row, or empty.
void print_rows(const m2u_work_model* work, const Options& o, const m2u_device_profile& profile, double memory_mb,
                const m2u_device_info& device, double measured_ms, const std::vector<double>& measured_row_us) {
  int rows = 0;
  m2u_work_model_row_count(work, &rows);
  m2u_work_row total;
  total.struct_size = sizeof(total);
  m2u_work_model_get_total(work, &total);
  const double gflop = 2.0 * total.multiply_adds / 1e9;
  const double dram_mb = (total.bytes_read + total.bytes_written) / 1e6;
  if (o.json) {
    std::printf("{\"tool\": \"m2u_bench\", \"model\": %s, \"workload\": \"%s\", \"precision\": \"%s\", "
                "\"batch\": %d, \"height\": %d, \"width\": %d, \"fused_blocks\": %s,\n \"device_profile\": %s, "
                "\"modeled\": true,\n"
                " \"launches\": [\n",
                json_string(o.model.c_str()).c_str(), o.train ? "training step" : "inference",
                precision_name(o.precision), o.batch, o.height, o.width, o.fuse_blocks ? "true" : "false",
                json_string(profile.name).c_str());
  } else {
    std::printf("%s of %s, %d x %d x %d, %s, on the %s profile (%s)\nmodeled: a roofline floor, not a timing\n\n",
                o.train ? "training step" : "forward", o.model.c_str(), o.batch, o.height, o.width,
                precision_name(o.precision), profile.name, profile.description);
    std::printf("%-40s %-20s %-5s %5s %14s %9s %9s %9s %9s %-7s%s\n", "layer", "kernel", "arith", "n", "out shape",
                "MFLOP", "MB read", "MB wrote", "us", "bound", measured_row_us.empty() ? "" : "  measured us");
  }
  for (int i = 0; i < rows; ++i) {
    m2u_work_row r;
    r.struct_size = sizeof(r);
    m2u_work_model_get_row(work, i, &r);
    if (o.json) {
      std::printf("  {\"layer\": %s, \"kernel\": %s, \"arithmetic\": \"%s\", \"launches\": %lld, \"batch\": %d, "
                  "\"height\": %d, \"width\": %d, \"in_channels\": %d, \"out_channels\": %d, \"flops\": %.0f, "
                  "\"bytes_read\": %.0f, \"bytes_written\": %.0f, \"compute_us\": %.9g, \"dram_us\": %.9g, "
                  "\"overhead_us\": %.9g, \"modeled_us\": %.9g, \"bound\": \"%s\", \"measured_us\": %s}%s\n",
                  json_string(r.layer).c_str(), json_string(r.kernel).c_str(), r.arithmetic, r.launches, r.batch,
                  r.height, r.width, r.in_channels, r.out_channels, 2.0 * r.multiply_adds, r.bytes_read,
                  r.bytes_written, r.compute_us, r.dram_us, r.overhead_us, r.modeled_us, r.bound,
                  i < static_cast<int>(measured_row_us.size()) ? number(measured_row_us[i]).c_str() : "null",
                  i + 1 < rows ? "," : "");
    } else {
      char shape[32] = "";
      if (r.height > 0) std::snprintf(shape, sizeof(shape), "%dx%dx%d", r.height, r.width, r.out_channels);
      std::printf("%-40.40s %-20.20s %-5s %5lld %14s %9.2f %9.3f %9.3f %9.1f %-7s", r.layer, r.kernel,
                  r.arithmetic, r.launches, shape, 2.0 * r.multiply_adds / 1e6, r.bytes_read / 1e6,
                  r.bytes_written / 1e6, r.modeled_us, r.bound);
      if (i < static_cast<int>(measured_row_us.size())) std::printf("  %11.1f", measured_row_us[i]);
      std::printf("\n");
    }
  }
  if (o.json) {
    std::printf(" ],\n \"totals\": {\"launches\": %lld, \"gflop\": %.9g, \"dram_mb\": %.9g, \"%s\": %.9g, "
                "\"compute_ms\": %.9g, \"dram_ms\": %.9g, \"overhead_ms\": %.9g, \"modeled_ms\": %.9g, "
                "\"modeled_graph_ms\": %.9g},\n",
                total.launches, gflop, dram_mb, o.train ? "trainer_mb" : "arena_mb", memory_mb, total.compute_us / 1e3, total.dram_us / 1e3,
                total.overhead_us / 1e3, total.modeled_us / 1e3,
                (total.modeled_us - total.overhead_us * (1.0 - profile.graph_launch_us / profile.launch_us)) / 1e3);
    if (measured_ms >= 0) {
      std::printf(" \"measured\": {\"device\": %s, \"emulated\": %s, \"cuda_graph\": %s, \"per_launch\": %s, "
                  "\"runs\": %d, \"warmup\": %d, \"median_ms\": %.4f}\n}\n",
                  json_string(device.name).c_str(), device.is_emulated ? "true" : "false",
                  o.cuda_graph ? "true" : "false", measured_row_us.empty() ? "false" : "true", o.measure, o.warmup,
                  measured_ms);
    } else {
      std::printf(" \"measured\": null\n}\n");
    }
  } else {
    std::printf("\ntotal: %lld launches, %.3f GFLOP, %.1f MB of DRAM traffic, %s %.1f MiB\n", total.launches, gflop,
                dram_mb, o.train ? "trainer memory (without its engine's arena)" : "arena", memory_mb);
    std::printf("modeled on %s: %.2f ms (compute %.2f, DRAM %.2f, launch overhead %.2f)\n", profile.name,
                total.modeled_us / 1e3, total.compute_us / 1e3, total.dram_us / 1e3, total.overhead_us / 1e3);
    if (measured_ms >= 0) {
      std::printf("measured on %s%s: %.2f ms (median of %d after %d warm-up runs, end to end%s)\n", device.name,
                  device.is_emulated ? " (emulated on the CPU: not a GPU timing)" : "", measured_ms, o.measure,
                  o.warmup, o.cuda_graph ? ", CUDA graph replays" : "");
      if (!measured_row_us.empty()) {
        std::printf("measured us per row: the median of the same runs on an engine with events between its "
                    "layers%s\n", device.is_emulated ? " (the CPU's time)" : "");
      }
    }
  }
}

int run(int argc, char** argv) {
  Options o;
  std::string error;
  if (!parse(argc, argv, &o, &error)) {
    if (error.empty()) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::fprintf(stderr, "m2u_bench: %s\n%s", error.c_str(), kUsage);
    return 2;
  }
  if (o.list_profiles) return list_profiles(o.json);
  m2u_model* model = nullptr;
  if (m2u_model_load(o.model.c_str(), &model) != M2U_OK) {
    std::fprintf(stderr, "m2u_bench: %s\n", m2u_last_error());
    return 1;
  }
  m2u_work_request request;
  m2u_work_request_init(&request);
  request.batch = o.batch;
  request.height = o.height;
  request.width = o.width;
  request.input_dtype = o.input;
  request.device_profile = o.profile.c_str();
  m2u_work_model* work = nullptr;
  m2u_engine* engine = nullptr;
  m2u_trainer* trainer = nullptr;
  size_t arena = 0;
  double measured_ms = -1.0;
  std::vector<double> measured_row_us;
  int status = 0;
  if (o.train) {
    m2u_trainer_options options;
    m2u_trainer_options_init(&options);
    options.max_batch = o.batch;
    options.max_height = o.height;
    options.max_width = o.width;
    options.schedule = o.schedule;
    options.loss = o.loss;
    // Both calls leave their failure's message in m2u_last_error().
    if (m2u_trainer_create(model, &options, &trainer) != M2U_OK ||
        m2u_trainer_work_model(trainer, &request, &work) != M2U_OK) {
      std::fprintf(stderr, "m2u_bench: %s\n", m2u_last_error());
      status = 1;
    }
    if (work) {
      m2u_trainer_stats stats;
      m2u_trainer_stats_init(&stats);
      if (m2u_trainer_get_stats(trainer, &stats) == M2U_OK) arena = stats.device_bytes;
    }
  } else {
    m2u_engine_options options;
    m2u_engine_options_init(&options);
    options.max_batch = o.batch;
    options.max_height = o.height;
    options.max_width = o.width;
    options.precision = o.precision;
    options.fuse_blocks = o.fuse_blocks ? 1 : 0;
    options.cuda_graph = o.cuda_graph ? 1 : 0;
    if (m2u_engine_create(model, &options, &engine) != M2U_OK ||
        m2u_engine_work_model(engine, &request, &work) != M2U_OK) {
      std::fprintf(stderr, "m2u_bench: %s\n", m2u_last_error());
      status = 1;
    }
    if (work) m2u_engine_memory(engine, &arena, nullptr);
    if (work && o.measure > 0 && !measure(engine, o, &measured_ms, &error)) {
      std::fprintf(stderr, "m2u_bench: measuring: %s\n", error.c_str());
      status = 1;
    }
    if (status == 0 && o.per_launch) {
      // A second engine: its events must not weigh on the end-to-end figure.
      options.cuda_graph = 0;
      options.time_layers = 1;
      m2u_engine* timed = nullptr;
      if (m2u_engine_create(model, &options, &timed) != M2U_OK) {
        std::fprintf(stderr, "m2u_bench: %s\n", m2u_last_error());
        status = 1;
      } else if (!measure_rows(timed, o, &measured_row_us, &error)) {
        std::fprintf(stderr, "m2u_bench: measuring each launch: %s\n", error.c_str());
        status = 1;
      }
      m2u_engine_destroy(timed);
    }
  }
  if (status == 0) {
    m2u_device_profile profile;
    profile.struct_size = sizeof(profile);
    m2u_work_model_get_profile(work, &profile);
    m2u_device_info device;
    std::memset(&device, 0, sizeof(device));
    if (o.measure > 0) m2u_query_device(0, &device);
    print_rows(work, o, profile, arena / 1048576.0, device, measured_ms, measured_row_us);
  }
  m2u_work_model_destroy(work);
  m2u_trainer_destroy(trainer);
  m2u_engine_destroy(engine);
  m2u_model_destroy(model);
  return status;
}

}  // namespace

int main(int argc, char** argv) { return run(argc, argv); }
