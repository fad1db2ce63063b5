"""Writer and validating reader of .m2u weight files, format version 1.

The format is specified in weights/FORMAT.md; this module follows it to the
byte. `write_m2u` lays out header, provenance, tensor table, an empty
quantisation table, 64-byte aligned data and the CRC-32 trailer, and checks
its own output with `read_m2u`. `read_m2u` enforces every rule of the spec
and raises `M2uFormatError` naming the field, tensor or offset at fault.
`expected_tensors` gives the tensor set fixed by (Cin, Cout, BN_FOLDED).
Needs numpy only.
"""

import math
import struct
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

import m2u_arch

MAGIC = b"M2UWEIGH"
FORMAT_VERSION = 1
HEADER_BYTES = 256
TENSOR_ENTRY_BYTES = 128
QUANT_ENTRY_BYTES = 96
DATA_ALIGNMENT = 64
MAX_PROVENANCE_BYTES = 65536
MAX_TENSORS = 1024
MAX_QUANT = 1024
FLAG_BN_FOLDED = 1
NO_QUANT = 0xFFFFFFFF

DTYPE_F32, DTYPE_F16, DTYPE_I8 = 0, 1, 2
DTYPE_NAMES = {DTYPE_F32: "F32", DTYPE_F16: "F16", DTYPE_I8: "I8"}
NUMPY_DTYPES = {DTYPE_F32: np.dtype("<f4"), DTYPE_F16: np.dtype("<f2"), DTYPE_I8: np.dtype("i1")}

ACT_RELU6, ACT_RELU = 0, 1
ACTIVATION_NAMES = {ACT_RELU6: "relu6", ACT_RELU: "relu"}
OUT_SIGMOID, OUT_LINEAR = 0, 1
OUTPUT_NAMES = {OUT_SIGMOID: "sigmoid", OUT_LINEAR: "linear"}
NORM_AFFINE, NORM_STANDARDIZE = 0, 1
NORMALIZATION_NAMES = {NORM_AFFINE: "AFFINE", NORM_STANDARDIZE: "PER_IMAGE_STANDARDIZE"}
FILL_REPLICATE, FILL_FIRST = 0, 1
GREY_FILL_NAMES = {FILL_REPLICATE: "REPLICATE", FILL_FIRST: "FIRST_CHANNEL"}
QUANT_KIND_NAMES = {1: "WEIGHT_PER_OUTPUT_CHANNEL", 2: "ACTIVATION_PER_TENSOR"}
REQUIRED_PROVENANCE_KEYS = ("source", "source_sha256", "converter", "date")

# Header layout after the magic: (name, struct code, offset).
_HEADER_FIELDS = (
    ("format_version", "I", 8), ("header_bytes", "I", 12), ("file_bytes", "Q", 16),
    ("flags", "I", 24), ("in_channels", "I", 28), ("out_channels", "I", 32),
    ("hidden_activation", "I", 36), ("output_activation", "I", 40), ("bn_epsilon", "f", 44),
    ("input_normalization", "I", 48), ("grey_fill", "I", 52), ("pixel_scale", "f", 56),
    ("std_floor", "f", 60), ("provenance_offset", "Q", 128), ("provenance_bytes", "I", 136),
    ("tensor_count", "I", 140), ("tensor_table_offset", "Q", 144), ("quant_count", "I", 152),
    ("header_reserved", "I", 156), ("quant_table_offset", "Q", 160), ("data_offset", "Q", 168),
    ("data_bytes", "Q", 176),
)
_TENSOR_ENTRY = struct.Struct("<64sII4IQQI20s")
_QUANT_ENTRY = struct.Struct("<64sIIQQ8s")


class M2uFormatError(ValueError):
    """A .m2u file (or the data to write one) breaks weights/FORMAT.md."""


@dataclass
class ModelInfo:
    """The header fields that describe the model and its input convention."""
    in_channels: int
    out_channels: int
    bn_folded: bool
    hidden_activation: int = ACT_RELU6
    output_activation: int = OUT_SIGMOID
    bn_epsilon: float = 1e-5
    input_normalization: int = NORM_AFFINE
    grey_fill: int = FILL_REPLICATE
    pixel_scale: float = 255.0
    std_floor: float = 0.0
    channel_mean: list = field(default_factory=lambda: [0.0] * 8)
    channel_std: list = field(default_factory=lambda: [0.0] * 8)


