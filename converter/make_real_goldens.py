#!/usr/bin/env python3
"""make_real_goldens.py - goldens from the real Octopi models, for the C++ tests.

  make_real_goldens.py --data ../shared/data --out BUILD_DIR/real_goldens

Run at test time (the real files are never copied into the repository).
Writes into OUT:
  m2unet_rbc_1ch.m2u                 1-channel .pth, --input-convention standardize
  m2unet_rbc_3ch.m2u                 3-channel .pth, --input-convention raw255
  m2unet_rbc_3ch_relu_bnfolded.m2u   the ONNX export, raw255 --activation relu
  crop.u8                            the grey crop: 256 x 256 bytes, row-major
  <model>.m2uf for each: 'input' (the crop after the model's input
    convention, 1 x Cin x 256 x 256), the eight stage outputs and 'output'.
    The .pth models' come from the PyTorch reference model (m2unet.py), the
    ONNX model's from onnx_eval.py; its stage tensors are the ONNX tensors
    the converter's mapping assigns to each stage. All computed in float64,
    stored as float32. The ONNX graph has no Sigmoid: its 'output' is logits.
The crop is rows 384..639, columns 384..639 (the centre) of
octopi_dpc_rbc_1024.png, whose grey value is stored in all three RGB
channels (channel 0 is used; the script checks that they agree).
.m2uf is described in make_fixtures.py and tests/fixtures/README.md.
Exit status 2 when a data file is missing or cannot be converted.
"""

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import input_convention  # noqa: E402
import m2u_build  # noqa: E402
import m2u_convert  # noqa: E402
import m2u_format as fmt  # noqa: E402
import m2uf  # noqa: E402
import png_read  # noqa: E402

IMAGE = "octopi_dpc_rbc_1024.png"
CROP_ROW, CROP_COL, CROP_SIZE = 384, 384, 256
MODELS = (  # source file, converter arguments
    ("m2unet_rbc_1ch.pth", ["--input-convention", "standardize"]),
    ("m2unet_rbc_3ch.pth", ["--input-convention", "raw255"]),
    ("m2unet_rbc_3ch_relu_bnfolded.onnx", ["--input-convention", "raw255", "--activation", "relu"]),
)


def grey_crop(path):
    rgb = png_read.read_png(path)
    if rgb.shape[2] >= 3 and not (np.array_equal(rgb[..., 0], rgb[..., 1])
                                  and np.array_equal(rgb[..., 0], rgb[..., 2])):
        raise SystemExit("make_real_goldens: %s is not grey (RGB channels differ)" % path)
    crop = rgb[CROP_ROW:CROP_ROW + CROP_SIZE, CROP_COL:CROP_COL + CROP_SIZE, 0]
    if crop.shape != (CROP_SIZE, CROP_SIZE):
        raise SystemExit("make_real_goldens: %s is smaller than the crop" % path)
    return np.ascontiguousarray(crop)


def reference(source, m, x):
    """OrderedDict input, stages, output for the converted model `m` on x."""
    if source.endswith(".onnx"):
        import onnx_eval
        import onnx_import
        mapping = onnx_import.map_onnx(source, None, "keep")
        values = onnx_eval.evaluate(source, x, list(mapping.stage_tensors.values()))
        entries = {"input": x}
        entries.update((stage, values[name]) for stage, name in mapping.stage_tensors.items())
        entries["output"] = values[mapping.output_name]
        return entries
    import torch
    import m2unet
    info = m.info
    model = m2unet.model_from_tensors(
        m.tensors, info.in_channels, info.out_channels,
        fmt.ACTIVATION_NAMES[info.hidden_activation], fmt.OUTPUT_NAMES[info.output_activation],
        info.bn_folded, torch.float64)
    return m2unet.reference_outputs(model, x)


def make(data_dir, out_dir, log=print):
    for name, _ in MODELS + ((IMAGE, None),):
        if not os.path.isfile(os.path.join(data_dir, name)):
            print("make_real_goldens: %s is missing in %s" % (name, data_dir), file=sys.stderr)
            return 2
    os.makedirs(out_dir, exist_ok=True)
    crop = grey_crop(os.path.join(data_dir, IMAGE))
    m2u_build.write_atomically(os.path.join(out_dir, "crop.u8"), crop.tobytes())
    for name, args in MODELS:
        source = os.path.join(data_dir, name)
        stem = os.path.splitext(name)[0]
        out = os.path.join(out_dir, stem + ".m2u")
        if m2u_convert.main([source, "-o", out] + args) != 0:
            return 2
        with open(out, "rb") as f:
            m = fmt.read_m2u(f.read())
        x = input_convention.apply_convention(crop, m.info)
        entries = reference(source, m, x)
        m2u_build.write_atomically(os.path.join(out_dir, stem + ".m2uf"), m2uf.to_bytes(entries))
        y = entries["output"]
        log("%s: output in [%.4g, %.4g], mean %.4g" % (stem, y.min(), y.max(), y.mean()))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description="Write goldens of the real models (see doc).")
    parser.add_argument("--data", required=True, help="folder with the real weights and image")
    parser.add_argument("--out", required=True, help="output folder")
    args = parser.parse_args(argv)
    return make(args.data, args.out)


if __name__ == "__main__":
    sys.exit(main())
