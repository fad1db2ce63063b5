// test_mask_kernels.cpp - the mask post-processing: probability_histogram
// and threshold_mask against CPU references (odd shapes, pitches wider than
// the width with the input padding holding values that would change the
// result if read, outputs poisoned, padding and guards checked, NaN and
// infinities, values on the rounding ties), the host side of otsu.h
// (probability_bin, otsu_threshold against a brute force in exact integer
// arithmetic on bimodal, random, sparse and huge histograms and the known
// small cases, otsu_probability_threshold's exactness), the whole chain
// histogram -> Otsu -> mask, argument validation; several schedules.
#include <doctest/doctest.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "emu_test_support.h"
#include "mask_kernels.h"
#include "otsu.h"
#include "plane_test_support.h"

namespace {

using namespace plane_test;

__extension__ typedef unsigned __int128 Wide;

// ---- references

// The 8-bit probability: p * 255 in float, rounded half to even by hand,
// clamped; NaN gives 0.
int reference_bin(float p) {
  const float scaled = p * 255.0f;
  if (std::isnan(scaled) || scaled <= 0.0f) return 0;
  if (scaled >= 255.0f) return 255;
  const float floor_value = std::floor(scaled);
  const float fraction = scaled - floor_value;  // exact below 2^23
  int bin = static_cast<int>(floor_value);
  if (fraction > 0.5f || (fraction == 0.5f && bin % 2 == 1)) ++bin;
  return bin;
}

std::vector<unsigned> reference_histogram(const std::vector<float>& pixels) {
  std::vector<unsigned> bins(256, 0u);
  for (float p : pixels) ++bins[reference_bin(p)];
  return bins;
}

// Otsu by brute force: for every t the classes' counts and sums from
// scratch, the between-class variance (S0 n1 - S1 n0)^2 / (N^2 n0 n1)
// compared exactly in 128-bit integers (histograms below 2^20 pixels), the
// first maximum kept; -1 when no split has both classes non-empty.
int brute_force_otsu(const std::vector<unsigned>& bins) {
  int best = -1;
  Wide best_numerator = 0;
  Wide best_denominator = 1;
  for (int t = 0; t < 256; ++t) {
    uint64_t n0 = 0, n1 = 0, s0 = 0, s1 = 0;
    for (int v = 0; v < 256; ++v) {
      if (v <= t) {
        n0 += bins[v];
        s0 += static_cast<uint64_t>(v) * bins[v];
      } else {
        n1 += bins[v];
        s1 += static_cast<uint64_t>(v) * bins[v];
      }
    }
    if (n0 == 0 || n1 == 0) continue;
    const Wide a = static_cast<Wide>(s0) * n1;
    const Wide b = static_cast<Wide>(s1) * n0;
    const Wide difference = a > b ? a - b : b - a;
    const Wide numerator = difference * difference;
    const Wide denominator = static_cast<Wide>(n0) * n1;
    if (best < 0 || numerator * best_denominator > best_numerator * denominator) {
      best = t;
      best_numerator = numerator;
      best_denominator = denominator;
    }
  }
  return best;
}

// The textbook between-class variance w0 w1 (mu0 - mu1)^2 in double.
double between_class_variance(const std::vector<unsigned>& bins, int t) {
  double n0 = 0, n1 = 0, s0 = 0, s1 = 0;
  for (int v = 0; v < 256; ++v) {
    (v <= t ? n0 : n1) += bins[v];
    (v <= t ? s0 : s1) += static_cast<double>(v) * bins[v];
  }
  if (n0 == 0 || n1 == 0) return 0.0;
  const double total = n0 + n1;
  const double difference = s0 / n0 - s1 / n1;
  return n0 / total * (n1 / total) * difference * difference;
}

// ---- test data

// Probabilities with the awkward values first: NaN, infinities, signed
// zeros, out-of-range values, exact multiples of 1/255, values whose p * 255
// lands on a rounding tie k + 0.5 and their float neighbours; then random
// values in [-0.05, 1.05).
std::vector<float> probability_pixels(size_t count, uint32_t seed) {
  std::vector<float> specials = {kNaN, kInf, -kInf, 0.0f, -0.0f, 1.0f, -0.3f, 1.7f,
                                 1.0f / 255.0f, 128.0f / 255.0f, 254.0f / 255.0f};
  for (int k : {0, 1, 2, 77, 127, 128, 253, 254}) {
    const float tie = (k + 0.5f) / 255.0f;
    specials.push_back(tie);
    specials.push_back(std::nextafter(tie, 0.0f));
    specials.push_back(std::nextafter(tie, 2.0f));
    const float threshold = m2u::otsu_probability_threshold(k);
    specials.push_back(threshold);
    specials.push_back(std::nextafter(threshold, 2.0f));
  }
  std::mt19937 generator(seed);
  std::uniform_real_distribution<float> distribution(-0.05f, 1.05f);
  std::vector<float> pixels(count);
  for (size_t i = 0; i < count; ++i) {
    pixels[i] = distribution(generator);
  }
  // The specials at pseudo-random places (the first ones always).
  for (size_t i = 0; i < specials.size() && i < count; ++i) {
    pixels[i < 4 ? i : generator() % count] = specials[i];
  }
  return pixels;
}

std::vector<float> to_padded(const Plane& plane, const std::vector<float>& pixels, float padding) {
  std::vector<float> padded = padded_plane<float>(plane.span(), padding);
  for (int y = 0; y < plane.height; ++y)
    for (int x = 0; x < plane.width; ++x)
      padded[plane.index(y, x)] = pixels[static_cast<size_t>(y) * plane.width + x];
  return padded;
}

// Padding of the probability planes: 0.7 lands in bin 179 and above every
// threshold below it, so a kernel that read it would be caught.
constexpr float kPaddingProbability = 0.7f;

const Plane kPlanes[] = {{17, 34, 37}, {1, 1, 1}, {300, 257, 260}, {70, 5, 5}, {33, 1, 2}};

std::vector<unsigned> run_histogram(const float* probability, const Plane& plane,
                                    const std::string& context) {
  DeviceBuffer<unsigned> bins(256);  // 0xFF poison: the launcher must zero it
  const cudaError_t status = m2u::probability_histogram(probability, plane.height, plane.width,
                                                        plane.pitch, bins.data(), nullptr);
  REQUIRE_MESSAGE(status == cudaSuccess, context << ": " << cudaGetErrorName(status));
  std::string where;
  CHECK_MESSAGE(bins.guards_intact(&where), context << ": " << where);
  return bins.download();
}

}  // namespace

