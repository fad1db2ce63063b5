// test_components.cpp - the CPU connected-component labeller against a
// flood fill on random masks (8-connectivity), areas, centroids, the
// min_area removal, strided planes, and the reuse of one labeller.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "components.h"
#include "split_mix64.h"

namespace {

// Flood-fill labels in raster order of each component's first pixel.
std::vector<uint32_t> flood_labels(const std::vector<uint8_t>& mask, int height, int width, uint32_t* count) {
  std::vector<uint32_t> labels(mask.size(), 0);
  uint32_t next = 0;
  std::vector<int> stack;
  for (int start = 0; start < height * width; ++start) {
    if (!mask[start] || labels[start]) continue;
    labels[start] = ++next;
    stack.assign(1, start);
    while (!stack.empty()) {
      const int p = stack.back();
      stack.pop_back();
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int y = p / width + dy, x = p % width + dx;
          if (y < 0 || x < 0 || y >= height || x >= width) continue;
          const int q = y * width + x;
          if (mask[q] && !labels[q]) {
            labels[q] = next;
            stack.push_back(q);
          }
        }
    }
  }
  *count = next;
  return labels;
}

}  // namespace

TEST_CASE("components equal a flood fill on random masks; areas and centroids exact") {
  m2u_test::SplitMix64 random(7);
  m2u::ComponentLabeler labeler;
  std::vector<m2u::Cell> cells;
  for (const int height : {1, 5, 17, 40}) {
    for (const int width : {1, 3, 34, 61}) {
      for (const double density : {0.2, 0.45, 0.7}) {
        const size_t pitch = width + 3, label_pitch = width + 5;  // strided planes
        std::vector<uint8_t> dense(static_cast<size_t>(height) * width), mask(pitch * height, 0xEE);
        for (int y = 0; y < height; ++y)
          for (int x = 0; x < width; ++x) {
            const uint8_t v = random.uniform(0.0, 1.0) < density ? 255 : 0;
            dense[static_cast<size_t>(y) * width + x] = v;
            mask[y * pitch + x] = v;
          }
        std::vector<uint32_t> labels(label_pitch * height, 0xDEADBEEF);
        labeler.label(mask.data(), pitch, height, width, 0, labels.data(), label_pitch, &cells);
        uint32_t count = 0;
        const std::vector<uint32_t> expected = flood_labels(dense, height, width, &count);
        REQUIRE(cells.size() == count);
        std::vector<long long> area(count + 1, 0);
        std::vector<double> sx(count + 1, 0), sy(count + 1, 0);
        bool same = true;
        for (int y = 0; y < height; ++y)
          for (int x = 0; x < width; ++x) {
            const uint32_t e = expected[static_cast<size_t>(y) * width + x];
            same = same && labels[y * label_pitch + x] == e;
            area[e]++;
            sx[e] += x;
            sy[e] += y;
          }
        CHECK_MESSAGE(same, height << "x" << width << " density " << density);
        for (uint32_t c = 1; c <= count; ++c) {
          CHECK(cells[c - 1].label == c);
          CHECK(cells[c - 1].area == area[c]);
          CHECK(cells[c - 1].centroid_x == doctest::Approx(sx[c] / area[c]));
          CHECK(cells[c - 1].centroid_y == doctest::Approx(sy[c] / area[c]));
        }
        // Padding columns untouched.
        bool guards = true;
        for (int y = 0; y < height; ++y) {
          for (size_t x = width; x < pitch; ++x) guards = guards && mask[y * pitch + x] == 0xEE;
          for (size_t x = width; x < label_pitch; ++x) guards = guards && labels[y * label_pitch + x] == 0xDEADBEEF;
        }
        CHECK(guards);
      }
    }
  }
}

TEST_CASE("min_area removes small cells from the mask and the labels, renumbering the rest") {
  const int h = 6, w = 8;
  // Cell A: a diagonal pair joined by 8-connectivity plus a 2x2 square
  // (5 pixels); cell B: one pixel at (7, 5); cell C: two pixels at (5, 0), (6, 0).
  std::vector<uint8_t> mask(h * w, 0);
  auto set = [&](int x, int y) { mask[y * w + x] = 255; };
  set(0, 0); set(1, 1); set(1, 2); set(2, 1); set(2, 2);
  set(7, 5);
  set(5, 0); set(6, 0);
  m2u::ComponentLabeler labeler;
  std::vector<m2u::Cell> cells;
  std::vector<uint32_t> labels(h * w);
  labeler.label(mask.data(), w, h, w, 2, labels.data(), w, &cells);
  REQUIRE(cells.size() == 2);
  CHECK(cells[0].area == 5);
  CHECK(cells[0].centroid_x == doctest::Approx(6.0 / 5));
  CHECK(cells[1].area == 2);  // C, renumbered 2
  CHECK(labels[0 * w + 5] == 2);
  CHECK(mask[5 * w + 7] == 0);  // B removed from the mask
  CHECK(labels[5 * w + 7] == 0);
}
