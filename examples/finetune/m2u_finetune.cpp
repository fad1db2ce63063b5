// m2u_finetune - fine-tunes a model's decoder on the GPU on the user's own
// images and masks (libm2urt's m2u_trainer_*; m2urt.h only) and writes the
// trained model. Usage: finetune_options.cpp's kUsage.
//
// Progress goes to standard output: a line every --log-every steps (step,
// epoch, the step's loss, images/s, ETA) and after every epoch its mean
// loss and the validation IoU.
// The validation images are judged whole with --no-augment, else in
// crop x crop tiles (the edge tiles smaller), their intersections and
// unions added up.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "finetune_options.h"
#include "m2urt.h"
#include "training_data.h"

namespace {

using m2u_finetune::Batch;
using m2u_finetune::Options;
using m2u_finetune::Sample;

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

std::string duration(double seconds) {
  const long long s = static_cast<long long>(std::lround(seconds));
  char text[32];
  if (s >= 3600) std::snprintf(text, sizeof(text), "%lldh%02lldm", s / 3600, s / 60 % 60);
  else std::snprintf(text, sizeof(text), "%lldm%02llds", s / 60, s % 60);
  return text;
}

// IoU over the validation pairs (whole, or in tiles of at most tile x tile).
bool validation_iou(m2u_trainer* trainer, const std::vector<Sample>& validation, int tile, double* iou,
                    std::string* error) {
  long long intersection = 0, union_pixels = 0;
  Batch window;
  for (const Sample& s : validation) {
    const int step_y = tile > 0 ? tile : s.height, step_x = tile > 0 ? tile : s.width;
    for (int top = 0; top < s.height; top += step_y) {
      for (int left = 0; left < s.width; left += step_x) {
        window.count = 1;
        window.height = std::min(step_y, s.height - top);
        window.width = std::min(step_x, s.width - left);
        window.pixels.resize(static_cast<size_t>(window.height) * window.width);
        window.masks.resize(window.pixels.size());
        m2u_finetune::copy_window(s, top, left, window.height, window.width, false, false, window.pixels.data(),
                                  window.masks.data());
        const m2u_image images = window.images(), masks = window.mask_image();
        m2u_trainer_evaluation e;
        m2u_trainer_evaluation_init(&e);
        if (m2u_trainer_evaluate(trainer, &images, &masks, &e) != M2U_OK) {
          *error = s.image_path + ": " + m2u_trainer_last_error(trainer);
          return false;
        }
        intersection += e.intersection;
        union_pixels += e.union_pixels;
      }
    }
  }
  *iou = union_pixels ? static_cast<double>(intersection) / union_pixels : 1.0;
  return true;
}

int run(int argc, char** argv) {
  Options options;
  std::string error;
  if (!m2u_finetune::parse_options(argc, argv, &options, &error)) {
    if (error.empty()) {
      std::fputs(m2u_finetune::kUsage, stdout);
      return 0;
    }
    std::fprintf(stderr, "m2u_finetune: %s\n%s", error.c_str(), m2u_finetune::kUsage);
    return 2;
  }
  if (options.out == options.model || same_file(options.out, options.model)) {
    std::fprintf(stderr, "m2u_finetune: --out %s is the model itself; the input model is never overwritten\n",
                 options.out.c_str());
    return 2;
  }
  std::vector<Sample> samples, validation;
  if (!m2u_finetune::load_samples(options, &samples, &error)) {
    std::fprintf(stderr, "m2u_finetune: %s\n", error.c_str());
    return 1;
  }
  const double fraction = options.validation >= 0.0 ? options.validation : samples.size() >= 5 ? 0.2 : 0.0;
  m2u_finetune::split_validation(&samples, fraction, options.seed, &validation);
  int max_height = 16, max_width = 16;
  for (const std::vector<Sample>* set : {&samples, &validation}) {
    for (const Sample& s : *set) {
      if (options.augment && (s.height < options.crop || s.width < options.crop)) {
        std::fprintf(stderr, "m2u_finetune: %s is %d x %d, smaller than --crop %d\n", s.image_path.c_str(), s.width,
                     s.height, options.crop);
        return 1;
      }
      max_height = std::max(max_height, s.height);
      max_width = std::max(max_width, s.width);
    }
  }
  if (options.augment) max_height = max_width = options.crop;

  m2u_model* model = nullptr;
  if (m2u_model_load(options.model.c_str(), &model) != M2U_OK) {
    std::fprintf(stderr, "m2u_finetune: %s\n", m2u_last_error());
    return 1;
  }
  m2u_trainer_options trainer_options;
  m2u_trainer_options_init(&trainer_options);
  trainer_options.max_batch = std::min<int>(options.batch, static_cast<int>(samples.size()));
  trainer_options.max_height = max_height;
  trainer_options.max_width = max_width;
  trainer_options.schedule = options.schedule;
  trainer_options.loss = options.loss;
  trainer_options.optimizer = options.optimizer;
  trainer_options.learning_rate = options.learning_rate;
  trainer_options.momentum = options.momentum;
  trainer_options.weight_decay = options.weight_decay;
  m2u_trainer* trainer = nullptr;
  const m2u_status created = m2u_trainer_create(model, &trainer_options, &trainer);
  m2u_model_destroy(model);
  if (created != M2U_OK) {
    std::fprintf(stderr, "m2u_finetune: %s\n", m2u_last_error());
    return 1;
  }

  m2u_finetune::BatchSampler sampler(samples, trainer_options.max_batch, options.crop, options.augment, options.seed);
  const long long total_steps = options.steps > 0 ? options.steps : options.epochs * sampler.steps_per_epoch();
  const int tile = options.augment ? options.crop : 0;
  static const char* const kSchedules[] = {"decoder", "decoder-last", "decoder-project"};
  std::printf("m2u_finetune: %zu training pair(s), %zu validation; %s, batch %d, %lld steps (%lld per epoch), "
              "training %s\n",
              samples.size(), validation.size(),
              options.augment ? ("crops " + std::to_string(options.crop) + ", flips").c_str() : "whole images",
              trainer_options.max_batch, total_steps, sampler.steps_per_epoch(), kSchedules[options.schedule]);
  double iou_before = -1.0, iou_after = -1.0;
  int status = 0;
  if (!validation.empty()) {
    if (!validation_iou(trainer, validation, tile, &iou_before, &error)) {
      std::fprintf(stderr, "m2u_finetune: %s\n", error.c_str());
      m2u_trainer_destroy(trainer);
      return 1;
    }
    iou_after = iou_before;
    std::printf("validation IoU before training: %.4f\n", iou_before);
  }

  auto provenance = [&](long long steps, double loss) {
    // No date: two identical runs give identical files.
    char text[512];
    std::snprintf(text, sizeof(text),
                  "fine_tune_data: %zu training pairs, %zu validation pairs\nfine_tune_steps: %lld\n"
                  "fine_tune_batch: %d\nfine_tune_crop: %s\nfine_tune_seed: %llu\nfine_tune_final_loss: %.6g (last epoch's mean)\n"
                  "fine_tune_validation_iou: %s\n",
                  samples.size(), validation.size(), steps, trainer_options.max_batch,
                  options.augment ? (std::to_string(options.crop) + " with flips").c_str() : "none (whole images)",
                  static_cast<unsigned long long>(options.seed), loss,
                  validation.empty() ? "none"
                                     : (std::to_string(iou_before) + " before, " + std::to_string(iou_after) + " after")
                                           .c_str());
    return std::string(text);
  };

  const auto start = std::chrono::steady_clock::now();
  Batch batch;
  double epoch_loss = 0.0, final_loss = 0.0;  // final: the last finished epoch's mean
  long long epoch_updates = 0;
  long long images_seen = 0, checkpoint_step = 0;
  int epoch_seen = 0;
  long long step = 0;
  for (; step < total_steps && status == 0; ++step) {
    if (!sampler.next(&batch, &error)) {
      std::fprintf(stderr, "m2u_finetune: %s\n", error.c_str());
      status = 1;
      break;
    }
    epoch_seen = sampler.epoch();
    const m2u_image images = batch.images(), masks = batch.mask_image();
    float loss = 0.0f;
    int skipped = 0;
    if (m2u_trainer_step(trainer, &images, &masks, &loss, &skipped) != M2U_OK) {
      std::fprintf(stderr, "m2u_finetune: step %lld: %s\n", step + 1, m2u_trainer_last_error(trainer));
      status = 1;
      break;
    }
    images_seen += batch.count;
    m2u_trainer_stats stats;
    m2u_trainer_stats_init(&stats);
    m2u_trainer_get_stats(trainer, &stats);
    const bool epoch_end = (step + 1) % sampler.steps_per_epoch() == 0 || step + 1 == total_steps;
    if (skipped) {
      std::printf("step %lld: non-finite loss or gradient (loss %g): skipped, %lld in a row\n", step + 1, loss,
                  stats.skipped_in_a_row);
      if (stats.skipped_in_a_row >= options.max_skipped) {
        std::fprintf(stderr,
                     "m2u_finetune: stopped after %lld non-finite steps in a row (--max-skipped %d): lower --lr; %s\n",
                     stats.skipped_in_a_row, options.max_skipped,
                     checkpoint_step > 0 ? (options.out + " holds the last good checkpoint (step " +
                                            std::to_string(checkpoint_step) + ")").c_str()
                                         : (options.out + " was not written").c_str());
        status = 1;
        break;
      }
    } else {
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if ((step + 1) % options.log_every == 0 || step + 1 == total_steps) {
        const double eta = elapsed / (step + 1) * (total_steps - step - 1);
        std::printf("step %lld/%lld  epoch %d  loss %.5f  %.1f images/s  ETA %s\n", step + 1, total_steps,
                    epoch_seen, loss, images_seen / std::max(elapsed, 1e-9), duration(eta).c_str());
        std::fflush(stdout);
      }
      epoch_loss += loss;
      ++epoch_updates;
    }
    if (epoch_end) {
      // An epoch whose every step was skipped has no mean loss; the last
      // finished one's stays the final loss.
      std::string line = "epoch " + std::to_string(epoch_seen) + ": ";
      if (epoch_updates > 0) {
        final_loss = epoch_loss / epoch_updates;
        line += "mean loss " + std::to_string(final_loss);
      } else {
        line += "every step skipped";
      }
      epoch_loss = 0.0;
      epoch_updates = 0;
      if (!validation.empty()) {
        if (!validation_iou(trainer, validation, tile, &iou_after, &error)) {
          std::fprintf(stderr, "m2u_finetune: %s\n", error.c_str());
          status = 1;
          break;
        }
        line += ", validation IoU " + std::to_string(iou_after);
      }
      std::printf("%s\n", line.c_str());
    }
    if (skipped) continue;
    if (options.checkpoint_every > 0 && stats.updates % options.checkpoint_every == 0) {
      if (m2u_trainer_save(trainer, options.out.c_str(), provenance(step + 1, final_loss).c_str()) != M2U_OK) {
        std::fprintf(stderr, "m2u_finetune: checkpoint: %s\n", m2u_trainer_last_error(trainer));
        status = 1;
        break;
      }
      checkpoint_step = step + 1;
    }
  }
  if (status == 0) {
    if (m2u_trainer_save(trainer, options.out.c_str(), provenance(step, final_loss).c_str()) != M2U_OK) {
      std::fprintf(stderr, "m2u_finetune: %s\n", m2u_trainer_last_error(trainer));
      status = 1;
    }
  }
  if (status == 0) {
    m2u_trainer_stats stats;
    m2u_trainer_stats_init(&stats);
    m2u_trainer_get_stats(trainer, &stats);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("m2u_finetune: %lld steps (%lld updates, %lld skipped), final loss %.5f (the last epoch's mean), %s "
                "in %.1f s -> %s\n",
                step, stats.updates, stats.skipped_steps, final_loss,
                validation.empty() ? "no validation"
                                   : ("validation IoU " + std::to_string(iou_before) + " -> " +
                                      std::to_string(iou_after)).c_str(),
                seconds, options.out.c_str());
    std::printf("m2u_finetune: INT8 scales are not carried over: run m2u_calibrate on %s before --precision int8\n",
                options.out.c_str());
  }
  m2u_trainer_destroy(trainer);
  return status;
}

}  // namespace

int main(int argc, char** argv) { return run(argc, argv); }
