// components.cpp - two-pass union-find labelling (see components.h). The
// first pass writes provisional labels into the caller's label image, the
// second resolves them to roots and numbers the surviving cells.
#include "components.h"

namespace m2u {
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

void ComponentLabeler::label(uint8_t* mask, size_t mask_pitch, int height, int width, long long min_area,
                             uint32_t* labels, size_t labels_pitch, std::vector<Cell>* cells) {
  parent_.assign(1, 0);
  for (int y = 0; y < height; ++y) {
    const uint8_t* m = mask + static_cast<size_t>(y) * mask_pitch;
    uint32_t* row = labels + static_cast<size_t>(y) * labels_pitch;
    const uint32_t* above = y > 0 ? row - labels_pitch : nullptr;
    for (int x = 0; x < width; ++x) {
      if (!m[x]) {
        row[x] = 0;
        continue;
      }
      // Already-visited 8-neighbours: W, NW, N, NE.
      const uint32_t neighbours[4] = {x > 0 ? row[x - 1] : 0u, above && x > 0 ? above[x - 1] : 0u,
                                      above ? above[x] : 0u, above && x + 1 < width ? above[x + 1] : 0u};
      uint32_t label = 0;
      for (const uint32_t neighbour : neighbours) {
        if (!neighbour) continue;
        if (!label) label = neighbour;
        else unite(parent_, label, neighbour);
      }
      if (!label) {
        label = static_cast<uint32_t>(parent_.size());
        parent_.push_back(label);
      }
      row[x] = label;
    }
  }
  area_.assign(parent_.size(), 0);
  sum_x_.assign(parent_.size(), 0.0);
  sum_y_.assign(parent_.size(), 0.0);
  for (int y = 0; y < height; ++y) {
    uint32_t* row = labels + static_cast<size_t>(y) * labels_pitch;
    for (int x = 0; x < width; ++x) {
      if (!row[x]) continue;
      const uint32_t root = find_root(parent_, row[x]);
      row[x] = root;
      area_[root]++;
      sum_x_[root] += x;
      sum_y_[root] += y;
    }
  }
  cells->clear();
  final_label_.assign(parent_.size(), 0);
  for (int y = 0; y < height; ++y) {
    uint8_t* m = mask + static_cast<size_t>(y) * mask_pitch;
    uint32_t* row = labels + static_cast<size_t>(y) * labels_pitch;
    for (int x = 0; x < width; ++x) {
      const uint32_t root = row[x];
      if (!root) continue;
      if (area_[root] < min_area) {
        m[x] = 0;
        row[x] = 0;
        continue;
      }
      if (!final_label_[root]) {
        final_label_[root] = static_cast<uint32_t>(cells->size()) + 1;
        cells->push_back(Cell{final_label_[root], area_[root], sum_x_[root] / static_cast<double>(area_[root]),
                              sum_y_[root] / static_cast<double>(area_[root])});
      }
      row[x] = final_label_[root];
    }
  }
}

}  // namespace m2u