@dataclass
class TensorEntry:
    name: str
    dtype: int
    dims: tuple
    offset: int
    nbytes: int
    quant_index: int


@dataclass
class M2uFile:
    """A parsed file: header fields, provenance, tensor table and values."""
    info: ModelInfo
    header: dict
    provenance: str
    entries: list
    tensors: OrderedDict  # name -> numpy array (F32/F16/I8 as stored)
    stored_crc: int
    computed_crc: int
    # (name, kind, scales as a float32 array) per quantisation entry, in
    # table order (INT8 calibration's activation scales: "act:<buffer>").
    quantisation: list = field(default_factory=list)


def expected_tensors(in_channels, out_channels, bn_folded):
    """[(name, shape)] in file order for this (Cin, Cout, BN_FOLDED)."""
    arch = m2u_arch.make_architecture(in_channels, out_channels)
    result = []
    for conv in m2u_arch.all_convs(arch):
        result.append((conv.name + ".weight", m2u_arch.weight_shape(conv)))
        if not conv.bn or bn_folded:
            result.append((conv.name + ".bias", (conv.cout,)))
        else:
            for suffix in ("weight", "bias", "running_mean", "running_var"):
                result.append(("%s.%s" % (conv.bn, suffix), (conv.cout,)))
    return result


def _align(value, alignment):
    return (value + alignment - 1) // alignment * alignment


def _dtype_code(array, name):
    for code, dtype in NUMPY_DTYPES.items():
        if array.dtype == dtype and code != DTYPE_I8:
            return code
    raise M2uFormatError("tensor '%s': dtype %s cannot be written (F32 or F16 only; I8 needs a "
                         "quantisation entry, which format-1 converters do not write)"
                         % (name, array.dtype))


def _pack_header(info, fields):
    out = bytearray(HEADER_BYTES)
    out[0:8] = MAGIC
    values = dict(fields)
    values.update(
        format_version=FORMAT_VERSION, header_bytes=HEADER_BYTES,
        flags=FLAG_BN_FOLDED if info.bn_folded else 0, in_channels=info.in_channels,
        out_channels=info.out_channels, hidden_activation=info.hidden_activation,
        output_activation=info.output_activation, bn_epsilon=info.bn_epsilon,
        input_normalization=info.input_normalization, grey_fill=info.grey_fill,
        pixel_scale=info.pixel_scale, std_floor=info.std_floor, header_reserved=0)
    for name, code, offset in _HEADER_FIELDS:
        struct.pack_into("<" + code, out, offset, values[name])
    struct.pack_into("<8f", out, 64, *info.channel_mean)
    struct.pack_into("<8f", out, 96, *info.channel_std)
    return out


def write_m2u(info, provenance, tensors):
    """Returns the bytes of a .m2u file.

    info: ModelInfo; provenance: dict of key -> value (str); tensors: mapping
    name -> numpy float32/float16 array, written in the mapping's order. The
    result is validated with read_m2u, so an invalid model raises
    M2uFormatError here instead of producing a file.
    """
    prov = "".join("%s: %s\n" % (k, v) for k, v in provenance.items()).encode("utf-8")
    items = [(name, np.ascontiguousarray(a)) for name, a in tensors.items()]
    codes = [_dtype_code(a, name) for name, a in items]
    items = [(n, a.astype(NUMPY_DTYPES[c], copy=False)) for (n, a), c in zip(items, codes)]
    for name, _ in items:
        if not name.isascii() or not 1 <= len(name) <= 63:
            raise M2uFormatError("tensor name '%s' must be 1..63 ASCII characters" % name)

    prov_offset = HEADER_BYTES
    table_offset = _align(prov_offset + len(prov), 8)
    quant_offset = _align(table_offset + TENSOR_ENTRY_BYTES * len(items), 8)
    data_offset = _align(quant_offset, DATA_ALIGNMENT)
    offsets, cursor = [], data_offset
    for _, array in items:
        cursor = _align(cursor, DATA_ALIGNMENT)
        offsets.append(cursor)
        cursor += array.nbytes
    data_end = cursor
    file_bytes = data_end + 4

    out = bytearray(file_bytes - 4)
    out[0:HEADER_BYTES] = _pack_header(info, dict(
        file_bytes=file_bytes, provenance_offset=prov_offset, provenance_bytes=len(prov),
        tensor_count=len(items), tensor_table_offset=table_offset, quant_count=0,
        quant_table_offset=quant_offset, data_offset=data_offset,
        data_bytes=data_end - data_offset))
    out[prov_offset:prov_offset + len(prov)] = prov
    for i, ((name, array), code, offset) in enumerate(zip(items, codes, offsets)):
        dims = list(array.shape) + [0] * (4 - array.ndim)
        _TENSOR_ENTRY.pack_into(out, table_offset + i * TENSOR_ENTRY_BYTES,
                                name.encode("ascii"), code, array.ndim, *dims, offset,
                                array.nbytes, NO_QUANT, bytes(20))
        out[offset:offset + array.nbytes] = array.tobytes()
    out += struct.pack("<I", zlib.crc32(out) & 0xFFFFFFFF)
    data = bytes(out)
    read_m2u(data)
    return data