TEST_CASE("probability_bin is round(p * 255) ties to even, clamped, NaN in bin 0") {
  CHECK(m2u::probability_bin(kNaN) == 0);
  CHECK(m2u::probability_bin(-kInf) == 0);
  CHECK(m2u::probability_bin(kInf) == 255);
  CHECK(m2u::probability_bin(-0.0f) == 0);
  CHECK(m2u::probability_bin(-0.5f) == 0);
  CHECK(m2u::probability_bin(1.0f) == 255);
  CHECK(m2u::probability_bin(3.0f) == 255);
  CHECK(m2u::probability_bin(0.5f) == 128);          // 127.5 -> 128 (even)
  CHECK(m2u::probability_bin(1.5f / 255.0f) == 2);   // 1.5 -> 2
  CHECK(m2u::probability_bin(2.5f / 255.0f) == 2);   // 2.5 -> 2
  // Every value near each rounding tie, and random ones, agree with the
  // hand-rounded reference.
  size_t checked = 0;
  for (int k = 0; k < 256; ++k) {
    float p = (k + 0.5f) / 255.0f;
    for (int i = 0; i < 64; ++i) p = std::nextafter(p, 0.0f);
    for (int i = 0; i < 128; ++i, p = std::nextafter(p, 2.0f)) {
      REQUIRE_MESSAGE(m2u::probability_bin(p) == reference_bin(p), "p = " << p);
      ++checked;
    }
  }
  std::mt19937 generator(7);
  std::uniform_real_distribution<float> distribution(-0.1f, 1.1f);
  for (int i = 0; i < 100000; ++i, ++checked) {
    const float p = distribution(generator);
    REQUIRE_MESSAGE(m2u::probability_bin(p) == reference_bin(p), "p = " << p);
  }
  MESSAGE("probability_bin agrees with the reference on " << checked << " values");
}

