#!/usr/bin/env python3
"""make_gradient_fixtures.py - PyTorch autograd's decoder-only gradients for
the committed fixture models: the oracle the CPU reference's decoder
backward (tests/reference/reference_training.*) and, through it, the
training kernels are checked against.

  make_gradient_fixtures.py [--fixtures DIR]   (default: <repo>/tests/fixtures)

For cin1_relu (ReLU) and cin3_relu6 (ReLU6), from DIR/NAME.m2u and the input
of DIR/NAME.m2uf, writes DIR/NAME_grad.m2uf: the model in float64, eval
mode (batch norm with its frozen running statistics), the encoder frozen
(requires_grad False), the output taken as logits; the loss is PyTorch's
binary_cross_entropy_with_logits, mean reduction, over the top-left
VALID_HEIGHT x VALID_WIDTH pixels only (the rest of the 48 x 80 frame
stands for the engine's zero padding), against a seeded target mask of
blobs. Entries:
  'target'  N x 1 x 48 x 80 (0 / 1),
  'loss'    [1],
  'grad:' + every trainable tensor's name (the decoder's conv weights, its
            batch norms' weight and bias, decode1.conv.0's weight and bias),
            in the tensor's own shape.
Bit-for-bit reproducible (float64, one thread, seeded numpy);
converter/tests/test_gradient_fixtures.py regenerates and compares bytes.
Needs torch and numpy (Debian's /usr/bin/python3).
"""

import argparse
import os
import sys
from collections import OrderedDict

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import m2u_build  # noqa: E402
import m2u_format as fmt  # noqa: E402
import m2uf  # noqa: E402

VALID_HEIGHT, VALID_WIDTH = 43, 75
DECODER_PREFIXES = ("decode4.", "decode3.", "decode2.", "decode1.")
# name, Cin, activation, target seed
FIXTURES = (("cin1_relu", 1, "relu", 401), ("cin3_relu6", 3, "relu6", 402))


def target_mask(shape, seed):
    """Discs of random centres and radii (cells), 1 inside, 0 outside."""
    rng = np.random.default_rng(seed)
    n, _, h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    mask = np.zeros(shape, np.float64)
    for b in range(n):
        for _ in range(12):
            cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(3, 9)
            mask[b, 0][(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = 1.0
    return mask


def gradient_entries(tensors, cin, activation, x, target):
    """OrderedDict: 'target', 'loss' and 'grad:NAME' for every trainable tensor."""
    import torch
    import torch.nn.functional as F
    import m2unet
    model = m2unet.model_from_tensors(tensors, cin, 1, activation, "linear", False, torch.float64)
    trainable = []
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name.startswith(DECODER_PREFIXES))
        if parameter.requires_grad:
            trainable.append((name, parameter))
    logits = model(torch.from_numpy(np.asarray(x, np.float64)))
    t = torch.from_numpy(target)
    loss = F.binary_cross_entropy_with_logits(logits[..., :VALID_HEIGHT, :VALID_WIDTH],
                                              t[..., :VALID_HEIGHT, :VALID_WIDTH])
    loss.backward()
    entries = OrderedDict(target=target, loss=np.array([loss.item()]))
    for name, parameter in trainable:
        entries["grad:" + name] = parameter.grad.numpy()
    return entries


def make(fixtures_dir, log=print):
    import torch
    torch.set_num_threads(1)
    for name, cin, activation, seed in FIXTURES:
        with open(os.path.join(fixtures_dir, name + ".m2u"), "rb") as f:
            model_file = fmt.read_m2u(f.read())
        x = m2uf.read(os.path.join(fixtures_dir, name + ".m2uf"))["input"]
        target = target_mask((x.shape[0], 1, x.shape[2], x.shape[3]), seed)
        entries = gradient_entries(model_file.tensors, cin, activation, x, target)
        m2u_build.write_atomically(os.path.join(fixtures_dir, name + "_grad.m2uf"),
                                   m2uf.to_bytes(entries))
        norms = ", ".join("%s %.3g" % (k[5:], float(np.linalg.norm(v)))
                          for k, v in entries.items() if k.startswith("grad:"))
        log("%s_grad: loss %.6f, %d trainable tensors; gradient norms: %s" % (
            name, float(entries["loss"][0]), len(entries) - 2, norms))


def fixtures_main(make_fixtures, description, argv=None):
    """The fixture generators' command line: [--fixtures DIR], then
    make_fixtures(DIR)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--fixtures", default=os.path.join(HERE, "..", "tests", "fixtures"))
    args = parser.parse_args(argv)
    make_fixtures(os.path.abspath(args.fixtures))
    return 0


def main(argv=None):
    return fixtures_main(make, "Write the decoder gradient fixtures (see module doc).", argv)


if __name__ == "__main__":
    sys.exit(main())
