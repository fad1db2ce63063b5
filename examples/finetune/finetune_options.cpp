// finetune_options.cpp - parses m2u_finetune's command line (see
// finetune_options.h); every refusal names the option and the value.
#include "finetune_options.h"

#include <map>

#include "cli_numbers.h"

namespace m2u_finetune {

const char kUsage[] =
    "usage: m2u_finetune --model IN.m2u --out OUT.m2u [options] IMAGE MASK [IMAGE MASK ...]\n"
    "       m2u_finetune --model IN.m2u --out OUT.m2u [options] --data DIR\n"
    "Fine-tunes the model's decoder on the GPU (the encoder is frozen) on images and their\n"
    "masks (8-bit PNG: 0 background, anything else cell); --data DIR takes NAME.png with\n"
    "NAME_mask.png (with --format: NAME.raw or NAME.bin with NAME_mask.png). Images as\n"
    "m2u_infer takes them: PNG / BMP / PGM, or raw dumps with --format.\n"
    "  --crop N             random N x N crops (default 256), flipped left-right and up-down\n"
    "                       at random (no rotations: DPC images have a direction)\n"
    "  --no-augment         the whole images as given: no crop, no flip\n"
    "  --batch B            images per step (default 4)\n"
    "  --steps S | --epochs E   how long (default 20 epochs; an epoch shows every\n"
    "                       training pair once, in a seeded random order)\n"
    "  --optimizer sgd|adam|rmsprop  (default adam)  --lr X (default 1e-3)\n"
    "  --momentum X  --weight-decay X   (default 0; momentum: sgd and rmsprop)\n"
    "  --loss bce|bce+dice  (default bce)\n"
    "  --train decoder|decoder-last|decoder-project   what trains (default decoder)\n"
    "  --validation F       fraction of the pairs held out for the IoU after each epoch\n"
    "                       (default 0.2 with 5 pairs or more, else none)\n"
    "  --seed N             shuffling, crops and flips (default 1)\n"
    "  --checkpoint-every N write OUT every N updates (atomically)\n"
    "  --max-skipped N      stop after N non-finite steps in a row (default 10)\n"
    "  --log-every N        a progress line every N steps (default 10)\n"
    "  --format mono8|mono16|mono12|mono12p --width W --height H [--stride B] [--offset B]\n"
    "OUT is written atomically, never over IN; it keeps raw batch norm, the trained tensors\n"
    "as F32, and records in its provenance the source model's SHA-256, the data, the steps,\n"
    "the final loss and validation IoU. INT8 scales are dropped: run m2u_calibrate on OUT\n"
    "before using it with --precision int8. Exit status 0, 1 on a failure, 2 on bad usage.\n";

using m2u_cli::parse_integer;
using m2u_cli::parse_real;

bool parse_options(int argc, char** argv, Options* o, std::string* error) {
  static const std::map<std::string, m2u_optimizer> optimizers{
      {"sgd", M2U_OPTIMIZER_SGD}, {"adam", M2U_OPTIMIZER_ADAM}, {"rmsprop", M2U_OPTIMIZER_RMSPROP}};
  static const std::map<std::string, m2u_train_loss> losses{{"bce", M2U_LOSS_BCE}, {"bce+dice", M2U_LOSS_BCE_DICE}};
  static const std::map<std::string, m2u_train_schedule> schedules{{"decoder", M2U_TRAIN_DECODER},
                                                                   {"decoder-last", M2U_TRAIN_DECODER_LAST},
                                                                   {"decoder-project", M2U_TRAIN_DECODER_PROJECT}};
  static const char* const kValued[] = {"--model",      "--out",        "--data",      "--crop",         "--batch",
                                        "--steps",      "--epochs",     "--optimizer", "--lr",           "--momentum",
                                        "--weight-decay", "--loss",     "--train",     "--validation",   "--seed",
                                        "--checkpoint-every", "--max-skipped", "--log-every", "--format", "--width",
                                        "--height",     "--stride",     "--offset"};
  error->clear();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    bool valued = false;
    for (const char* name : kValued) valued = valued || arg == name;
    if (arg == "--help" || arg == "-h") return false;
    if (valued && i + 1 >= argc) {
      *error = arg + " needs a value";
      return false;
    }
    const char* text = valued ? argv[++i] : nullptr;
    long long integer = 0;
    double real = 0.0;
    auto bad = [&](const std::string& expected) {
      *error = arg + " " + text + ": expected " + expected;
      return false;
    };
    if (arg == "--model") {
      o->model = text;
    } else if (arg == "--out") {
      o->out = text;
    } else if (arg == "--data") {
      o->data_directories.push_back(text);
    } else if (arg == "--crop") {
      if (!parse_integer(text, 16, 4096, &integer)) return bad("an integer in 16..4096");
      o->crop = static_cast<int>(integer);
    } else if (arg == "--no-augment") {
      o->augment = false;
    } else if (arg == "--batch") {
      if (!parse_integer(text, 1, 256, &integer)) return bad("an integer in 1..256");
      o->batch = static_cast<int>(integer);
    } else if (arg == "--steps") {
      if (!parse_integer(text, 1, 1LL << 40, &integer)) return bad("an integer >= 1");
      o->steps = integer;
    } else if (arg == "--epochs") {
      if (!parse_integer(text, 1, 1000000, &integer)) return bad("an integer in 1..1000000");
      o->epochs = static_cast<int>(integer);
    } else if (arg == "--optimizer") {
      const auto found = optimizers.find(text);
      if (found == optimizers.end()) return bad("sgd, adam or rmsprop");
      o->optimizer = found->second;
    } else if (arg == "--lr" || arg == "--momentum" || arg == "--weight-decay") {
      if (!parse_real(text, 0.0, arg == "--momentum" ? 1.0 : 1e30, &real)) {
        return bad(arg == "--momentum" ? "a number in [0, 1]" : "a finite number >= 0");
      }
      (arg == "--lr" ? o->learning_rate : arg == "--momentum" ? o->momentum : o->weight_decay) =
          static_cast<float>(real);
    } else if (arg == "--loss") {
      const auto found = losses.find(text);
      if (found == losses.end()) return bad("bce or bce+dice");
      o->loss = found->second;
    } else if (arg == "--train") {
      const auto found = schedules.find(text);
      if (found == schedules.end()) return bad("decoder, decoder-last or decoder-project");
      o->schedule = found->second;
    } else if (arg == "--validation") {
      if (!parse_real(text, 0.0, 0.9, &real)) return bad("a fraction in [0, 0.9]");
      o->validation = real;
    } else if (arg == "--seed") {
      if (!parse_integer(text, 0, (1LL << 62), &integer)) return bad("an integer >= 0");
      o->seed = static_cast<uint64_t>(integer);
    } else if (arg == "--checkpoint-every" || arg == "--log-every") {
      if (!parse_integer(text, arg == "--log-every" ? 1 : 0, 1LL << 40, &integer)) return bad("an integer >= 0");
      (arg == "--log-every" ? o->log_every : o->checkpoint_every) = integer;
    } else if (arg == "--max-skipped") {
      if (!parse_integer(text, 1, 1000000, &integer)) return bad("an integer >= 1");
      o->max_skipped = static_cast<int>(integer);
    } else if (m2u_infer::is_raw_layout_option(arg)) {
      if (!m2u_infer::apply_raw_layout_option(arg, text, &o->layout, error)) return false;
    } else if (arg.size() > 1 && arg[0] == '-') {
      *error = "unknown option " + arg;
      return false;
    } else {
      o->pairs.push_back(arg);
    }
  }
  if (o->model.empty()) *error = "--model is required";
  else if (o->out.empty()) *error = "--out is required";
  else if (o->pairs.size() % 2 != 0) *error = "images and masks come in pairs: " + o->pairs.back() + " has no mask";
  else if (o->pairs.empty() && o->data_directories.empty()) *error = "no data: give IMAGE MASK pairs or --data DIR";
  else if (o->steps > 0 && o->epochs > 0) *error = "--steps and --epochs: give one of them";
  else if (o->layout.given && (o->layout.width < 1 || o->layout.height < 1)) *error = "--format needs --width and --height";
  if (o->steps == 0 && o->epochs == 0) o->epochs = 20;
  return error->empty();
}

}  // namespace m2u_finetune
