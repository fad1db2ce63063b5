#!/usr/bin/env python3
"""make_fixtures.py - writes the committed golden fixtures in tests/fixtures/.

  make_fixtures.py [--out DIR]      (default: <repo>/tests/fixtures)

Bit-for-bit reproducible: seeded numpy generators, a fixed provenance date,
torch on one thread, and references computed in float64 (their float32
rounding then does not depend on the CPU's summation order).

Fixtures (H = 48, W = 80):
  cin3_relu6.m2u / .m2uf         Cin 3, ReLU6, sigmoid, raw255, F16 weights,
                                 input N = 1 of integer pixel values 0..255.
  cin1_relu.m2u / .m2uf          Cin 1, ReLU, sigmoid, standardize, F16
                                 weights, input N = 1 standardised per image.
  cin3_relu6_folded.m2u / .m2uf  the cin3_relu6 model exported with
                                 torch.onnx.export (eval, opset 12: batch norm
                                 folded into the Convs) and converted by
                                 m2u_convert.py's ONNX path (F32, BN_FOLDED);
                                 input N = 2; expected outputs are the
                                 unfolded PyTorch model's.
Weights are drawn at random and rounded to float16 (stored F16; the PyTorch
model computes with exactly those values). BN statistics are random but
sane: var U(0.5, 2), mean N(0, 0.1), gamma U(0.5, 1.5), beta N(0, 0.1).
Conv weights start Gaussian and each conv is then rescaled, in execution
order on the fixture input, to a fixed output RMS (1.5 before an
activation, 1 for a linear projection, 2 for the logits), so activations
neither vanish nor explode over the 17 blocks, some values pass ReLU6's
clamp, and the sigmoid output spreads over (0, 1) (the logits are also
centred with the final bias).

.m2uf format (little-endian; also tests/fixtures/README.md):
  magic "M2UFIXT1" (8 bytes), u32 count, u32 reserved = 0,
  `count` entries of 104 bytes:
    u8 name[64] NUL-padded; u32 rank; u32 dims[4] (unused 0); u32 reserved 0;
    u64 offset (absolute, multiple of 64); u64 bytes,
  then the data: float32, PyTorch NCHW order.
  Entries: 'input' (the network input, after the input convention),
  'conv1', 'conv2', 'conv3', 'conv4', 'decode4', 'decode3', 'decode2',
  'decode1' (output of decode1.ir1, 16 channels), 'output'.
"""

import argparse
import math
import os
import sys
import tempfile
import warnings
from collections import OrderedDict

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import m2u_arch  # noqa: E402
import m2u_build  # noqa: E402
import m2u_convert  # noqa: E402
import m2u_format as fmt  # noqa: E402
import m2uf  # noqa: E402

FIXED_DATE = "2024-01-01T00:00:00Z"
HEIGHT, WIDTH = 48, 80
TARGET_RMS_ACT, TARGET_RMS_LINEAR, TARGET_RMS_LOGITS = 1.5, 1.0, 2.0

# name, Cin, activation, convention, weight seed, input seed, batch
RAW_FIXTURES = (
    ("cin3_relu6", 3, "relu6", "raw255", 301, 302, 1),
    ("cin1_relu", 1, "relu", "standardize", 101, 102, 1),
)
FOLDED = ("cin3_relu6_folded", "cin3_relu6", 303, 2)  # name, model, input seed, batch


def make_input(cin, convention, seed, batch):
    rng = np.random.default_rng(seed)
    if convention == "raw255":
        return rng.integers(0, 256, (batch, cin, HEIGHT, WIDTH)).astype(np.float32)
    x = rng.standard_normal((batch, cin, HEIGHT, WIDTH))
    axes = (1, 2, 3)
    x = (x - x.mean(axis=axes, keepdims=True)) / x.std(axis=axes, keepdims=True)
    return x.astype(np.float32)


def random_tensors(cin, seed):
    """Raw M2U-Net tensors (float64) with BN statistics as documented above."""
    rng = np.random.default_rng(seed)
    arch = m2u_arch.make_architecture(cin, 1)
    tensors = OrderedDict()
    for conv in m2u_arch.all_convs(arch):
        fan_in = conv.cin // conv.groups * conv.kernel ** 2
        tensors[conv.name + ".weight"] = (rng.standard_normal(m2u_arch.weight_shape(conv))
                                          / math.sqrt(fan_in))
        n = conv.cout
        if conv.bn:
            tensors[conv.bn + ".weight"] = rng.uniform(0.5, 1.5, n)
            tensors[conv.bn + ".bias"] = rng.normal(0, 0.1, n)
            tensors[conv.bn + ".running_mean"] = rng.normal(0, 0.1, n)
            tensors[conv.bn + ".running_var"] = rng.uniform(0.5, 2.0, n)
        else:
            tensors[conv.name + ".bias"] = rng.normal(0, 0.1, n)
    return OrderedDict((k, v.astype(np.float16)) for k, v in tensors.items())


