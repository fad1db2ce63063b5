// Tests for fixture_file.h: a well-formed file read back (rank 1..4, from
// memory and from disk), and one refusal per rule of the format.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include "fixture_file.h"

namespace {

struct FixtureEntry {
  std::string name;
  std::vector<uint32_t> dims;
  std::vector<float> values;
};

void put_u32(std::vector<uint8_t>& bytes, size_t at, uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<uint8_t>(value >> (8 * i));
}

void put_u64(std::vector<uint8_t>& bytes, size_t at, uint64_t value) {
  put_u32(bytes, at, static_cast<uint32_t>(value));
  put_u32(bytes, at + 4, static_cast<uint32_t>(value >> 32));
}

// Writes a well-formed fixture: entries, then each tensor at the next
// multiple of 64.
std::vector<uint8_t> make_fixture(const std::vector<FixtureEntry>& entries) {
  const size_t table_end = 16 + 104 * entries.size();
  std::vector<uint8_t> bytes(table_end, 0);
  std::memcpy(bytes.data(), "M2UFIXT1", 8);
  put_u32(bytes, 8, static_cast<uint32_t>(entries.size()));
  for (size_t i = 0; i < entries.size(); ++i) {
    const FixtureEntry& e = entries[i];
    const size_t entry = 16 + 104 * i;
    std::memcpy(bytes.data() + entry, e.name.data(), e.name.size());
    put_u32(bytes, entry + 64, static_cast<uint32_t>(e.dims.size()));
    for (size_t d = 0; d < e.dims.size(); ++d) put_u32(bytes, entry + 68 + 4 * d, e.dims[d]);
    const size_t offset = (bytes.size() + 63) / 64 * 64;
    put_u64(bytes, entry + 88, offset);
    put_u64(bytes, entry + 96, 4 * e.values.size());
    bytes.resize(offset + 4 * e.values.size(), 0);
    for (size_t v = 0; v < e.values.size(); ++v) {
      uint32_t bits;
      std::memcpy(&bits, &e.values[v], 4);
      put_u32(bytes, offset + 4 * v, bits);
    }
  }
  return bytes;
}

const std::vector<FixtureEntry> kEntries = {
    {"input", {1, 2, 2, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
    {"bias", {3}, {-1.5f, 0, 2.25f}},
    {"grey", {2, 2}, {1, 2, 3, 4}},
    {"volume", {2, 1, 3}, {1, 2, 3, 4, 5, 6}}};

// The message parse_fixture throws for `bytes`, or "" when it accepts them.
std::string refusal(const std::vector<uint8_t>& bytes) {
  try {
    m2u::ref::parse_fixture(bytes.data(), bytes.size(), "case.m2uf");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

bool refused_with(const std::vector<uint8_t>& bytes, const std::string& words) {
  const std::string message = refusal(bytes);
  INFO("message: " << message);
  return message.rfind("case.m2uf: ", 0) == 0 && message.find(words) != std::string::npos;
}

constexpr size_t kEntry1 = 16 + 104;  // the second entry ("bias")

}  // namespace

TEST_CASE("parse_fixture reads every tensor with its shape and values") {
  const std::vector<uint8_t> bytes = make_fixture(kEntries);
  const m2u::ref::FixtureTensors tensors = m2u::ref::parse_fixture(bytes.data(), bytes.size(), "ok");
  REQUIRE(tensors.size() == 4);
  CHECK(tensors.at("input").shape_string() == "1x2x2x3");
  CHECK(tensors.at("input").at(0, 1, 1, 2) == 11.0f);
  CHECK(tensors.at("bias").shape_string() == "1x1x1x3");
  CHECK(tensors.at("bias").data == kEntries[1].values);
  CHECK(tensors.at("grey").shape_string() == "1x1x2x2");
  CHECK(tensors.at("grey").at(0, 0, 1, 0) == 3.0f);
  CHECK(tensors.at("volume").shape_string() == "1x2x1x3");
}

TEST_CASE("read_fixture_file reads a file and names it in errors") {
  const std::string path = "/tmp/m2u_test_fixture_" + std::to_string(getpid()) + ".m2uf";
  const std::vector<uint8_t> bytes = make_fixture(kEntries);
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  CHECK(m2u::ref::read_fixture_file(path).at("grey").data == kEntries[2].values);
  std::remove(path.c_str());
  try {
    m2u::ref::read_fixture_file(path);
    FAIL("a missing file was read");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find(path) == 0);
  }
}

TEST_CASE("parse_fixture refuses malformed headers") {
  const std::vector<uint8_t> good = make_fixture(kEntries);
  CHECK(refused_with(std::vector<uint8_t>(good.begin(), good.begin() + 15), "shorter than"));
  std::vector<uint8_t> bytes = good;
  bytes[7] = '2';
  CHECK(refused_with(bytes, "magic"));
  bytes = good;
  put_u32(bytes, 8, 0);
  CHECK(refused_with(bytes, "count is 0"));
  bytes = good;
  put_u32(bytes, 12, 1);
  CHECK(refused_with(bytes, "header reserved"));
  bytes = good;
  put_u32(bytes, 8, 1000);
  CHECK(refused_with(bytes, "past the end"));
  bytes = good;
  put_u32(bytes, 8, 0xFFFFFFFFu);
  CHECK(refused_with(bytes, "past the end"));
}

TEST_CASE("parse_fixture refuses malformed names") {
  const std::vector<uint8_t> good = make_fixture(kEntries);
  std::vector<uint8_t> bytes = good;
  std::memset(bytes.data() + kEntry1, 'a', 64);
  CHECK(refused_with(bytes, "entry 1: name is not NUL-terminated"));
  bytes = good;
  bytes[kEntry1] = 0;
  CHECK(refused_with(bytes, "entry 1: name is empty"));
  bytes = good;
  bytes[kEntry1 + 40] = 'x';
  CHECK(refused_with(bytes, "not NUL-padded"));
  bytes = good;
  bytes[kEntry1 + 1] = 0x80;
  CHECK(refused_with(bytes, "non-ASCII"));
  bytes = good;
  std::memcpy(bytes.data() + kEntry1, "input", 5);
  CHECK(refused_with(bytes, "entry 1 (\"input\"): name appears twice"));
}

TEST_CASE("parse_fixture refuses bad ranks, dims and sizes") {
  const std::vector<uint8_t> good = make_fixture(kEntries);
  std::vector<uint8_t> bytes = good;
  put_u32(bytes, kEntry1 + 64, 0);
  CHECK(refused_with(bytes, "entry 1 (\"bias\"): rank 0 is not 1..4"));
  put_u32(bytes, kEntry1 + 64, 5);
  CHECK(refused_with(bytes, "rank 5"));
  bytes = good;
  put_u32(bytes, kEntry1 + 68, 0);
  CHECK(refused_with(bytes, "dims[0] = 0"));
  bytes = good;
  put_u32(bytes, kEntry1 + 72, 1);
  CHECK(refused_with(bytes, "dims[1] beyond rank 1"));
  bytes = good;
  put_u32(bytes, kEntry1 + 68, 0x80000000u);
  CHECK(refused_with(bytes, "not a positive int"));
  bytes = good;
  put_u32(bytes, 16 + 64, 4);
  for (int d = 0; d < 4; ++d) put_u32(bytes, 16 + 68 + 4 * d, 0x10000);
  CHECK(refused_with(bytes, "more elements than the file has bytes"));
  bytes = good;
  put_u64(bytes, kEntry1 + 96, 8);
  CHECK(refused_with(bytes, "bytes = 8, but its dims hold 3 float32 values"));
  bytes = good;
  put_u32(bytes, kEntry1 + 84, 1);
  CHECK(refused_with(bytes, "entry 1 (\"bias\"): reserved field"));
}

TEST_CASE("parse_fixture refuses misplaced, overlapping and non-finite data") {
  const std::vector<uint8_t> good = make_fixture(kEntries);
  std::vector<uint8_t> bytes = good;
  put_u64(bytes, kEntry1 + 88, 64 * 10 + 4);
  CHECK(refused_with(bytes, "not a multiple of 64"));
  put_u64(bytes, kEntry1 + 88, 0);
  CHECK(refused_with(bytes, "entry table's end"));
  put_u64(bytes, kEntry1 + 88, (good.size() + 63) / 64 * 64);
  CHECK(refused_with(bytes, "end of the file"));
  put_u64(bytes, kEntry1 + 88, 0xFFFFFFFFFFFFFFC0ull);
  CHECK(refused_with(bytes, "end of the file"));
  bytes = good;
  const std::vector<uint8_t> first_offset(good.begin() + 16 + 88, good.begin() + 16 + 96);
  std::copy(first_offset.begin(), first_offset.end(), bytes.begin() + kEntry1 + 88);
  CHECK(refused_with(bytes, "overlaps"));
  bytes = good;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  uint32_t bits;
  std::memcpy(&bits, &nan, 4);
  const size_t bias_offset = static_cast<size_t>(bytes[kEntry1 + 88]) | bytes[kEntry1 + 89] << 8;
  put_u32(bytes, bias_offset + 8, bits);
  CHECK(refused_with(bytes, "entry 1 (\"bias\"): value 2 is not finite"));
}
