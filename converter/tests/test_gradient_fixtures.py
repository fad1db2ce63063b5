"""The committed decoder-gradient fixtures (tests/fixtures/*_grad.m2uf):
reproducible to the byte, holding every decoder tensor and nothing of the
encoder, and PyTorch's autograd gradient agreeing with central finite
differences of the loss (float64, step 2^-16: relative 1e-4) for the largest
entry of a tensor of each decoder stage."""

import os
import unittest

import numpy as np
import torch

import support
import m2u_format as fmt
import m2uf
import make_gradient_fixtures as grads

NAMES = [name for name, _, _, _ in grads.FIXTURES]


class GradientFixtures(unittest.TestCase):
    def test_regeneration_is_bit_identical(self):
        support.assert_fixtures_regenerate(self, grads.make, NAMES, (".m2u", ".m2uf"), "_grad.m2uf")

    def test_decoder_tensors_only(self):
        for name in NAMES:
            fixture = m2uf.read(os.path.join(support.FIXTURES, name + "_grad.m2uf"))
            names = [k[5:] for k in fixture if k.startswith("grad:")]
            self.assertEqual(len(names), 38, name)
            self.assertTrue(all(n.startswith(grads.DECODER_PREFIXES) for n in names), name)
            self.assertIn("decode1.conv.0.bias", names)

    def test_autograd_matches_finite_differences(self):
        torch.set_num_threads(1)
        for name, cin, activation, seed in grads.FIXTURES:
            with open(os.path.join(support.FIXTURES, name + ".m2u"), "rb") as f:
                tensors = fmt.read_m2u(f.read()).tensors
            x = m2uf.read(os.path.join(support.FIXTURES, name + ".m2uf"))["input"]
            fixture = m2uf.read(os.path.join(support.FIXTURES, name + "_grad.m2uf"))
            target = fixture["target"].astype(np.float64)

            def loss_of(changed):
                return _loss(changed, cin, activation, x, target)

            for tensor in ("decode4.ir1.conv.0.weight", "decode3.ir1.conv.4.weight",
                           "decode2.ir1.conv.7.bias", "decode1.ir1.conv.3.weight",
                           "decode1.conv.0.bias"):
                values = np.asarray(tensors[tensor], np.float64)
                index = np.unravel_index(int(np.argmax(np.abs(fixture["grad:" + tensor]))), values.shape)
                # model_from_tensors passes the values through float32: a step
                # that keeps the float16-exact value +- step exact there.
                step = 2.0 ** -16
                up, down = dict(tensors), dict(tensors)
                up[tensor] = values.copy()
                up[tensor][index] += step
                down[tensor] = values.copy()
                down[tensor][index] -= step
                numeric = (loss_of(up) - loss_of(down)) / (2 * step)
                analytic = float(fixture["grad:" + tensor][index])
                self.assertAlmostEqual(numeric, analytic, delta=1e-4 * abs(analytic) + 1e-7,
                                       msg="%s %s%s" % (name, tensor, index))


def _loss(tensors, cin, activation, x, target):
    import torch.nn.functional as F
    import m2unet
    model = m2unet.model_from_tensors(tensors, cin, 1, activation, "linear", False, torch.float64)
    h, w = grads.VALID_HEIGHT, grads.VALID_WIDTH
    with torch.no_grad():
        logits = model(torch.from_numpy(np.asarray(x, np.float64)))
        return float(F.binary_cross_entropy_with_logits(logits[..., :h, :w], torch.from_numpy(target)[..., :h, :w]))


if __name__ == "__main__":
    unittest.main()