def _fail(message):
    raise M2uFormatError(message)


def _unpack_header(data):
    fields = {name: struct.unpack_from("<" + code, data, off)[0]
              for name, code, off in _HEADER_FIELDS}
    fields["channel_mean"] = list(struct.unpack_from("<8f", data, 64))
    fields["channel_std"] = list(struct.unpack_from("<8f", data, 96))
    return fields


def _check_enum(h, name, names):
    if h[name] not in names:
        _fail("header field %s is %d; allowed: %s" % (
            name, h[name], ", ".join("%d (%s)" % kv for kv in sorted(names.items()))))


def _check_header(data, h):
    if h["flags"] & ~FLAG_BN_FOLDED:
        _fail("header field flags is 0x%x; only bit 0 (BN_FOLDED) may be set" % h["flags"])
    if not 1 <= h["in_channels"] <= 8:
        _fail("header field in_channels is %d; must be 1..8" % h["in_channels"])
    if not 1 <= h["out_channels"] <= 64:
        _fail("header field out_channels is %d; must be 1..64" % h["out_channels"])
    _check_enum(h, "hidden_activation", ACTIVATION_NAMES)
    _check_enum(h, "output_activation", OUTPUT_NAMES)
    _check_enum(h, "input_normalization", NORMALIZATION_NAMES)
    _check_enum(h, "grey_fill", GREY_FILL_NAMES)
    eps = h["bn_epsilon"]
    if not (math.isfinite(eps) and 0 < eps < 1):
        _fail("header field bn_epsilon is %r; must be finite with 0 < eps < 1" % eps)
    if not (math.isfinite(h["pixel_scale"]) and h["pixel_scale"] > 0):
        _fail("header field pixel_scale is %r; must be finite and > 0" % h["pixel_scale"])
    if not (math.isfinite(h["std_floor"]) and h["std_floor"] >= 0):
        _fail("header field std_floor is %r; must be finite and >= 0" % h["std_floor"])
    if h["input_normalization"] == 1 and not h["std_floor"] > 0:
        _fail("header field std_floor is 0 with per-image standardisation; "
              "must be > 0 so that a flat frame does not divide by zero")
    cin = h["in_channels"]
    for key in ("channel_mean", "channel_std"):
        for c, value in enumerate(h[key]):
            if not math.isfinite(value):
                _fail("header field %s[%d] is %r; must be finite" % (key, c, value))
            if c >= cin and value != 0:
                _fail("header field %s[%d] is %r; entries >= in_channels (%d) must be 0"
                      % (key, c, value, cin))
            if (key == "channel_std" and c < cin and h["input_normalization"] == NORM_AFFINE
                    and not value > 0):
                _fail("header field channel_std[%d] is %r; AFFINE needs std > 0" % (c, value))
    if h["header_reserved"] != 0:
        _fail("header bytes 156..159 (reserved) are not zero")
    if any(data[184:256]):
        _fail("header bytes 184..255 (reserved) are not zero")


def _check_section(name, offset, size, limit):
    if offset < HEADER_BYTES or offset + size > limit:
        _fail("%s [%d, %d) is not inside the file between the header and the CRC (%d)"
              % (name, offset, offset + size, limit))


