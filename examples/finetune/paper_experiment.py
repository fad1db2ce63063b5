#!/usr/bin/env python3
"""paper_experiment.py - the paper's fine-tuning experiment with m2urt's own
trainer: a model trained for one microscope meets "another microscope" and
its decoder is fine-tuned on the device on that microscope's images.

  /usr/bin/python3 examples/finetune/paper_experiment.py M2U_FINETUNE M2U_INFER WORK_DIR
      [--model weights/m2unet_synthetic_1ch.m2u] [--real-image IMG --real-model M.m2u]
      [--steps N] [--crop N] [--batch N] [--schedules decoder,decoder-last] [--quick]

The other microscope (degrade() below): the same thin smears seen through
a blurrier objective (an extra Gaussian blur of sigma 1.6 px), an
asymmetric illumination (the bright rims 1.5x, the dark rims 0.6x: the two
LED halves are not balanced), a lower contrast (0.6x around a background
moved to 0.62) and more sensor noise (8 grey levels), rounded to 8 bits:
outside what the default model was trained on (converter/train_synthetic.py:
blur 0.8-1.8, noise 1-6, balanced halves). Its images:
  - synthetic smears (converter/synth_smear.py, the training geometry
    distribution, other seeds) with their exact masks, through degrade();
  - with --real-image and --real-model: the real Octopi image through
    degrade(), masked by the real 1-channel model on the clean image
    (m2u_infer, threshold 0.5): its left half gives training tiles, its
    right half is held out.
The default model is fine-tuned decoder-only with m2u_finetune on the
training pairs, for each schedule; the held-out IoU (m2u_infer on the whole
held-out images, threshold 0.5, against their masks) is measured before
and after. Prints a Markdown table; --quick is the small CI variant.
"""
import argparse
import os
import re
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "converter"))
import png_read  # noqa: E402
import png_write  # noqa: E402
import synth_smear  # noqa: E402
import train_synthetic  # noqa: E402

SEED = 20261202


