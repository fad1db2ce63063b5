#!/usr/bin/env python3
"""compare_with_real_model.py - the default model's mask against the real one's.

  /usr/bin/python3 converter/compare_with_real_model.py [--model FILE.m2u]
                   [--data DIR] [--save-masks DIR]

Segments the real Octopi DPC image (DATA/octopi_dpc_rbc_1024.png) with the
project's default model (../weights/m2unet_synthetic_1ch.m2u, trained on
synthetic smears only) and with the real 1-channel model
(DATA/m2unet_rbc_1ch.pth), both through the PyTorch reference (m2unet.py) in
float32, both with per-image standardisation over the whole 1024x1024 image,
and prints the IoU (and Dice) of the two masks, the real model's mask taken
as the reference. Masks from two thresholds, each applied to each model's
own output: 0.5 on the probability, and Otsu's threshold on the 8-bit
probability round(255 p) (foreground: above the threshold). The figure is
what it is: the default model never saw a real image.

DATA defaults to ../shared/data next to the repository; without the files
the script says so and exits with status 0 (nothing to compare).

--sample first also scores the default model on the shipped sample data
(../examples/data/: the DPC image from the raw Mono12p frames and their flat
fields, rounded to 8 bits) against its ground-truth mask; that needs no
real data.
"""

import argparse
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import m2u_format  # noqa: E402
import png_read  # noqa: E402
from m2unet import M2UNet, model_from_tensors  # noqa: E402

DEFAULT_DATA = os.path.normpath(os.path.join(REPO, "..", "shared", "data"))
DEFAULT_MODEL = os.path.join(REPO, "weights", "m2unet_synthetic_1ch.m2u")
IMAGE = "octopi_dpc_rbc_1024.png"
REAL_MODEL = "m2unet_rbc_1ch.pth"


def otsu_threshold(values_u8):
    """Otsu's threshold t on 8-bit values: foreground is value > t."""
    hist = np.bincount(np.asarray(values_u8, dtype=np.uint8).ravel(),
                       minlength=256).astype(np.float64)
    levels = np.arange(256, dtype=np.float64)
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    s0 = np.cumsum(hist * levels)
    m0 = np.divide(s0, w0, out=np.zeros(256), where=w0 > 0)
    m1 = np.divide(s0[-1] - s0, w1, out=np.zeros(256), where=w1 > 0)
    between = w0 * w1 * (m0 - m1) ** 2
    return int(np.argmax(between))


def standardize(grey_u8):
    x = grey_u8.astype(np.float64)
    return ((x - x.mean()) / max(x.std(), 1e-6)).astype(np.float32)


def run(model, grey_u8):
    with torch.no_grad():
        return model(torch.from_numpy(standardize(grey_u8)[None, None]))[0, 0].numpy()


def masks(prob):
    """{'0.5': mask, 'otsu': mask}, and the Otsu threshold."""
    p8 = np.clip(np.rint(prob * 255.0), 0, 255).astype(np.uint8)
    t = otsu_threshold(p8)
    return {"0.5": prob > 0.5, "otsu": p8 > t}, t


def scores(a, b):
    inter = np.logical_and(a, b).sum()
    union = np.logical_or(a, b).sum()
    total = a.sum() + b.sum()
    return (inter / union if union else 1.0), (2.0 * inter / total if total else 1.0)


def load_default_model(path):
    """(eval-mode model, ModelInfo) of a 1-channel standardisation .m2u."""
    with open(path, "rb") as f:
        m2u = m2u_format.read_m2u(f.read())
    info = m2u.info
    if info.in_channels != 1 or info.input_normalization != m2u_format.NORM_STANDARDIZE:
        raise SystemExit("compare_with_real_model: %s is not a 1-channel per-image "
                         "standardisation model" % path)
    model = model_from_tensors(
        m2u.tensors, 1, info.out_channels,
        "relu6" if info.hidden_activation == m2u_format.ACT_RELU6 else "relu",
        "sigmoid" if info.output_activation == m2u_format.OUT_SIGMOID else "linear",
        info.bn_folded)
    return model, info


