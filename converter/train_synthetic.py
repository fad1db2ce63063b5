#!/usr/bin/env python3
"""train_synthetic.py - trains the project's default model on synthetic smears.

  /usr/bin/python3 converter/train_synthetic.py            (the shipped model)
  /usr/bin/python3 converter/train_synthetic.py --steps 50 --m2u /tmp/x.m2u

A 1-channel M2U-Net (m2unet.py: ReLU6, sigmoid output) learns red-blood-cell
masks from synthetic DPC images of thin blood smears (synth_smear.py: cells
as elliptical discs with the DPC rim relief, overlaps, debris, background
ramps, noise) on the CPU, in minutes. Input convention, as for the real
1-channel Octopi model: the 8-bit DPC value x standardised over the image
(the training crop; the whole image at evaluation), (x - mean) / std with the
population std. The trained state_dict is saved (--pth) and converted with
m2u_convert.py (--input-convention standardize, --dtype f16, a fixed
provenance date) into --m2u, by default ../weights/m2unet_synthetic_1ch.m2u.

Training data: a pool of POOL_IMAGES synthetic 320x320 images, each with its
own random geometry and optics (coverage 10-50 %, cell diameter 20-34 px,
overlaps, blur, rim contrast, the illumination axis up to 17 degrees off x);
each step takes BATCH random CROPxCROP crops, flips them at random (a
left/right mirror also turns the relief round: the model sees both orders of
the L and R frames), puts them at a random background level with fresh
Gaussian noise (1-6 grey levels), rounds to 8 bits and standardises each
crop. Loss: binary cross entropy + soft dice. Adam, learning rate LR with a
cosine decay to 5 % over the steps. The held-out set (another seed) is
HELDOUT_IMAGES whole 256x256 images, each standardised as a whole; the IoU is
over all their pixels at threshold 0.5.

Reproducibility: every random draw comes from --seed (numpy Generator and
torch.manual_seed), torch runs on 2 threads with deterministic algorithms
and denormals flushed; see ../weights/README.md for what was checked.
"""

import argparse
import math
import os
import shutil
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import m2u_convert  # noqa: E402
import synth_smear  # noqa: E402
from m2unet import M2UNet  # noqa: E402

FIXED_DATE = "2024-01-01T00:00:00Z"
DEFAULT_M2U = os.path.join(REPO, "weights", "m2unet_synthetic_1ch.m2u")
PTH_NAME = "m2unet_synthetic_1ch.pth"
DEFAULT_PTH = os.path.join(REPO, "out", PTH_NAME)

SEED = 20240601
STEPS = 800
BATCH = 8
CROP = 128
LR = 2e-3
POOL_IMAGES = 48
POOL_SIZE = 320
HELDOUT_IMAGES = 8
HELDOUT_SIZE = 256
HELDOUT_SEED_OFFSET = 1000003


def random_geometry(rng):
    """Keyword arguments of synth_smear.render_dpc for one training image."""
    diameter = rng.uniform(20.0, 34.0)
    return dict(coverage=rng.uniform(0.10, 0.50), diameter=diameter,
                diameter_sd=0.1 * diameter, overlap_fraction=rng.uniform(0.0, 0.15),
                blur_sigma=rng.uniform(0.8, 1.8), edge_px=rng.uniform(0.6, 1.5),
                relief=rng.uniform(0.04, 0.15), gradient=rng.uniform(0.0, 0.03),
                axis_angle=rng.uniform(-0.3, 0.3))


def to_8bit(rng, dpc):
    """An 8-bit DPC image: the background moved to a random level, fresh
    Gaussian noise of 1-6 grey levels, rounded and clipped."""
    level = rng.uniform(0.2, 0.55)
    noise = rng.uniform(1.0, 6.0) / 255.0
    return synth_smear.to_u8(dpc - 0.5 + level + rng.normal(0.0, noise, dpc.shape))


def standardize(x8):
    """(x - mean) / std over the whole array (population std), float32."""
    x = np.asarray(x8, dtype=np.float64)
    return ((x - x.mean()) / max(x.std(), 1e-6)).astype(np.float32)


def make_pool(rng, count, size):
    images, masks = [], []
    for _ in range(count):
        dpc, mask, _ = synth_smear.render_dpc(rng, size, size, **random_geometry(rng))
        images.append(dpc.astype(np.float32))
        masks.append(mask)
    return np.stack(images), np.stack(masks)


def make_heldout(seed):
    """(list of 8-bit images, list of masks): the held-out evaluation set."""
    rng = np.random.default_rng(seed + HELDOUT_SEED_OFFSET)
    images, masks = [], []
    for _ in range(HELDOUT_IMAGES):
        dpc, mask, _ = synth_smear.render_dpc(rng, HELDOUT_SIZE, HELDOUT_SIZE,
                                              **random_geometry(rng))
        images.append(to_8bit(rng, dpc))
        masks.append(mask)
    return images, masks


def batch_from_pool(rng, pool, pool_masks, batch, crop):
    xs, ys = [], []
    n, size = pool.shape[0], pool.shape[1]
    for _ in range(batch):
        i = rng.integers(n)
        y0, x0 = rng.integers(0, size - crop + 1, size=2)
        dpc = pool[i, y0:y0 + crop, x0:x0 + crop]
        mask = pool_masks[i, y0:y0 + crop, x0:x0 + crop]
        if rng.random() < 0.5:  # mirror left/right: as if L and R were swapped too
            dpc, mask = dpc[:, ::-1], mask[:, ::-1]
        if rng.random() < 0.5:
            dpc, mask = dpc[::-1], mask[::-1]
        xs.append(standardize(to_8bit(rng, dpc)))
        ys.append(mask.astype(np.float32))
    return (torch.from_numpy(np.stack(xs)[:, None].copy()),
            torch.from_numpy(np.stack(ys)[:, None].copy()))