TEST_CASE("otsu_threshold on known histograms") {
  std::vector<unsigned> bins(256, 0u);
  CHECK(m2u::otsu_threshold(bins.data()) == 0);  // empty
  for (int v : {0, 77, 255}) {  // a single value returns that value
    std::vector<unsigned> single(256, 0u);
    single[v] = 1234;
    CHECK(m2u::otsu_threshold(single.data()) == v);
    single[v] = UINT_MAX;
    CHECK(m2u::otsu_threshold(single.data()) == v);
  }
  struct TwoValues {
    int a, b;
    unsigned count_a, count_b;
  };
  // Two values a < b: every t in [a, b) gives the same split, the lowest wins.
  for (const TwoValues& c : {TwoValues{10, 200, 5, 5}, TwoValues{0, 255, 1, 1},
                             TwoValues{100, 101, 3, 1000}, TwoValues{50, 60, 1000, 5},
                             TwoValues{3, 250, UINT_MAX, UINT_MAX}}) {
    std::vector<unsigned> two(256, 0u);
    two[c.a] = c.count_a;
    two[c.b] = c.count_b;
    CHECK_MESSAGE(m2u::otsu_threshold(two.data()) == c.a, c.a << ", " << c.b);
  }
  // Symmetric three-value histograms: splits t = 0 and t = 1 (or 2) tie exactly.
  std::vector<unsigned> symmetric(256, 0u);
  symmetric[0] = 1;
  symmetric[1] = 2;
  symmetric[2] = 1;
  CHECK(m2u::otsu_threshold(symmetric.data()) == 0);
  CHECK(brute_force_otsu(symmetric) == 0);
  std::vector<unsigned> spaced(256, 0u);
  spaced[0] = spaced[2] = spaced[4] = 7;
  CHECK(m2u::otsu_threshold(spaced.data()) == 0);
  // Uniform, even with every bin at UINT_MAX (no overflow): the middle.
  std::vector<unsigned> uniform(256, 1u);
  CHECK(m2u::otsu_threshold(uniform.data()) == 127);
  std::vector<unsigned> huge(256, UINT_MAX);
  CHECK(m2u::otsu_threshold(huge.data()) == 127);
}

TEST_CASE("otsu_threshold matches the brute force on bimodal, random and sparse histograms") {
  std::mt19937 generator(2024);
  int cases = 0;
  int plateau_cases = 0;
  double worst_variance_gap = 0.0;
  for (int round = 0; round < 300; ++round) {
    std::vector<unsigned> bins(256, 0u);
    const int kind = round % 3;
    if (kind == 0) {  // bimodal: two clamped Gaussians
      std::normal_distribution<double> low(30 + generator() % 70, 5 + generator() % 20);
      std::normal_distribution<double> high(150 + generator() % 80, 5 + generator() % 20);
      const int samples = 5000 + static_cast<int>(generator() % 20000);
      const double share = 0.1 + 0.8 * (generator() % 1000) / 1000.0;
      for (int i = 0; i < samples; ++i) {
        const double value = (generator() % 1000) / 1000.0 < share ? low(generator) : high(generator);
        ++bins[static_cast<int>(std::fmin(std::fmax(std::round(value), 0.0), 255.0))];
      }
    } else if (kind == 1) {  // random counts everywhere
      for (unsigned& count : bins) count = generator() % 1000;
    } else {  // sparse: 2..5 values, plateaus of equal splits between them
      const int values = 2 + static_cast<int>(generator() % 4);
      for (int i = 0; i < values; ++i) bins[generator() % 256] += 1 + generator() % 50;
      ++plateau_cases;
    }
    const int expected = brute_force_otsu(bins);
    const int got = m2u::otsu_threshold(bins.data());
    if (expected >= 0) {
      REQUIRE_MESSAGE(got == expected, "round " << round);
      // The textbook double form agrees on the optimum's variance.
      double best = 0.0;
      for (int t = 0; t < 256; ++t) best = std::fmax(best, between_class_variance(bins, t));
      worst_variance_gap =
          std::fmax(worst_variance_gap, (best - between_class_variance(bins, got)) / best);
    }
    ++cases;
  }
  CHECK(worst_variance_gap < 1e-12);
  MESSAGE("otsu_threshold == brute force on " << cases << " histograms (" << plateau_cases
                                              << " sparse); worst relative variance gap to the "
                                                 "double optimum "
                                              << worst_variance_gap);
}

