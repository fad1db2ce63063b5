// cli_numbers.h - the command-line tools' number arguments (m2u_infer,
// m2u_calibrate, m2u_finetune): the whole argument one decimal integer, or
// one finite real, inside [low, high]; nothing else accepted ("12abc",
// "", out-of-range values, overflow).
#ifndef M2U_EXAMPLES_INFER_CLI_NUMBERS_H
#define M2U_EXAMPLES_INFER_CLI_NUMBERS_H

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace m2u_cli {

inline bool parse_integer(const char* text, long long low, long long high, long long* value) {
  char* end = nullptr;
  errno = 0;
  const long long parsed = std::strtoll(text, &end, 10);
  if (errno || !end || end == text || *end || parsed < low || parsed > high) return false;
  *value = parsed;
  return true;
}

inline bool parse_real(const char* text, double low, double high, double* value) {
  char* end = nullptr;
  errno = 0;
  const double parsed = std::strtod(text, &end);
  if (errno || !end || end == text || *end || !std::isfinite(parsed) || parsed < low || parsed > high) return false;
  *value = parsed;
  return true;
}

}  // namespace m2u_cli

#endif  // M2U_EXAMPLES_INFER_CLI_NUMBERS_H
