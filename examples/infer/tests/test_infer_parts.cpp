// test_infer_parts.cpp - m2u_infer's host-side parts: PNG encoding (decoded
// back with stb_image), JSON string escaping, the output group's commit. (The tile planner and the
// connected components are the library's: tests/imaging.)
#include <doctest/doctest.h>

#include <stb_image.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "output_files.h"
#include "png_write.h"
#include "summary_json.h"

using namespace m2u_infer;

TEST_CASE("PNG encoding decodes back to the same pixels (8-bit, 16-bit grey, RGB)") {
  const int w = 5, h = 3;
  std::vector<uint8_t> grey8(w * h), rgb(w * h * 3);
  std::vector<uint16_t> grey16(w * h);
  for (int i = 0; i < w * h; ++i) {
    grey8[i] = static_cast<uint8_t>(i * 17);
    grey16[i] = static_cast<uint16_t>(i * 4099 + 1);
    for (int c = 0; c < 3; ++c) rgb[3 * i + c] = static_cast<uint8_t>(i * 13 + c * 50);
  }
  int dw, dh, dc;
  const std::vector<uint8_t> png8 = encode_png(grey8.data(), w, h, 1, 8);
  uint8_t* back8 = stbi_load_from_memory(png8.data(), static_cast<int>(png8.size()), &dw, &dh, &dc, 0);
  REQUIRE(back8);
  CHECK((dw == w && dh == h && dc == 1));
  CHECK(std::vector<uint8_t>(back8, back8 + w * h) == grey8);
  stbi_image_free(back8);
  const std::vector<uint8_t> png16 = encode_png(grey16.data(), w, h, 1, 16);
  CHECK(stbi_is_16_bit_from_memory(png16.data(), static_cast<int>(png16.size())));
  uint16_t* back16 = stbi_load_16_from_memory(png16.data(), static_cast<int>(png16.size()), &dw, &dh, &dc, 0);
  REQUIRE(back16);
  CHECK(std::vector<uint16_t>(back16, back16 + w * h) == grey16);
  stbi_image_free(back16);
  const std::vector<uint8_t> png_rgb = encode_png(rgb.data(), w, h, 3, 8);
  uint8_t* back_rgb = stbi_load_from_memory(png_rgb.data(), static_cast<int>(png_rgb.size()), &dw, &dh, &dc, 0);
  REQUIRE(back_rgb);
  CHECK(dc == 3);
  CHECK(std::vector<uint8_t>(back_rgb, back_rgb + w * h * 3) == rgb);
  stbi_image_free(back_rgb);
  CHECK(encode_png(rgb.data(), w, h, 3, 16).empty());
}

TEST_CASE("JSON strings are escaped") {
  CHECK(json_string("a\"b\\c\n\x01") == "\"a\\\"b\\\\c\\n\\u0001\"");
}

TEST_CASE("an output group is committed JSON last: a failed commit leaves no JSON, old or new") {
  char pattern[] = "/tmp/m2u_outputs.XXXXXX";
  REQUIRE(mkdtemp(pattern));
  const std::string dir = pattern;
  auto exists = [&](const std::string& name) { return access((dir + "/" + name).c_str(), F_OK) == 0; };
  {
    OutputBatch first(dir);
    std::string error;
    std::vector<std::string> written;
    REQUIRE(first.stage("x_mask.png", {1, 2, 3}, &error));
    REQUIRE(first.stage("x.json", {'{', '}'}, &error));
    REQUIRE(first.commit(&written, &error));
    CHECK(written.size() == 2);
    CHECK(exists("x.json"));
  }
  // The next run's mask cannot be renamed into place (a directory is in the
  // way): the old JSON is gone, so no reader takes the mixed set as complete.
  REQUIRE(std::remove((dir + "/x_mask.png").c_str()) == 0);
  REQUIRE(mkdir((dir + "/x_mask.png").c_str(), 0777) == 0);
  REQUIRE(mkdir((dir + "/x_mask.png/in_the_way").c_str(), 0777) == 0);
  {
    OutputBatch second(dir);
    std::string error;
    std::vector<std::string> written;
    REQUIRE(second.stage("x_mask.png", {4, 5, 6}, &error));
    REQUIRE(second.stage("x.json", {'[', ']'}, &error));
    CHECK_FALSE(second.commit(&written, &error));
    CHECK(error.find("x_mask.png") != std::string::npos);
  }
  CHECK_FALSE(exists("x.json"));
  CHECK_FALSE(exists(".x.json.tmp." + std::to_string(getpid())));  // temporaries removed
  rmdir((dir + "/x_mask.png/in_the_way").c_str());
  rmdir((dir + "/x_mask.png").c_str());
  rmdir(dir.c_str());
}
