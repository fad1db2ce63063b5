// quant_writer.h - writes INT8 calibration's activation scales into a .m2u
// file image (weights/FORMAT.md, "Quantisation table"): every byte of the
// original up to the end of its data section is kept (weights, input
// convention, provenance), one 64-byte-aligned F32 scale per activation is
// appended to the data section, a new quantisation table of
// ACTIVATION_PER_TENSOR entries follows it, then the CRC-32.
//
// A file that already has activation entries (calibrated before) gets the
// new table instead (the old one, after the data section, is dropped; old
// scale bytes inside the data section stay unused). Refused, with a
// message: files whose I8 tensors reference quantisation entries, and
// layouts with a section after the data section other than the
// quantisation table (m2u_convert.py never writes one).
#ifndef M2U_RUNTIME_MODEL_QUANT_WRITER_H
#define M2U_RUNTIME_MODEL_QUANT_WRITER_H

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace m2u {

// name (printable ASCII, 1..63 characters), scale (finite, > 0).
using ActivationScale = std::pair<std::string, float>;

bool write_activation_scales(const std::vector<uint8_t>& file, const std::vector<ActivationScale>& scales,
                             std::vector<uint8_t>* out, std::string* error);

}  // namespace m2u

#endif  // M2U_RUNTIME_MODEL_QUANT_WRITER_H
