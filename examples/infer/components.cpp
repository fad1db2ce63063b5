// components.cpp - two-pass union-find labelling (see components.h).
#include "components.h"

#include <cstddef>

namespace m2u_infer {
namespace {

uint32_t find_root(std::vector<uint32_t>& parent, uint32_t x) {
  while (parent[x] != x) {
    parent[x] = parent[parent[x]];
    x = parent[x];
  }
  return x;
}

void unite(std::vector<uint32_t>& parent, uint32_t a, uint32_t b) {
  a = find_root(parent, a);
  b = find_root(parent, b);
  if (a < b) parent[b] = a;
  else if (b < a) parent[a] = b;
}

}  // namespace

Components label_components(std::vector<uint8_t>& mask, int height, int width, long min_area) {
  const size_t pixels = static_cast<size_t>(height) * width;
  std::vector<uint32_t> provisional(pixels, 0);
  std::vector<uint32_t> parent(1, 0);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const size_t i = static_cast<size_t>(y) * width + x;
      if (!mask[i]) continue;
      uint32_t label = 0;
      // Already-visited 8-neighbours: W, NW, N, NE.
      const int dx[] = {-1, -1, 0, 1};
      const int dy[] = {0, -1, -1, -1};
      for (int k = 0; k < 4; ++k) {
        const int nx = x + dx[k], ny = y + dy[k];
        if (nx < 0 || ny < 0 || nx >= width) continue;
        const uint32_t neighbour = provisional[static_cast<size_t>(ny) * width + nx];
        if (!neighbour) continue;
        if (!label) label = neighbour;
        else unite(parent, label, neighbour);
      }
      if (!label) {
        label = static_cast<uint32_t>(parent.size());
        parent.push_back(label);
      }
      provisional[i] = label;
    }
  }
  // Areas and sums per root, then final labels in raster order.
  std::vector<long> area(parent.size(), 0);
  std::vector<double> sum_x(parent.size(), 0.0), sum_y(parent.size(), 0.0);
  for (size_t i = 0; i < pixels; ++i) {
    if (!provisional[i]) continue;
    const uint32_t root = find_root(parent, provisional[i]);
    provisional[i] = root;
    area[root]++;
    sum_x[root] += static_cast<double>(i % width);
    sum_y[root] += static_cast<double>(i / width);
  }
  Components result;
  result.labels.assign(pixels, 0);
  std::vector<uint32_t> final_label(parent.size(), 0);
  for (size_t i = 0; i < pixels; ++i) {
    const uint32_t root = provisional[i];
    if (!root) continue;
    if (area[root] < min_area) {
      mask[i] = 0;
      continue;
    }
    if (!final_label[root]) {
      final_label[root] = static_cast<uint32_t>(result.cells.size()) + 1;
      result.cells.push_back(Cell{static_cast<int>(final_label[root]), area[root], sum_x[root] / area[root],
                                  sum_y[root] / area[root]});
    }
    result.labels[i] = final_label[root];
  }
  return result;
}

}  // namespace m2u_infer
