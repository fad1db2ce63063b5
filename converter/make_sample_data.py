#!/usr/bin/env python3
"""make_sample_data.py - writes ../examples/data/: a synthetic raw DPC dump.

  /usr/bin/python3 converter/make_sample_data.py [--out DIR] [--dpc-png FILE]

What a DPC microscope's 12-bit monochrome camera gives for one field of view
of a thin blood smear (synth_smear.py: red cells as elliptical discs, some
touching or overlapping, debris, a slight background ramp):

  smear_left.raw, smear_right.raw   the sample lit by the left and by the
                                    right half of the LED matrix
  flat_left.raw, flat_right.raw     the same two illuminations on a blank
                                    slide (flat fields)
  smear_mask.png                    the ground-truth cell mask (8-bit grey,
                                    255 cell, 0 background)
  README.md                         every file, its format and size, the
                                    recipe and this command

Frames are WIDTH x HEIGHT GenICam Mono12p (mono12p.py: two pixels in three
bytes, LSB first, rows back to back). The sample frames are rendered so that
dividing each by its flat field and taking
  dpc = clip((L - R) / (L + R) + 0.5, 0, 1)
gives synth_smear's DPC image; the camera adds Poisson shot noise (GAIN_E_PER_DN
electrons per grey level) and read noise, and the illumination has vignetting
and a left/right tilt that only the flat fields remove. Black level 0.
--dpc-png also writes that 8-bit DPC image, computed from the written files
(not kept in the repository). Seeded: the same numpy gives the same bytes.
"""

import argparse
import hashlib
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import mono12p  # noqa: E402
import png_write  # noqa: E402
import synth_smear  # noqa: E402

WIDTH, HEIGHT = 1024, 768
SEED = 20240602
# the smear, matched to ../shared/data/octopi_dpc_rbc_1024.png (cells about 26 px)
SMEAR = dict(coverage=0.38, diameter=26.0, diameter_sd=2.6, overlap_fraction=0.08,
             blur_sigma=1.2, edge_px=1.0, relief=0.11, gradient=0.01)
# the optics and the camera
PEAK_DN = 2600.0          # blank-slide signal at the centre of the field, grey levels
TILT = 0.12               # each half-matrix illumination is 12 % brighter on one side
VIGNETTING = 0.30         # 30 % darker at the corners than at the centre
ABSORPTION = 0.03         # cells absorb 3 % (common to L and R: cancels in the DPC)
GAIN_E_PER_DN = 2.5       # electrons per grey level (shot noise)
READ_NOISE_DN = 2.0
FLAT_AVERAGE = 16         # the flat fields are the mean of this many blank frames

FILES = (
    ("smear_left.raw", "sample, left half of the LED matrix lit"),
    ("smear_right.raw", "sample, right half of the LED matrix lit"),
    ("flat_left.raw", "flat field (blank slide), left half lit; mean of %d frames"
     % FLAT_AVERAGE),
    ("flat_right.raw", "flat field (blank slide), right half lit; mean of %d frames"
     % FLAT_AVERAGE),
)
MASK_FILE = "smear_mask.png"


