"""A minimal PNG decoder (zlib + numpy), so the goldens need no imaging package.

Supports what microscope images use: bit depth 8, colour types 0 (grey),
2 (RGB), 4 (grey + alpha) and 6 (RGBA), no interlacing.
"""

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}


class PngError(ValueError):
    """A PNG this decoder cannot read."""


def _chunks(data):
    pos = len(SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length or zlib.crc32(kind + body) != struct.unpack_from(
                ">I", data, pos + 8 + length)[0]:
            raise PngError("chunk %r at byte %d is truncated or fails its CRC" % (kind, pos))
        yield kind, body
        pos += 12 + length


def _unfilter_row(kind, row, prev, bpp):
    """Reconstructs one row in place (bytearrays); prev is the row above."""
    n = len(row)
    if kind == 0:
        return
    if kind == 1:
        for i in range(bpp, n):
            row[i] = (row[i] + row[i - bpp]) & 0xFF
    elif kind == 2:
        for i in range(n):
            row[i] = (row[i] + prev[i]) & 0xFF
    elif kind == 3:
        for i in range(n):
            left = row[i - bpp] if i >= bpp else 0
            row[i] = (row[i] + ((left + prev[i]) >> 1)) & 0xFF
    elif kind == 4:
        for i in range(n):
            if i >= bpp:
                a, c = row[i - bpp], prev[i - bpp]
            else:
                a = c = 0
            b = prev[i]
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            row[i] = (row[i] + pred) & 0xFF
    else:
        raise PngError("unknown filter type %d" % kind)


def read_png(path):
    """uint8 array (H, W, channels)."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(SIGNATURE):
        raise PngError("%s is not a PNG file" % path)
    header, idat = None, []
    for kind, body in _chunks(data):
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        raise PngError("%s has no IHDR chunk" % path)
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in CHANNELS or interlace != 0:
        raise PngError("%s: bit depth %d, colour type %d, interlace %d; this decoder reads "
                       "8-bit non-interlaced grey/RGB(A) only" % (path, depth, colour, interlace))
    channels = CHANNELS[colour]
    stride = width * channels
    raw = zlib.decompress(b"".join(idat))
    if len(raw) != height * (stride + 1):
        raise PngError("%s: image data has %d bytes, expected %d"
                       % (path, len(raw), height * (stride + 1)))
    prev = bytearray(stride)
    out = np.empty((height, stride), dtype=np.uint8)
    for y in range(height):
        start = y * (stride + 1)
        row = bytearray(raw[start + 1:start + 1 + stride])
        _unfilter_row(raw[start], row, prev, channels)
        out[y] = np.frombuffer(bytes(row), dtype=np.uint8)
        prev = row
    return out.reshape(height, width, channels)
