// tiling.h - where the tiles of a large frame go and which part of each is
// kept. Tiles are at most `tile` x `tile` (a multiple of 16) at origins that
// are multiples of 16, so the network's stride-2 grids line up with the
// whole frame's (a last tile shorter than `tile` is zero-padded by the
// engine exactly as the whole frame is); neighbouring tiles overlap by at
// least 2 x `overlap`; each tile keeps a range inside itself, at least
// `overlap` pixels from every tile edge that is not a frame edge, and every
// frame pixel is kept by exactly one tile. With `overlap` at least the
// network's receptive-field radius (M2U_RECEPTIVE_FIELD_RADIUS, m2urt.h) the stitched map
// equals the whole-frame map; with less, the tiles' seams differ from it.
#ifndef M2U_RUNTIME_IMAGING_TILING_H
#define M2U_RUNTIME_IMAGING_TILING_H

#include <string>
#include <vector>

namespace m2u {

struct Tile {
  int y, x;              // origin in the frame (multiples of 16)
  int height, width;     // the tile: at most `tile`, inside the frame
  int keep_y0, keep_y1;  // kept rows, frame coordinates [y0, y1), inside the tile
  int keep_x0, keep_x1;
};

// Checks the parameters alone: "" when tiles of `tile` with `overlap` work
// for any frame, else why not (tile not a positive multiple of 16, negative
// overlap, or an overlap leaving less than 16 pixels of the tile to keep).
std::string check_tile_parameters(int tile, int overlap);

// Tiles covering height x width (row-major order); empty with *error set
// when check_tile_parameters fails or the frame is empty.
std::vector<Tile> plan_tiles(int height, int width, int tile, int overlap, std::string* error);

}  // namespace m2u

#endif  // M2U_RUNTIME_IMAGING_TILING_H
