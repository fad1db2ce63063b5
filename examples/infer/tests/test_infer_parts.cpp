// test_infer_parts.cpp - m2u_infer's host-side parts: the tile plan covers
// every pixel exactly once with margins of at least the overlap, connected
// components and small-object removal, PNG encoding (decoded back with
// stb_image), JSON string escaping.
#include <doctest/doctest.h>

#include <stb_image.h>

#include <cstdint>
#include <vector>

#include "components.h"
#include "png_write.h"
#include "summary_json.h"
#include "tiling.h"

using namespace m2u_infer;

TEST_CASE("tiles cover every pixel once, at multiples of 16, keeping overlap-wide margins") {
  struct Case {
    int height, width, tile, overlap;
  };
  for (const Case c : {Case{3000, 3000, 1024, 32}, Case{1024, 64, 448, 192}, Case{37, 70, 64, 8},
                       Case{1000, 513, 256, 48}}) {
    std::string error;
    const std::vector<Tile> tiles = plan_tiles(c.height, c.width, c.tile, c.overlap, &error);
    REQUIRE_MESSAGE(!tiles.empty(), error);
    std::vector<int> covered(static_cast<size_t>(c.height) * c.width, 0);
    for (const Tile& t : tiles) {
      CHECK(t.y % 16 == 0);
      CHECK(t.x % 16 == 0);
      CHECK(t.height <= c.tile);
      CHECK(t.width <= c.tile);
      CHECK(t.y + t.height <= c.height);
      CHECK(t.x + t.width <= c.width);
      // A kept edge that is not the image's own lies >= overlap inside the tile.
      if (t.keep_y0 > 0) CHECK(t.keep_y0 - t.y >= c.overlap);
      if (t.keep_x0 > 0) CHECK(t.keep_x0 - t.x >= c.overlap);
      if (t.keep_y1 < c.height) CHECK(t.y + t.height - t.keep_y1 >= c.overlap);
      if (t.keep_x1 < c.width) CHECK(t.x + t.width - t.keep_x1 >= c.overlap);
      for (int y = t.keep_y0; y < t.keep_y1; ++y)
        for (int x = t.keep_x0; x < t.keep_x1; ++x) covered[static_cast<size_t>(y) * c.width + x]++;
    }
    bool once = true;
    for (int count : covered) once = once && count == 1;
    CHECK_MESSAGE(once, c.height << "x" << c.width << " tile " << c.tile << " overlap " << c.overlap);
  }
  std::string error;
  CHECK(plan_tiles(100, 100, 100, 8, &error).empty());
  CHECK(error.find("multiple of 16") != std::string::npos);
  CHECK(plan_tiles(100, 100, 64, 28, &error).empty());
  CHECK(error.find("leaves less than 16 pixels") != std::string::npos);
}

TEST_CASE("connected components: 8-connectivity, areas, centroids, small-object removal") {
  const int h = 6, w = 8;
  // Blob A: a diagonal pair joined by 8-connectivity plus a 2x2 square;
  // blob B: one pixel at (7, 5).
  std::vector<uint8_t> mask(h * w, 0);
  auto set = [&](int x, int y) { mask[y * w + x] = 255; };
  set(0, 0); set(1, 1); set(1, 2); set(2, 1); set(2, 2);
  set(7, 5);
  Components all = label_components(mask, h, w, 0);
  REQUIRE(all.cells.size() == 2);
  CHECK(all.cells[0].area == 5);
  CHECK(all.cells[0].centroid_x == doctest::Approx(6.0 / 5));
  CHECK(all.cells[0].centroid_y == doctest::Approx(6.0 / 5));
  CHECK(all.cells[1].area == 1);
  CHECK(all.labels[5 * w + 7] == 2);
  Components big = label_components(mask, h, w, 2);
  REQUIRE(big.cells.size() == 1);
  CHECK(mask[5 * w + 7] == 0);  // removed from the mask too
  CHECK(big.labels[5 * w + 7] == 0);
}

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
