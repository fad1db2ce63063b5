#!/usr/bin/env bash
# batch_and_stdin.sh - m2u_infer takes a directory (batch mode: every image
# in it, sorted) and standard input ("-", here a raw dump), writing one set
# of outputs per input; --fuse-blocks gives the same probabilities (FP32
# within 1e-5), --cuda-graph the same bytes (whole frames, and tiles with
# --tile), and --profile N runs (the profiler calls do nothing in the emu
# flavour; a bad N is refused).
# Usage: batch_and_stdin.sh M2U_INFER MODEL WORK_DIR PYTHON
set -euo pipefail
infer="$1" model="$2" work="$3" python="$4"
rm -rf "$work" && mkdir -p "$work/frames" "$work/out"
"$python" - "$work/frames" <<'PY'
import os, sys, zlib, struct
import numpy as np
def png(path, image):
    raw = b"".join(b"\0" + row.tobytes() for row in image)
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", image.shape[1], image.shape[0], 8, 0, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
rng = np.random.default_rng(1)
for name in ("b_frame.png", "a_frame.png"):
    png(os.path.join(sys.argv[1], name), rng.integers(0, 256, (40, 56), dtype=np.uint8))
rng.integers(0, 4096, (24, 40), dtype=np.uint16).astype("<u2").tofile(os.path.join(sys.argv[1], "..", "stdin.raw"))
PY
"$infer" --model "$model" --out "$work/out" --quiet "$work/frames"
"$infer" --model "$model" --out "$work/out" --quiet --format mono12 --width 40 --height 24 - < "$work/stdin.raw"
for stem in a_frame b_frame stdin; do
  for suffix in _probability.png _mask.png _labels.png _overlay.png .json; do
    [[ -s "$work/out/$stem$suffix" ]] || { echo "missing $stem$suffix"; ls "$work/out"; exit 1; }
  done
done
grep -q '"width": 56' "$work/out/a_frame.json"
grep -q '"input": "stdin"' "$work/out/stdin.json"
"$infer" --model "$model" --out "$work/plain" --quiet --raw-output "$work/frames"
"$infer" --model "$model" --out "$work/fused" --quiet --raw-output --fuse-blocks --profile 1 "$work/frames"
"$infer" --model "$model" --out "$work/graph" --quiet --raw-output --cuda-graph "$work/frames"
# (tiles overlapping by less than the receptive field: m2u_infer warns)
"$infer" --model "$model" --out "$work/tiled" --quiet --raw-output --tile 32 --overlap 8 "$work/frames" \
  2>"$work/tiled.txt" || { cat "$work/tiled.txt"; exit 1; }
"$infer" --model "$model" --out "$work/tiled_graph" --quiet --raw-output --tile 32 --overlap 8 --cuda-graph \
  "$work/frames" 2>"$work/tiled.txt" || { cat "$work/tiled.txt"; exit 1; }
for stem in a_frame b_frame; do
  cmp "$work/plain/${stem}_probability.f32" "$work/graph/${stem}_probability.f32"
  cmp "$work/tiled/${stem}_probability.f32" "$work/tiled_graph/${stem}_probability.f32"
done
"$python" - "$work" <<'PY'
import sys
import numpy as np
for stem in ("a_frame", "b_frame"):
    plain = np.fromfile("%s/plain/%s_probability.f32" % (sys.argv[1], stem), dtype="<f4")
    fused = np.fromfile("%s/fused/%s_probability.f32" % (sys.argv[1], stem), dtype="<f4")
    assert plain.size == 40 * 56 and fused.size == plain.size, (plain.size, fused.size)
    worst = float(np.abs(plain - fused).max())
    assert worst <= 1e-5, "%s: fused blocks differ by %g" % (stem, worst)
    print("%s: fused vs unfused max |dp| %.2g" % (stem, worst))
PY
if "$infer" --model "$model" --out "$work/out" --profile 0 "$work/frames" 2>"$work/err.txt"; then
  echo "--profile 0 was accepted"; exit 1
fi
grep -q -- "--profile 0: expected a number of inputs" "$work/err.txt"
echo "batch and stdin: $(ls "$work/out" | wc -l) files for 3 inputs"
