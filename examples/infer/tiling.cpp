// tiling.cpp - see tiling.h.
#include "tiling.h"

#include <algorithm>

namespace m2u_infer {
namespace {

// Origins along one axis: 0, step, 2 step, ... (multiples of 16), the last
// one at most size - tile; and the kept range of each.
struct Span {
  int origin, length, keep0, keep1;
};

std::vector<Span> plan_axis(int size, int tile, int overlap) {
  std::vector<Span> spans;
  if (size <= tile) {
    spans.push_back({0, size, 0, size});
    return spans;
  }
  const int step = (tile - 2 * overlap) / 16 * 16;
  std::vector<int> origins;
  for (int origin = 0;; origin += step) {
    if (origin + tile >= size) {
      origins.push_back(std::max(0, (size - tile) / 16 * 16));
      break;
    }
    origins.push_back(origin);
  }
  // The last origin was pulled back to a multiple of 16; drop an earlier one
  // it makes redundant.
  if (origins.size() > 1 && origins[origins.size() - 2] >= origins.back()) origins.erase(origins.end() - 2);
  for (size_t i = 0; i < origins.size(); ++i) {
    const int origin = origins[i];
    const int length = std::min(tile, size - origin);
    spans.push_back({origin, length, 0, 0});
  }
  // Kept ranges: split each overlap at its middle between neighbours.
  for (size_t i = 0; i < spans.size(); ++i) {
    spans[i].keep0 = i == 0 ? 0 : (spans[i - 1].origin + spans[i - 1].length + spans[i].origin) / 2;
    spans[i].keep1 = i + 1 == spans.size() ? size
                                           : (spans[i].origin + spans[i].length + spans[i + 1].origin) / 2;
  }
  return spans;
}

}  // namespace

std::vector<Tile> plan_tiles(int height, int width, int tile, int overlap, std::string* error) {
  if (tile < 16 || tile % 16 != 0) {
    *error = "--tile " + std::to_string(tile) + " must be a positive multiple of 16";
    return {};
  }
  if (overlap < 0 || (tile - 2 * overlap) / 16 * 16 < 16) {
    *error = "--overlap " + std::to_string(overlap) + " leaves less than 16 pixels of a " + std::to_string(tile) +
             "-pixel tile to keep";
    return {};
  }
  std::vector<Tile> tiles;
  for (const Span& ys : plan_axis(height, tile, overlap)) {
    for (const Span& xs : plan_axis(width, tile, overlap)) {
      tiles.push_back(Tile{ys.origin, xs.origin, ys.length, xs.length, ys.keep0, ys.keep1, xs.keep0, xs.keep1});
    }
  }
  return tiles;
}

}  // namespace m2u_infer
