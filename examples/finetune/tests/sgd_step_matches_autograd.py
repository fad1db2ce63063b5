#!/usr/bin/env python3
"""sgd_step_matches_autograd.py - training checked from outside: one step of
  m2u_finetune --optimizer sgd --lr 1 --momentum 0 --weight-decay 0
               --steps 1 --batch 1 --no-augment --loss bce IMAGE MASK
must move every trainable parameter by exactly -dLoss/dparam (PyTorch
autograd on the project's reference model, float64, eval-mode batch norm,
the loss averaged over the image's own pixels of the frame zero-padded to
a multiple of 16 after the input convention) and change nothing else: the
encoder, the running statistics, the header and every other tensor's bytes.

  sgd_step_matches_autograd.py M2U_FINETUNE MODEL.m2u WORK_DIR [SCHEDULE]

Per tensor: ||(OUT - IN) + grad|| / ||grad|| <= 1e-4 (the float32 floor of
the engine's forward and backward, measured about 1e-6). Also a run that
must be refused: --out naming the model (exit 2, the file untouched).
Needs torch and numpy (Debian's /usr/bin/python3).
"""
import hashlib
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "converter"))
import input_convention  # noqa: E402
import m2u_format as fmt  # noqa: E402
import m2unet  # noqa: E402
import png_write  # noqa: E402

HEIGHT, WIDTH = 37, 53  # not multiples of 16: the frame is padded to 48 x 64
SCHEDULES = {"decoder": ("decode4.", "decode3.", "decode2.", "decode1."),
             "decoder-last": ("decode1.",)}


def trainable(name, schedule):
    if name.endswith(("running_mean", "running_var")):
        return False
    if schedule == "decoder-project":  # each decoder block's project conv (.6) and its batch norm (.7)
        return any(name.startswith("decode%d.ir1.conv.%d." % (s, c)) for s in (1, 2, 3, 4) for c in (6, 7))
    return name.startswith(SCHEDULES[schedule])


def autograd(m2u, grey, mask, schedule):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(1)
    info = m2u.info
    x = input_convention.apply_convention(grey, info).astype(np.float64)
    padded = np.zeros((1, x.shape[1], 48, 64))
    padded[:, :, :HEIGHT, :WIDTH] = x
    act = "relu6" if info.hidden_activation == fmt.ACT_RELU6 else "relu"
    model = m2unet.model_from_tensors(m2u.tensors, info.in_channels, info.out_channels, act, "linear",
                                      info.bn_folded, torch.float64)
    params = {}
    for name, p in model.named_parameters():
        p.requires_grad_(trainable(name, schedule))
        if p.requires_grad:
            params[name] = p
    logits = model(torch.from_numpy(padded))[..., :HEIGHT, :WIDTH]
    target = torch.from_numpy((mask != 0).astype(np.float64))[None, None]
    loss = F.binary_cross_entropy_with_logits(logits, target)
    loss.backward()
    return float(loss), {name: p.grad.numpy() for name, p in params.items()}


def main():
    finetune, model_path, work = sys.argv[1:4]
    schedule = sys.argv[4] if len(sys.argv) > 4 else "decoder"
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(11)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    grey = np.clip(128 + 40 * np.sin(xx / 5.0) * np.cos(yy / 7.0) + rng.normal(0, 6, (HEIGHT, WIDTH)), 0, 255)
    grey = grey.astype(np.uint8)
    mask = (((yy - 18) ** 2 / 100.0 + (xx - 25) ** 2 / 220.0) <= 1.0).astype(np.uint8) * 255
    image_path, mask_path = os.path.join(work, "img.png"), os.path.join(work, "img_mask.png")
    png_write.write_grey8(image_path, grey)
    png_write.write_grey8(mask_path, mask)
    out_path = os.path.join(work, "stepped_%s.m2u" % schedule)
    command = [finetune, "--model", model_path, "--out", out_path, "--optimizer", "sgd", "--lr", "1",
               "--momentum", "0", "--weight-decay", "0", "--steps", "1", "--batch", "1", "--no-augment",
               "--loss", "bce", "--train", schedule, image_path, mask_path]
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit("m2u_finetune failed (%d):\n%s%s" % (run.returncode, run.stdout, run.stderr))
    with open(model_path, "rb") as f:
        source_bytes = f.read()
    before = fmt.read_m2u(source_bytes)
    with open(out_path, "rb") as f:
        after = fmt.read_m2u(f.read())
    loss, grads = autograd(before, grey, mask, schedule)
    failures, worst = [], 0.0
    for name, old in before.tensors.items():
        new = after.tensors[name]
        if name in grads:
            if new.dtype != np.float32:
                failures.append("%s: stored as %s, expected F32" % (name, new.dtype))
            moved = new.astype(np.float64) - old.astype(np.float64)
            g = grads[name]
            error = np.linalg.norm(moved + g) / np.linalg.norm(g)
            worst = max(worst, error)
            if not error <= 1e-4:
                failures.append("%s: ||(OUT - IN) + grad|| / ||grad|| = %.3g" % (name, error))
        elif new.dtype != old.dtype or new.tobytes() != old.tobytes():
            failures.append("%s: not trainable under %s, but changed" % (name, schedule))
    if after.info != before.info:
        failures.append("header fields changed: %s -> %s" % (before.info, after.info))
    sha = hashlib.sha256(source_bytes).hexdigest()
    for line in ("fine_tuned_from_sha256: " + sha, "fine_tune_steps: 1", "fine_tune_schedule: " + schedule,
                 "fine_tune_data: 1 training pairs, 0 validation pairs"):
        if line not in after.provenance:
            failures.append("provenance lacks %r" % line)
    if not after.provenance.startswith(before.provenance.rstrip("\n")):
        failures.append("the source's provenance is not kept")
    # --out naming the model is refused, and the model is untouched.
    refused = subprocess.run(command[:3] + ["--out", model_path] + command[5:], capture_output=True, text=True)
    with open(model_path, "rb") as f:
        if refused.returncode != 2 or f.read() != source_bytes:
            failures.append("--out naming the model: exit %d (expected 2)" % refused.returncode)
    print("sgd_step_matches_autograd: %s, %d trainable tensors, PyTorch loss %.6f, worst error %.3g"
          % (schedule, len(grads), loss, worst))
    if failures:
        sys.exit("\n".join(failures))


if __name__ == "__main__":
    main()
