// tiling.h - where the tiles of a large frame go and which part of each is
// kept. Tiles are `tile` x `tile` (a multiple of 16) at origins that are
// multiples of 16, so the network's stride-2 grids line up with the whole
// frame's; neighbouring tiles overlap by at least 2 x `overlap`; each tile
// keeps its interior, leaving `overlap` pixels on every side that borders
// another tile, so that every output pixel comes from exactly one tile.
// With `overlap` at least the network's receptive-field radius the stitched
// map equals the whole-frame map.
#ifndef M2U_EXAMPLES_INFER_TILING_H
#define M2U_EXAMPLES_INFER_TILING_H

#include <string>
#include <vector>

namespace m2u_infer {

struct Tile {
  int y, x;                    // origin in the frame
  int height, width;           // the tile (clipped to the frame)
  int keep_y0, keep_y1;        // kept rows, frame coordinates [y0, y1)
  int keep_x0, keep_x1;
};

// Tiles covering height x width; empty with *error set when the parameters
// cannot work (tile not a multiple of 16, overlap too large for the tile).
std::vector<Tile> plan_tiles(int height, int width, int tile, int overlap, std::string* error);

}  // namespace m2u_infer

#endif  // M2U_EXAMPLES_INFER_TILING_H