def _parse_provenance(data, h, limit):
    if h["provenance_bytes"] > MAX_PROVENANCE_BYTES:
        _fail("header field provenance_bytes is %d; at most %d"
              % (h["provenance_bytes"], MAX_PROVENANCE_BYTES))
    _check_section("provenance", h["provenance_offset"], h["provenance_bytes"], limit)
    raw = data[h["provenance_offset"]:h["provenance_offset"] + h["provenance_bytes"]]
    if b"\0" in raw:
        _fail("provenance contains a NUL byte at offset %d"
              % (h["provenance_offset"] + raw.index(b"\0")))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        _fail("provenance is not UTF-8 (byte %d): %s"
              % (h["provenance_offset"] + e.start, e.reason))
    keys = {line.split(":", 1)[0].strip() for line in text.splitlines() if ":" in line}
    for key in REQUIRED_PROVENANCE_KEYS:
        if key not in keys:
            _fail("provenance has no '%s: ...' line (needs %s)"
                  % (key, ", ".join(REQUIRED_PROVENANCE_KEYS)))
    return text


def _parse_name(raw, what):
    if b"\0" not in raw:
        _fail("%s: name is not NUL-terminated within 64 bytes" % what)
    end = raw.index(b"\0")
    if any(raw[end:]):
        _fail("%s: name is not NUL-padded after its terminator" % what)
    if end == 0:
        _fail("%s: name is empty" % what)
    if any(b > 127 for b in raw[:end]):
        _fail("%s: name is not ASCII" % what)
    return raw[:end].decode("ascii")


def _parse_tensor_table(data, h, limit):
    count = h["tensor_count"]
    if not 1 <= count <= MAX_TENSORS:
        _fail("header field tensor_count is %d; must be 1..%d" % (count, MAX_TENSORS))
    if h["tensor_table_offset"] % 8:
        _fail("header field tensor_table_offset %d is not a multiple of 8"
              % h["tensor_table_offset"])
    _check_section("tensor table", h["tensor_table_offset"], count * TENSOR_ENTRY_BYTES, limit)
    data_begin, data_end = h["data_offset"], h["data_offset"] + h["data_bytes"]
    entries, seen = [], set()
    for i in range(count):
        at = h["tensor_table_offset"] + i * TENSOR_ENTRY_BYTES
        raw_name, dtype, rank, d0, d1, d2, d3, offset, nbytes, qi, reserved = \
            _TENSOR_ENTRY.unpack_from(data, at)
        name = _parse_name(raw_name, "tensor table entry %d (offset %d)" % (i, at))
        what = "tensor '%s' (table entry %d)" % (name, i)
        if name in seen:
            _fail("%s: duplicate name" % what)
        seen.add(name)
        if dtype not in DTYPE_NAMES:
            _fail("%s: dtype %d; allowed 0 (F32), 1 (F16), 2 (I8)" % (what, dtype))
        if not 1 <= rank <= 4:
            _fail("%s: rank %d; must be 1..4" % (what, rank))
        dims = (d0, d1, d2, d3)
        if any(d < 1 for d in dims[:rank]) or any(dims[rank:]):
            _fail("%s: dims %s with rank %d; the first rank dims must be >= 1, the rest 0"
                  % (what, list(dims), rank))
        if offset % DATA_ALIGNMENT:
            _fail("%s: data offset %d is not a multiple of %d" % (what, offset, DATA_ALIGNMENT))
        expected_bytes = int(np.prod(dims[:rank])) * NUMPY_DTYPES[dtype].itemsize
        if nbytes != expected_bytes:
            _fail("%s: bytes is %d; dims %s in %s need %d"
                  % (what, nbytes, list(dims[:rank]), DTYPE_NAMES[dtype], expected_bytes))
        if offset < data_begin or offset + nbytes > data_end:
            _fail("%s: data [%d, %d) is outside the data section [%d, %d)"
                  % (what, offset, offset + nbytes, data_begin, data_end))
        if qi != NO_QUANT and qi >= h["quant_count"]:
            _fail("%s: quant_index %d; quant_count is %d" % (what, qi, h["quant_count"]))
        if dtype == DTYPE_I8 and qi == NO_QUANT:
            _fail("%s: I8 tensor without a quantisation entry" % what)
        if any(reserved):
            _fail("%s: reserved bytes are not zero" % what)
        entries.append(TensorEntry(name, dtype, dims[:rank], offset, nbytes, qi))
    return entries


