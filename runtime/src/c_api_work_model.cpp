// c_api_work_model.cpp - the work model's C API (m2urt.h "Work model"): the
// device profiles, work requests read and checked, and the computed model's
// rows with their modeled microseconds. The engine's and the trainer's
// entry points (c_api.cpp, c_api_trainer.cpp) hand their work here.
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "c_api_support.h"
#include "device_profiles.h"
#include "engine.h"
#include "work_model.h"

struct m2u_work_model {
  m2u::WorkModel work;
  const m2u::DeviceProfile* profile;
  std::vector<m2u::LaunchEstimate> estimates;  // per row
  m2u::LaunchEstimate total;                   // sums of the rows' terms
};

namespace {

using m2u_capi::enum_value;
using m2u_capi::guarded;
using m2u_capi::set_last_error;

m2u_work_request default_request() {
  m2u_work_request r;
  std::memset(&r, 0, sizeof(r));
  r.struct_size = sizeof(r);
  r.batch = 1;
  r.input_dtype = M2U_DTYPE_U8;
  r.input_channels = 1;
  r.output_dtype = M2U_DTYPE_F32;
  r.device_profile = nullptr;
  return r;
}

bool known_dtype(int dtype) { return dtype == M2U_DTYPE_U8 || dtype == M2U_DTYPE_U16 || dtype == M2U_DTYPE_F32; }

m2u_device_profile public_profile(const m2u::DeviceProfile& p) {
  m2u_device_profile out;
  std::memset(&out, 0, sizeof(out));
  out.name = p.name;
  out.description = p.description;
  out.compute_capability = p.compute_capability;
  out.fp32_gflops = p.fp32_gflops;
  out.half2_gflops = p.half2_gflops;
  out.int8_gops = p.int8_gops;
  out.dram_gbps = p.dram_gbps;
  out.compute_fraction = p.compute_fraction;
  out.dram_fraction = p.dram_fraction;
  out.launch_us = p.launch_us;
  out.graph_launch_us = p.graph_launch_us;
  out.assumptions = p.assumptions;
  return out;
}

m2u_work_row public_row(const m2u::KernelWork& w, const m2u::LaunchEstimate& e, const char* bound) {
  m2u_work_row row;
  std::memset(&row, 0, sizeof(row));
  row.kernel = w.kernel.c_str();
  row.layer = w.layer.c_str();
  row.arithmetic = m2u::work_arithmetic_name(w.arithmetic);
  row.launches = w.launches;
  row.batch = w.batch;
  row.height = w.height;
  row.width = w.width;
  row.in_channels = w.in_channels;
  row.out_channels = w.out_channels;
  row.multiply_adds = w.multiply_adds;
  row.bytes_read = w.bytes_read;
  row.bytes_written = w.bytes_written;
  row.compute_us = e.compute_us;
  row.dram_us = e.dram_us;
  row.overhead_us = e.overhead_us;
  row.modeled_us = e.us;
  row.bound = bound;
  return row;
}

bool sized(size_t struct_size) { return struct_size >= sizeof(size_t); }

}  // namespace

namespace m2u_capi {

m2u_status resolve_work_request(const m2u_work_request* given, int max_batch, int max_height, int max_width,
                                const char* who, m2u::WorkRequest* request, const m2u::DeviceProfile** profile) {
  const std::string w(who);
  if (!given) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, w + ": request is NULL");
  m2u_work_request r;
  if (!read_sized(*given, default_request(), offsetof(m2u_work_request, width) + sizeof(int), &r)) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT, w + ": request.struct_size is " +
                                                          std::to_string(given->struct_size) +
                                                          ": call m2u_work_request_init first");
  }
  if (r.height == 0) r.height = max_height;
  if (r.width == 0) r.width = max_width;
  if (r.batch < 1 || r.batch > max_batch || r.height < 1 || r.height > max_height || r.width < 1 ||
      r.width > max_width) {
    return set_last_error(M2U_ERROR_SHAPE, w + ": frame " + std::to_string(r.batch) + " x " +
                                               std::to_string(r.height) + " x " + std::to_string(r.width) +
                                               " outside 1..(" + std::to_string(max_batch) + " x " +
                                               std::to_string(max_height) + " x " + std::to_string(max_width) +
                                               ") planned");
  }
  if (!known_dtype(enum_value(r.input_dtype)) || !known_dtype(enum_value(r.output_dtype)) || r.input_channels < 1) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT,
                          w + ": input dtype " + std::to_string(enum_value(r.input_dtype)) + ", output dtype " +
                              std::to_string(enum_value(r.output_dtype)) + ", input channels " +
                              std::to_string(r.input_channels) + ": not an m2u_dtype / fewer than 1");
  }
  const std::string name = r.device_profile ? r.device_profile : "nano";
  *profile = m2u::find_device_profile(name);
  if (!*profile) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT, w + ": no device profile '" + name + "' (known: " +
                                                          m2u::device_profile_names() + ")");
  }
  request->batch = r.batch;
  request->height = r.height;
  request->width = r.width;
  request->input_channels = r.input_channels;
  request->input_value_bytes = static_cast<int>(m2u::dtype_bytes(r.input_dtype));  // known_dtype checked them
  request->output_value_bytes = static_cast<int>(m2u::dtype_bytes(r.output_dtype));
  return M2U_OK;
}

