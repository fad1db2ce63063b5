// c_api_calibrator.cpp - INT8 calibration's C API (m2urt.h, "INT8
// calibration") over m2u::Calibrator: growable options read up to the
// caller's struct_size, messages kept on the handle.
#include <cstring>
#include <memory>

#include "c_api_support.h"
#include "calibrator.h"

struct m2u_calibrator {
  std::unique_ptr<m2u::Calibrator> calibrator;
  m2u::CalibrationMethod method;
  bool saved;
  std::string message;  // for failures before the calibrator is reached
};

namespace {

using m2u_capi::guarded;
using m2u_capi::set_last_error;

m2u_calibrator_options default_options() {
  m2u_calibrator_options o;
  std::memset(&o, 0, sizeof(o));
  o.struct_size = sizeof(o);
  o.max_height = 1024;
  o.max_width = 1024;
  o.method = M2U_CALIBRATION_PERCENTILE;
  o.device = 0;
  return o;
}

}  // namespace

extern "C" {

void m2u_calibrator_options_init_sized(m2u_calibrator_options* options, size_t size) {
  if (!options || size < sizeof(size_t)) return;
  m2u_capi::write_sized(default_options(), size, options);
}

m2u_status m2u_calibrator_create(const m2u_model* model, const m2u_calibrator_options* options,
                                 m2u_calibrator** calibrator) {
  if (!calibrator) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_calibrator_create: calibrator is NULL");
  *calibrator = nullptr;
  if (!model || !options) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_calibrator_create: model or options is NULL");
  }
  m2u_calibrator_options full;
  if (!m2u_capi::read_sized(*options, default_options(), offsetof(m2u_calibrator_options, max_width) + sizeof(int),
                            &full)) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_calibrator_create: options.struct_size is " +
                                                          std::to_string(options->struct_size) +
                                                          ": call m2u_calibrator_options_init first");
  }
  const int method = m2u_capi::enum_value(full.method);
  if (method < M2U_CALIBRATION_ENTROPY || method > M2U_CALIBRATION_MINMAX) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_calibrator_create: method " + std::to_string(method) +
                                                          " is unknown (0 entropy, 1 percentile, 2 minmax)");
  }
  return guarded([&] {
    m2u::CalibratorOptions o;
    o.max_height = full.max_height;
    o.max_width = full.max_width;
    o.device = full.device;
    m2u_status status = M2U_OK;
    std::string error;
    std::unique_ptr<m2u::Calibrator> created = m2u::Calibrator::create(model->model, o, &status, &error);
    if (!created) return set_last_error(status, "m2u_calibrator_create: " + error);
    const m2u::CalibrationMethod methods[] = {m2u::CalibrationMethod::kEntropy, m2u::CalibrationMethod::kPercentile,
                                              m2u::CalibrationMethod::kMinMax};
    *calibrator = new m2u_calibrator{std::move(created), methods[method], false, std::string()};
    m2u_capi::thread_last_error().clear();
    return M2U_OK;
  });
}

void m2u_calibrator_destroy(m2u_calibrator* calibrator) { delete calibrator; }

const char* m2u_calibrator_last_error(const m2u_calibrator* calibrator) {
  if (!calibrator) return "m2u_calibrator_last_error: calibrator is NULL";
  return calibrator->message.empty() ? calibrator->calibrator->last_error().c_str() : calibrator->message.c_str();
}

m2u_status m2u_calibrator_add_frames(m2u_calibrator* calibrator, const m2u_image* frames) {
  if (!calibrator) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_calibrator_add_frames: calibrator is NULL");
  calibrator->message.clear();
  if (!frames) {
    calibrator->message = "m2u_calibrator_add_frames: frames is NULL";
    return M2U_ERROR_INVALID_ARGUMENT;
  }
  return guarded([&] { return calibrator->calibrator->add_frames(*frames); });
}

m2u_status m2u_calibrator_save(m2u_calibrator* calibrator, const char* path) {
  if (!calibrator) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_calibrator_save: calibrator is NULL");
  calibrator->message.clear();
  calibrator->saved = false;
  if (!path) {
    calibrator->message = "m2u_calibrator_save: path is NULL";
    return M2U_ERROR_INVALID_ARGUMENT;
  }
  return guarded([&] {
    const m2u_status status = calibrator->calibrator->save(path, calibrator->method);
    calibrator->saved = status == M2U_OK;
    return status;
  });
}

m2u_status m2u_calibrator_scale_count(const m2u_calibrator* calibrator, int* count) {
  if (!calibrator || !count) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_calibrator_scale_count: NULL argument");
  *count = calibrator->saved ? static_cast<int>(calibrator->calibrator->scales().size()) : 0;
  return M2U_OK;
}

m2u_status m2u_calibrator_get_scale(const m2u_calibrator* calibrator, int index, const char** name, float* scale) {
  if (!calibrator || !name || !scale) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_calibrator_get_scale: NULL argument");
  }
  const std::vector<m2u::ActivationScale>& scales = calibrator->calibrator->scales();
  if (!calibrator->saved || index < 0 || index >= static_cast<int>(scales.size())) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_calibrator_get_scale: index " + std::to_string(index) +
                                                          " outside the " + std::to_string(calibrator->saved ? scales.size() : 0) +
                                                          " scales of the last save");
  }
  *name = scales[static_cast<size_t>(index)].first.c_str();
  *scale = scales[static_cast<size_t>(index)].second;
  return M2U_OK;
}

}  // extern "C"
