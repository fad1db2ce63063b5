// frame_source.cpp - see frame_source.h.
#include "frame_source.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>

#include <stb_image.h>

#include "cli_numbers.h"

namespace m2u_infer {
namespace {

bool read_all(const std::string& path, std::vector<uint8_t>* bytes, std::string* error) {
  if (path == "-") {
    bytes->assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    if (std::cin.bad()) {
      *error = "stdin: read failed";
      return false;
    }
    return true;
  }
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  if (S_ISDIR(info.st_mode)) {
    *error = path + ": is a directory";
    return false;
  }
  FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  bytes->resize(static_cast<size_t>(info.st_size));
  const size_t got = bytes->empty() ? 0 : std::fread(bytes->data(), 1, bytes->size(), file);
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed || got != bytes->size()) {
    *error = path + ": read " + std::to_string(got) + " of " + std::to_string(bytes->size()) + " bytes";
    return false;
  }
  return true;
}

const char* format_name(m2u_raw_format format) {
  switch (format) {
    case M2U_RAW_MONO8: return "mono8";
    case M2U_RAW_MONO16: return "mono16";
    case M2U_RAW_MONO12: return "mono12";
    case M2U_RAW_MONO12P: return "mono12p";
  }
  return "?";
}

bool read_raw(const std::string& name, std::vector<uint8_t>&& bytes, const RawLayout& layout, HostFrame* frame,
              std::string* error) {
  if (layout.width < 1 || layout.height < 1 || layout.width > kMaxDimension || layout.height > kMaxDimension) {
    *error = name + ": --width " + std::to_string(layout.width) + " --height " + std::to_string(layout.height) +
             " are not a frame size (1.." + std::to_string(kMaxDimension) + ")";
    return false;
  }
  const size_t row_bytes = m2u_raw_row_bytes(layout.format, layout.width);
  const size_t stride = layout.stride ? layout.stride : row_bytes;
  if (stride < row_bytes) {
    *error = name + ": --stride " + std::to_string(stride) + " is smaller than a " + format_name(layout.format) +
             " row of " + std::to_string(layout.width) + " pixels (" + std::to_string(row_bytes) + " bytes)";
    return false;
  }
  const size_t minimal = layout.offset + stride * (layout.height - 1) + row_bytes;
  const size_t full = layout.offset + stride * layout.height;
  if (bytes.size() != minimal && bytes.size() != full) {
    *error = name + ": " + std::to_string(bytes.size()) + " bytes, but " + std::to_string(layout.width) + "x" +
             std::to_string(layout.height) + " " + format_name(layout.format) + " with stride " +
             std::to_string(stride) + " and offset " + std::to_string(layout.offset) + " needs " +
             std::to_string(minimal) + (minimal != full ? " or " + std::to_string(full) : std::string()) + " bytes";
    return false;
  }
  if (layout.format == M2U_RAW_MONO12) {
    for (int y = 0; y < layout.height; ++y) {
      const uint8_t* row = bytes.data() + layout.offset + y * stride;
      for (int x = 0; x < layout.width; ++x) {
        const unsigned value = row[2 * x] | row[2 * x + 1] << 8;
        if (value > 4095) {
          *error = name + ": pixel (" + std::to_string(x) + ", " + std::to_string(y) + ") is " +
                   std::to_string(value) + ", more than 12 bits: is the format mono16?";
          return false;
        }
      }
    }
  }
  frame->name = name;
  frame->format = layout.format;
  frame->width = layout.width;
  frame->height = layout.height;
  frame->stride = stride;
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<long>(layout.offset));
  frame->bytes = std::move(bytes);
  return true;
}