def loss_fn(prob, target):
    bce = F.binary_cross_entropy(prob, target)
    inter = (prob * target).sum()
    dice = 1.0 - (2.0 * inter + 1.0) / (prob.sum() + target.sum() + 1.0)
    return bce + dice, bce, dice


def predict(model, image8):
    """Sigmoid probability (H, W) of an 8-bit image, standardised as a whole."""
    with torch.no_grad():
        x = torch.from_numpy(standardize(image8)[None, None])
        return model(x)[0, 0].numpy()


def iou(pred, truth):
    union = np.logical_or(pred, truth).sum()
    return float(np.logical_and(pred, truth).sum() / union) if union else 1.0


def evaluate(model, images, masks):
    """(pooled IoU at 0.5, list of per-image IoUs)."""
    model.eval()
    inter = union = 0
    per_image = []
    for image, mask in zip(images, masks):
        pred = predict(model, image) > 0.5
        inter += np.logical_and(pred, mask).sum()
        union += np.logical_or(pred, mask).sum()
        per_image.append(iou(pred, mask))
    return float(inter / union), per_image


def set_deterministic(seed):
    torch.set_num_threads(2)
    torch.set_flush_denormal(True)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(seed)


def train(args):
    set_deterministic(args.seed)
    rng = np.random.default_rng(args.seed)
    t0 = time.time()
    pool, pool_masks = make_pool(rng, POOL_IMAGES, POOL_SIZE)
    heldout = make_heldout(args.seed)
    print("data: %d pool images %dx%d (cell cover %.1f %%), %d held-out %dx%d, %.1f s"
          % (POOL_IMAGES, POOL_SIZE, POOL_SIZE, 100 * pool_masks.mean(), HELDOUT_IMAGES,
             HELDOUT_SIZE, HELDOUT_SIZE, time.time() - t0), flush=True)

    model = M2UNet(1, 1, activation="relu6", output="sigmoid")
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    t1 = time.time()
    running = []
    for step in range(1, args.steps + 1):
        lr = args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * (step - 1) / args.steps)))
        for group in opt.param_groups:
            group["lr"] = lr
        model.train()
        x, y = batch_from_pool(rng, pool, pool_masks, args.batch, args.crop)
        prob = model(x)
        loss, bce, dice = loss_fn(prob, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        running.append((loss.item(), bce.item(), dice.item()))
        if step % args.log_every == 0 or step == args.steps:
            m = np.mean(running, axis=0)
            running = []
            print("step %4d/%d  loss %.4f (bce %.4f, dice %.4f)  lr %.2e  %.0f s"
                  % (step, args.steps, m[0], m[1], m[2], lr, time.time() - t1), flush=True)
    train_s = time.time() - t1
    pooled, per_image = evaluate(model, *heldout)
    print("trained %d steps in %.1f s (%.2f s/step); held-out IoU at 0.5: %.4f "
          "(per image %s)" % (args.steps, train_s, train_s / args.steps, pooled,
                              " ".join("%.3f" % v for v in per_image)), flush=True)
    return model


def save_state_dict(model, pth):
    os.makedirs(os.path.dirname(os.path.abspath(pth)), exist_ok=True)
    torch.save(model.state_dict(), pth)
    print("saved state_dict %s" % pth)


def convert(model, m2u, pth=None):
    """Converts through a state_dict named PTH_NAME in a temporary folder: the
    .m2u records the source's name and SHA-256, and torch.save's archive
    holds the file's name, so the bytes must not depend on --pth."""
    with tempfile.TemporaryDirectory() as folder:
        source = os.path.join(folder, PTH_NAME)
        torch.save(model.state_dict(), source)
        argv = ["--input-convention", "standardize", "--dtype", "f16",
                "--fixed-date", FIXED_DATE]
        print("m2u_convert.py %s -o %s %s" % (PTH_NAME, m2u, " ".join(argv)))
        rc = m2u_convert.main([source, "-o", m2u] + argv)
        if rc != 0:
            raise SystemExit("conversion failed (exit status %d)" % rc)
        if pth:
            os.makedirs(os.path.dirname(os.path.abspath(pth)), exist_ok=True)
            shutil.copyfile(source, pth)
            print("saved state_dict %s" % pth)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--steps", type=int, default=STEPS)
    p.add_argument("--batch", type=int, default=BATCH)
    p.add_argument("--crop", type=int, default=CROP, help="crop side, a multiple of 16")
    p.add_argument("--lr", type=float, default=LR)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--pth", default=DEFAULT_PTH,
                   help="where to keep the trained state_dict (default %(default)s; a copy of "
                        "the file the .m2u is converted from)")
    p.add_argument("--m2u", default=DEFAULT_M2U, help=".m2u output (default %(default)s)")
    p.add_argument("--no-convert", action="store_true", help="save the state_dict only")
    args = p.parse_args(argv)
    if args.crop % 16 or args.crop > POOL_SIZE:
        p.error("--crop must be a multiple of 16 and at most %d" % POOL_SIZE)
    t0 = time.time()
    model = train(args)
    if args.no_convert:
        save_state_dict(model, args.pth)
    else:
        convert(model, args.m2u, args.pth)
    print("total %.1f s" % (time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
