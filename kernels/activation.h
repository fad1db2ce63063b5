// activation.h - the activations kernels apply after a convolution's bias.
#ifndef M2U_KERNELS_ACTIVATION_H
#define M2U_KERNELS_ACTIVATION_H

namespace m2u {

enum class KernelActivation : int { kLinear = 0, kRelu = 1, kRelu6 = 2, kSigmoid = 3 };

}  // namespace m2u

#endif  // M2U_KERNELS_ACTIVATION_H
