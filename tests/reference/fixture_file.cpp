// fixture_file.cpp - the validating `.m2uf` reader of fixture_file.h.
#include "fixture_file.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

namespace m2u::ref {

namespace {

uint32_t read_u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

uint64_t read_u64(const uint8_t* p) {
  return static_cast<uint64_t>(read_u32(p)) | static_cast<uint64_t>(read_u32(p + 4)) << 32;
}

float read_f32(const uint8_t* p) {
  const uint32_t bits = read_u32(p);
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

class FixtureParser {
 public:
  FixtureParser(const uint8_t* data, size_t size, std::string source)
      : data_(data), size_(size), source_(std::move(source)) {}

  FixtureTensors parse() {
    if (size_ < kFixtureHeaderBytes) {
      fail("file of " + std::to_string(size_) + " bytes is shorter than the " +
           std::to_string(kFixtureHeaderBytes) + "-byte header");
    }
    if (std::memcmp(data_, kFixtureMagic, sizeof kFixtureMagic) != 0) {
      fail("bad magic: not an M2UFIXT1 fixture file");
    }
    const uint32_t count = read_u32(data_ + 8);
    if (count == 0) fail("tensor count is 0");
    if (read_u32(data_ + 12) != 0) fail("header reserved field is not 0");
    const uint64_t table_end = kFixtureHeaderBytes + uint64_t{count} * kFixtureEntryBytes;
    if (table_end > size_) {
      fail("entry table of " + std::to_string(count) + " entries ends at byte " +
           std::to_string(table_end) + ", past the end of the file (" + std::to_string(size_) +
           " bytes)");
    }
    table_end_ = table_end;

    FixtureTensors tensors;
    std::vector<std::pair<uint64_t, uint64_t>> ranges;  // [offset, offset + bytes), for overlaps
    for (uint32_t i = 0; i < count; ++i) {
      Entry entry = parse_entry(i, data_ + kFixtureHeaderBytes + uint64_t{i} * kFixtureEntryBytes);
      if (tensors.count(entry.name) != 0) fail(entry.label + ": name appears twice");
      ranges.emplace_back(entry.offset, entry.offset + entry.bytes);
      tensors.emplace(entry.name, std::move(entry.tensor));
    }
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i) {
      if (ranges[i].first < ranges[i - 1].second) {
        fail("tensor data at byte " + std::to_string(ranges[i].first) +
             " overlaps the tensor ending at byte " + std::to_string(ranges[i - 1].second));
      }
    }
    return tensors;
  }

 private:
  struct Entry {
    std::string name;
    std::string label;  // "entry 3 (\"conv1\")", for messages
    uint64_t offset;
    uint64_t bytes;
    HostTensor tensor;
  };

  [[noreturn]] void fail(const std::string& problem) const {
    throw std::runtime_error(source_ + ": " + problem);
  }

  Entry parse_entry(uint32_t index, const uint8_t* p) const {
    Entry entry;
    entry.label = "entry " + std::to_string(index);
    const uint8_t* name_end = std::find(p, p + kFixtureNameBytes, uint8_t{0});
    if (name_end == p + kFixtureNameBytes) fail(entry.label + ": name is not NUL-terminated");
    if (name_end == p) fail(entry.label + ": name is empty");
    if (std::any_of(name_end, p + kFixtureNameBytes, [](uint8_t b) { return b != 0; })) {
      fail(entry.label + ": name is not NUL-padded");
    }
    if (std::any_of(p, name_end, [](uint8_t b) { return b < 0x20 || b > 0x7E; })) {
      fail(entry.label + ": name has non-printable or non-ASCII bytes");
    }
    entry.name.assign(reinterpret_cast<const char*>(p), name_end - p);
    entry.label += " (\"" + entry.name + "\")";

    const uint8_t* fields = p + kFixtureNameBytes;
    const uint32_t rank = read_u32(fields);
    if (rank < 1 || rank > 4) fail(entry.label + ": rank " + std::to_string(rank) + " is not 1..4");
    int shape[4] = {1, 1, 1, 1};
    uint64_t elements = 1;
    for (uint32_t d = 0; d < 4; ++d) {
      const uint32_t dim = read_u32(fields + 4 + 4 * d);
      if (d < rank) {
        if (dim < 1 || dim > static_cast<uint32_t>(std::numeric_limits<int>::max())) {
          fail(entry.label + ": dims[" + std::to_string(d) + "] = " + std::to_string(dim) +
               " is not a positive int");
        }
        if (dim > size_ / elements) fail(entry.label + ": more elements than the file has bytes");
        shape[4 - rank + d] = static_cast<int>(dim);
        elements *= dim;
      } else if (dim != 0) {
        fail(entry.label + ": dims[" + std::to_string(d) + "] beyond rank " +
             std::to_string(rank) + " is " + std::to_string(dim) + ", not 0");
      }
    }
    if (read_u32(fields + 20) != 0) fail(entry.label + ": reserved field is not 0");
    entry.offset = read_u64(fields + 24);
    entry.bytes = read_u64(fields + 32);
    if (entry.bytes != elements * sizeof(float)) {
      fail(entry.label + ": bytes = " + std::to_string(entry.bytes) + ", but its dims hold " +
           std::to_string(elements) + " float32 values (" + std::to_string(elements * 4) +
           " bytes)");
    }
    if (entry.offset % kFixtureDataAlignment != 0) {
      fail(entry.label + ": offset " + std::to_string(entry.offset) + " is not a multiple of " +
           std::to_string(kFixtureDataAlignment));
    }
    if (entry.offset < table_end_ || entry.offset > size_ || entry.bytes > size_ - entry.offset) {
      fail(entry.label + ": data [" + std::to_string(entry.offset) + ", +" +
           std::to_string(entry.bytes) + ") is not between the entry table's end (" +
           std::to_string(table_end_) + ") and the end of the file (" + std::to_string(size_) +
           ")");
    }

    entry.tensor = HostTensor(shape[0], shape[1], shape[2], shape[3]);
    const uint8_t* values = data_ + entry.offset;
    for (size_t i = 0; i < entry.tensor.size(); ++i) {
      const float value = read_f32(values + 4 * i);
      if (!std::isfinite(value)) {
        fail(entry.label + ": value " + std::to_string(i) + " is not finite");
      }
      entry.tensor.data[i] = value;
    }
    return entry;
  }

  const uint8_t* data_;
  size_t size_;
  std::string source_;
  uint64_t table_end_ = 0;
};

}  // namespace

FixtureTensors parse_fixture(const uint8_t* data, size_t size, const std::string& source) {
  return FixtureParser(data, size, source).parse();
}

FixtureTensors read_fixture_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error(path + ": cannot open the fixture file");
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)),
                                   std::istreambuf_iterator<char>());
  return parse_fixture(bytes.data(), bytes.size(), path);
}

}  // namespace m2u::ref
