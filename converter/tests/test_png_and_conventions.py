"""png_read.py (every filter type, against PIL when present) and the input
conventions applied to a grey image."""

import os
import shutil
import struct
import tempfile
import unittest
import zlib

import numpy as np

import support
import input_convention
import m2u_format as fmt
import png_read


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def encode_png(image, colour):
    """A PNG of uint8 `image` (H, W, C) using filter type y % 5 on row y."""
    h, w, c = image.shape
    raw, prev = bytearray(), [0] * (w * c)
    for y in range(h):
        row = image[y].reshape(-1).tolist()
        kind = y % 5
        out = []
        for i, v in enumerate(row):
            a = row[i - c] if i >= c else 0
            b, d = prev[i], (prev[i - c] if i >= c else 0)
            pred = (0, a, b, (a + b) >> 1, paeth(a, b, d))[kind]
            out.append((v - pred) & 0xFF)
        raw += bytes([kind] + out)
        prev = row

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))
    return (png_read.SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b""))


class Png(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_all_filters_and_colour_types(self):
        rng = np.random.default_rng(0)
        for colour, channels in png_read.CHANNELS.items():
            with self.subTest(colour=colour):
                image = rng.integers(0, 256, (11, 7, channels), dtype=np.uint8)
                path = os.path.join(self.dir, "t.png")
                with open(path, "wb") as f:
                    f.write(encode_png(image, colour))
                np.testing.assert_array_equal(png_read.read_png(path), image)

    def test_refuses_16_bit(self):
        path = os.path.join(self.dir, "t.png")
        data = bytearray(encode_png(np.zeros((2, 2, 1), np.uint8), 0))
        data[24] = 16
        data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
        with open(path, "wb") as f:
            f.write(data)
        with self.assertRaisesRegex(png_read.PngError, "bit depth 16"):
            png_read.read_png(path)

    def test_real_image_matches_pil(self):
        path = support.data_file("octopi_dpc_rbc_1024.png")
        try:
            from PIL import Image
        except ImportError:
            self.skipTest("PIL not installed")
        np.testing.assert_array_equal(png_read.read_png(path), np.asarray(Image.open(path)))


class Conventions(unittest.TestCase):
    grey = np.arange(64, dtype=np.uint8).reshape(8, 8) * 3

    def info(self, text, cin, fill=fmt.FILL_REPLICATE):
        return fmt.ModelInfo(in_channels=cin, out_channels=1, bn_folded=False, grey_fill=fill,
                             **input_convention.parse_convention(text, cin))

    def test_raw255_replicates(self):
        x = input_convention.apply_convention(self.grey, self.info("raw255", 3))
        self.assertEqual(x.shape, (1, 3, 8, 8))
        for c in range(3):
            np.testing.assert_allclose(x[0, c], self.grey, rtol=1e-6)

    def test_standardize(self):
        x = input_convention.apply_convention(self.grey, self.info("standardize", 1))
        self.assertAlmostEqual(float(x.mean()), 0, places=6)
        self.assertAlmostEqual(float(x.std()), 1, places=5)
        flat = input_convention.apply_convention(np.full((4, 4), 7, np.uint8),
                                                 self.info("standardize", 1))
        np.testing.assert_array_equal(flat, 0)

    def test_affine_first_channel(self):
        info = self.info("affine:1:0.5,0,0:0.25,1,1", 3, fmt.FILL_FIRST)
        x = input_convention.apply_convention(self.grey, info)
        np.testing.assert_allclose(x[0, 0], (self.grey / 255.0 - 0.5) / 0.25, rtol=1e-6)
        np.testing.assert_array_equal(x[0, 1:], 0)

    def test_parse_errors(self):
        for text, message in (("affine:0:0:1", "SCALE"), ("affine:1:a:1", "numbers"),
                              ("affine:1:0:0", "> 0"), ("bogus", "unknown input convention")):
            with self.subTest(text=text):
                with self.assertRaisesRegex(input_convention.ConventionError, message):
                    input_convention.parse_convention(text, 1)


if __name__ == "__main__":
    unittest.main()
