// test_version.cpp - the C API's version, status texts and device query.
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "m2urt.h"

TEST_CASE("the linked library reports the version of its header") {
  CHECK(m2u_version() == M2U_VERSION);
  const std::string text = m2u_version_string();
  const std::string expected = std::to_string(M2U_VERSION_MAJOR) + "." + std::to_string(M2U_VERSION_MINOR) +
                               "." + std::to_string(M2U_VERSION_PATCH) + " (";
  CHECK(text.rfind(expected, 0) == 0);
}

TEST_CASE("every status has a text") {
  for (m2u_status s : {M2U_OK, M2U_ERROR_INVALID_ARGUMENT, M2U_ERROR_NO_DEVICE, M2U_ERROR_CUDA, M2U_ERROR_FILE,
                       M2U_ERROR_BAD_MODEL, M2U_ERROR_OUT_OF_MEMORY, M2U_ERROR_SHAPE}) {
    CHECK(std::strlen(m2u_status_string(s)) > 0);
  }
  CHECK(std::string(m2u_status_string(static_cast<m2u_status>(99))) == "unknown status");
}

TEST_CASE("device query validates its arguments and describes device 0") {
  CHECK(m2u_device_count(nullptr) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(m2u_query_device(0, nullptr) == M2U_ERROR_INVALID_ARGUMENT);
  m2u_device_info info;
  CHECK(m2u_query_device(-1, &info) == M2U_ERROR_INVALID_ARGUMENT);
  int count = -1;
  REQUIRE(m2u_device_count(&count) == M2U_OK);
  CHECK(m2u_query_device(count, &info) == M2U_ERROR_NO_DEVICE);
  if (count > 0) {
    REQUIRE(m2u_query_device(0, &info) == M2U_OK);
    CHECK(std::strlen(info.name) > 0);
    CHECK(info.shared_memory_per_block_bytes >= 48 * 1024);
  }
}
