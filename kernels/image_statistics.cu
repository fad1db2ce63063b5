// image_statistics.cu - per-image mean and inverse standard deviation of the
// scaled intensities v = value / max_value * pixel_scale over every pixel
// and channel (population std), for per-image standardisation (io_kernels.h).
//
// Deterministic two-pass reduction in double, on raw values (the scale is
// applied at the end): kernel_image_sums gives each of a fixed number of
// blocks per image (statistics_parts) the rows part, part + parts, ... and
// reduces them in a fixed order to partials[0 .. N * parts); then
// kernel_image_centred_squares, every block forming the same mean from those
// partials, does the same for (value - mean)^2 into partials[N * parts ..);
// kernel_image_statistics_finish adds each image's partials in order. Fixed
// shared-memory trees, no atomics: the same bits in any schedule, on any GPU.
//
// A non-finite F32 value (NaN, +-infinity) counts as 0, as input_convert
// reads it (and counts it): one bad pixel does not make the statistics NaN.
//
// Per pixel of C channels: about 5 C FLOPs (in double). Minimal DRAM traffic:
// the image read twice, 2 C * sizeof(value) bytes a pixel.
#include "io_kernels.h"

#include "device_math.cuh"
#include "launch.h"
#include "launcher_support.h"

namespace m2u {
namespace {

constexpr int kStatisticsThreads = 256;
constexpr int kMaxStatisticsParts = 64;

int statistics_parts(const PixelImage& image) {
  return image.height < kMaxStatisticsParts ? image.height : kMaxStatisticsParts;
}

// The sum of every thread's `value`, added in a fixed order, returned to every thread.
__device__ double block_sum(double value) {
  __shared__ double values[kStatisticsThreads];
  const int thread = static_cast<int>(threadIdx.x);
  values[thread] = value;
  __syncthreads();
  for (int width = kStatisticsThreads / 2; width > 0; width /= 2) {
    if (thread < width) values[thread] += values[thread + width];
    __syncthreads();
  }
  return values[0];
}

// Value `index` of a row, a non-finite F32 value as 0 (the exponent bits all
// set: NaN or +-infinity; input_convert.cu's is_nonfinite).
__device__ __forceinline__ double finite_pixel_value(const unsigned char* row, PixelType type,
                                                     int index) {
  const float value = raw_pixel_value(row, type, index);
  const bool nonfinite = (__float_as_uint(value) & 0x7F800000u) == 0x7F800000u;
  return type == PixelType::kF32 && nonfinite ? 0.0 : value;
}

// The first row of image n.
__device__ __forceinline__ const unsigned char* image_rows(const PixelImage& image, int n) {
  return static_cast<const unsigned char*>(image.data) +
         static_cast<size_t>(n) * image.image_stride_bytes;
}

__global__ void kernel_image_sums(PixelImage image, double* partials) {
  const int part = static_cast<int>(blockIdx.x);
  const int parts = static_cast<int>(gridDim.x);
  const int n = static_cast<int>(blockIdx.y);
  const int row_values = image.width * image.channels;
  const unsigned char* rows = image_rows(image, n);
  double sum = 0.0;
  for (int y = part; y < image.height; y += parts) {
    const unsigned char* row = rows + static_cast<size_t>(y) * image.row_stride_bytes;
    for (int i = static_cast<int>(threadIdx.x); i < row_values; i += kStatisticsThreads) {
      sum += finite_pixel_value(row, image.type, i);
    }
  }
  const double total = block_sum(sum);
  if (threadIdx.x == 0) partials[n * parts + part] = total;
}

__global__ void kernel_image_centred_squares(PixelImage image, double* partials) {
  const int part = static_cast<int>(blockIdx.x);
  const int parts = static_cast<int>(gridDim.x);
  const int n = static_cast<int>(blockIdx.y);
  const int row_values = image.width * image.channels;
  double image_sum = 0.0;
  for (int i = 0; i < parts; ++i) image_sum += partials[n * parts + i];
  const double mean = image_sum / (static_cast<double>(row_values) * image.height);
  const unsigned char* rows = image_rows(image, n);
  double squares = 0.0;
  for (int y = part; y < image.height; y += parts) {
    const unsigned char* row = rows + static_cast<size_t>(y) * image.row_stride_bytes;
    for (int i = static_cast<int>(threadIdx.x); i < row_values; i += kStatisticsThreads) {
      const double centred = finite_pixel_value(row, image.type, i) - mean;
      squares += centred * centred;
    }
  }
  const double total = block_sum(squares);
  if (threadIdx.x == 0) partials[(gridDim.y + n) * parts + part] = total;
}

// One thread per image.
__global__ void kernel_image_statistics_finish(const double* partials, int batch, int parts,
                                               double values_per_image, double scale,
                                               float std_floor, float* stats) {
  const int n = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (n >= batch) return;
  double sum = 0.0;
  double squares = 0.0;
  for (int i = 0; i < parts; ++i) {
    sum += partials[n * parts + i];
    squares += partials[(batch + n) * parts + i];
  }
  const double mean = sum / values_per_image * scale;
  const double std_dev = sqrt(squares / values_per_image) * scale;
  const double divisor = std_dev > std_floor ? std_dev : static_cast<double>(std_floor);
  stats[2 * n] = static_cast<float>(mean);
  stats[2 * n + 1] = static_cast<float>(1.0 / divisor);
}

}  // namespace

size_t image_statistics_scratch(const PixelImage& image) {
  if (image.batch < 1 || image.height < 1) return 0;
  return 2 * static_cast<size_t>(image.batch) * statistics_parts(image);
}

cudaError_t image_statistics(const PixelImage& image, const KernelInputConvention& normalization,
                             double* partials, float* stats, cudaStream_t stream) {
  if (!valid_pixel_image(image) || partials == nullptr || stats == nullptr ||
      !(normalization.std_floor >= 0.0f) || !(normalization.pixel_scale > 0.0f)) {
    return cudaErrorInvalidValue;
  }
  const int parts = statistics_parts(image);
  const dim3 grid(static_cast<unsigned>(parts), static_cast<unsigned>(image.batch));
  cudaError_t status = launch("image_sums", kernel_image_sums, grid, dim3(kStatisticsThreads), 0,
                              stream, image, partials);
  if (status != cudaSuccess) return status;
  status = launch("image_centred_squares", kernel_image_centred_squares, grid,
                  dim3(kStatisticsThreads), 0, stream, image, partials);
  if (status != cudaSuccess) return status;
  const double values_per_image = static_cast<double>(image.height) * image.width * image.channels;
  const double scale = static_cast<double>(normalization.pixel_scale) / image.max_value;
  const int finish_block = 32;
  return launch("image_statistics_finish", kernel_image_statistics_finish,
                dim3(static_cast<unsigned>((image.batch + finish_block - 1) / finish_block)),
                dim3(finish_block), 0, stream, partials, image.batch, parts, values_per_image,
                scale, normalization.std_floor, stats);
}

}  // namespace m2u