def _parse_quant_table(data, h, limit, entries, quantisation):
    """Checks the quantisation table; appends its entries to `quantisation`
    and returns the data ranges of their scales."""
    count = h["quant_count"]
    if count > MAX_QUANT:
        _fail("header field quant_count is %d; at most %d" % (count, MAX_QUANT))
    if h["quant_table_offset"] % 8:
        _fail("header field quant_table_offset %d is not a multiple of 8"
              % h["quant_table_offset"])
    _check_section("quantisation table", h["quant_table_offset"], count * QUANT_ENTRY_BYTES, limit)
    data_begin, data_end = h["data_offset"], h["data_offset"] + h["data_bytes"]
    ranges = []
    for i in range(count):
        at = h["quant_table_offset"] + i * QUANT_ENTRY_BYTES
        raw_name, kind, n, offset, nbytes, reserved = _QUANT_ENTRY.unpack_from(data, at)
        name = _parse_name(raw_name, "quantisation entry %d (offset %d)" % (i, at))
        what = "quantisation entry %d ('%s')" % (i, name)
        if kind not in QUANT_KIND_NAMES:
            _fail("%s: kind %d; allowed 1 (WEIGHT_PER_OUTPUT_CHANNEL), 2 "
                  "(ACTIVATION_PER_TENSOR)" % (what, kind))
        if kind == 2 and n != 1:
            _fail("%s: count %d; ACTIVATION_PER_TENSOR needs 1" % (what, n))
        if n < 1 or nbytes != 4 * n:
            _fail("%s: count %d and bytes %d; bytes must be count x 4, count >= 1"
                  % (what, n, nbytes))
        if offset % DATA_ALIGNMENT:
            _fail("%s: scale offset %d is not a multiple of %d" % (what, offset, DATA_ALIGNMENT))
        if offset < data_begin or offset + nbytes > data_end:
            _fail("%s: scales [%d, %d) are outside the data section [%d, %d)"
                  % (what, offset, offset + nbytes, data_begin, data_end))
        if any(reserved):
            _fail("%s: reserved bytes are not zero" % what)
        scales = np.frombuffer(data, "<f4", n, offset)
        bad = np.flatnonzero(~(np.isfinite(scales) & (scales > 0)))
        if bad.size:
            _fail("%s: scale %d is %r; scales must be finite and > 0"
                  % (what, bad[0], float(scales[bad[0]])))
        ranges.append(("scales of quantisation entry %d" % i, offset, nbytes))
        quantisation.append((name, kind, scales.copy()))
    for e in entries:
        if e.quant_index == NO_QUANT:
            continue
        q_at = h["quant_table_offset"] + e.quant_index * QUANT_ENTRY_BYTES
        q_name, kind, n = _QUANT_ENTRY.unpack_from(data, q_at)[:3]
        if kind != 1 or n != e.dims[0] or q_name.rstrip(b"\0").decode("ascii") != e.name:
            _fail("tensor '%s': quantisation entry %d must be WEIGHT_PER_OUTPUT_CHANNEL for "
                  "this tensor with count %d" % (e.name, e.quant_index, e.dims[0]))
    return ranges


def _check_overlaps(ranges):
    spans = sorted((off, off + size, what) for what, off, size in ranges if size > 0)
    for (a0, a1, a), (b0, b1, b) in zip(spans, spans[1:]):
        if b0 < a1:
            _fail("%s [%d, %d) overlaps %s [%d, %d)" % (a, a0, a1, b, b0, b1))


def _check_tensor_set(info, entries):
    expected = expected_tensors(info.in_channels, info.out_channels, info.bn_folded)
    kind = "BN_FOLDED" if info.bn_folded else "raw (BN_FOLDED clear)"
    found = {e.name: e for e in entries}
    names = {name for name, _ in expected}
    for name, shape in expected:
        if name not in found:
            _fail("tensor '%s' is missing (expected shape %s for a %s model with Cin %d, Cout %d)"
                  % (name, list(shape), kind, info.in_channels, info.out_channels))
        if tuple(found[name].dims) != tuple(shape):
            _fail("tensor '%s': expected shape %s, found %s"
                  % (name, list(shape), list(found[name].dims)))
    for e in entries:
        if e.name not in names:
            _fail("tensor '%s' is not part of a %s M2U-Net with Cin %d, Cout %d"
                  % (e.name, kind, info.in_channels, info.out_channels))


