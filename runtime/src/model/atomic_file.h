// atomic_file.h - writes a file so that readers see the old one or the new
// one, never half of it: the bytes go to "<path>.tmp.<pid>", which is
// renamed over `path` once closed (POSIX rename is atomic on one file
// system); on failure the temporary is removed and `path` is untouched.
#ifndef M2U_RUNTIME_MODEL_ATOMIC_FILE_H
#define M2U_RUNTIME_MODEL_ATOMIC_FILE_H

#include <cstdint>
#include <string>
#include <vector>

namespace m2u {

// False with *error naming the file and the reason.
bool write_file_atomically(const std::string& path, const std::vector<uint8_t>& bytes, std::string* error);

}  // namespace m2u

#endif  // M2U_RUNTIME_MODEL_ATOMIC_FILE_H
