#!/usr/bin/env bash
# demo_sample.sh - README command 1's inference, as a test: the shipped
# default model on the shipped synthetic Mono12p DPC sample must produce the
# mask, overlay and JSON, find cells, and its mask is measured against the
# sample's ground truth (IoU printed; required above 0.5).
# Usage: demo_sample.sh M2U_INFER ROOT WORK_DIR PYTHON
set -euo pipefail
infer="$1" root="$2" work="$3" python="$4"
rm -rf "$work" && mkdir -p "$work"
data="$root/examples/data"
"$infer" --model "$root/weights/m2unet_synthetic_1ch.m2u" --out "$work" \
  --format mono12p --width 1024 --height 768 \
  --dpc "$data/smear_left.raw" "$data/smear_right.raw" --flat "$data/flat_left.raw" "$data/flat_right.raw" \
  --otsu --min-area 20
for suffix in _probability.png _mask.png _labels.png _overlay.png .json; do
  [[ -s "$work/smear_left_dpc$suffix" ]] || { echo "missing smear_left_dpc$suffix"; exit 1; }
done
"$python" - "$root/converter" "$work/smear_left_dpc_mask.png" "$data/smear_mask.png" "$work/smear_left_dpc.json" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1])
import png_read
mask = png_read.read_png(sys.argv[2])[:, :, 0] > 0
truth = png_read.read_png(sys.argv[3])[:, :, 0] > 0
iou = (mask & truth).sum() / max((mask | truth).sum(), 1)
cells = json.load(open(sys.argv[4]))["cell_count"]
print("demo sample: %d cells, IoU with the ground truth %.3f" % (cells, iou))
sys.exit(0 if cells > 0 and iou > 0.5 else 1)
PY
