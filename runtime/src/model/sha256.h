// sha256.h - SHA-256 (FIPS 180-4) of a byte range, as lowercase hex: the
// "source model" hash a fine-tuned model's provenance records.
#ifndef M2U_RUNTIME_MODEL_SHA256_H
#define M2U_RUNTIME_MODEL_SHA256_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace m2u {

std::string sha256_hex(const uint8_t* data, size_t size);

}  // namespace m2u

#endif  // M2U_RUNTIME_MODEL_SHA256_H
