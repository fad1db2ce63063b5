// output_files.h - m2u_infer's outputs for one input, written as a group:
// each file goes to a temporary name (.NAME.tmp.PID) in the output
// directory; once every file of the input is written, the input's previous
// marker file (its JSON summary, staged last) is removed, the others are
// renamed into place, and the marker last. So an input's outputs are
// complete and of one run exactly when its JSON exists. Temporaries left by
// a killed run are removed by the next one.
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
  // Removes the old marker (the file staged last), renames every staged
  // file to its name, the marker last; the paths written go to *written.
  bool commit(std::vector<std::string>* written, std::string* error);

 private:
  std::string directory_;
  std::vector<std::pair<std::string, std::string>> staged_;  // temporary, final
};

// Creates `directory` (and its parents) unless it exists.
bool make_directories(const std::string& directory, std::string* error);

// Removes the temporaries (.NAME.tmp.PID) in `directory` whose process no
// longer runs; returns how many.
int remove_stale_temporaries(const std::string& directory);

}  // namespace m2u_infer

#endif  // M2U_EXAMPLES_INFER_OUTPUT_FILES_H