def gaussian_blur(image, sigma):
    radius = int(np.ceil(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    padded = np.pad(image, radius, mode="reflect")
    rows = sum(taps[i] * padded[:, i:i + image.shape[1]] for i in range(len(taps)))
    return sum(taps[i] * rows[i:i + image.shape[0], :] for i in range(len(taps)))


def degrade(rng, dpc):
    """The other microscope: DPC intensity in [0, 1] (background near its
    median) -> its 8-bit image."""
    background = float(np.median(dpc))
    u = gaussian_blur(dpc, 1.6) - background
    u = np.where(u > 0, 1.5 * u, 0.6 * u)
    seen = 0.62 + 0.6 * u + rng.normal(0.0, 8.0 / 255.0, dpc.shape)
    return synth_smear.to_u8(seen)


def synthetic_pairs(rng, count, size):
    pairs = []
    for _ in range(count):
        dpc, mask, _ = synth_smear.render_dpc(rng, size, size, **train_synthetic.random_geometry(rng))
        pairs.append((degrade(rng, dpc), mask.astype(np.uint8)))
    return pairs


def grey(image):
    """The first channel of a decoded PNG (H x W or H x W x C)."""
    return image if image.ndim == 2 else image[..., 0]


def run(command, log):
    start = time.time()
    result = subprocess.run(command, capture_output=True, text=True)
    with open(log, "w") as f:
        f.write(" ".join(command) + "\n" + result.stdout + result.stderr)
    if result.returncode != 0:
        sys.exit("paper_experiment: %s failed (%d), see %s:\n%s" % (command[0], result.returncode, log,
                                                                   result.stderr[-2000:]))
    return result.stdout, time.time() - start


def probabilities(infer, model, images, work, tag):
    """m2u_infer's FP32 probability maps of `images` (name -> 8-bit array)."""
    folder = os.path.join(work, "infer_" + tag)
    os.makedirs(folder, exist_ok=True)
    paths = []
    for name, image in images.items():
        path = os.path.join(folder, name + ".png")
        png_write.write_grey8(path, image)
        paths.append(path)
    run([infer, "--model", model, "--out", folder, "--threshold", "0.5", "--quiet"] + paths,
        os.path.join(work, "infer_%s.log" % tag))
    masks = {}
    for name in images:
        masks[name] = grey(png_read.read_png(os.path.join(folder, name + "_mask.png"))) > 0
    return masks


def held_out_iou(infer, model, held_out, work, tag):
    predicted = probabilities(infer, model, {n: img for n, (img, _) in held_out.items()}, work, tag)
    inter = union = 0
    for name, (_, truth) in held_out.items():
        p, t = predicted[name], truth > 0
        inter += int(np.logical_and(p, t).sum())
        union += int(np.logical_or(p, t).sum())
    return inter / union if union else 1.0


def main():
    parser = argparse.ArgumentParser(description="The paper's fine-tuning experiment (see the module doc).")
    parser.add_argument("finetune")
    parser.add_argument("infer")
    parser.add_argument("work")
    parser.add_argument("--model", default=os.path.join(REPO, "weights", "m2unet_synthetic_1ch.m2u"))
    parser.add_argument("--real-image")
    parser.add_argument("--real-model")
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--crop", type=int, default=96)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--lr", default="1e-3")
    parser.add_argument("--schedules", default="decoder,decoder-last")
    parser.add_argument("--quick", action="store_true", help="the small CI variant")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.crop, args.batch = 30, 64, 2
    os.makedirs(args.work, exist_ok=True)
    rng = np.random.default_rng(SEED)
    size = 128 if args.quick else 192
    train = synthetic_pairs(rng, 4 if args.quick else 8, size)
    held_out = {"synthetic_%d" % i: pair for i, pair in enumerate(synthetic_pairs(rng, 2 if args.quick else 4, size))}
    if args.real_image and args.real_model:
        clean = grey(png_read.read_png(args.real_image))
        truth = probabilities(args.infer, args.real_model, {"real": clean}, args.work, "real_truth")["real"]
        seen = degrade(rng, clean.astype(np.float64) / 255.0)
        half = seen.shape[1] // 2
        for top in range(0, seen.shape[0] - size + 1, size):  # training tiles from the left half
            for left in range(0, half - size + 1, size):
                train.append((seen[top:top + size, left:left + size],
                              truth[top:top + size, left:left + size].astype(np.uint8)))
        held_out["real_right_half"] = (seen[:, half:], truth[:, half:].astype(np.uint8))
    data = os.path.join(args.work, "data")
    os.makedirs(data, exist_ok=True)
    for i, (image, mask) in enumerate(train):
        png_write.write_grey8(os.path.join(data, "train_%02d.png" % i), image)
        png_write.write_grey8(os.path.join(data, "train_%02d_mask.png" % i), mask * 255)

    before = held_out_iou(args.infer, args.model, held_out, args.work, "before")
    rows = []
    for schedule in args.schedules.split(","):
        out = os.path.join(args.work, "tuned_%s.m2u" % schedule)
        stdout, seconds = run([args.finetune, "--model", args.model, "--out", out, "--data", data,
                               "--crop", str(args.crop), "--batch", str(args.batch), "--steps", str(args.steps),
                               "--optimizer", "adam", "--lr", args.lr, "--loss", "bce+dice", "--train", schedule,
                               "--validation", "0", "--log-every", "10"],
                              os.path.join(args.work, "finetune_%s.log" % schedule))
        epochs = re.findall(r"^epoch \d+: mean loss ([0-9.]+)", stdout, re.M)
        after = held_out_iou(args.infer, out, held_out, args.work, "after_" + schedule)
        rows.append((schedule, after, float(epochs[0]), float(epochs[-1]), len(epochs), seconds))
    print("the other microscope: %d training pairs (%s), held out: %s" % (
        len(train), "synthetic + real left-half tiles" if args.real_image else "synthetic",
        ", ".join("%s %dx%d" % (n, p[0].shape[1], p[0].shape[0]) for n, p in held_out.items())))
    print("steps %d, batch %d, crops %d, Adam lr %s, bce+dice; held-out IoU before: %.4f" % (
        args.steps, args.batch, args.crop, args.lr, before))
    print("| schedule | held-out IoU before | after | mean loss, first epoch | last epoch (of n) | m2u_finetune wall time |")
    print("|---|---:|---:|---:|---:|---:|")
    for schedule, after, first, final, count, seconds in rows:
        print("| %s | %.4f | %.4f | %.4f | %.4f (%d) | %.0f s |" % (schedule, before, after, first, final, count,
                                                                   seconds))
    worse = [r[0] for r in rows if not r[1] > before]
    if worse:
        sys.exit("paper_experiment: fine-tuning did not improve the held-out IoU for %s" % ", ".join(worse))


if __name__ == "__main__":
    main()
