"""The receptive field weights/M2UNET.md states ("Receptive field"), measured
on the PyTorch model by the gradient of one output pixel with respect to the
input, for each of the 16 positions of a pixel relative to the stride-16
grid, along each axis."""

import os
import re
import unittest

import torch
from torch import nn

import support  # noqa: F401  (sets sys.path)
import m2unet

RADIUS = 178  # input pixels an output pixel may depend on, on its worse side

HEADER = os.path.join(os.path.dirname(__file__), "..", "..", "runtime", "include", "m2urt.h")


def left_context(x):
    """Input pixels left of (above) output column (row) x that it depends on."""
    return 163 + (x - 14) % 16


def right_context(x):
    return 163 - (x - 2) % 16


def structural_model():
    """M2UNet(1, 1) in which every path from an input pixel to an output
    pixel has a positive weight: activations replaced by identities, weights
    made positive (eval-mode batch norm with its initial statistics scales by
    a positive factor). Its gradient is then non-zero exactly where the
    layers' wiring lets an input pixel reach the output pixel; no ReLU6 that
    happens to be clamped, and no cancellation, hides a dependency."""
    model = m2unet.M2UNet(1, 1, "relu6", "linear").double().eval()
    for module in list(model.modules()):
        for name, child in module.named_children():
            if isinstance(child, nn.ReLU6):
                setattr(module, name, nn.Identity())
    with torch.no_grad():
        for p in model.parameters():
            p.abs_().requires_grad_(False)
    return model


class ReceptiveField(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.manual_seed(0)
        cls.model = structural_model()

    def extents(self, transpose):
        """(left, right) context of output pixels 176..191 (every phase mod
        16), along x (or along y, transposed), each in its own image of a
        batch: 16 rows (columns) x 352, wide enough that no field reaches the
        frame's edges (checked)."""
        columns = range(176, 192)
        x = torch.zeros(len(columns), 1, 16, 352, dtype=torch.float64)
        x = x.transpose(2, 3) if transpose else x
        x.requires_grad_(True)
        y = self.model(x)
        y = y.transpose(2, 3) if transpose else y
        torch.stack([y[b, 0, 8, c] for b, c in enumerate(columns)]).sum().backward()
        grad = x.grad.transpose(2, 3) if transpose else x.grad
        extents = []
        for b, c in enumerate(columns):
            used = torch.nonzero(grad[b, 0].abs().sum(0) > 0).flatten().tolist()
            self.assertEqual(used, list(range(used[0], used[-1] + 1)), "holes at column %d" % c)
            self.assertTrue(0 < used[0] and used[-1] < x.shape[2 if transpose else 3] - 1,
                            "the field of column %d reaches the frame's edge" % c)
            extents.append((c - used[0], used[-1] - c))
        return columns, extents

    def test_stated_field_and_radius(self):
        for transpose in (False, True):
            with self.subTest(axis="y" if transpose else "x"):
                columns, extents = self.extents(transpose)
                self.assertEqual(extents, [(left_context(c), right_context(c)) for c in columns])
                self.assertEqual(max(max(e) for e in extents), RADIUS)

    def test_public_header_states_it(self):
        """m2urt.h's M2U_RECEPTIVE_FIELD_RADIUS (the overlap tiles need) is
        the radius measured here."""
        with open(HEADER) as header:
            stated = re.search(r"#define M2U_RECEPTIVE_FIELD_RADIUS (\d+)", header.read())
        self.assertIsNotNone(stated)
        self.assertEqual(int(stated.group(1)), RADIUS)


if __name__ == "__main__":
    unittest.main()
