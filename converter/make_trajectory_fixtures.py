#!/usr/bin/env python3
"""make_trajectory_fixtures.py - PyTorch's loss trajectories of decoder-only
fine-tuning for the committed fixture models: the oracle the training
engine's optimisers are checked against over many steps
(tests/train/test_trainer.cpp).
  make_trajectory_fixtures.py [--fixtures DIR]   (default: <repo>/tests/fixtures)
For cin1_relu and cin3_relu6, from DIR/NAME.m2u, the input of DIR/NAME.m2uf
and the target of DIR/NAME_grad.m2uf, writes DIR/NAME_trajectory.m2uf: the
model in float64, eval mode, the encoder frozen; the input is the fixture's
top-left VALID_HEIGHT x VALID_WIDTH (make_gradient_fixtures.py) with zeros
in the rest of the 48 x 80 frame, as the engine pads a 43 x 75 image; the
loss is binary_cross_entropy_with_logits, mean over the image's own
pixels. STEPS steps of each optimiser, from the same start, the whole batch
every step; entries (the loss before each step's update):
  'sgd'   SGD lr SGD_RATES[NAME], momentum 0.9, weight decay 1e-4,
  'adam'  Adam lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 1e-4.
Bit-for-bit reproducible (float64, one thread);
converter/tests/test_trajectory_fixtures.py regenerates and compares bytes.
Needs torch and numpy (Debian's /usr/bin/python3).
"""
import os
import sys
from collections import OrderedDict

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import m2u_build  # noqa: E402
import m2u_format as fmt  # noqa: E402
import m2uf  # noqa: E402
from make_gradient_fixtures import (DECODER_PREFIXES, FIXTURES, VALID_HEIGHT, VALID_WIDTH,  # noqa: E402
                                    fixtures_main)

STEPS = 20
# SGD's learning rate per fixture: cin3_relu6's random weights give
# gradients ten times larger (a rate of 2e-3 overshoots at once).
SGD_RATES = {"cin1_relu": 2e-3, "cin3_relu6": 2e-4}


def optimisers(torch, parameters, name):
    """The optimisers of fixture `name` over `parameters`, by kind."""
    return OrderedDict([
        ("sgd", torch.optim.SGD(parameters, lr=SGD_RATES[name], momentum=0.9, weight_decay=1e-4)),
        ("adam", torch.optim.Adam(parameters, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-4)),
    ])


def trajectory(tensors, cin, activation, x, target, name, kind):
    import torch
    import torch.nn.functional as F
    import m2unet
    model = m2unet.model_from_tensors(tensors, cin, 1, activation, "linear", False, torch.float64)
    trainable = []
    for tensor, parameter in model.named_parameters():
        parameter.requires_grad_(tensor.startswith(DECODER_PREFIXES))
        if parameter.requires_grad:
            trainable.append(parameter)
    optimiser = optimisers(torch, trainable, name)[kind]
    frame = torch.from_numpy(np.asarray(x, np.float64))
    t = torch.from_numpy(target[..., :VALID_HEIGHT, :VALID_WIDTH])
    losses = []
    for _ in range(STEPS):
        optimiser.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(frame)[..., :VALID_HEIGHT, :VALID_WIDTH], t)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    return np.array(losses)


def make(fixtures_dir, log=print):
    import torch
    torch.set_num_threads(1)
    for name, cin, activation, _ in FIXTURES:
        with open(os.path.join(fixtures_dir, name + ".m2u"), "rb") as f:
            tensors = fmt.read_m2u(f.read()).tensors
        x = np.array(m2uf.read(os.path.join(fixtures_dir, name + ".m2uf"))["input"], np.float64)
        x[..., VALID_HEIGHT:, :] = 0.0
        x[..., :, VALID_WIDTH:] = 0.0
        target = m2uf.read(os.path.join(fixtures_dir, name + "_grad.m2uf"))["target"].astype(np.float64)
        entries = OrderedDict((kind, trajectory(tensors, cin, activation, x, target, name, kind))
                              for kind in ("sgd", "adam"))
        m2u_build.write_atomically(os.path.join(fixtures_dir, name + "_trajectory.m2uf"), m2uf.to_bytes(entries))
        log("%s_trajectory: %s" % (name, "; ".join("%s %.6f -> %.6f" % (k, v[0], v[-1]) for k, v in entries.items())))


def main(argv=None):
    return fixtures_main(make, "Write the loss trajectory fixtures (see module doc).", argv)


if __name__ == "__main__":
    sys.exit(main())
