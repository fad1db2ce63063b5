"""GenICam "Mono12p": 12-bit grey pixels packed two to three bytes.

The layout (GenICam Pixel Format Naming Convention, Mono12p; the common
packed 12-bit format of USB3 Vision / GigE Vision 2 machine-vision cameras):
pixels in row-major order, rows packed back to back with no padding, and
each pair of consecutive pixels p0, p1 (values 0..4095) stored LSB first in
three bytes:

    byte 0 = p0 bits 0..7
    byte 1 = p0 bits 8..11 in the low nibble | p1 bits 0..3 in the high nibble
    byte 2 = p1 bits 4..11

i.e. the 24-bit little-endian word byte0 | byte1 << 8 | byte2 << 16 equals
p0 | p1 << 12. Example: p0 = 0xABC, p1 = 0x123 -> bytes BC 3A 12.
A frame of N pixels takes ceil(N * 3 / 2) bytes; with N odd the last pixel
takes two bytes (byte 1's high nibble zero).

Not to be confused with the older GigE Vision "Mono12Packed", which keeps
the high 8 bits of each pixel whole (byte0 = p0 bits 4..11, byte1 = p0 bits
0..3 | p1 bits 0..3 << 4, byte2 = p1 bits 4..11). Needs numpy only.
"""

import numpy as np

MAX_VALUE = 4095


def packed_bytes(count):
    """Bytes of `count` pixels in Mono12p."""
    return (3 * count + 1) // 2


def pack(pixels):
    """Mono12p bytes of an integer array (any shape, row-major), values 0..4095."""
    p = np.asarray(pixels).ravel()
    if p.size and (p.min() < 0 or p.max() > MAX_VALUE):
        raise ValueError("Mono12p values must be 0..4095, got %d..%d" % (p.min(), p.max()))
    p = p.astype(np.uint16)
    odd = p.size % 2
    if odd:
        p = np.append(p, np.uint16(0))
    p0, p1 = p[0::2], p[1::2]
    out = np.empty((p0.size, 3), dtype=np.uint8)
    out[:, 0] = p0 & 0xFF
    out[:, 1] = (p0 >> 8) | ((p1 & 0xF) << 4)
    out[:, 2] = p1 >> 4
    data = out.tobytes()
    return data[:-1] if odd else data


def unpack(data, count):
    """uint16 array of `count` pixels from Mono12p bytes (exactly
    packed_bytes(count) of them)."""
    b = np.frombuffer(bytes(data), dtype=np.uint8)
    if b.size != packed_bytes(count):
        raise ValueError("%d pixels take %d Mono12p bytes, got %d"
                         % (count, packed_bytes(count), b.size))
    if count % 2:
        b = np.append(b, np.uint8(0))
    g = b.reshape(-1, 3).astype(np.uint16)
    out = np.empty((g.shape[0], 2), dtype=np.uint16)
    out[:, 0] = g[:, 0] | ((g[:, 1] & 0xF) << 8)
    out[:, 1] = (g[:, 1] >> 4) | (g[:, 2] << 4)
    return out.ravel()[:count]


def read_frame(path, width, height):
    """(height, width) uint16 frame from a Mono12p file of exactly that size."""
    with open(path, "rb") as f:
        data = f.read()
    return unpack(data, width * height).reshape(height, width)


def write_frame(path, frame):
    with open(path, "wb") as f:
        f.write(pack(frame))
