"""The PyTorch reference model against the real Octopi files (skipped when
../shared/data is absent): strict state_dict loads, the three conversions,
and a plausible segmentation from the 1-channel model."""

import hashlib
import os
import shutil
import tempfile
import unittest

import numpy as np
import torch

import support
import input_convention
import m2u_format as fmt
import m2unet
import png_read

REAL_PTH = (("m2unet_rbc_1ch.pth", 1), ("m2unet_rbc_3ch.pth", 3))


class RealModels(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_state_dicts_load_strictly(self):
        for name, cin in REAL_PTH:
            with self.subTest(name=name):
                state = torch.load(support.data_file(name), map_location="cpu")
                model = m2unet.M2UNet(cin, 1)
                model.load_state_dict(state, strict=True)
                params = sum(p.numel() for p in model.parameters())
                self.assertEqual(params, 549870 if cin == 3 else 549284)

    def test_real_files_convert(self):
        cases = (("m2unet_rbc_1ch.pth", ["--input-convention", "standardize"], 1, False),
                 ("m2unet_rbc_3ch.pth", ["--input-convention", "raw255"], 3, False),
                 ("m2unet_rbc_3ch_relu_bnfolded.onnx",
                  ["--input-convention", "raw255", "--activation", "relu"], 3, True))
        for name, args, cin, folded in cases:
            with self.subTest(name=name):
                source = support.data_file(name)
                out = os.path.join(self.dir, name + ".m2u")
                rc, _, err = support.convert(source, "-o", out, *args)
                self.assertEqual(rc, 0, err)
                with open(out, "rb") as f:
                    m = fmt.read_m2u(f.read())
                self.assertEqual((m.info.in_channels, m.info.bn_folded), (cin, folded))
                with open(source, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
                self.assertIn("source_sha256: " + digest, m.provenance)
                self.assertIn("source: " + name, m.provenance)

    def test_one_channel_model_segments_cells(self):
        source = support.data_file("m2unet_rbc_1ch.pth")
        grey = png_read.read_png(support.data_file("octopi_dpc_rbc_1024.png"))[..., 0]
        out = os.path.join(self.dir, "1ch.m2u")
        rc, _, err = support.convert(source, "-o", out, "--input-convention", "standardize")
        self.assertEqual(rc, 0, err)
        with open(out, "rb") as f:
            m = fmt.read_m2u(f.read())
        x = input_convention.apply_convention(grey[384:640, 384:640], m.info)
        model = m2unet.model_from_tensors(m.tensors, 1, 1, "relu6", "sigmoid", False)
        with torch.no_grad():
            probability = model(torch.from_numpy(x)).numpy()
        foreground = float(np.mean(probability > 0.5))
        self.assertTrue(0.25 < foreground < 0.5, foreground)


if __name__ == "__main__":
    unittest.main()