m2u_status publish_work_model(m2u::WorkModel&& work, const m2u::DeviceProfile& profile, m2u_work_model** model) {
  m2u_work_model* made = new m2u_work_model{std::move(work), &profile, {}, {}};
  made->total = m2u::LaunchEstimate{0.0, 0.0, 0.0, 0.0, ""};
  for (const m2u::KernelWork& row : made->work.rows) {
    const m2u::LaunchEstimate e = m2u::estimate_launch(profile, row);
    made->estimates.push_back(e);
    made->total.compute_us += e.compute_us;
    made->total.dram_us += e.dram_us;
    made->total.overhead_us += e.overhead_us;
    made->total.us += e.us;
  }
  *model = made;
  thread_last_error().clear();
  return M2U_OK;
}

}  // namespace m2u_capi

extern "C" {

m2u_status m2u_device_profile_count(int* count) {
  if (!count) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_device_profile_count: count is NULL");
  *count = static_cast<int>(m2u::device_profiles().size());
  return M2U_OK;
}

m2u_status m2u_get_device_profile(int index, m2u_device_profile* profile) {
  const std::vector<m2u::DeviceProfile>& all = m2u::device_profiles();
  if (!profile || !sized(profile->struct_size)) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT,
                          "m2u_get_device_profile: profile is NULL or its struct_size is not set");
  }
  if (index < 0 || index >= static_cast<int>(all.size())) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_get_device_profile: index " + std::to_string(index) +
                                                          " outside 0.." + std::to_string(all.size() - 1));
  }
  m2u_capi::write_sized(public_profile(all[static_cast<size_t>(index)]), profile->struct_size, profile);
  return M2U_OK;
}

void m2u_work_request_init_sized(m2u_work_request* request, size_t size) {
  if (!request || size < sizeof(size_t)) return;
  m2u_capi::write_sized(default_request(), size, request);
}

void m2u_work_model_destroy(m2u_work_model* model) { delete model; }

m2u_status m2u_work_model_row_count(const m2u_work_model* model, int* count) {
  if (!model || !count) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_work_model_row_count: NULL argument");
  *count = static_cast<int>(model->work.rows.size());
  return M2U_OK;
}

m2u_status m2u_work_model_get_row(const m2u_work_model* model, int index, m2u_work_row* row) {
  if (!model || !row || !sized(row->struct_size)) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT,
                          "m2u_work_model_get_row: NULL argument or row.struct_size not set");
  }
  const int rows = static_cast<int>(model->work.rows.size());
  if (index < 0 || index >= rows) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_work_model_get_row: index " + std::to_string(index) +
                                                          " outside 0.." + std::to_string(rows - 1));
  }
  const m2u::LaunchEstimate& e = model->estimates[static_cast<size_t>(index)];
  m2u_capi::write_sized(public_row(model->work.rows[static_cast<size_t>(index)], e, e.bound), row->struct_size, row);
  return M2U_OK;
}

m2u_status m2u_work_model_get_total(const m2u_work_model* model, m2u_work_row* total) {
  if (!model || !total || !sized(total->struct_size)) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT,
                          "m2u_work_model_get_total: NULL argument or total.struct_size not set");
  }
  m2u_capi::write_sized(public_row(model->work.total, model->total, ""), total->struct_size, total);
  return M2U_OK;
}

m2u_status m2u_work_model_get_profile(const m2u_work_model* model, m2u_device_profile* profile) {
  if (!model || !profile || !sized(profile->struct_size)) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT,
                          "m2u_work_model_get_profile: NULL argument or profile.struct_size not set");
  }
  m2u_capi::write_sized(public_profile(*model->profile), profile->struct_size, profile);
  return M2U_OK;
}

}  // extern "C"
