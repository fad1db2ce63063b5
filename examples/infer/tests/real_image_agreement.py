#!/usr/bin/env python3
"""real_image_agreement.py - m2u_infer's mask on the real Octopi image equals
the PyTorch reference's mask with the same threshold.

  real_image_agreement.py M2U_INFER MODEL.m2u IMAGE.png WORK_DIR

MODEL.m2u is m2unet_rbc_1ch.pth converted (per-image standardisation). The
reference: converter/m2unet.py in float64 on the whole 1024x1024 image,
standardised over the whole image, threshold 0.5. m2u_infer runs the whole
frame (one standardisation, as the reference) and 768-pixel tiles
overlapping by 2 x 192 (more than the network's receptive-field radius,
each tile standardised with the whole frame's statistics), and prints the
pixel agreement of the masks; both must reach >= 99.99%.

Then the whole frame with --precision fp16 against the FP32 run: F5's bar,
mask IoU >= 0.999 and max |dp| <= 1e-2 (measured 0.99983 and 0.0086 with
FP16's per-layer mixed precision; README "Precision"). Its JSON must say
fp16 and give the per-layer table: 36 layers in half2 (conv2..conv4's 1x1
and depthwise convs), FP32 storage exactly in decode2's and decode1's block.
"""

import json

import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CONVERTER = os.path.normpath(os.path.join(HERE, "..", "..", "..", "converter"))
sys.path.insert(0, CONVERTER)

import input_convention  # noqa: E402
import m2u_format as fmt  # noqa: E402
import m2unet  # noqa: E402
import png_read  # noqa: E402


def main():
    infer, model_path, image_path, work = sys.argv[1:5]
    os.makedirs(work, exist_ok=True)
    grey = png_read.read_png(image_path)[:, :, 0]
    with open(model_path, "rb") as f:
        m = fmt.read_m2u(f.read())
    import torch
    info = m.info
    model = m2unet.model_from_tensors(m.tensors, info.in_channels, info.out_channels,
                                      fmt.ACTIVATION_NAMES[info.hidden_activation],
                                      fmt.OUTPUT_NAMES[info.output_activation], info.bn_folded,
                                      torch.float64)
    x = input_convention.apply_convention(grey, info)
    with torch.no_grad():
        reference = model(torch.from_numpy(x).to(torch.float64)).numpy()[0, 0]
    reference_mask = reference > 0.5
    height, width = grey.shape
    results = {}
    for name, extra in (("whole", []), ("tiled", ["--tile", "768", "--overlap", "192"])):
        out = os.path.join(work, name)
        subprocess.run([infer, "--model", model_path, "--out", out, "--raw-output", "--quiet",
                        "--threshold", "0.5"] + extra + [image_path], check=True)
        stem = os.path.splitext(os.path.basename(image_path))[0]
        probability = np.fromfile(os.path.join(out, stem + "_probability.f32"),
                                  dtype=np.float32).reshape(height, width)
        mask = probability > 0.5
        agreement = float(np.mean(mask == reference_mask))
        results[name] = agreement
        print("%s: mask agreement with PyTorch %.5f%% (%d of %d pixels differ), max |p diff| %.3g, "
              "foreground %.1f%% (reference %.1f%%)"
              % (name, 100 * agreement, int(np.sum(mask != reference_mask)), mask.size,
                 float(np.max(np.abs(probability - reference))), 100 * mask.mean(),
                 100 * reference_mask.mean()))
    ok = min(results.values()) >= 0.9999

    out = os.path.join(work, "whole_fp16")
    subprocess.run([infer, "--model", model_path, "--out", out, "--raw-output", "--quiet", "--threshold", "0.5",
                    "--precision", "fp16", image_path], check=True)
    stem = os.path.splitext(os.path.basename(image_path))[0]
    fp16 = np.fromfile(os.path.join(out, stem + "_probability.f32"), dtype=np.float32).reshape(height, width)
    fp32 = np.fromfile(os.path.join(work, "whole", stem + "_probability.f32"),
                       dtype=np.float32).reshape(height, width)
    with open(os.path.join(out, stem + ".json")) as f:
        summary = json.load(f)
    half2 = sum("half2" in layer["arithmetic"] for layer in summary["layer_precision"])
    a, b = fp16 > 0.5, fp32 > 0.5
    iou = float(np.sum(a & b)) / max(int(np.sum(a | b)), 1)
    worst = float(np.max(np.abs(fp16 - fp32)))
    print("fp16 vs fp32 (whole frame): mask IoU %.6f (%d pixels differ), max |dp| %.3g, mean |dp| %.3g, "
          "agreement with PyTorch %.5f%%; JSON precision %s, %d of %d layers in half2"
          % (iou, int(np.sum(a != b)), worst, float(np.mean(np.abs(fp16 - fp32))),
             100 * float(np.mean(a == reference_mask)), summary["precision"], half2,
             len(summary["layer_precision"])))
    float_layers = sorted(layer["layer"] for layer in summary["layer_precision"] if layer["storage"] == "fp32")
    print("layers stored in fp32: %s" % ", ".join(float_layers))
    ok = ok and np.all(np.isfinite(fp16)) and iou >= 0.999 and worst <= 1e-2
    ok = ok and summary["precision"] == "fp16" and half2 == 36
    ok = ok and len(float_layers) == 6 and all(name.startswith(("decode2.", "decode1.")) for name in float_layers)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
