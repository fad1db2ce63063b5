// output_files.cpp - see output_files.h.
#include "output_files.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace m2u_infer {

OutputBatch::~OutputBatch() {
  for (const auto& file : staged_) std::remove(file.first.c_str());
}

bool OutputBatch::stage(const std::string& name, const std::vector<uint8_t>& bytes, std::string* error) {
  const std::string final_path = directory_ + "/" + name;
  const std::string temporary = directory_ + "/." + name + ".tmp." + std::to_string(getpid());
  FILE* file = std::fopen(temporary.c_str(), "wb");
  if (!file) {
    *error = temporary + ": " + std::strerror(errno);
    return false;
  }
  staged_.emplace_back(temporary, final_path);
  const bool written = bytes.empty() || std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  const bool flushed = std::fflush(file) == 0 && fsync(fileno(file)) == 0;
  const bool closed = std::fclose(file) == 0;
  if (!written || !flushed || !closed) {
    *error = final_path + ": write failed: " + std::strerror(errno);
    return false;
  }
  return true;
}

bool OutputBatch::commit(std::vector<std::string>* written, std::string* error) {
  if (!staged_.empty() && std::remove(staged_.back().second.c_str()) != 0 && errno != ENOENT) {
    *error = staged_.back().second + ": cannot replace: " + std::strerror(errno);
    return false;
  }
  for (const auto& file : staged_) {
    if (std::rename(file.first.c_str(), file.second.c_str()) != 0) {
      *error = file.second + ": " + std::strerror(errno);
      return false;
    }
    written->push_back(file.second);
  }
  staged_.clear();
  return true;
}

bool make_directories(const std::string& directory, std::string* error) {
  std::string path;
  for (size_t i = 0; i <= directory.size(); ++i) {
    if (i == directory.size() || (directory[i] == '/' && i > 0)) {
      path = directory.substr(0, i);
      struct stat info;
      if (stat(path.c_str(), &info) == 0) {
        if (!S_ISDIR(info.st_mode)) {
          *error = path + ": exists and is not a directory";
          return false;
        }
      } else if (mkdir(path.c_str(), 0777) != 0 && errno != EEXIST) {
        *error = path + ": " + std::strerror(errno);
        return false;
      }
    }
  }
  return true;
}

int remove_stale_temporaries(const std::string& directory) {
  DIR* dir = opendir(directory.c_str());
  if (!dir) return 0;
  std::vector<std::string> stale;
  while (const dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    const size_t tmp = name.rfind(".tmp.");
    if (name.size() < 2 || name[0] != '.' || tmp == std::string::npos || tmp + 5 >= name.size()) continue;
    char* end = nullptr;
    const long pid = std::strtol(name.c_str() + tmp + 5, &end, 10);
    if (*end || pid <= 0) continue;
    if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) stale.push_back(directory + "/" + name);
  }
  closedir(dir);
  int removed = 0;
  for (const std::string& path : stale) removed += std::remove(path.c_str()) == 0;
  return removed;
}

}  // namespace m2u_infer
