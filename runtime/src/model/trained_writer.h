// trained_writer.h - a fine-tuned model's .m2u file (weights/FORMAT.md) from
// the file it was trained from: every byte of meaning is kept (header
// fields, input convention, the untouched tensors in their own dtype) and
// the trained tensors are written as F32, batch norm raw as before; the
// provenance gains the caller's lines; the file is laid out afresh
// (provenance, tensor table, an empty quantisation table, data, CRC-32) and
// parsed again before it is returned.
//
// The quantisation table is dropped: INT8 activation scales measured on
// the old weights do not hold for the new ones, and an INT8 engine of the
// trained file refuses it until it is calibrated again (m2u_calibrate).
// Refused, with a message: files with I8 tensors, a replacement whose name
// is not a tensor of the file or whose size is not the tensor's, a
// non-finite value, provenance beyond the format's 65536 bytes.
#ifndef M2U_RUNTIME_MODEL_TRAINED_WRITER_H
#define M2U_RUNTIME_MODEL_TRAINED_WRITER_H

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace m2u {

bool write_trained_model(const std::vector<uint8_t>& file, const std::map<std::string, std::vector<float>>& trained,
                         const std::string& provenance_lines, std::vector<uint8_t>* out, std::string* error);

}  // namespace m2u

#endif  // M2U_RUNTIME_MODEL_TRAINED_WRITER_H
