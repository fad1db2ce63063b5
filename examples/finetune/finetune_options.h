// finetune_options.h - m2u_finetune's command line: what it trains on, how
// (crops, flips, batches, steps or epochs, optimiser, loss, schedule),
// the validation split, checkpoints and the stopping rule.
#ifndef M2U_EXAMPLES_FINETUNE_FINETUNE_OPTIONS_H
#define M2U_EXAMPLES_FINETUNE_FINETUNE_OPTIONS_H

#include <cstdint>
#include <string>
#include <vector>

#include "frame_source.h"
#include "m2urt.h"

namespace m2u_finetune {

struct Options {
  std::string model, out;
  std::vector<std::string> pairs;  // IMAGE MASK IMAGE MASK ...
  std::vector<std::string> data_directories;
  m2u_infer::RawLayout layout;  // --format etc.: the images are raw dumps
  int crop = 256;
  bool augment = true;  // false: --no-augment (whole images, no flips)
  int batch = 4;
  long long steps = 0;   // 0: from --epochs
  int epochs = 0;        // 0 with steps 0: the default, 20 epochs
  m2u_optimizer optimizer = M2U_OPTIMIZER_ADAM;
  float learning_rate = 1e-3f;
  float momentum = 0.0f;
  float weight_decay = 0.0f;
  m2u_train_loss loss = M2U_LOSS_BCE;
  m2u_train_schedule schedule = M2U_TRAIN_DECODER;
  double validation = -1.0;  // fraction of the pairs held out; < 0: 0.2 with >= 5 pairs, else none
  uint64_t seed = 1;
  long long checkpoint_every = 0;  // 0: none
  int max_skipped = 10;            // non-finite steps in a row before stopping
  long long log_every = 10;        // steps between progress lines
};

extern const char kUsage[];

// False with *error saying why ("" for --help: print the usage, exit 0).
bool parse_options(int argc, char** argv, Options* options, std::string* error);

}  // namespace m2u_finetune

#endif  // M2U_EXAMPLES_FINETUNE_FINETUNE_OPTIONS_H