TEST_CASE("otsu_probability_threshold selects exactly the bins above t8") {
  int differs_from_naive = 0;
  int naive_misclassifies = 0;
  for (int t = 0; t < 255; ++t) {
    const float threshold = m2u::otsu_probability_threshold(t);
    CHECK(reference_bin(threshold) <= t);
    CHECK(reference_bin(std::nextafter(threshold, 2.0f)) > t);
    float p = threshold;
    for (int i = 0; i < 64; ++i) p = std::nextafter(p, 0.0f);
    for (int i = 0; i < 128; ++i, p = std::nextafter(p, 2.0f)) {
      REQUIRE_MESSAGE((p > threshold) == (reference_bin(p) > t), "t " << t << " p " << p);
    }
    const float naive = (t + 0.5f) / 255.0f;
    CHECK(std::fabs(naive - threshold) <= 2.0f * (std::nextafter(naive, 2.0f) - naive));
    if (naive != threshold) ++differs_from_naive;
    // Does p > naive select the same pixels? Only the floats between the two differ.
    const float low = std::fmin(naive, threshold);
    const float high = std::fmax(naive, threshold);
    for (float q = std::nextafter(low, 2.0f); q <= high; q = std::nextafter(q, 2.0f)) {
      if ((q > naive) != (reference_bin(q) > t)) {
        ++naive_misclassifies;
        break;
      }
    }
  }
  CHECK(m2u::otsu_probability_threshold(255) == kInf);
  CHECK(m2u::otsu_probability_threshold(-1) == -kInf);
  MESSAGE("otsu_probability_threshold(t) != (t + 0.5f) / 255 for "
          << differs_from_naive << " of 255 thresholds; p > (t + 0.5f) / 255 misclassifies a "
                                   "float for "
          << naive_misclassifies << " of them");
}

TEST_CASE("probability_histogram matches the reference on odd shapes and pitches") {
  uint32_t seed = 1;
  for (const Plane& plane : kPlanes) {
    const std::vector<float> pixels =
        probability_pixels(static_cast<size_t>(plane.height) * plane.width, seed++);
    const std::vector<unsigned> expected = reference_histogram(pixels);
    const std::unique_ptr<DeviceBuffer<float>> probability =
        upload_exact(to_padded(plane, pixels, kPaddingProbability));
    for (uint64_t schedule : emu_test::test_seeds()) {
      emu_test::ScopedSeed scoped(schedule);
      const std::string context = plane.name() + " schedule " + std::to_string(schedule);
      const std::vector<unsigned> bins = run_histogram(probability->data(), plane, context);
      size_t wrong_bins = 0;
      for (int b = 0; b < 256; ++b) wrong_bins += bins[b] != expected[b];
      CHECK_MESSAGE(wrong_bins == 0, context << ": " << wrong_bins << " bins differ");
    }
  }
}

TEST_CASE("probability_histogram zeroes the bins it is given on every call") {
  const Plane plane{5, 9, 11};
  const std::vector<float> pixels = probability_pixels(45, 9);
  const std::unique_ptr<DeviceBuffer<float>> probability =
      upload_exact(to_padded(plane, pixels, kPaddingProbability));
  DeviceBuffer<unsigned> bins(256);
  for (int call = 0; call < 3; ++call) {
    REQUIRE(m2u::probability_histogram(probability->data(), 5, 9, 11, bins.data(), nullptr) ==
            cudaSuccess);
  }
  CHECK(bins.download() == reference_histogram(pixels));
}

