#!/usr/bin/env bash
# tiled_equals_whole.sh - m2u_infer's tiles are stitched without seams: with
# an overlap of at least M2U-Net's receptive-field radius (about 178 pixels:
# 1 + 2 + 2 + 4 + 4 + 2x8 + 8 + 6x16 from the encoder's 3x3 convolutions,
# plus the decoder's upsampling and depthwise convolutions) the tiled
# probability map equals the whole-frame one, at every pixel (tile origins
# are multiples of 16, so every stride-2 grid lines up). A 1024x64 frame
# keeps the emulated run short: ten 448x64 tiles, overlap 192.
# Usage: tiled_equals_whole.sh M2U_INFER MODEL WORK_DIR PYTHON
set -euo pipefail
infer="$1" model="$2" work="$3" python="$4"
rm -rf "$work" && mkdir -p "$work/whole" "$work/tiled"
"$python" - "$work/frame.raw" <<'PY'
import sys
import numpy as np
rng = np.random.default_rng(5)
y, x = np.mgrid[0:1024, 0:64]
frame = 128 + 60 * np.sin(y / 37.0) * np.cos(x / 11.0) + rng.normal(0, 12, (1024, 64))
np.clip(frame, 0, 255).astype(np.uint8).tofile(sys.argv[1])
PY
common=(--model "$model" --format mono8 --width 64 --height 1024 --raw-output --quiet "$work/frame.raw")
"$infer" --out "$work/whole" "${common[@]}"
"$infer" --out "$work/tiled" --tile 448 --overlap 192 "${common[@]}"
"$python" - "$work/whole/frame_probability.f32" "$work/tiled/frame_probability.f32" <<'PY'
import sys
import numpy as np
whole = np.fromfile(sys.argv[1], dtype=np.float32)
tiled = np.fromfile(sys.argv[2], dtype=np.float32)
assert whole.size == tiled.size == 1024 * 64, (whole.size, tiled.size)
diff = float(np.max(np.abs(whole - tiled)))
print("tiled vs whole frame: max |diff| %.3g over %d pixels (probabilities in [%.3f, %.3f])"
      % (diff, whole.size, whole.min(), whole.max()))
sys.exit(0 if diff <= 1e-5 else 1)
PY
