// engine_test_support.h - helpers for engine tests: m2u_image descriptions
// of host buffers, NCHW <-> interleaved conversions, fixture paths, stand-in
// INT8 activation scales.
#ifndef M2U_TESTS_ENGINE_ENGINE_TEST_SUPPORT_H
#define M2U_TESTS_ENGINE_ENGINE_TEST_SUPPORT_H

#include <string>
#include <vector>

#include "execution_plan.h"
#include "host_tensor.h"
#include "m2urt.h"
#include "model.h"

namespace engine_test {

inline std::string fixture_path(const std::string& name) { return std::string(M2U_FIXTURE_DIR) + "/" + name; }

// The fixtures hold the network input (after the convention): feed it as
// F32 "intensity" through an identity affine convention.
inline void use_identity_convention(m2u::Model& model) {
  m2u::InputConvention identity;
  identity.normalization = m2u::NormalizationKind::kAffine;
  identity.pixel_scale = 1.0f;
  for (int c = 0; c < model.architecture.in_channels; ++c) identity.channel_std[c] = 1.0f;
  model.input = identity;
}

// Interleaved (N, H, W, C) floats of an NCHW tensor, cropped to h x w.
inline std::vector<float> interleave(const m2u::ref::HostTensor& t, int h, int w) {
  std::vector<float> out(static_cast<size_t>(t.n) * h * w * t.c);
  for (int n = 0; n < t.n; ++n)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < t.c; ++c) out[((static_cast<size_t>(n) * h + y) * w + x) * t.c + c] = t.at(n, c, y, x);
  return out;
}

inline m2u_image host_image(void* data, m2u_dtype dtype, int batch, int channels, int height, int width) {
  m2u_image image{};
  image.data = data;
  image.memory = M2U_MEMORY_HOST;
  image.dtype = dtype;
  image.batch = batch;
  image.channels = channels;
  image.height = height;
  image.width = width;
  return image;
}

inline m2u::ref::HostTensor as_tensor(const std::vector<float>& nchw, int n, int c, int h, int w) {
  m2u::ref::HostTensor t(n, c, h, w);
  t.data = nchw;
  return t;
}

// One activation scale (`scale`) for every buffer of the model's INT8 plan
// at height x width: what an INT8 engine needs to exist, when a test is
// about its plan or its work rather than its accuracy.
inline void add_stand_in_activation_scales(m2u::Model* model, int height, int width, float scale = 0.05f) {
  const m2u::ExecutionPlan plan = m2u::make_execution_plan(model->architecture, 1, height, width, 16, 1, false);
  for (const m2u::PlannedBuffer& buffer : plan.buffers) {
    model->quantisation.push_back(
        m2u::QuantEntry{m2u::activation_scale_name(buffer.name), m2u::QuantKind::kActivationPerTensor, {scale}});
  }
}

}  // namespace engine_test

#endif  // M2U_TESTS_ENGINE_ENGINE_TEST_SUPPORT_H