TEST_CASE("threshold_mask is 255 exactly where p > threshold") {
  uint32_t seed = 20;
  for (const Plane& plane : kPlanes) {
    const size_t pixel_count = static_cast<size_t>(plane.height) * plane.width;
    const std::vector<float> pixels = probability_pixels(pixel_count, seed++);
    const std::unique_ptr<DeviceBuffer<float>> probability =
        upload_exact(to_padded(plane, pixels, kPaddingProbability));
    // ... and a value of the plane itself (p == threshold gives 0).
    float present = 0.25f;
    for (size_t i = pixel_count / 2; i < pixel_count; ++i) {
      if (std::isfinite(pixels[i])) {
        present = pixels[i];
        break;
      }
    }
    std::vector<float> thresholds = {0.5f, 0.0f, 1.0f, -kInf, kInf, present};
    for (int t : {0, 77, 127, 128, 254, 255}) thresholds.push_back(m2u::otsu_probability_threshold(t));
    for (size_t mask_extra : {size_t{0}, size_t{3}}) {
      const Plane mask_plane{plane.height, plane.width, plane.width + mask_extra};
      const std::vector<uint64_t> seeds = emu_test::test_seeds();
      for (size_t k = 0; k < thresholds.size(); ++k) {
        const float threshold = thresholds[k];
        // Every schedule for the first thresholds, one each (in turn) for the rest.
        const std::vector<uint64_t> schedules =
            k < 3 ? seeds : std::vector<uint64_t>{seeds[k % seeds.size()]};
        for (uint64_t schedule : schedules) {
          emu_test::ScopedSeed scoped(schedule);
          const std::string context = plane.name() + " mask " + mask_plane.name() +
                                      " threshold " + std::to_string(threshold) + " schedule " +
                                      std::to_string(schedule);
          DeviceBuffer<uint8_t> mask(mask_plane.full());
          mask.poison(0xAB);
          const cudaError_t status =
              m2u::threshold_mask(probability->data(), plane.height, plane.width, plane.pitch,
                                  threshold, mask.data(), mask_plane.pitch, nullptr);
          REQUIRE_MESSAGE(status == cudaSuccess, context << ": " << cudaGetErrorName(status));
          std::string where;
          CHECK_MESSAGE(mask.guards_intact(&where), context << ": " << where);
          const std::vector<uint8_t> got = mask.download();
          size_t wrong = 0;
          size_t changed_padding = 0;
          for (int y = 0; y < plane.height; ++y)
            for (size_t x = 0; x < mask_plane.pitch; ++x) {
              const uint8_t value = got[mask_plane.index(y, static_cast<int>(x))];
              if (x >= static_cast<size_t>(plane.width)) {
                changed_padding += value != 0xAB;
              } else {
                const float p = pixels[static_cast<size_t>(y) * plane.width + x];
                wrong += value != (p > threshold ? 255 : 0);
              }
            }
          CHECK_MESSAGE(wrong == 0, context << ": " << wrong << " mask pixels wrong");
          CHECK_MESSAGE(changed_padding == 0,
                        context << ": " << changed_padding << " padding bytes changed");
        }
      }
    }
  }
}

TEST_CASE("histogram -> Otsu -> mask: the mask holds exactly the bins above the threshold") {
  // A bimodal probability map with NaNs and values on the bin boundaries.
  const Plane plane{41, 53, 57};
  const size_t count = static_cast<size_t>(plane.height) * plane.width;
  std::mt19937 generator(77);
  std::normal_distribution<float> background(0.12f, 0.06f);
  std::normal_distribution<float> cells(0.83f, 0.08f);
  std::vector<float> pixels(count);
  for (size_t i = 0; i < count; ++i) pixels[i] = generator() % 4 == 0 ? cells(generator) : background(generator);
  for (size_t i = 0; i < count; i += 97) pixels[i] = kNaN;
  const std::vector<unsigned> host_bins = reference_histogram(pixels);
  const int t8 = m2u::otsu_threshold(host_bins.data());
  // Put pixels on the boundary of the chosen threshold: the smallest
  // probability of bin t8 + 1, and the largest of bin t8.
  const float largest_below = m2u::otsu_probability_threshold(t8);
  for (size_t i = 5; i < count; i += 61) pixels[i] = i % 2 ? largest_below : std::nextafter(largest_below, 2.0f);
  const std::unique_ptr<DeviceBuffer<float>> probability =
      upload_exact(to_padded(plane, pixels, kPaddingProbability));
  for (uint64_t schedule : emu_test::test_seeds()) {
    emu_test::ScopedSeed scoped(schedule);
    const std::string context = "schedule " + std::to_string(schedule);
    const std::vector<unsigned> bins = run_histogram(probability->data(), plane, context);
    REQUIRE(bins == reference_histogram(pixels));
    const int threshold8 = m2u::otsu_threshold(bins.data());
    CHECK(threshold8 == brute_force_otsu(bins));
    CHECK(threshold8 > 20);
    CHECK(threshold8 < 200);
    DeviceBuffer<uint8_t> mask(count);
    REQUIRE(m2u::threshold_mask(probability->data(), plane.height, plane.width, plane.pitch,
                                m2u::otsu_probability_threshold(threshold8), mask.data(),
                                static_cast<size_t>(plane.width), nullptr) == cudaSuccess);
    const std::vector<uint8_t> got = mask.download();
    size_t foreground = 0;
    for (uint8_t value : got) foreground += value == 255;
    size_t above = 0;
    for (int b = threshold8 + 1; b < 256; ++b) above += bins[b];
    CHECK_MESSAGE(foreground == above, context << ": t8 " << threshold8);
    CHECK(mask.guards_intact());
  }
}

