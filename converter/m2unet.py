"""PyTorch reference model of M2U-Net, the network weights/M2UNET.md describes.

`M2UNet(in_channels, out_channels, activation, output, folded)` has exactly
the state_dict names and shapes of the trained Octopi files (e.g.
`conv4.13.conv.6.weight`), so `load_state_dict(strict=True)` takes them.
With `folded=True` every BatchNorm is replaced by the conv's own bias (the
names of a BN_FOLDED .m2u file). `forward(x, return_stages=True)` also
returns the eight named stage outputs. `model_from_tensors` builds a model
from a .m2u file's tensors; `reference_outputs` runs one for fixtures.
"""

from collections import OrderedDict

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

STAGE_NAMES = ("conv1", "conv2", "conv3", "conv4", "decode4", "decode3", "decode2", "decode1")
DECODER_EXPANSION = 0.15


def _activation(kind):
    if kind == "relu6":
        return nn.ReLU6(inplace=False)
    if kind == "relu":
        return nn.ReLU(inplace=False)
    raise ValueError("activation must be 'relu6' or 'relu', not %r" % (kind,))


def _conv_bn(cin, cout, kernel, stride, groups, folded):
    """Conv (padding kernel/2) then BatchNorm (eps 1e-5), or a biased conv when folded."""
    conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=folded)
    norm = nn.Identity() if folded else nn.BatchNorm2d(cout, eps=1e-5)
    return [conv, norm]


class InvertedResidual(nn.Module):
    """MobileNetV2 block: [1x1 expand + act,] 3x3 depthwise + act, 1x1 project (linear)."""

    def __init__(self, inp, oup, stride, t, activation, folded):
        super().__init__()
        hidden = round(inp * t)
        layers = []
        if t != 1:
            layers += _conv_bn(inp, hidden, 1, 1, 1, folded) + [_activation(activation)]
        layers += _conv_bn(hidden, hidden, 3, stride, hidden, folded) + [_activation(activation)]
        layers += _conv_bn(hidden, oup, 1, 1, 1, folded)
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and inp == oup

    def forward(self, x):
        y = self.conv(x)
        return x + y if self.residual else y


class Decoder(nn.Module):
    """Up(x) ++ skip -> one inverted residual block with t = 0.15."""

    def __init__(self, inp, oup, activation, folded):
        super().__init__()
        self.ir1 = InvertedResidual(inp, oup, 1, DECODER_EXPANSION, activation, folded)

    def forward(self, x, skip):
        up = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        return self.ir1(torch.cat([up, skip], dim=1))


def _indexed(first_index, modules):
    """A Sequential whose children keep the encoder's original indices."""
    return nn.Sequential(OrderedDict(
        (str(first_index + i), m) for i, m in enumerate(modules)))


class M2UNet(nn.Module):
    def __init__(self, in_channels, out_channels, activation="relu6", output="sigmoid",
                 folded=False):
        super().__init__()
        if output not in ("sigmoid", "linear"):
            raise ValueError("output must be 'sigmoid' or 'linear', not %r" % (output,))
        self.output = output

        def ir(inp, oup, stride, t):
            return InvertedResidual(inp, oup, stride, t, activation, folded)

        stem = nn.Sequential(*(_conv_bn(in_channels, 32, 3, 2, 1, folded)
                               + [_activation(activation)]))
        self.conv1 = _indexed(0, [stem, ir(32, 16, 1, 1)])
        self.conv2 = _indexed(2, [ir(16, 24, 2, 6), ir(24, 24, 1, 6)])
        self.conv3 = _indexed(4, [ir(24, 32, 2, 6), ir(32, 32, 1, 6), ir(32, 32, 1, 6)])
        self.conv4 = _indexed(7, [ir(32, 64, 2, 6), ir(64, 64, 1, 6), ir(64, 64, 1, 6),
                                  ir(64, 64, 1, 6), ir(64, 96, 1, 6), ir(96, 96, 1, 6),
                                  ir(96, 96, 1, 6)])
        self.decode4 = Decoder(96 + 32, 64, activation, folded)
        self.decode3 = Decoder(64 + 24, 44, activation, folded)
        self.decode2 = Decoder(44 + 16, 30, activation, folded)
        self.decode1 = Decoder(30 + in_channels, 16, activation, folded)
        self.decode1.conv = nn.Sequential(nn.Conv2d(16, out_channels, 1, bias=True))

    def forward(self, x, return_stages=False):
        s = OrderedDict()
        s["conv1"] = self.conv1(x)
        s["conv2"] = self.conv2(s["conv1"])
        s["conv3"] = self.conv3(s["conv2"])
        s["conv4"] = self.conv4(s["conv3"])
        s["decode4"] = self.decode4(s["conv4"], s["conv3"])
        s["decode3"] = self.decode3(s["decode4"], s["conv2"])
        s["decode2"] = self.decode2(s["decode3"], s["conv1"])
        s["decode1"] = self.decode1(s["decode2"], x)
        y = self.decode1.conv(s["decode1"])
        if self.output == "sigmoid":
            y = torch.sigmoid(y)
        return (y, s) if return_stages else y


def model_from_tensors(tensors, in_channels, out_channels, activation, output, folded,
                       dtype=torch.float32):
    """An eval-mode M2UNet holding `tensors` (name -> numpy array, e.g. a .m2u
    file's), widened to `dtype`; loaded strictly (num_batches_tracked aside)."""
    model = M2UNet(in_channels, out_channels, activation, output, folded)
    state = OrderedDict(
        (name, torch.from_numpy(np.asarray(a, dtype=np.float64)).to(dtype))
        for name, a in tensors.items())
    for name, value in model.state_dict().items():
        if name.endswith("num_batches_tracked"):
            state[name] = value
    model.load_state_dict(state, strict=True)
    return model.to(dtype).eval()


def reference_outputs(model, x):
    """OrderedDict of numpy arrays: 'input' (x), the eight stages, 'output'.

    Runs in the model's dtype (float64 for goldens: their float32 rounding
    then does not depend on the CPU's summation order)."""
    dtype = next(model.parameters()).dtype
    with torch.no_grad():
        y, stages = model(torch.from_numpy(np.asarray(x)).to(dtype), return_stages=True)
    out = OrderedDict(input=np.asarray(x))
    out.update((name, stages[name].numpy()) for name in STAGE_NAMES)
    out["output"] = y.numpy()
    return out
