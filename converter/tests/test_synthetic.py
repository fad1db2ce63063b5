"""The out-of-the-box demo: Mono12p packing, the synthetic smear renderer,
the sample data in examples/data/ and the shipped default model.

No training here (converter/train_synthetic.py takes minutes)."""

import os
import re
import hashlib
import unittest

import numpy as np

import support  # noqa: F401  (puts converter/ on sys.path)
import m2u_format
import mono12p
import png_read
import png_write
import synth_smear

SAMPLE = os.path.join(support.REPO, "examples", "data")
DEFAULT_MODEL = os.path.join(support.REPO, "weights", "m2unet_synthetic_1ch.m2u")


class Mono12pTest(unittest.TestCase):
    def test_round_trip_random(self):
        rng = np.random.default_rng(7)
        for count in (0, 1, 2, 3, 10, 1001, 4096):
            pixels = rng.integers(0, 4096, size=count).astype(np.uint16)
            data = mono12p.pack(pixels)
            self.assertEqual(len(data), mono12p.packed_bytes(count))
            self.assertEqual(len(data), (3 * count + 1) // 2)
            np.testing.assert_array_equal(mono12p.unpack(data, count), pixels)

    def test_round_trip_frame_and_extremes(self):
        frame = np.array([[0, 4095, 1, 4094], [2048, 2047, 15, 3840]], dtype=np.uint16)
        back = mono12p.unpack(mono12p.pack(frame), frame.size).reshape(frame.shape)
        np.testing.assert_array_equal(back, frame)

    def test_exact_layout(self):
        # p0 = 0xABC, p1 = 0x123: byte0 = BC, byte1 = p0 hi nibble A | p1 lo nibble 3 << 4,
        # byte2 = p1 bits 4..11 = 0x12
        self.assertEqual(mono12p.pack([0xABC, 0x123]), bytes([0xBC, 0x3A, 0x12]))
        self.assertEqual(mono12p.pack([0x001, 0x000, 0x000, 0xFFF]),
                         bytes([0x01, 0x00, 0x00, 0x00, 0xF0, 0xFF]))
        self.assertEqual(mono12p.pack([0x800, 0x00F]), bytes([0x00, 0xF8, 0x00]))
        # odd count: the last pixel in two bytes, the high nibble zero
        self.assertEqual(mono12p.pack([0xABC, 0x123, 0x456]),
                         bytes([0xBC, 0x3A, 0x12, 0x56, 0x04]))
        # the 24-bit little-endian word is p0 | p1 << 12
        word = int.from_bytes(mono12p.pack([0x5A5, 0xC3C]), "little")
        self.assertEqual(word, 0x5A5 | 0xC3C << 12)

    def test_refuses_bad_input(self):
        with self.assertRaises(ValueError):
            mono12p.pack([4096])
        with self.assertRaises(ValueError):
            mono12p.pack([-1])
        with self.assertRaises(ValueError):
            mono12p.unpack(b"\x00\x00", 2)


class RendererTest(unittest.TestCase):
    def render(self, seed, **kw):
        rng = np.random.default_rng(seed)
        return synth_smear.render_dpc(rng, 192, 256, **kw)

    def test_relief_is_where_the_mask_is(self):
        for seed in (1, 2):
            dpc, mask, cells = self.render(seed)
            self.assertEqual(dpc.shape, (192, 256))
            self.assertEqual(mask.shape, (192, 256))
            self.assertGreater(len(cells["cy"]), 10)
            self.assertTrue(0.15 < mask.mean() < 0.6, mask.mean())
            energy = synth_smear.relief_energy(dpc)
            near = synth_smear.dilate(mask, 4)
            inside = energy[near].mean()
            outside = energy[~near].mean()  # debris and the background ramp only
            self.assertGreater(inside, 15 * outside, (inside, outside))
            # the background is flat and near 0.5; cells show dark left and bright right rims
            self.assertAlmostEqual(float(np.median(dpc[~near])), 0.5, delta=0.02)
            self.assertLess(dpc[mask].min(), 0.5 - 0.05)
            self.assertGreater(dpc[mask].max(), 0.5 + 0.05)

    def test_rim_polarity(self):
        # one round cell: dark on its left edge, bright on its right (DPC, L - R)
        cells = {"cy": np.array([64.0 + synth_smear.PAD]), "cx": np.array([64.0 + synth_smear.PAD]),
                 "a": np.array([12.0]), "b": np.array([12.0]), "theta": np.zeros(1),
                 "amp": np.ones(1), "pallor": np.zeros(1)}
        phase, mask = synth_smear.render_phase(cells, 128, 128)
        u = synth_smear.dpc_signal(phase, 1.2)
        row = u[64 + synth_smear.PAD, synth_smear.PAD:synth_smear.PAD + 128]
        self.assertLess(row[52], -0.1 * np.abs(row).max())
        self.assertGreater(row[76], 0.1 * np.abs(row).max())
        self.assertEqual(int(mask[64 + synth_smear.PAD].sum()), 25)

    def test_seeded(self):
        a = self.render(5)
        b = self.render(5)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


def readme_table():
    """{file: (width, height, bytes)} from examples/data/README.md's table."""
    with open(os.path.join(SAMPLE, "README.md")) as f:
        text = f.read()
    rows = re.findall(r"^\| `([^`]+)` \|.*\| (\d+) x (\d+) \| (\d+) \|$", text, re.M)
    sums = dict((name, digest) for digest, name in
                re.findall(r"^    ([0-9a-f]{64})  (\S+)$", text, re.M))
    return {name: (int(w), int(h), int(n)) for name, w, h, n in rows}, sums, text


class SampleDataTest(unittest.TestCase):
    def setUp(self):
        if not os.path.isdir(SAMPLE):
            self.fail("examples/data/ is missing; run converter/make_sample_data.py")
        self.table, self.sums, self.text = readme_table()

    def test_files_have_the_stated_sizes(self):
        self.assertEqual(sorted(self.table), sorted(
            ["smear_left.raw", "smear_right.raw", "flat_left.raw", "flat_right.raw",
             "smear_mask.png"]))
        listed = set(self.table) | {"README.md"}
        self.assertEqual(sorted(os.listdir(SAMPLE)), sorted(listed))
        total = 0
        for name, (w, h, nbytes) in self.table.items():
            path = os.path.join(SAMPLE, name)
            self.assertEqual(os.path.getsize(path), nbytes, name)
            total += nbytes
            if name.endswith(".raw"):
                self.assertEqual(nbytes, mono12p.packed_bytes(w * h), name)
            with open(path, "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), self.sums[name], name)
        total += os.path.getsize(os.path.join(SAMPLE, "README.md"))
        self.assertIn("\n%d bytes in all, with this README." % total, self.text)
        self.assertLess(total, 5 * 1000 * 1000)

    def test_frames_decode_to_a_dpc_image_matching_the_mask(self):
        frames = {}
        for name in ("smear_left.raw", "smear_right.raw", "flat_left.raw", "flat_right.raw"):
            w, h, _ = self.table[name]
            frames[name] = mono12p.read_frame(os.path.join(SAMPLE, name), w, h)
            self.assertLessEqual(int(frames[name].max()), 4095)
            self.assertGreater(int(frames[name].min()), 0)
        mask = png_read.read_png(os.path.join(SAMPLE, "smear_mask.png"))
        w, h, _ = self.table["smear_mask.png"]
        self.assertEqual(mask.shape, (h, w, 1))
        self.assertEqual(sorted(np.unique(mask)), [0, 255])
        mask = mask[..., 0] > 0
        lf = frames["smear_left.raw"] / frames["flat_left.raw"]
        rf = frames["smear_right.raw"] / frames["flat_right.raw"]
        dpc = np.clip((lf - rf) / (lf + rf) + 0.5, 0, 1)
        near = synth_smear.dilate(mask, 6)
        self.assertAlmostEqual(float(np.median(dpc[~near])), 0.5, delta=0.02)
        energy = synth_smear.relief_energy(dpc, smooth=1)  # 3x3 mean: noise down
        self.assertGreater(energy[near].mean(), 10 * energy[~near].mean())
        # the raw frames themselves are not flat: vignetting and the tilt
        left = frames["flat_left.raw"].astype(float)
        self.assertGreater(left[h // 2, w // 2], 1.15 * left[0, 0])
        self.assertGreater(left[h // 2, 8:40].mean(), 1.1 * left[h // 2, -40:-8].mean())


class PngWriteTest(unittest.TestCase):
    def test_round_trip(self):
        import tempfile
        a = np.random.default_rng(3).integers(0, 256, size=(7, 13)).astype(np.uint8)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "a.png")
            png_write.write_grey8(path, a)
            np.testing.assert_array_equal(png_read.read_png(path)[..., 0], a)


class DefaultModelTest(unittest.TestCase):
    def setUp(self):
        if not os.path.exists(DEFAULT_MODEL):
            self.fail("weights/m2unet_synthetic_1ch.m2u is missing: the project ships it "
                      "(remake it with converter/train_synthetic.py)")
        with open(DEFAULT_MODEL, "rb") as f:
            self.m2u = m2u_format.read_m2u(f.read())

    def test_header(self):
        info = self.m2u.info
        self.assertEqual(info.in_channels, 1)
        self.assertEqual(info.out_channels, 1)
        self.assertFalse(info.bn_folded)
        self.assertEqual(info.hidden_activation, m2u_format.ACT_RELU6)
        self.assertEqual(info.output_activation, m2u_format.OUT_SIGMOID)
        self.assertEqual(info.input_normalization, m2u_format.NORM_STANDARDIZE)
        self.assertEqual(info.pixel_scale, 255.0)
        self.assertGreater(info.std_floor, 0.0)
        self.assertTrue(all(t.dtype == np.float16 for t in self.m2u.tensors.values()))
        self.assertLess(os.path.getsize(DEFAULT_MODEL), 1300 * 1000)
        self.assertIn("m2unet_synthetic_1ch.pth", self.m2u.provenance)
        self.assertIn("2024-01-01T00:00:00Z", self.m2u.provenance)

    def test_segments_a_synthetic_smear(self):
        import torch
        from m2unet import model_from_tensors
        torch.set_flush_denormal(True)
        model = model_from_tensors(self.m2u.tensors, 1, 1, "relu6", "sigmoid", False)
        rng = np.random.default_rng(11)
        dpc, mask, _ = synth_smear.render_dpc(rng, 192, 192)
        x8 = synth_smear.to_u8(dpc + rng.normal(0, 2 / 255.0, dpc.shape)).astype(np.float64)
        x = ((x8 - x8.mean()) / x8.std()).astype(np.float32)
        with torch.no_grad():
            prob = model(torch.from_numpy(x[None, None]))[0, 0].numpy()
        pred = prob > 0.5
        iou = np.logical_and(pred, mask).sum() / np.logical_or(pred, mask).sum()
        self.assertGreater(iou, 0.8)


if __name__ == "__main__":
    unittest.main()
