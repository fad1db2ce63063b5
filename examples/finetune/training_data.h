// training_data.h - m2u_finetune's data: image / mask pairs read from the
// command line or --data directories (images as m2u_infer reads them, masks
// 8-bit PNG of the image's size), held as float intensity in [0, 1] and
// 0 / 1 mask bytes; the seeded split into training and validation pairs;
// and the batches: random crops with random flips, or whole images.
#ifndef M2U_EXAMPLES_FINETUNE_TRAINING_DATA_H
#define M2U_EXAMPLES_FINETUNE_TRAINING_DATA_H

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "finetune_options.h"

namespace m2u_finetune {

struct Sample {
  std::string image_path, mask_path;
  int height = 0, width = 0;
  std::vector<float> intensity;  // height x width
  std::vector<uint8_t> mask;     // height x width, 0 or 1
};

// Reads every pair (the command line's, then each --data directory's in
// name order). False with *error naming the file and the numbers.
bool load_samples(const Options& options, std::vector<Sample>* samples, std::string* error);

// Moves round(fraction * count) pairs, drawn with `seed`, into `validation`
// (none when fraction is 0 or that rounds to 0; at least one pair stays
// for training).
void split_validation(std::vector<Sample>* samples, double fraction, uint64_t seed,
                      std::vector<Sample>* validation);

// One batch on the host, as the trainer takes it: `count` images of
// height x width (F32 grey, interleaved) and their masks (U8 planes).
struct Batch {
  int count = 0, height = 0, width = 0;
  std::vector<float> pixels;
  std::vector<uint8_t> masks;
  m2u_image images() const;
  m2u_image mask_image() const;
};

// Draws batches: epoch after epoch, every training pair once in a shuffled
// order; each a crop x crop window at a random place, flipped left-right
// and up-down with probability 1/2 each (or, with augment off, the whole
// image as it is: every pair of a batch must then share its size).
class BatchSampler {
 public:
  BatchSampler(const std::vector<Sample>& samples, int batch, int crop, bool augment, uint64_t seed);
  // False with *error when a batch cannot be made (sizes that differ).
  bool next(Batch* batch, std::string* error);
  int epoch() const { return epoch_; }  // epochs begun so far (1 after the first draw)
  long long steps_per_epoch() const;

 private:
  const std::vector<Sample>& samples_;
  int batch_, crop_;
  bool augment_;
  std::mt19937_64 random_;
  std::vector<size_t> order_;
  size_t position_ = 0;
  int epoch_ = 0;
  uint64_t below(uint64_t bound) { return random_() % bound; }
};

// A region of `sample` (top, left, height, width), flipped as asked, into
// an interleaved float image and a mask plane.
void copy_window(const Sample& sample, int top, int left, int height, int width, bool flip_x, bool flip_y,
                 float* pixels, uint8_t* mask);

}  // namespace m2u_finetune

#endif  // M2U_EXAMPLES_FINETUNE_TRAINING_DATA_H