def illumination(height, width):
    """(left, right) flat fields in grey levels, noise-free: vignetting times
    a linear tilt across x, opposite for the two halves of the LED matrix."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    xn = (xx - (width - 1) / 2.0) / ((width - 1) / 2.0)
    yn = (yy - (height - 1) / 2.0) / ((width - 1) / 2.0)
    r2 = (xn * xn + yn * yn) / (1.0 + ((height - 1.0) / (width - 1.0)) ** 2)
    vignette = 1.0 - VIGNETTING * r2
    return PEAK_DN * vignette * (1.0 - TILT * xn), PEAK_DN * vignette * (1.0 + TILT * xn)


def expose(rng, mean_dn, frames=1):
    """12-bit frame of mean `mean_dn`: Poisson electrons and Gaussian read
    noise, averaged over `frames` exposures, rounded and clipped."""
    electrons = rng.poisson(np.maximum(mean_dn, 0.0) * GAIN_E_PER_DN * frames)
    dn = electrons / (GAIN_E_PER_DN * frames)
    dn = dn + rng.normal(0.0, READ_NOISE_DN / np.sqrt(frames), mean_dn.shape)
    return np.clip(np.rint(dn), 0, mono12p.MAX_VALUE).astype(np.uint16)


def render(seed=SEED, width=WIDTH, height=HEIGHT):
    """dict of uint16 frames (file name -> frame), the mask, the noise-free DPC."""
    rng = np.random.default_rng(seed)
    dpc, mask, cells = synth_smear.render_dpc(rng, height, width, **SMEAR)
    u = dpc - 0.5
    transmission = 1.0 - ABSORPTION * mask
    flat_l, flat_r = illumination(height, width)
    frames = {
        "smear_left.raw": expose(rng, flat_l * transmission * (1.0 + u)),
        "smear_right.raw": expose(rng, flat_r * transmission * (1.0 - u)),
        "flat_left.raw": expose(rng, flat_l, FLAT_AVERAGE),
        "flat_right.raw": expose(rng, flat_r, FLAT_AVERAGE),
    }
    return frames, mask, dpc, len(cells["cy"])


def dpc_from_frames(left, right, flat_left, flat_right):
    """The DPC image in [0, 1]: each frame divided by its flat field, then
    clip((L - R) / (L + R) + 0.5, 0, 1)."""
    lf = left.astype(np.float64) / np.maximum(flat_left.astype(np.float64), 1.0)
    rf = right.astype(np.float64) / np.maximum(flat_right.astype(np.float64), 1.0)
    total = lf + rf
    d = np.where(total > 0, (lf - rf) / np.where(total > 0, total, 1.0), 0.0)
    return np.clip(d + 0.5, 0.0, 1.0)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


README = """# Sample data: a synthetic raw DPC dump

What the 12-bit monochrome camera of a DPC microscope gives for one field
of view of a thin blood smear: the sample lit from the left and from the
right half of the LED matrix, the two flat fields, and the ground-truth
cell mask. Synthetic, made by this project (no patient data), MIT licensed
like the rest of it. Made by `converter/make_sample_data.py` (seed {seed});
regenerate with (from the repository root)

```
/usr/bin/python3 converter/make_sample_data.py
```

`--out DIR` writes elsewhere; `--dpc-png FILE` also writes the 8-bit DPC
image computed from the raw files (not kept here).

## Files

| file | what | format | width x height | bytes |
|---|---|---|---|---|
{rows}| `{mask}` | ground-truth cell mask | PNG, 8-bit grey, 255 = cell, 0 = background | {w} x {h} | {mask_bytes} |

{total} bytes in all, with this README.

The four `.raw` files are **GenICam Mono12p** (the flat fields too), no
header: {w} x {h} pixels, row-major from the top-left, 12 significant bits
(0..4095), rows packed back to back (no row padding), every two consecutive
pixels p0, p1 in three bytes, LSB first:

    byte 0 = p0 bits 0..7
    byte 1 = p0 bits 8..11 (low nibble) | p1 bits 0..3 (high nibble)
    byte 2 = p1 bits 4..11

so a frame is {w} x {h} x 3 / 2 = {frame_bytes} bytes. Black level 0 (no
dark offset to subtract). `converter/mono12p.py` packs and unpacks it
(`mono12p.read_frame(path, {w}, {h})` gives a uint16 array); the older
GigE Vision "Mono12Packed" orders the bits differently.

SHA-256 of the files as generated with numpy {numpy}:

{sums}
## How it was made

1. `converter/synth_smear.py` renders a {w} x {h} thin blood smear: {cells}
   red blood cells as elliptical discs (mean diameter {diameter:g} px,
   {cover:.1f} % of the field under the mask, {overlap:.0f} % extra cells
   that overlap others), each an optical phase profile (soft edge, central
   pallor), plus debris (small phase blobs, not in the mask). Its DPC image
   for the left/right split of the illumination is `dpc = 0.5 + u`, `u`
   minus the x-derivative of the phase blurred by the optics (Gaussian sigma
   {blur:g} px; rims reach about +-{relief:g}), plus a {gradient:g}
   background ramp. The mask is the union of the discs.
2. The illumination: one flat field per half of the LED matrix, peak
   {peak:g} grey levels, {vig:.0f} % vignetting towards the corners and a
   +-{tilt:.0f} % tilt along x, opposite for the two halves.
3. The sample frames: `L = flat_L * T * (1 + u)`, `R = flat_R * T * (1 - u)`,
   `T` = 1 - {absorb:g} inside cells (absorption, the same in both), then
   Poisson shot noise at {gain:g} electrons per grey level and {read:g} grey
   levels of read noise, rounded to 12 bits.
