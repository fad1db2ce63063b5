// Tests for compare.h: the relative error, the worst element, and failure
// on shape mismatches and on any non-finite value.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

#include "compare.h"

using m2u::ref::HostTensor;

TEST_CASE("compare finds the worst element and its position") {
  HostTensor expected(2, 3, 4, 5, 1.0f);
  expected.at(0, 0, 0, 0) = -8.0f;
  HostTensor got = expected;
  got.at(1, 2, 3, 1) += 0.004f;
  got.at(0, 1, 1, 1) -= 0.001f;
  const m2u::ref::Comparison c = m2u::ref::compare(got, expected);
  CHECK(c.shape_match);
  CHECK(c.max_abs_ref == 8.0);
  CHECK(c.max_abs_diff == doctest::Approx(0.004).epsilon(1e-4));
  CHECK(c.relative == doctest::Approx(0.0005).epsilon(1e-4));
  CHECK(c.worst_index == expected.index(1, 2, 3, 1));
  CHECK(c.worst_position[0] == 1);
  CHECK(c.worst_position[1] == 2);
  CHECK(c.worst_position[2] == 3);
  CHECK(c.worst_position[3] == 1);
  CHECK(c.within(1e-3));
  CHECK_FALSE(c.within(1e-4));
  CHECK(c.describe().find("(n 1, c 2, y 3, x 1)") != std::string::npos);

  const m2u::ref::Comparison same = m2u::ref::compare(expected, expected);
  CHECK(same.relative == 0.0);
  CHECK(same.within(0.0));
  const m2u::ref::Comparison zeros = m2u::ref::compare(HostTensor(1, 1, 1, 2), HostTensor(1, 1, 1, 2));
  CHECK(zeros.within(0.0));
}

TEST_CASE("compare fails on any non-finite value, wherever it is") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const HostTensor expected(1, 2, 3, 3, 0.5f);
  for (float poison : {nan, inf, -inf}) {
    for (size_t where : {size_t{0}, size_t{9}, size_t{17}}) {
      HostTensor got = expected;
      got.data[where] = poison;
      const m2u::ref::Comparison c = m2u::ref::compare(got, expected);
      CHECK(std::isinf(c.relative));
      CHECK_FALSE(c.within(1e30));
      CHECK(c.worst_index == where);
      CHECK(c.non_finite_count == 1);
      CHECK(c.describe().find("non-finite") != std::string::npos);
    }
  }
  HostTensor bad_expected = expected;
  bad_expected.data[4] = nan;
  CHECK_FALSE(m2u::ref::compare(expected, bad_expected).within(1e30));
  // Poison after a larger finite difference still fails.
  HostTensor got = expected;
  got.data[0] = 100.0f;
  got.data[17] = nan;
  CHECK_FALSE(m2u::ref::compare(got, expected).within(1e30));
}

TEST_CASE("compare fails on a shape mismatch even with equal element counts") {
  const m2u::ref::Comparison c = m2u::ref::compare(HostTensor(1, 2, 3, 4), HostTensor(1, 2, 4, 3));
  CHECK_FALSE(c.shape_match);
  CHECK_FALSE(c.within(1e30));
  CHECK(c.describe() == "shape mismatch: got 1x2x3x4, expected 1x2x4x3");
  CHECK_FALSE(m2u::ref::compare(HostTensor(1, 1, 1, 1, 1.0f), HostTensor(1, 1, 1, 1, 0.0f)).within(1e30));
}