def score_sample(model, name):
    """The default model on ../examples/data/ against its ground-truth mask."""
    import make_sample_data as sample
    import mono12p
    folder = os.path.join(REPO, "examples", "data")
    w, h = sample.WIDTH, sample.HEIGHT
    frames = [mono12p.read_frame(os.path.join(folder, f), w, h) for f in (
        "smear_left.raw", "smear_right.raw", "flat_left.raw", "flat_right.raw")]
    grey = np.clip(np.rint(sample.dpc_from_frames(*frames) * 255.0), 0, 255).astype(np.uint8)
    truth = png_read.read_png(os.path.join(folder, sample.MASK_FILE))[..., 0] > 0
    ours, t = masks(run(model, grey))
    for kind in ("0.5", "otsu"):
        iou, dice = scores(ours[kind], truth)
        print("sample data (examples/data, %dx%d): %s vs ground truth, %s: IoU %.4f "
              "(Dice %.4f); foreground %.1f %% vs %.1f %%"
              % (w, h, name, "threshold 0.5" if kind == "0.5" else "Otsu %d" % t, iou, dice,
                 100 * ours[kind].mean(), 100 * truth.mean()))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=DEFAULT_MODEL, help="default: %(default)s")
    p.add_argument("--data", default=DEFAULT_DATA, help="default: %(default)s")
    p.add_argument("--save-masks", metavar="DIR", help="write the four masks as PNG files")
    p.add_argument("--sample", action="store_true",
                   help="first score the default model on ../examples/data/ too")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    torch.set_flush_denormal(True)
    ours, _ = load_default_model(args.model)
    if args.sample:
        score_sample(ours, os.path.basename(args.model))
    image_path = os.path.join(args.data, IMAGE)
    real_path = os.path.join(args.data, REAL_MODEL)
    missing = [f for f in (image_path, real_path) if not os.path.isfile(f)]
    if missing:
        print("compare_with_real_model: skipped: the real data is not there (%s missing; "
              "expected the shared data folder at %s)" % (", ".join(missing), args.data))
        return 0
    real = M2UNet(1, 1, "relu6", "sigmoid")
    real.load_state_dict(torch.load(real_path, map_location="cpu"), strict=True)
    real.eval()

    rgb = png_read.read_png(image_path)
    grey = rgb[..., 0]
    print("image %s: %dx%d, mean %.1f, std %.1f" % (IMAGE, grey.shape[1], grey.shape[0],
                                                    grey.mean(), grey.std()))
    t0 = time.time()
    prob_real = run(real, grey)
    prob_ours = run(ours, grey)
    print("ran both models in %.1f s" % (time.time() - t0))
    real_masks, real_t = masks(prob_real)
    our_masks, our_t = masks(prob_ours)
    print("real 1-channel model (%s): Otsu threshold %d/255, foreground %.1f %% at 0.5, "
          "%.1f %% at Otsu" % (REAL_MODEL, real_t, 100 * real_masks["0.5"].mean(),
                                100 * real_masks["otsu"].mean()))
    print("default model (%s): Otsu threshold %d/255, foreground %.1f %% at 0.5, "
          "%.1f %% at Otsu" % (os.path.basename(args.model), our_t,
                                100 * our_masks["0.5"].mean(), 100 * our_masks["otsu"].mean()))
    for kind in ("0.5", "otsu"):
        iou, dice = scores(our_masks[kind], real_masks[kind])
        label = "threshold 0.5" if kind == "0.5" else "Otsu thresholds (%d vs %d)" % (
            our_t, real_t)
        print("IoU default vs real model, %s: %.4f (Dice %.4f)" % (label, iou, dice))
    if args.save_masks:
        import png_write
        os.makedirs(args.save_masks, exist_ok=True)
        for who, ms in (("real", real_masks), ("default", our_masks)):
            for kind, m in ms.items():
                path = os.path.join(args.save_masks, "mask_%s_%s.png" % (who, kind))
                png_write.write_grey8(path, np.where(m, 255, 0).astype(np.uint8))
                print("wrote %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