TEST_CASE("the mask launchers reject invalid arguments") {
  const Plane plane{4, 6, 8};
  DeviceBuffer<float> probability(plane.full());
  DeviceBuffer<unsigned> bins(257);
  DeviceBuffer<uint8_t> mask(plane.full());
  const float* p = probability.data();
  const cudaError_t invalid = cudaErrorInvalidValue;
  REQUIRE(m2u::probability_histogram(p, 4, 6, 8, bins.data(), nullptr) == cudaSuccess);
  CHECK(m2u::probability_histogram(nullptr, 4, 6, 8, bins.data(), nullptr) == invalid);
  CHECK(m2u::probability_histogram(p, 4, 6, 8, nullptr, nullptr) == invalid);
  unsigned* misaligned_bins = reinterpret_cast<unsigned*>(reinterpret_cast<char*>(bins.data()) + 2);
  CHECK(m2u::probability_histogram(p, 4, 6, 8, misaligned_bins, nullptr) == invalid);
  const float* misaligned = reinterpret_cast<const float*>(reinterpret_cast<const char*>(p) + 1);
  CHECK(m2u::probability_histogram(misaligned, 4, 6, 8, bins.data(), nullptr) == invalid);
  CHECK(m2u::probability_histogram(p, 0, 6, 8, bins.data(), nullptr) == invalid);
  CHECK(m2u::probability_histogram(p, 65536, 6, 8, bins.data(), nullptr) == invalid);
  CHECK(m2u::probability_histogram(p, 4, 0, 8, bins.data(), nullptr) == invalid);
  CHECK(m2u::probability_histogram(p, 4, 9, 8, bins.data(), nullptr) == invalid);
  // More pixels than an unsigned bin can count (rejected before any access).
  CHECK(m2u::probability_histogram(p, 65535, 65538, 65538, bins.data(), nullptr) == invalid);

  REQUIRE(m2u::threshold_mask(p, 4, 6, 8, 0.5f, mask.data(), 6, nullptr) == cudaSuccess);
  CHECK(m2u::threshold_mask(p, 4, 6, 8, kNaN, mask.data(), 6, nullptr) == invalid);
  CHECK(m2u::threshold_mask(nullptr, 4, 6, 8, 0.5f, mask.data(), 6, nullptr) == invalid);
  CHECK(m2u::threshold_mask(misaligned, 4, 6, 8, 0.5f, mask.data(), 6, nullptr) == invalid);
  CHECK(m2u::threshold_mask(p, 4, 6, 8, 0.5f, nullptr, 6, nullptr) == invalid);
  CHECK(m2u::threshold_mask(p, 4, 6, 8, 0.5f, mask.data(), 5, nullptr) == invalid);
  CHECK(m2u::threshold_mask(p, 4, 6, 5, 0.5f, mask.data(), 6, nullptr) == invalid);
  CHECK(m2u::threshold_mask(p, 0, 6, 8, 0.5f, mask.data(), 6, nullptr) == invalid);
  CHECK(m2u::threshold_mask(p, 4, 0, 8, 0.5f, mask.data(), 6, nullptr) == invalid);
  CHECK(m2u::threshold_mask(p, 65536, 6, 8, 0.5f, mask.data(), 6, nullptr) == invalid);
  CHECK(m2u::threshold_mask(p, 4, 6, 8, 0.5f, mask.data(), SIZE_MAX / 2, nullptr) == invalid);
  CHECK(cudaGetLastError() == cudaSuccess);
}