// PNG and binary PGM / PPM headers, read before stb_image decodes: a frame
// too large is named as such, and a PGM / PPM whose pixel data is cut short
// (which stb_image would accept, filling the rest) is refused. Other
// formats: true, left to stb_image.
bool check_image_header(const std::string& name, const std::vector<uint8_t>& bytes, std::string* error) {
  auto too_large = [&](unsigned long long width, unsigned long long height) {
    *error = name + ": a " + std::to_string(width) + "x" + std::to_string(height) + " image is larger than " +
             std::to_string(kMaxDimension) + " pixels a side";
    return false;
  };
  static const uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() >= 24 && std::memcmp(bytes.data(), kPngSignature, 8) == 0 &&
      std::memcmp(bytes.data() + 12, "IHDR", 4) == 0) {
    auto be32 = [&](size_t at) {
      return static_cast<unsigned long long>(bytes[at]) << 24 | bytes[at + 1] << 16 | bytes[at + 2] << 8 | bytes[at + 3];
    };
    const unsigned long long width = be32(16), height = be32(20);
    if (width > static_cast<unsigned long long>(kMaxDimension) || height > static_cast<unsigned long long>(kMaxDimension))
      return too_large(width, height);
    return true;
  }
  if (bytes.size() < 2 || bytes[0] != 'P' || (bytes[1] != '5' && bytes[1] != '6')) return true;
  // P5 / P6: magic, width, height, maxval (whitespace and # comments between),
  // one whitespace byte, then the samples.
  size_t at = 2;
  unsigned long long fields[3] = {0, 0, 0};
  for (unsigned long long& field : fields) {
    while (at < bytes.size() && (std::isspace(bytes[at]) || bytes[at] == '#')) {
      if (bytes[at] == '#') {
        while (at < bytes.size() && bytes[at] != '\n') ++at;
      } else {
        ++at;
      }
    }
    if (at >= bytes.size() || !std::isdigit(bytes[at])) return true;  // malformed: stb_image says why
    while (at < bytes.size() && std::isdigit(bytes[at]) && field < (1ull << 40)) field = field * 10 + (bytes[at++] - '0');
  }
  ++at;
  const unsigned long long width = fields[0], height = fields[1], maxval = fields[2];
  if (width > static_cast<unsigned long long>(kMaxDimension) || height > static_cast<unsigned long long>(kMaxDimension))
    return too_large(width, height);
  const unsigned long long needed = width * height * (bytes[1] == '6' ? 3 : 1) * (maxval > 255 ? 2 : 1);
  const unsigned long long present = at <= bytes.size() ? bytes.size() - at : 0;
  if (present < needed) {
    *error = name + ": truncated: " + std::to_string(present) + " bytes of pixel data, a " + std::to_string(width) +
             "x" + std::to_string(height) + (maxval > 255 ? " 16-bit " : " 8-bit ") + (bytes[1] == '6' ? "PPM" : "PGM") +
             " needs " + std::to_string(needed);
    return false;
  }
  return true;
}

bool read_image(const std::string& name, const std::vector<uint8_t>& bytes, HostFrame* frame, std::string* error) {
  if (!check_image_header(name, bytes, error)) return false;
  int width = 0, height = 0, channels = 0;
  const int length = static_cast<int>(std::min<size_t>(bytes.size(), 0x7FFFFFFF));
  if (!stbi_info_from_memory(bytes.data(), length, &width, &height, &channels)) {
    *error = name + ": not a readable PNG, BMP or PGM image (" + stbi_failure_reason() +
             "); raw sensor dumps need --format, --width and --height";
    return false;
  }
  if (width > kMaxDimension || height > kMaxDimension) {
    *error = name + ": " + std::to_string(width) + "x" + std::to_string(height) + " is larger than " +
             std::to_string(kMaxDimension) + " pixels a side";
    return false;
  }
  const bool sixteen = stbi_is_16_bit_from_memory(bytes.data(), length) != 0;
  int got_channels = 0;
  void* pixels = sixteen ? static_cast<void*>(stbi_load_16_from_memory(bytes.data(), length, &width, &height,
                                                                       &got_channels, 0))
                         : static_cast<void*>(stbi_load_from_memory(bytes.data(), length, &width, &height,
                                                                    &got_channels, 0));
  if (!pixels) {
    const std::string reason = stbi_failure_reason() ? stbi_failure_reason() : "";
    *error = name + ": cannot decode the image (" + (reason.empty() ? "truncated or corrupt data" : reason) + ")";
    return false;
  }
  frame->name = name;
  frame->format = sixteen ? M2U_RAW_MONO16 : M2U_RAW_MONO8;
  frame->width = width;
  frame->height = height;
  const size_t sample = sixteen ? 2 : 1;
  frame->stride = static_cast<size_t>(width) * sample;
  frame->bytes.resize(frame->stride * height);
  // Grey: the first channel when all colour channels agree (DPC images are
  // stored that way), else Rec. 601 luma; alpha is ignored.
  const int colour = got_channels >= 3 ? 3 : 1;
  for (size_t i = 0; i < static_cast<size_t>(width) * height; ++i) {
    double value;
    if (sixteen) {
      const uint16_t* p = static_cast<const uint16_t*>(pixels) + i * got_channels;
      value = colour == 3 && !(p[0] == p[1] && p[1] == p[2]) ? 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] : p[0];
      const uint16_t v = static_cast<uint16_t>(std::min(65535.0, value + 0.5));
      frame->bytes[2 * i] = static_cast<uint8_t>(v);
      frame->bytes[2 * i + 1] = static_cast<uint8_t>(v >> 8);
    } else {
      const uint8_t* p = static_cast<const uint8_t*>(pixels) + i * got_channels;
      value = colour == 3 && !(p[0] == p[1] && p[1] == p[2]) ? 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] : p[0];
      frame->bytes[i] = static_cast<uint8_t>(std::min(255.0, value + 0.5));
    }
  }
  stbi_image_free(pixels);
  return true;
}

