"""Writer and reader of .m2uf fixture files (named float32 tensors).

Layout, all little-endian (tests/fixtures/README.md repeats it):
  magic "M2UFIXT1" (8 bytes), u32 count, u32 reserved = 0,
  `count` entries of 104 bytes: u8 name[64] (NUL-padded), u32 rank,
    u32 dims[4] (unused 0), u32 reserved = 0, u64 offset (absolute,
    multiple of 64), u64 bytes,
  then the data: float32, PyTorch NCHW order, each tensor at its offset
  (zero padding in between).
Needs numpy only.
"""

import struct
from collections import OrderedDict

import numpy as np

MAGIC = b"M2UFIXT1"
ENTRY = struct.Struct("<64sI4IIQQ")
ALIGNMENT = 64


def to_bytes(tensors):
    """File bytes for an ordered mapping name -> array (stored as float32)."""
    items = [(name, np.ascontiguousarray(a, dtype="<f4")) for name, a in tensors.items()]
    cursor = 16 + ENTRY.size * len(items)
    offsets = []
    for _, a in items:
        cursor = (cursor + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT
        offsets.append(cursor)
        cursor += a.nbytes
    out = bytearray(cursor)
    struct.pack_into("<8sII", out, 0, MAGIC, len(items), 0)
    for i, ((name, a), offset) in enumerate(zip(items, offsets)):
        if not 1 <= a.ndim <= 4 or len(name) > 63 or not name.isascii():
            raise ValueError("fixture tensor '%s' (rank %d) cannot be stored" % (name, a.ndim))
        dims = list(a.shape) + [0] * (4 - a.ndim)
        ENTRY.pack_into(out, 16 + i * ENTRY.size, name.encode("ascii"), a.ndim, *dims, 0,
                        offset, a.nbytes)
        out[offset:offset + a.nbytes] = a.tobytes()
    return bytes(out)


def read(path):
    """OrderedDict name -> float32 array of a .m2uf file."""
    with open(path, "rb") as f:
        data = bytearray(f.read())  # writable arrays
    magic, count, reserved = struct.unpack_from("<8sII", data, 0)
    if magic != MAGIC or reserved != 0:
        raise ValueError("%s is not a .m2uf fixture file" % path)
    tensors = OrderedDict()
    for i in range(count):
        raw, rank, d0, d1, d2, d3, _, offset, nbytes = ENTRY.unpack_from(data, 16 + i * ENTRY.size)
        dims = (d0, d1, d2, d3)[:rank]
        tensors[raw.rstrip(b"\0").decode("ascii")] = np.frombuffer(
            data, "<f4", nbytes // 4, offset).reshape(dims)
    return tensors
