// pipeline.h - the imaging pipeline behind m2u_pipeline (m2urt.h): raw
// frames unpacked on the GPU, flat-field division and DPC, the engine on
// the whole frame or on tiles stitched into one probability map, the
// threshold (fixed, or Otsu's from the GPU's 8-bit histogram), and the
// connected components on the CPU. Every buffer is allocated by create().
#ifndef M2U_RUNTIME_IMAGING_PIPELINE_H
#define M2U_RUNTIME_IMAGING_PIPELINE_H

#include <cuda_runtime_api.h>

#include <memory>
#include <string>
#include <vector>

#include "components.h"
#include "engine.h"
#include "m2urt.h"
#include "model.h"
#include "tiling.h"

namespace m2u {

// A device allocation of `count` T (freed on destruction).
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  cudaError_t allocate(size_t count) { return cudaMalloc(reinterpret_cast<void**>(&data_), count * sizeof(T)); }
  T* get() const { return data_; }

 private:
  T* data_ = nullptr;
};

class Pipeline {
 public:
  // options: complete (every field set, as m2u_pipeline_options_init and the
  // caller left them). nullptr with *status and *error on failure.
  static std::unique_ptr<Pipeline> create(const Model& model, const m2u_pipeline_options& options,
                                          m2u_status* status, std::string* error);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  m2u_status set_flat_fields(const m2u_raw_frame* left_or_only, const m2u_raw_frame* right);
  // frames: 1 (plain) or 2 (DPC left, right).
  m2u_status run(const m2u_raw_frame* const* frames, int count);
  m2u_status get_result(m2u_pipeline_result* result) const;
  m2u_status get_cell(long long index, m2u_cell* cell) const;
  m2u_status read_plane(int plane, void* data, size_t row_stride);
  const std::string& last_error() const { return last_error_; }
  const Engine& engine() const { return *engine_; }

 private:
  Pipeline() = default;
  m2u_status fail(m2u_status status, const std::string& message);
  m2u_status cuda_failure(const std::string& what, cudaError_t error);
  m2u_status check_frame(const m2u_raw_frame& frame, const char* what) const;
  m2u_status unpack(const m2u_raw_frame& frame, const char* what, float* plane);
  m2u_status run_network();
  m2u_status frame_statistics(float mean_std[2]);
  m2u_status threshold_and_label();

  m2u_pipeline_options options_{};
  int in_channels_ = 1;
  bool standardize_ = false;
  float pixel_scale_ = 1.0f;
  std::unique_ptr<Engine> engine_;
  cudaStream_t stream_ = nullptr;
  DeviceBuffer<uint8_t> raw_staging_;
  size_t raw_staging_bytes_ = 0;
  DeviceBuffer<float> intensity_, probability_, right_, flat_left_, flat_right_, tile_probability_;
  DeviceBuffer<uint8_t> mask_;
  DeviceBuffer<unsigned> bins_;
  DeviceBuffer<double> statistics_scratch_;
  DeviceBuffer<float> statistics_;
  int flat_count_ = 0, flat_height_ = 0, flat_width_ = 0;
  long long flat_floored_pixels_ = 0;
  std::vector<uint8_t> host_mask_;
  std::vector<uint32_t> host_labels_;
  std::vector<unsigned> host_bins_;
  ComponentLabeler labeler_;
  std::vector<Cell> cells_;
  std::vector<Tile> tiles_;
  int height_ = 0, width_ = 0;  // of the frame being run (or last run)
  bool have_result_ = false;
  m2u_pipeline_result result_{};
  mutable std::string last_error_;  // also set by the const queries
};

}  // namespace m2u

#endif  // M2U_RUNTIME_IMAGING_PIPELINE_H