def calibrate(tensors, cin, activation, x):
    """Rescales each conv weight (in execution order, one forward pass) so its
    output has the target RMS on x; weights stay float16-exact."""
    import torch
    import m2unet
    model = m2unet.model_from_tensors(tensors, cin, 1, activation, "sigmoid", False,
                                      torch.float64)
    arch = m2u_arch.make_architecture(cin, 1)

    def hook_for(conv):
        target = (TARGET_RMS_ACT if conv.act else
                  TARGET_RMS_LOGITS if not conv.bn else TARGET_RMS_LINEAR)

        def hook(module, inputs, output):
            if module.bias is not None:  # the logits: also centre them with the bias
                output = output - module.bias[None, :, None, None]
                mean = output.mean(dim=(0, 2, 3))
                centred = output - mean[None, :, None, None]
                scale = target / float(torch.sqrt(torch.mean(centred ** 2)))
                bias = conv.name + ".bias"
                tensors[bias] = (-mean.numpy() * scale).astype(np.float16)
                module.bias.copy_(torch.from_numpy(tensors[bias].astype(np.float64)))
            else:
                scale = target / float(torch.sqrt(torch.mean(output ** 2)))
            key = conv.name + ".weight"
            tensors[key] = (tensors[key].astype(np.float64) * scale).astype(np.float16)
            module.weight.copy_(torch.from_numpy(tensors[key].astype(np.float64)))
            return module._conv_forward(inputs[0], module.weight, module.bias)
        return hook

    handles = [model.get_submodule(conv.name).register_forward_hook(hook_for(conv))
               for conv in m2u_arch.all_convs(arch)]
    with torch.no_grad():
        model(torch.from_numpy(x).double())
    for h in handles:
        h.remove()
    return tensors


def convert(source, out_path, convention, extra=()):
    argv = [source, "-o", out_path, "--input-convention", convention,
            "--fixed-date", FIXED_DATE] + list(extra)
    if m2u_convert.main(argv) != 0:
        raise SystemExit("make_fixtures: converting %s failed" % source)
    with open(out_path, "rb") as f:
        return fmt.read_m2u(f.read())


def stats_line(name, entries):
    cells = []
    for key, v in entries.items():
        rms = float(np.sqrt(np.mean(np.square(v, dtype=np.float64))))
        cells.append("%s rms %.3g max %.3g" % (key, rms, float(np.abs(v).max())))
    out = entries["output"]
    spread = float(np.mean((out > 0.05) & (out < 0.95)))
    return "%s: %s; output in [%.3f, %.3f], %.0f%% within (0.05, 0.95)" % (
        name, ", ".join(cells), float(out.min()), float(out.max()), 100 * spread)


def make(out_dir, log=print):
    import torch
    import m2unet
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(out_dir, exist_ok=True)
    models = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, cin, activation, convention, seed, input_seed, batch in RAW_FIXTURES:
            x = make_input(cin, convention, input_seed, batch)
            tensors = calibrate(random_tensors(cin, seed), cin, activation, x)
            pth = os.path.join(tmp, name + ".pth")
            torch.save(OrderedDict((k, torch.from_numpy(v)) for k, v in tensors.items()), pth)
            m = convert(pth, os.path.join(out_dir, name + ".m2u"), convention,
                        ["--activation", activation, "--output", "sigmoid"])
            model = m2unet.model_from_tensors(m.tensors, cin, 1, activation, "sigmoid", False,
                                              torch.float64)
            entries = m2unet.reference_outputs(model, x)
            m2u_build.write_atomically(os.path.join(out_dir, name + ".m2uf"),
                                       m2uf.to_bytes(entries))
            log(stats_line(name, entries))
            models[name] = (m, cin, activation, convention)

        name, source, input_seed, batch = FOLDED
        m, cin, activation, convention = models[source]
        x = make_input(cin, convention, input_seed, batch)
        model32 = m2unet.model_from_tensors(m.tensors, cin, 1, activation, "sigmoid", False)
        onnx_path = os.path.join(tmp, source + ".onnx")
        with warnings.catch_warnings():  # the tracer notes that return_stages is constant
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            torch.onnx.export(model32, torch.zeros(1, cin, HEIGHT, WIDTH), onnx_path,
                              opset_version=12, training=torch.onnx.TrainingMode.EVAL,
                              do_constant_folding=True, input_names=["input"],
                              output_names=["output"])
        convert(onnx_path, os.path.join(out_dir, name + ".m2u"), convention)
        model64 = m2unet.model_from_tensors(m.tensors, cin, 1, activation, "sigmoid", False,
                                            torch.float64)
        entries = m2unet.reference_outputs(model64, x)
        m2u_build.write_atomically(os.path.join(out_dir, name + ".m2uf"), m2uf.to_bytes(entries))
        log(stats_line(name, entries))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Write the golden fixtures (see module doc).")
    parser.add_argument("--out", default=os.path.join(HERE, "..", "tests", "fixtures"),
                        help="output folder (default: tests/fixtures)")
    args = parser.parse_args(argv)
    make(os.path.normpath(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
