// caller_values.h - reading what C callers put in m2urt.h's structs: an
// enum field as the int it holds (C allows any int there, while loading an
// out-of-range enumerator in C++ is undefined), and the bytes of one value
// of an m2u_dtype.
#ifndef M2U_RUNTIME_CALLER_VALUES_H
#define M2U_RUNTIME_CALLER_VALUES_H

#include <cstddef>
#include <cstring>

#include "m2urt.h"

namespace m2u {

template <typename Enum>
int enum_value(const Enum& value) {
  static_assert(sizeof(Enum) == sizeof(int), "C enums are int-sized here");
  int raw;
  std::memcpy(&raw, &value, sizeof(raw));
  return raw;
}

inline size_t dtype_bytes(m2u_dtype dtype) { return dtype == M2U_DTYPE_U8 ? 1 : dtype == M2U_DTYPE_U16 ? 2 : 4; }

}  // namespace m2u

#endif  // M2U_RUNTIME_CALLER_VALUES_H
