// tiling.cpp - the tile planner (see tiling.h).
#include "tiling.h"

#include <algorithm>

namespace m2u {
namespace {

struct Span {
  int origin, length, keep0, keep1;
};

int round_up_16(int value) { return (value + 15) / 16 * 16; }

// Tiles along one axis: origins 0, step, 2 step, ... while a tile ends
// before the frame does; the last origin is the smallest multiple of 16
// from which the rest of the frame fits in one tile (size - tile rounded
// up), so the last tile may be up to 15 pixels shorter than `tile`. Each
// step is at most `step`, so neighbours overlap by >= tile - step >=
// 2 overlap; the kept ranges split each overlap at its middle.
std::vector<Span> plan_axis(int size, int tile, int overlap) {
  if (size <= tile) return {Span{0, size, 0, size}};
  const int step = (tile - 2 * overlap) / 16 * 16;
  const int last = round_up_16(size - tile);
  std::vector<int> origins{0};
  while (origins.back() < last) origins.push_back(std::min(origins.back() + step, last));
  std::vector<Span> spans;
  for (const int origin : origins) spans.push_back({origin, std::min(tile, size - origin), 0, 0});
  for (size_t i = 0; i < spans.size(); ++i) {
    spans[i].keep0 = i == 0 ? 0 : spans[i - 1].keep1;
    spans[i].keep1 = i + 1 == spans.size() ? size
                                           : (spans[i].origin + spans[i].length + spans[i + 1].origin) / 2;
  }
  return spans;
}

}  // namespace

std::string check_tile_parameters(int tile, int overlap) {
  if (tile < 16 || tile % 16 != 0) return "tile " + std::to_string(tile) + " must be a positive multiple of 16";
  if (overlap < 0) return "overlap " + std::to_string(overlap) + " must not be negative";
  if ((tile - 2 * overlap) / 16 * 16 < 16) {
    return "overlap " + std::to_string(overlap) + " leaves less than 16 pixels of a " + std::to_string(tile) +
           "-pixel tile to keep (tile - 2 x overlap must be at least 16)";
  }
  return "";
}

std::vector<Tile> plan_tiles(int height, int width, int tile, int overlap, std::string* error) {
  *error = check_tile_parameters(tile, overlap);
  if (!error->empty()) return {};
  if (height < 1 || width < 1) {
    *error = "cannot tile an empty " + std::to_string(width) + "x" + std::to_string(height) + " frame";
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

}  // namespace m2u
