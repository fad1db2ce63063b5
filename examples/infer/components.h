// components.h - connected components of a binary mask (8-connectivity,
// union-find on the CPU): a label image, and per cell its area and centroid;
// optional removal of cells smaller than a minimum area.
#ifndef M2U_EXAMPLES_INFER_COMPONENTS_H
#define M2U_EXAMPLES_INFER_COMPONENTS_H

#include <cstdint>
#include <vector>

namespace m2u_infer {

struct Cell {
  int label;        // 1.. in raster order of the first pixel
  long area;        // pixels
  double centroid_x;
  double centroid_y;
};

struct Components {
  std::vector<uint32_t> labels;  // height x width, 0 = background
  std::vector<Cell> cells;
};

// mask: height x width, nonzero = foreground. Cells with fewer than
// `min_area` pixels are removed (set to background in `mask` too) before
// labels are numbered.
Components label_components(std::vector<uint8_t>& mask, int height, int width, long min_area);

}  // namespace m2u_infer

#endif  // M2U_EXAMPLES_INFER_COMPONENTS_H
