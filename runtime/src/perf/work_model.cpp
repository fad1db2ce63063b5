// work_model.cpp - the names of the arithmetic kinds and the running total
// of a work model (work_model.h).
#include "work_model.h"

namespace m2u {

const char* work_arithmetic_name(WorkArithmetic arithmetic) {
  return arithmetic == WorkArithmetic::kHalf2 ? "half2" : arithmetic == WorkArithmetic::kInt8 ? "int8" : "fp32";
}

void add_work(WorkModel* model, const KernelWork& row) {
  model->rows.push_back(row);
  KernelWork& t = model->total;
  t.kernel = "total";
  t.launches += row.launches;
  t.multiply_adds += row.multiply_adds;
  t.bytes_read += row.bytes_read;
  t.weight_bytes += row.weight_bytes;
  t.residual_bytes += row.residual_bytes;
  t.bytes_written += row.bytes_written;
}

}  // namespace m2u
