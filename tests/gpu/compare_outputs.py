#!/usr/bin/env python3
"""compare_outputs.py - one whole-network output against another: the
device's probability map (m2u_infer --raw-output, float32, row-major)
against the emulation's for the same model, frame and precision
(run_device_suite.sh's comparison stage). Plain Python: the lent machine
may have no numpy.

  compare_outputs.py LABEL REFERENCE.f32 CANDIDATE.f32 --max-abs X --min-iou Y

Prints one line: pixels, identical pixels, max and mean |dp|, the masks'
(p > 0.5) IoU and differing pixels. Exit status 0 when both files hold the
same number of finite values, max |dp| <= X and IoU >= Y; 1 otherwise; 2
for bad arguments or unreadable files.
"""

import argparse
import array
import math
import sys


def read_floats(path):
    values = array.array("f")
    with open(path, "rb") as f:
        data = f.read()
    if len(data) % 4 != 0:
        raise ValueError("%s: %d bytes, not a whole number of float32 values" % (path, len(data)))
    values.frombytes(data)
    if sys.byteorder != "little":
        values.byteswap()
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("label")
    parser.add_argument("reference")
    parser.add_argument("candidate")
    parser.add_argument("--max-abs", type=float, required=True)
    parser.add_argument("--min-iou", type=float, required=True)
    args = parser.parse_args()
    try:
        a, b = read_floats(args.reference), read_floats(args.candidate)
    except (OSError, ValueError) as error:
        print("%s: %s" % (args.label, error))
        return 2
    if len(a) != len(b) or not a:
        print("%s: FAIL: %d reference values, %d candidate values" % (args.label, len(a), len(b)))
        return 1
    worst = total = 0.0
    identical = nonfinite = both = either = differ = 0
    # Over the pixels finite in both (a non-finite one fails the comparison).
    for x, y in zip(a, b):
        if not (math.isfinite(x) and math.isfinite(y)):
            nonfinite += 1
            continue
        d = abs(x - y)
        worst = max(worst, d)
        total += d
        identical += x == y
        mx, my = x > 0.5, y > 0.5
        both += mx and my
        either += mx or my
        differ += mx != my
    iou = both / either if either else 1.0
    ok = nonfinite == 0 and worst <= args.max_abs and iou >= args.min_iou
    print("%s: %s: %d pixels, %d identical, max |dp| %.3g (bound %g), mean |dp| %.3g, mask IoU %.6f (bound %g), "
          "%d mask pixels differ%s"
          % (args.label, "ok" if ok else "FAIL", len(a), identical, worst, args.max_abs,
             total / max(len(a) - nonfinite, 1), iou,
             args.min_iou, differ, ", %d non-finite" % nonfinite if nonfinite else ""))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
