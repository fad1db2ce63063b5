// output_files.h - m2u_infer's outputs for one input, written all or
// nothing: each file goes to a temporary name in the output directory and
// is renamed into place only after every file of the input was written.
#ifndef M2U_EXAMPLES_INFER_OUTPUT_FILES_H
#define M2U_EXAMPLES_INFER_OUTPUT_FILES_H

#include <cstdint>
#include <string>
#include <vector>

namespace m2u_infer {

class OutputBatch {
 public:
  explicit OutputBatch(std::string directory) : directory_(std::move(directory)) {}
  ~OutputBatch();  // removes temporaries not committed
  OutputBatch(const OutputBatch&) = delete;
  OutputBatch& operator=(const OutputBatch&) = delete;

  // Writes `bytes` to a temporary file for `name`; false + *error on failure.
  bool stage(const std::string& name, const std::vector<uint8_t>& bytes, std::string* error);
  // Renames every staged file to its name; the paths written go to *written.
  bool commit(std::vector<std::string>* written, std::string* error);

 private:
  std::string directory_;
  std::vector<std::pair<std::string, std::string>> staged_;  // temporary, final
};

// Creates `directory` (and its parents) unless it exists.
bool make_directories(const std::string& directory, std::string* error);

}  // namespace m2u_infer

#endif  // M2U_EXAMPLES_INFER_OUTPUT_FILES_H
