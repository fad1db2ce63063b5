#!/usr/bin/env python3
"""test_compare_outputs.py - compare_outputs.py (the device suite's check of
the device's whole-network output against the emulation's) passes equal and
nearly equal maps and fails each way a map can be wrong: a value past the
bound, flipped mask pixels below the IoU bound, a NaN, a short file.

  test_compare_outputs.py WORK_DIR
"""

import array
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def write(path, values):
    with open(path, "wb") as f:
        array.array("f", values).tofile(f)


def compare(work, reference, candidate, max_abs, min_iou):
    a, b = os.path.join(work, "a.f32"), os.path.join(work, "b.f32")
    write(a, reference)
    write(b, candidate)
    run = subprocess.run([sys.executable, os.path.join(HERE, "compare_outputs.py"), "case", a, b,
                          "--max-abs", str(max_abs), "--min-iou", str(min_iou)], capture_output=True, text=True)
    print(run.stdout.strip())
    return run.returncode


def main():
    work = sys.argv[1]
    os.makedirs(work, exist_ok=True)
    rng = random.Random(5)
    p = [rng.random() for _ in range(4096)]
    near = [v + rng.uniform(-1e-6, 1e-6) for v in p]
    far = list(p)
    far[100] += 0.02
    flipped = [1.0 - v if i % 50 == 0 else v for i, v in enumerate(p)]  # about 2% of the mask pixels
    nan = list(p)
    nan[7] = float("nan")
    checks = [
        ("identical maps pass", compare(work, p, p, 0.0, 1.0) == 0),
        ("within the bound passes", compare(work, p, near, 1e-5, 0.999) == 0),
        ("one value past the bound fails", compare(work, p, far, 1e-2, 0.0) == 1),
        ("flipped mask pixels below the IoU bound fail", compare(work, p, flipped, 1.0, 0.99) == 1),
        ("a NaN fails", compare(work, p, nan, 1.0, 0.0) == 1),
        ("a short file fails", compare(work, p, p[:-1], 1.0, 0.0) == 1),
    ]
    for name, passed in checks:
        print("%s: %s" % ("ok  " if passed else "FAIL", name))
    return 0 if all(passed for _, passed in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
