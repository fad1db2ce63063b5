// components.h - connected components of a binary mask on the CPU
// (8-connectivity, two-pass union-find): a label image and, per cell, its
// area and centroid; cells smaller than a minimum area are removed from the
// mask too. The labeller keeps its scratch between calls, so labelling
// frames of a size seen before allocates nothing.
#ifndef M2U_RUNTIME_IMAGING_COMPONENTS_H
#define M2U_RUNTIME_IMAGING_COMPONENTS_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace m2u {

struct Cell {
  uint32_t label;     // 1.. in raster order of each cell's first pixel
  long long area;     // pixels
  double centroid_x;  // mean column, mean row
  double centroid_y;
};

class ComponentLabeler {
 public:
  // mask: height x width bytes, rows mask_pitch apart, nonzero = foreground;
  // cells of fewer than min_area pixels are set to 0 in the mask. labels:
  // height x width, rows labels_pitch apart, 0 = background, else the cell's
  // label. The cells found replace *cells.
  void label(uint8_t* mask, size_t mask_pitch, int height, int width, long long min_area, uint32_t* labels,
             size_t labels_pitch, std::vector<Cell>* cells);

 private:
  std::vector<uint32_t> parent_;
  std::vector<long long> area_;
  std::vector<double> sum_x_, sum_y_;
  std::vector<uint32_t> final_label_;
};

}  // namespace m2u

#endif  // M2U_RUNTIME_IMAGING_COMPONENTS_H
