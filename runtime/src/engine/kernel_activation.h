// kernel_activation.h - a conv's activation (architecture.h) as the kernels
// name it (kernels/activation.h).
#ifndef M2U_RUNTIME_ENGINE_KERNEL_ACTIVATION_H
#define M2U_RUNTIME_ENGINE_KERNEL_ACTIVATION_H

#include "activation.h"
#include "architecture.h"

namespace m2u {

inline KernelActivation kernel_activation(Activation activation) {
  switch (activation) {
    case Activation::kRelu6: return KernelActivation::kRelu6;
    case Activation::kRelu: return KernelActivation::kRelu;
    case Activation::kSigmoid: return KernelActivation::kSigmoid;
    case Activation::kLinear: return KernelActivation::kLinear;
  }
  return KernelActivation::kLinear;
}

}  // namespace m2u

#endif  // M2U_RUNTIME_ENGINE_KERNEL_ACTIVATION_H