def check_values(name, array):
    """Raises M2uFormatError unless every value is finite (and running_var >= 0)."""
    if array.dtype.kind != "f":
        return
    flat = array.reshape(-1)
    bad = np.flatnonzero(~np.isfinite(flat))
    if bad.size:
        index = np.unravel_index(bad[0], array.shape)
        _fail("tensor '%s': value at index %s is %r; every value must be finite"
              % (name, list(map(int, index)), float(flat[bad[0]])))
    if name.endswith(".running_var"):
        neg = np.flatnonzero(flat < 0)
        if neg.size:
            _fail("tensor '%s': value at index [%d] is %r; running_var must be >= 0"
                  % (name, neg[0], float(flat[neg[0]])))


def crc_of(data):
    """(stored, computed) CRC-32 of a file's bytes."""
    return struct.unpack_from("<I", data, len(data) - 4)[0], zlib.crc32(data[:-4]) & 0xFFFFFFFF


def read_m2u(data, check_crc=True):
    """Parses and validates a whole file; returns an M2uFile.

    With check_crc=False a CRC mismatch is not an error (M2uFile carries both
    values), so a damaged file can still be described.
    """
    data = bytes(data)
    if len(data) < HEADER_BYTES + 4:
        _fail("file is %d bytes; a .m2u file has at least a %d-byte header and a 4-byte CRC"
              % (len(data), HEADER_BYTES))
    if data[0:8] != MAGIC:
        _fail("magic is %r; expected %r (not a .m2u weights file)" % (data[0:8], MAGIC))
    h = _unpack_header(data)
    if h["format_version"] != FORMAT_VERSION:
        _fail("format_version %d is not supported; this reader supports version %d only"
              % (h["format_version"], FORMAT_VERSION))
    if h["header_bytes"] != HEADER_BYTES:
        _fail("header field header_bytes is %d; must be %d" % (h["header_bytes"], HEADER_BYTES))
    if h["file_bytes"] != len(data):
        _fail("header field file_bytes is %d but the file has %d bytes (truncated or padded?)"
              % (h["file_bytes"], len(data)))
    stored, computed = crc_of(data)
    if check_crc and stored != computed:
        _fail("checksum mismatch: stored CRC-32 0x%08x, computed 0x%08x (file damaged)"
              % (stored, computed))
    _check_header(data, h)
    limit = len(data) - 4
    if h["data_offset"] % DATA_ALIGNMENT:
        _fail("header field data_offset %d is not a multiple of %d"
              % (h["data_offset"], DATA_ALIGNMENT))
    _check_section("data section", h["data_offset"], h["data_bytes"], limit)
    provenance = _parse_provenance(data, h, limit)
    entries = _parse_tensor_table(data, h, limit)
    ranges = [("header", 0, HEADER_BYTES),
              ("provenance", h["provenance_offset"], h["provenance_bytes"]),
              ("tensor table", h["tensor_table_offset"], h["tensor_count"] * TENSOR_ENTRY_BYTES),
              ("quantisation table", h["quant_table_offset"], h["quant_count"] * QUANT_ENTRY_BYTES)]
    quantisation = []
    ranges += _parse_quant_table(data, h, limit, entries, quantisation)
    ranges += [("data of tensor '%s'" % e.name, e.offset, e.nbytes) for e in entries]
    _check_overlaps(ranges)

    info = ModelInfo(
        in_channels=h["in_channels"], out_channels=h["out_channels"],
        bn_folded=bool(h["flags"] & FLAG_BN_FOLDED), hidden_activation=h["hidden_activation"],
        output_activation=h["output_activation"], bn_epsilon=h["bn_epsilon"],
        input_normalization=h["input_normalization"], grey_fill=h["grey_fill"],
        pixel_scale=h["pixel_scale"], std_floor=h["std_floor"],
        channel_mean=h["channel_mean"], channel_std=h["channel_std"])
    _check_tensor_set(info, entries)
    tensors = OrderedDict()
    for e in entries:
        array = np.frombuffer(data, NUMPY_DTYPES[e.dtype], int(np.prod(e.dims)), e.offset)
        array = array.reshape(e.dims)
        check_values(e.name, array)
        tensors[e.name] = array
    return M2uFile(info, h, provenance, entries, tensors, stored, computed, quantisation)
