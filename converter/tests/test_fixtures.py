"""The committed fixtures in tests/fixtures/: reproducible to the byte,
well-formed, and consistent with the models they hold (including the
folded ONNX-path model against the unfolded PyTorch reference)."""

import contextlib
import io
import os
import shutil
import tempfile
import unittest

import numpy as np
import torch

import support
import m2u_format as fmt
import m2uf
import m2unet
import make_fixtures

NAMES = ("cin3_relu6", "cin1_relu", "cin3_relu6_folded")
ENTRIES = ("input",) + m2unet.STAGE_NAMES + ("output",)


def load(name):
    with open(os.path.join(support.FIXTURES, name + ".m2u"), "rb") as f:
        m = fmt.read_m2u(f.read())
    return m, m2uf.read(os.path.join(support.FIXTURES, name + ".m2uf"))


def max_relative_difference(model, fixture):
    with torch.no_grad():
        y, stages = model(torch.from_numpy(fixture["input"]).to(torch.float64),
                          return_stages=True)
    stages["output"] = y
    return max(float(np.abs(stages[k].numpy() - fixture[k]).max() / np.abs(fixture[k]).max())
               for k in ENTRIES[1:])


class Fixtures(unittest.TestCase):
    def test_regeneration_is_bit_identical(self):
        out = tempfile.mkdtemp()
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                make_fixtures.make(out)
            produced = sorted(os.listdir(out))
            self.assertEqual(produced, sorted(n + ext for n in NAMES for ext in (".m2u", ".m2uf")))
            for name in produced:
                with open(os.path.join(out, name), "rb") as a, \
                        open(os.path.join(support.FIXTURES, name), "rb") as b:
                    self.assertTrue(a.read() == b.read(), "%s differs from the committed one; "
                                    "rerun converter/make_fixtures.py if intended" % name)
        finally:
            shutil.rmtree(out)

    def test_layout_and_models(self):
        expected = {"cin3_relu6": (3, False, fmt.ACT_RELU6, fmt.DTYPE_F16, 1),
                    "cin1_relu": (1, False, fmt.ACT_RELU, fmt.DTYPE_F16, 1),
                    "cin3_relu6_folded": (3, True, fmt.ACT_RELU6, fmt.DTYPE_F32, 2)}
        for name, (cin, folded, act, dtype, batch) in expected.items():
            with self.subTest(name=name):
                m, fixture = load(name)
                self.assertEqual((m.info.in_channels, m.info.bn_folded, m.info.hidden_activation,
                                  m.info.output_activation), (cin, folded, act, fmt.OUT_SIGMOID))
                self.assertTrue(all(e.dtype == dtype for e in m.entries))
                self.assertEqual(tuple(fixture), ENTRIES)
                self.assertEqual(fixture["input"].shape, (batch, cin, 48, 80))
                self.assertEqual(fixture["decode1"].shape, (batch, 16, 48, 80))
                self.assertEqual(fixture["conv4"].shape, (batch, 96, 3, 5))
                out = fixture["output"]
                self.assertGreater(np.mean((out > 0.05) & (out < 0.95)), 0.8)

    def test_references_match_the_stored_models(self):
        for name in NAMES:
            with self.subTest(name=name):
                m, fixture = load(name)
                info = m.info
                model = m2unet.model_from_tensors(
                    m.tensors, info.in_channels, 1, fmt.ACTIVATION_NAMES[info.hidden_activation],
                    "sigmoid", info.bn_folded, torch.float64)
                # Raw models: the reference itself (float64, then float32).
                # The folded model: only batch-norm folding rounding.
                limit = 1e-5 if info.bn_folded else 1e-6
                self.assertLess(max_relative_difference(model, fixture), limit)


if __name__ == "__main__":
    unittest.main()
