// work_model.h - what a forward pass or a training step asks of a GPU,
// counted from the shapes it runs on: per launch (or per kind of kernel)
// its multiply-adds and its minimal DRAM bytes (every input read once,
// every output written once, at the storage's element size and padded
// channel count; weights included). A model, not a measurement:
// device_profiles.h turns it into modeled microseconds for a target GPU.
#ifndef M2U_RUNTIME_PERF_WORK_MODEL_H
#define M2U_RUNTIME_PERF_WORK_MODEL_H

#include <string>
#include <vector>

namespace m2u {

// What a launch's multiply-adds run on: FP32 (the FP32 rate), half2 (two
// halves per instruction: the FP16 rate) or int8 with int32 sums (dp4a on
// sm_61+, the scalar fallback below).
enum class WorkArithmetic { kFp32, kHalf2, kInt8 };

const char* work_arithmetic_name(WorkArithmetic arithmetic);  // "fp32", "half2", "int8"

struct KernelWork {
  std::string kernel;  // the kind of kernel: "1x1 conv", "forward: depthwise 3x3", ...
  std::string layer;   // the plan step it runs ("" for rows that sum a kind of kernel)
  WorkArithmetic arithmetic = WorkArithmetic::kFp32;
  long long launches = 0;
  // The output's shape (0 where a row sums several launches).
  int batch = 0, height = 0, width = 0, in_channels = 0, out_channels = 0;
  double multiply_adds = 0.0;  // convolution and bilinear taps; elementwise work is not counted
  double bytes_read = 0.0;      // everything read, the next two included
  double weight_bytes = 0.0;    // of which the packed weights and biases
  double residual_bytes = 0.0;  // of which a residual input (a 1x1 conv's skip add)
  double bytes_written = 0.0;
};

struct WorkModel {
  std::vector<KernelWork> rows;
  KernelWork total;  // kernel "total": the sums of the rows
};

// Adds `row` to `model` and to its total.
void add_work(WorkModel* model, const KernelWork& row);

}  // namespace m2u

#endif  // M2U_RUNTIME_PERF_WORK_MODEL_H