4. The flat fields: the same illumination on a blank slide, the mean of
   {avg} exposures, rounded to 12 bits.

## Turning it into a DPC image

Divide each sample frame by its flat field (L = smear_left / flat_left,
R = smear_right / flat_right), then

    dpc = clip((L - R) / (L + R) + 0.5, 0, 1)

(`dpc_from_frames` in `converter/make_sample_data.py`), usually stored as
8-bit, `round(255 * dpc)`. Each cell's left rim comes out dark and its right
rim bright. From these files: background {bg:.3f}, noise {noise:.4f} (std,
away from cells), {rms:.4f} RMS from the noise-free DPC image. Segment it
with a model whose input convention is per-image standardisation, e.g.
`weights/m2unet_synthetic_1ch.m2u`, and compare with `{mask}`.
"""


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=os.path.join(REPO, "examples", "data"),
                   help="output folder (default %(default)s)")
    p.add_argument("--dpc-png", metavar="FILE",
                   help="also write the 8-bit DPC image computed from the written files")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    frames, mask, dpc_true, cells = render()
    rows, sums = "", ""
    for name, what in FILES:
        path = os.path.join(args.out, name)
        mono12p.write_frame(path, frames[name])
        rows += "| `%s` | %s | Mono12p, no header | %d x %d | %d |\n" % (
            name, what, WIDTH, HEIGHT, os.path.getsize(path))
        print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))
    mask_path = os.path.join(args.out, MASK_FILE)
    png_write.write_grey8(mask_path, np.where(mask, 255, 0).astype(np.uint8))
    print("wrote %s (%d bytes, %.1f %% cells)" % (mask_path, os.path.getsize(mask_path),
                                                  100 * mask.mean()))
    for name, _ in FILES:
        sums += "    %s  %s\n" % (sha256(os.path.join(args.out, name)), name)
    sums += "    %s  %s\n" % (sha256(mask_path), MASK_FILE)

    # read the files back, as a user would, and check the DPC they give
    back = {name: mono12p.read_frame(os.path.join(args.out, name), WIDTH, HEIGHT)
            for name, _ in FILES}
    for name, _ in FILES:
        assert np.array_equal(back[name], frames[name]), name
    dpc = dpc_from_frames(back["smear_left.raw"], back["smear_right.raw"],
                          back["flat_left.raw"], back["flat_right.raw"])
    far = ~synth_smear.dilate(mask, 6)
    resid = dpc - dpc_true
    stats = dict(bg=float(np.median(dpc[far])), noise=float(resid[far].std()),
                 rms=float(np.sqrt(np.mean(resid ** 2))))
    print("DPC from the files: background %.3f, noise %.4f, RMS vs noise-free %.4f"
          % (stats["bg"], stats["noise"], stats["rms"]))
    if args.dpc_png:
        png_write.write_grey8(args.dpc_png, synth_smear.to_u8(dpc))
        print("wrote %s" % args.dpc_png)

    readme_template = README.replace("{total}", "{{total}}").format(
        seed=SEED, rows=rows, mask=MASK_FILE, w=WIDTH, h=HEIGHT,
        mask_bytes=os.path.getsize(mask_path), frame_bytes=mono12p.packed_bytes(WIDTH * HEIGHT),
        numpy=np.__version__, sums=sums, cells=cells, diameter=SMEAR["diameter"],
        cover=100 * mask.mean(), overlap=100 * SMEAR["overlap_fraction"],
        blur=SMEAR["blur_sigma"], relief=SMEAR["relief"], gradient=SMEAR["gradient"],
        peak=PEAK_DN, vig=100 * VIGNETTING, tilt=100 * TILT, absorb=ABSORPTION,
        gain=GAIN_E_PER_DN, read=READ_NOISE_DN, avg=FLAT_AVERAGE, **stats)
    readme_bytes = len(readme_template.encode())
    # the total includes the README, whose text includes the total: settle it
    for _ in range(3):
        total = sum(os.path.getsize(os.path.join(args.out, n)) for n, _ in FILES)
        total += os.path.getsize(mask_path) + readme_bytes
        readme = readme_template.replace("{total}", str(total))
        readme_bytes = len(readme.encode())
    with open(os.path.join(args.out, "README.md"), "w") as f:
        f.write(readme)
    print("wrote %s" % os.path.join(args.out, "README.md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
