// overlay.h - cell outlines drawn over the input image, for people to look
// at: the grey input as RGB, every foreground pixel that touches the
// background (4-neighbourhood) or the image edge painted in a bright colour.
#ifndef M2U_EXAMPLES_INFER_OVERLAY_H
#define M2U_EXAMPLES_INFER_OVERLAY_H

#include <cstdint>
#include <vector>

namespace m2u_infer {

// grey: height x width intensities in [0, 1]; mask: nonzero = cell.
// Returns height x width x 3 bytes (RGB).
std::vector<uint8_t> draw_outlines(const std::vector<float>& grey, const std::vector<uint8_t>& mask, int height,
                                   int width);

}  // namespace m2u_infer

#endif  // M2U_EXAMPLES_INFER_OVERLAY_H
