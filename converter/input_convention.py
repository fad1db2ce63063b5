"""Input conventions: parsing the converter's --input-convention, and
applying a .m2u header's convention to an 8-bit grey image.

Conventions (weights/FORMAT.md, "Input convention"):
  raw255       AFFINE, pixel_scale 255, mean 0, std 1: raw 0..255 values
               (the Octopi 3-channel model).
  standardize  PER_IMAGE_STANDARDIZE, pixel_scale 255, std_floor 1e-6:
               (v - mean(v)) / max(std(v), 1e-6) over the whole grey image,
               population std (the Octopi 1-channel model).
  affine:SCALE:M0,M1..:S0,S1..
               AFFINE with pixel_scale SCALE and one mean and std per input
               channel (exactly Cin values each; std > 0).
Needs numpy only.
"""

import math

import numpy as np

import m2u_format as fmt

STANDARDIZE_STD_FLOOR = 1e-6
CONVENTION_HELP = ("raw255 (AFFINE, pixel_scale 255, mean 0, std 1), standardize "
                   "(PER_IMAGE_STANDARDIZE, pixel_scale 255, std_floor 1e-6) or "
                   "affine:SCALE:MEAN0,MEAN1..:STD0,STD1.. (one mean and std per input channel)")


class ConventionError(ValueError):
    """--input-convention text that does not describe a valid convention."""


def _floats(text, what):
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ConventionError("%s '%s' is not a comma-separated list of numbers" % (what, text))
    if not all(math.isfinite(v) for v in values):
        raise ConventionError("%s '%s' must be finite" % (what, text))
    return values


def parse_convention(text, in_channels):
    """Header fields (dict) for a convention string and Cin."""
    mean, std = [0.0] * 8, [0.0] * 8
    if text == "raw255":
        std[:in_channels] = [1.0] * in_channels
        return dict(input_normalization=fmt.NORM_AFFINE, pixel_scale=255.0, std_floor=0.0,
                    channel_mean=mean, channel_std=std)
    if text == "standardize":
        std[:in_channels] = [1.0] * in_channels
        return dict(input_normalization=fmt.NORM_STANDARDIZE, pixel_scale=255.0,
                    std_floor=STANDARDIZE_STD_FLOOR, channel_mean=mean, channel_std=std)
    parts = text.split(":")
    if parts[0] != "affine" or len(parts) != 4:
        raise ConventionError("unknown input convention '%s'; use %s" % (text, CONVENTION_HELP))
    scale = _floats(parts[1], "affine SCALE")
    if len(scale) != 1 or not scale[0] > 0:
        raise ConventionError("affine SCALE '%s' must be one number > 0" % parts[1])
    means = _floats(parts[2], "affine MEAN list")
    stds = _floats(parts[3], "affine STD list")
    for what, values in (("MEAN", means), ("STD", stds)):
        if len(values) != in_channels:
            raise ConventionError("affine %s list has %d values; the model has %d input "
                                  "channels" % (what, len(values), in_channels))
    if not all(s > 0 for s in stds):
        raise ConventionError("affine STD values must be > 0, got %s" % parts[3])
    mean[:in_channels], std[:in_channels] = means, stds
    return dict(input_normalization=fmt.NORM_AFFINE, pixel_scale=scale[0], std_floor=0.0,
                channel_mean=mean, channel_std=std)


def describe(info):
    """One line naming a ModelInfo's convention."""
    cin = info.in_channels
    text = "%s, pixel_scale %g" % (fmt.NORMALIZATION_NAMES[info.input_normalization],
                                   info.pixel_scale)
    if info.input_normalization == fmt.NORM_AFFINE:
        text += ", mean %s, std %s" % (
            [float(v) for v in info.channel_mean[:cin]], [float(v) for v in info.channel_std[:cin]])
    else:
        text += ", std_floor %g" % info.std_floor
    return text + ", grey_fill %s" % fmt.GREY_FILL_NAMES[info.grey_fill]


def apply_convention(grey_u8, info):
    """Network input (1, Cin, H, W) float32 for an 8-bit grey image (H, W)."""
    v = grey_u8.astype(np.float64) / 255.0 * np.float64(np.float32(info.pixel_scale))
    cin = info.in_channels
    if info.input_normalization == fmt.NORM_STANDARDIZE:
        norm = (v - v.mean()) / max(v.std(), float(np.float32(info.std_floor)))
        channels = [norm] * cin
    else:
        channels = [(v - np.float32(info.channel_mean[c])) / np.float32(info.channel_std[c])
                    for c in range(cin)]
    if info.grey_fill == fmt.FILL_FIRST:
        channels = [channels[0]] + [np.zeros_like(v)] * (cin - 1)
    return np.stack(channels)[None].astype(np.float32)
