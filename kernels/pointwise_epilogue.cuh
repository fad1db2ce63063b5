// pointwise_epilogue.cuh - the end of the float and half2 1x1 kernels
// (pointwise_conv.cu, pointwise_conv_fp16.cu): a thread's 4 pixels x 4
// output channels of FP32 sums get the bias, the activation and the
// residual in FP32 and are stored (channels of the output's padding as 0).
#ifndef M2U_KERNELS_POINTWISE_EPILOGUE_CUH
#define M2U_KERNELS_POINTWISE_EPILOGUE_CUH

#include "device_math.cuh"

namespace m2u {

// first_pixel: the first of the thread's 4 consecutive pixels; first_out:
// the first of its 4 output channels (inside the output's padded range).
template <typename T>
__device__ __forceinline__ void store_pointwise_quads(const float (&sums)[4][4], const TensorView<T>& output,
                                                      const float* bias, KernelActivation activation,
                                                      const TensorView<const T>& residual, int first_pixel,
                                                      int first_out, int pixels) {
  const int out_channels = output.channels;
  float biases[4];
  M2U_UNROLL
  for (int j = 0; j < 4; ++j) biases[j] = first_out + j < out_channels ? __ldg(bias + first_out + j) : 0.0f;
  M2U_UNROLL
  for (int i = 0; i < 4; ++i) {
    const int p = first_pixel + i;
    if (p >= pixels) break;
    float residuals[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (residual.data != nullptr) {
      load_quad(residual.data + static_cast<size_t>(p) * residual.pixel_stride + first_out, residuals);
    }
    float results[4];
    M2U_UNROLL
    for (int j = 0; j < 4; ++j) {
      results[j] = first_out + j < out_channels ? activate(sums[i][j] + biases[j], activation) + residuals[j] : 0.0f;
    }
    store_quad(output.data + static_cast<size_t>(p) * output.pixel_stride + first_out, results);
  }
}

}  // namespace m2u

#endif  // M2U_KERNELS_POINTWISE_EPILOGUE_CUH
