// device_buffer.h - a device allocation for tests, with guard regions.
//
// DeviceBuffer<T> allocates `count` elements plus `guard` elements on each
// side in one cudaMalloc, fills the guards with a byte pattern and the payload
// with poison (0xFF bytes: NaN as floats), so a kernel that skips an output
// or writes outside its range is caught by guards_intact(). Test-only: it
// throws std::runtime_error on a failed CUDA call.
#ifndef M2U_TESTS_COMMON_DEVICE_BUFFER_H
#define M2U_TESTS_COMMON_DEVICE_BUFFER_H

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace m2u_test {

inline void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorName(status) + " (" +
                             cudaGetErrorString(status) + ")");
  }
}

constexpr unsigned char kGuardByte = 0xA5;
constexpr unsigned char kPoisonByte = 0xFF;

template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t count, size_t guard = 64) : count_(count), guard_(guard) {
    void* raw = nullptr;
    check_cuda(cudaMalloc(&raw, total_bytes()), "cudaMalloc");
    base_ = static_cast<unsigned char*>(raw);
    check_cuda(cudaMemset(base_, kGuardByte, total_bytes()), "cudaMemset guards");
    poison();
  }
  ~DeviceBuffer() { cudaFree(base_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* data() { return reinterpret_cast<T*>(base_ + guard_bytes()); }
  const T* data() const { return reinterpret_cast<const T*>(base_ + guard_bytes()); }
  size_t size() const { return count_; }

  void poison(unsigned char byte = kPoisonByte) {
    check_cuda(cudaMemset(data(), byte, count_ * sizeof(T)), "cudaMemset poison");
  }
  void upload(const std::vector<T>& values) {
    if (values.size() != count_) throw std::runtime_error("upload: size mismatch");
    check_cuda(cudaMemcpy(data(), values.data(), count_ * sizeof(T), cudaMemcpyHostToDevice),
               "upload");
  }
  std::vector<T> download() const {
    std::vector<T> values(count_);
    check_cuda(cudaMemcpy(values.data(), data(), count_ * sizeof(T), cudaMemcpyDeviceToHost),
               "download");
    return values;
  }
  // True when both guard regions still hold the pattern; otherwise names the
  // first damaged byte in `where`.
  bool guards_intact(std::string* where = nullptr) const {
    std::vector<unsigned char> bytes(total_bytes());
    check_cuda(cudaMemcpy(bytes.data(), base_, bytes.size(), cudaMemcpyDeviceToHost), "guards");
    for (size_t i = 0; i < bytes.size(); ++i) {
      const bool in_guard = i < guard_bytes() || i >= guard_bytes() + count_ * sizeof(T);
      if (in_guard && bytes[i] != kGuardByte) {
        if (where) {
          const long offset = static_cast<long>(i) - static_cast<long>(guard_bytes());
          *where = "guard byte at offset " + std::to_string(offset) +
                   " from the payload start (payload is " + std::to_string(count_ * sizeof(T)) +
                   " bytes) was overwritten";
        }
        return false;
      }
    }
    return true;
  }

 private:
  size_t guard_bytes() const { return guard_ * sizeof(T); }
  size_t total_bytes() const { return count_ * sizeof(T) + 2 * guard_bytes(); }
  size_t count_;
  size_t guard_;
  unsigned char* base_ = nullptr;
};

}  // namespace m2u_test

#endif  // M2U_TESTS_COMMON_DEVICE_BUFFER_H
