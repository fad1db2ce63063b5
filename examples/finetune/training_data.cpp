// training_data.cpp - reading pairs, the validation split and the batch
// sampler (see training_data.h).
#include "training_data.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>

namespace m2u_finetune {
namespace {

bool has_suffix(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// The frame's pixels as intensity in [0, 1] (what m2u_image's F32 means).
void to_intensity(const m2u_infer::HostFrame& frame, std::vector<float>* intensity) {
  std::vector<uint16_t> unpacked;
  const m2u_image image = m2u_infer::image_of(frame, &unpacked);
  const size_t row = image.row_stride ? image.row_stride
                                      : static_cast<size_t>(image.width) * (image.dtype == M2U_DTYPE_U8 ? 1 : 2);
  const int bits = image.dtype == M2U_DTYPE_U16 && image.significant_bits ? image.significant_bits : 16;
  const float max_value = image.dtype == M2U_DTYPE_U8 ? 255.0f : static_cast<float>((1u << bits) - 1u);
  intensity->resize(static_cast<size_t>(image.height) * image.width);
  for (int y = 0; y < image.height; ++y) {
    const uint8_t* line = static_cast<const uint8_t*>(image.data) + y * row;
    for (int x = 0; x < image.width; ++x) {
      float v;
      if (image.dtype == M2U_DTYPE_U8) {
        v = line[x];
      } else {
        uint16_t word;
        std::copy(line + 2 * x, line + 2 * x + 2, reinterpret_cast<uint8_t*>(&word));
        v = word;
      }
      (*intensity)[static_cast<size_t>(y) * image.width + x] = v / max_value;
    }
  }
}

bool load_pair(const std::string& image_path, const std::string& mask_path, const Options& options, Sample* s,
               std::string* error) {
  m2u_infer::HostFrame image, mask;
  if (!m2u_infer::read_frame(image_path, options.layout, &image, error)) return false;
  if (!m2u_infer::read_frame(mask_path, m2u_infer::RawLayout{}, &mask, error)) return false;
  if (mask.format != M2U_RAW_MONO8) {
    *error = mask_path + ": masks are 8-bit images (0 background, anything else cell); this one has more bits";
    return false;
  }
  if (mask.height != image.height || mask.width != image.width) {
    *error = mask_path + ": the mask is " + std::to_string(mask.width) + " x " + std::to_string(mask.height) +
             ", its image " + image_path + " is " + std::to_string(image.width) + " x " + std::to_string(image.height);
    return false;
  }
  s->image_path = image_path;
  s->mask_path = mask_path;
  s->height = image.height;
  s->width = image.width;
  to_intensity(image, &s->intensity);
  s->mask.resize(static_cast<size_t>(mask.height) * mask.width);
  for (int y = 0; y < mask.height; ++y)
    for (int x = 0; x < mask.width; ++x)
      s->mask[static_cast<size_t>(y) * mask.width + x] = mask.bytes[y * mask.stride + x] ? 1 : 0;
  return true;
}

}  // namespace

bool load_samples(const Options& options, std::vector<Sample>* samples, std::string* error) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (size_t i = 0; i + 1 < options.pairs.size(); i += 2) pairs.emplace_back(options.pairs[i], options.pairs[i + 1]);
  for (const std::string& directory : options.data_directories) {
    std::vector<std::string> images;
    if (!m2u_infer::list_directory(directory, options.layout.given, &images, error)) return false;
    size_t found = 0;
    for (const std::string& path : images) {
      if (has_suffix(path, "_mask.png")) continue;
      const std::string stem = path.substr(0, path.rfind('.'));
      const std::string mask = stem + "_mask.png";
      if (!exists(mask)) {
        *error = path + " has no mask " + mask + " (--data DIR takes NAME.png with NAME_mask.png)";
        return false;
      }
      pairs.emplace_back(path, mask);
      ++found;
    }
    if (found == 0) {
      *error = directory + ": no images besides masks (--data DIR takes NAME.png with NAME_mask.png)";
      return false;
    }
  }
  samples->resize(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (!load_pair(pairs[i].first, pairs[i].second, options, &(*samples)[i], error)) return false;
  }
  return true;
}

void split_validation(std::vector<Sample>* samples, double fraction, uint64_t seed, std::vector<Sample>* validation) {
  const size_t count = samples->size();
  size_t held = static_cast<size_t>(std::lround(fraction * static_cast<double>(count)));
  held = std::min(held, count > 0 ? count - 1 : 0);
  if (held == 0) return;
  std::mt19937_64 random(seed ^ 0x56414C4944415445ull);  // its own stream: "VALIDATE"
  std::vector<size_t> order(count);
  for (size_t i = 0; i < count; ++i) order[i] = i;
  for (size_t i = count - 1; i > 0; --i) std::swap(order[i], order[random() % (i + 1)]);
  std::vector<bool> held_out(count, false);
  for (size_t i = 0; i < held; ++i) held_out[order[i]] = true;
  std::vector<Sample> kept;
  for (size_t i = 0; i < count; ++i) ((held_out[i]) ? *validation : kept).push_back(std::move((*samples)[i]));
  *samples = std::move(kept);
}

m2u_image Batch::images() const {
  m2u_image image{};
  image.data = const_cast<float*>(pixels.data());
  image.memory = M2U_MEMORY_HOST;
  image.dtype = M2U_DTYPE_F32;
  image.batch = count;
  image.channels = 1;
  image.height = height;
  image.width = width;
  return image;
}

m2u_image Batch::mask_image() const {
  m2u_image image = images();
  image.data = const_cast<uint8_t*>(masks.data());
  image.dtype = M2U_DTYPE_U8;
  return image;
}

void copy_window(const Sample& s, int top, int left, int height, int width, bool flip_x, bool flip_y, float* pixels,
                 uint8_t* mask) {
  for (int y = 0; y < height; ++y) {
    const int sy = top + (flip_y ? height - 1 - y : y);
    for (int x = 0; x < width; ++x) {
      const int sx = left + (flip_x ? width - 1 - x : x);
      const size_t from = static_cast<size_t>(sy) * s.width + sx, to = static_cast<size_t>(y) * width + x;
      pixels[to] = s.intensity[from];
      mask[to] = s.mask[from];
    }
  }
}

BatchSampler::BatchSampler(const std::vector<Sample>& samples, int batch, int crop, bool augment, uint64_t seed)
    : samples_(samples), batch_(batch), crop_(crop), augment_(augment), random_(seed) {}

long long BatchSampler::steps_per_epoch() const {
  return (static_cast<long long>(samples_.size()) + batch_ - 1) / batch_;
}

bool BatchSampler::next(Batch* batch, std::string* error) {
  // A batch takes the next `batch_` pairs of the epoch's order (the last
  // one of an epoch may be smaller); a new epoch reshuffles.
  if (position_ == 0 || position_ >= order_.size()) {
    order_.resize(samples_.size());
    for (size_t i = 0; i < order_.size(); ++i) order_[i] = i;
    for (size_t i = order_.size() - 1; i > 0; --i) std::swap(order_[i], order_[below(i + 1)]);
    position_ = 0;
    ++epoch_;
  }
  const size_t count = std::min<size_t>(batch_, order_.size() - position_);
  const Sample& first = samples_[order_[position_]];
  batch->count = static_cast<int>(count);
  batch->height = augment_ ? crop_ : first.height;
  batch->width = augment_ ? crop_ : first.width;
  const size_t pixels = static_cast<size_t>(batch->height) * batch->width;
  batch->pixels.resize(count * pixels);
  batch->masks.resize(count * pixels);
  for (size_t i = 0; i < count; ++i) {
    const Sample& s = samples_[order_[position_ + i]];
    if (!augment_) {
      if (s.height != batch->height || s.width != batch->width) {
        *error = "--no-augment with --batch " + std::to_string(batch_) + ": " + s.image_path + " is " +
                 std::to_string(s.width) + " x " + std::to_string(s.height) + ", " + first.image_path + " " +
                 std::to_string(first.width) + " x " + std::to_string(first.height) +
                 " (whole images in one batch must share their size: use --batch 1)";
        return false;
      }
      copy_window(s, 0, 0, s.height, s.width, false, false, &batch->pixels[i * pixels], &batch->masks[i * pixels]);
      continue;
    }
    const int top = static_cast<int>(below(static_cast<uint64_t>(s.height - crop_) + 1));
    const int left = static_cast<int>(below(static_cast<uint64_t>(s.width - crop_) + 1));
    const bool flip_x = below(2) == 1, flip_y = below(2) == 1;
    copy_window(s, top, left, crop_, crop_, flip_x, flip_y, &batch->pixels[i * pixels], &batch->masks[i * pixels]);
  }
  position_ += count;
  return true;
}

}  // namespace m2u_finetune