bool has_suffix(const std::string& name, const std::vector<std::string>& suffixes) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const std::string& suffix : suffixes) {
    if (lower.size() > suffix.size() && lower.compare(lower.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool parse_raw_format(const std::string& text, m2u_raw_format* format) {
  const std::pair<const char*, m2u_raw_format> names[] = {
      {"mono8", M2U_RAW_MONO8}, {"mono16", M2U_RAW_MONO16}, {"mono12", M2U_RAW_MONO12}, {"mono12p", M2U_RAW_MONO12P}};
  for (const auto& entry : names) {
    if (text == entry.first) {
      *format = entry.second;
      return true;
    }
  }
  return false;
}

m2u_raw_frame raw_frame_of(const HostFrame& frame) {
  m2u_raw_frame raw;
  raw.data = frame.bytes.data();
  raw.memory = M2U_MEMORY_HOST;
  raw.format = frame.format;
  raw.height = frame.height;
  raw.width = frame.width;
  raw.row_stride = frame.stride;
  return raw;
}

bool read_frame(const std::string& path, const RawLayout& layout, HostFrame* frame, std::string* error) {
  std::vector<uint8_t> bytes;
  if (!read_all(path, &bytes, error)) return false;
  const std::string name = path == "-" ? "stdin" : path;
  if (bytes.empty()) {
    *error = name + ": empty";
    return false;
  }
  return layout.given ? read_raw(name, std::move(bytes), layout, frame, error) : read_image(name, bytes, frame, error);
}

bool list_directory(const std::string& directory, bool raw, std::vector<std::string>* paths, std::string* error) {
  DIR* dir = opendir(directory.c_str());
  if (!dir) {
    *error = directory + ": " + std::strerror(errno);
    return false;
  }
  const std::vector<std::string> suffixes =
      raw ? std::vector<std::string>{".raw", ".bin"} : std::vector<std::string>{".png", ".bmp", ".pgm", ".pnm"};
  while (const dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name[0] != '.' && has_suffix(name, suffixes)) paths->push_back(directory + "/" + name);
  }
  closedir(dir);
  std::sort(paths->begin(), paths->end());
  if (paths->empty()) {
    *error = directory + ": no " + (raw ? "raw dumps (*.raw, *.bin)" : "images (*.png, *.bmp, *.pgm, *.pnm)");
    return false;
  }
  return true;
}

m2u_image image_of(const HostFrame& frame, std::vector<uint16_t>* unpacked) {
  m2u_image image{};
  image.memory = M2U_MEMORY_HOST;
  image.batch = 1;
  image.channels = 1;
  image.height = frame.height;
  image.width = frame.width;
  image.data = const_cast<uint8_t*>(frame.bytes.data());
  image.row_stride = frame.stride;
  switch (frame.format) {
    case M2U_RAW_MONO8:
      image.dtype = M2U_DTYPE_U8;
      break;
    case M2U_RAW_MONO16:
    case M2U_RAW_MONO12:
      image.dtype = M2U_DTYPE_U16;
      image.significant_bits = frame.format == M2U_RAW_MONO12 ? 12 : 16;
      break;
    case M2U_RAW_MONO12P:
      unpacked->resize(static_cast<size_t>(frame.width) * frame.height);
      for (int y = 0; y < frame.height; ++y) {
        const uint8_t* row = frame.bytes.data() + static_cast<size_t>(y) * frame.stride;
        for (int x = 0; x < frame.width; ++x) {
          const uint8_t* pair = row + static_cast<size_t>(x / 2) * 3;
          (*unpacked)[static_cast<size_t>(y) * frame.width + x] =
              x % 2 == 0 ? static_cast<uint16_t>(pair[0] | (pair[1] & 0x0F) << 8)
                         : static_cast<uint16_t>(pair[1] >> 4 | pair[2] << 4);
        }
      }
      image.data = unpacked->data();
      image.row_stride = 0;
      image.dtype = M2U_DTYPE_U16;
      image.significant_bits = 12;
      break;
  }
  return image;
}

bool is_raw_layout_option(const std::string& option) {
  return option == "--format" || option == "--width" || option == "--height" || option == "--stride" ||
         option == "--offset";
}

bool apply_raw_layout_option(const std::string& option, const char* value, RawLayout* layout, std::string* error) {
  if (option == "--format") {
    if (!parse_raw_format(value, &layout->format)) {
      *error = option + " " + value + ": expected mono8, mono16, mono12 or mono12p";
      return false;
    }
    layout->given = true;
    return true;
  }
  const bool size = option == "--width" || option == "--height";
  long long number = 0;
  if (!m2u_cli::parse_integer(value, size ? 1 : 0, size ? kMaxDimension : (1LL << 40), &number)) {
    *error = option + " " + value + ": expected an integer in " + (size ? "1..65535" : "0..2^40");
    return false;
  }
  if (option == "--width") layout->width = static_cast<int>(number);
  if (option == "--height") layout->height = static_cast<int>(number);
  if (option == "--stride") layout->stride = static_cast<size_t>(number);
  if (option == "--offset") layout->offset = static_cast<size_t>(number);
  return true;
}

}  // namespace m2u_infer
