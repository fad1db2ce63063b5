"""A minimal PNG encoder (zlib + numpy): 8-bit grey images, filter type 0.

The counterpart of png_read.py, so the tools need no imaging package. The
output is deterministic (zlib level 9, no time or text chunks).
"""

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind, body):
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def encode_grey8(image):
    """PNG bytes of a 2-D uint8 array (colour type 0, bit depth 8)."""
    a = np.ascontiguousarray(image)
    if a.ndim != 2 or a.dtype != np.uint8:
        raise ValueError("expected a 2-D uint8 array, got %s %s" % (a.dtype, a.shape))
    h, w = a.shape
    rows = np.zeros((h, w + 1), dtype=np.uint8)  # filter byte 0 (None) per row
    rows[:, 1:] = a
    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return (SIGNATURE + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 9)) + _chunk(b"IEND", b""))


def write_grey8(path, image):
    with open(path, "wb") as f:
        f.write(encode_grey8(image))
