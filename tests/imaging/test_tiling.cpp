// test_tiling.cpp - the tile planner's invariants over a sweep of frame
// sizes, tiles and overlaps: every tile at multiples of 16, inside the
// frame and at most `tile` a side; every kept range inside its own tile and
// at least `overlap` from each tile edge that is not a frame edge; every
// frame pixel kept by exactly one tile; neighbours overlap by >= 2 overlap.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tiling.h"

using m2u::Tile;

namespace {

// Checks every invariant; returns "" or the first violation.
std::string violation(int height, int width, int tile, int overlap) {
  std::string error;
  const std::vector<Tile> tiles = m2u::plan_tiles(height, width, tile, overlap, &error);
  if (tiles.empty()) return "no plan: " + error;
  const std::string where = std::to_string(width) + "x" + std::to_string(height) + " tile " + std::to_string(tile) +
                            " overlap " + std::to_string(overlap) + ": ";
  std::vector<int> covered(static_cast<size_t>(height) * width, 0);
  for (const Tile& t : tiles) {
    const std::string at = where + "tile at (" + std::to_string(t.x) + ", " + std::to_string(t.y) + ") ";
    if (t.y % 16 || t.x % 16) return at + "is not at multiples of 16";
    if (t.height < 1 || t.width < 1 || t.height > tile || t.width > tile) return at + "has a bad size";
    if (t.y < 0 || t.x < 0 || t.y + t.height > height || t.x + t.width > width) return at + "leaves the frame";
    if (t.keep_y0 < t.y || t.keep_y1 > t.y + t.height || t.keep_x0 < t.x || t.keep_x1 > t.x + t.width ||
        t.keep_y0 >= t.keep_y1 || t.keep_x0 >= t.keep_x1) {
      return at + "keeps a range outside itself";
    }
    if ((t.keep_y0 > 0 && t.keep_y0 - t.y < overlap) || (t.keep_x0 > 0 && t.keep_x0 - t.x < overlap) ||
        (t.keep_y1 < height && t.y + t.height - t.keep_y1 < overlap) ||
        (t.keep_x1 < width && t.x + t.width - t.keep_x1 < overlap)) {
      return at + "keeps pixels closer than the overlap to an inner edge";
    }
    for (int y = t.keep_y0; y < t.keep_y1; ++y)
      for (int x = t.keep_x0; x < t.keep_x1; ++x) covered[static_cast<size_t>(y) * width + x]++;
  }
  for (size_t i = 0; i < covered.size(); ++i) {
    if (covered[i] != 1) {
      return where + "pixel (" + std::to_string(i % width) + ", " + std::to_string(i / width) + ") kept " +
             std::to_string(covered[i]) + " times";
    }
  }
  return "";
}

}  // namespace

TEST_CASE("tile plans keep every pixel once, inside its tile, away from inner edges") {
  struct Case {
    int height, width, tile, overlap;
  };
  // The sizes that broke the old planner, then the paper's frame.
  for (const Case c : {Case{250, 333, 128, 16}, Case{1000, 1000, 512, 32}, Case{3000, 3000, 1024, 32},
                       Case{1000, 513, 256, 48}, Case{1024, 64, 448, 192}, Case{37, 70, 64, 8},
                       Case{613, 41, 448, 178}, Case{467, 461, 448, 178}}) {
    CHECK_MESSAGE(violation(c.height, c.width, c.tile, c.overlap).empty(),
                  violation(c.height, c.width, c.tile, c.overlap));
  }
  int plans = 0;
  for (const int tile : {16, 32, 48, 128, 256, 448}) {
    for (const int overlap : {0, 1, 7, 8, 16, 40, 178}) {
      if (!m2u::check_tile_parameters(tile, overlap).empty()) continue;
      for (int size = 1; size <= 3 * tile + 40; size += (size < 2 * tile ? 1 : 7)) {
        const std::string problem = violation(size, 2 * tile + 17, tile, overlap);
        REQUIRE_MESSAGE(problem.empty(), problem);
        ++plans;
      }
    }
  }
  MESSAGE(plans << " plans checked");
}

TEST_CASE("tile parameters that cannot work are refused with the reason") {
  std::string error;
  CHECK(m2u::plan_tiles(100, 100, 100, 8, &error).empty());
  CHECK(error.find("multiple of 16") != std::string::npos);
  CHECK(m2u::plan_tiles(100, 100, 64, 28, &error).empty());
  CHECK(error.find("leaves less than 16 pixels") != std::string::npos);
  CHECK(m2u::plan_tiles(100, 100, 64, -1, &error).empty());
  CHECK(error.find("negative") != std::string::npos);
  CHECK(m2u::plan_tiles(0, 100, 64, 8, &error).empty());
  CHECK(error.find("empty") != std::string::npos);
  CHECK(m2u::check_tile_parameters(64, 24).empty());  // keeps 16
}
