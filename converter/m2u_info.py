"""`m2u_convert.py --info FILE.m2u`: describes a .m2u file.

Prints the header fields, the input convention, the provenance, the tensor
table (name, dtype, shape, offset, bytes) and "checksum: ok" or the
mismatch. Returns 0 for a valid file, 1 (with the reason on stderr) for an
invalid one. Needs numpy only.
"""

import sys

import input_convention
import m2u_format as fmt


def _header_lines(m):
    info, h = m.info, m.header
    return [
        "format_version: %d" % h["format_version"],
        "file_bytes: %d" % h["file_bytes"],
        "flags: 0x%x (%s)" % (h["flags"], "BN_FOLDED" if info.bn_folded else "raw batch norm"),
        "in_channels: %d" % info.in_channels,
        "out_channels: %d" % info.out_channels,
        "hidden_activation: %d (%s)" % (info.hidden_activation,
                                        fmt.ACTIVATION_NAMES[info.hidden_activation]),
        "output_activation: %d (%s)" % (info.output_activation,
                                        fmt.OUTPUT_NAMES[info.output_activation]),
        "bn_epsilon: %g" % info.bn_epsilon,
        "input convention: %s" % input_convention.describe(info),
        "sections: provenance %d+%d, tensor table %d (%d entries), quantisation table %d "
        "(%d entries), data %d+%d" % (
            h["provenance_offset"], h["provenance_bytes"], h["tensor_table_offset"],
            h["tensor_count"], h["quant_table_offset"], h["quant_count"], h["data_offset"],
            h["data_bytes"]),
    ]


def _tensor_lines(m):
    width = max(len(e.name) for e in m.entries)
    lines = ["%-*s  %-5s %-18s %10s %10s" % (width, "name", "dtype", "shape", "offset", "bytes")]
    for e in m.entries:
        lines.append("%-*s  %-5s %-18s %10d %10d" % (
            width, e.name, fmt.DTYPE_NAMES[e.dtype], "x".join(map(str, e.dims)), e.offset,
            e.nbytes))
    return lines


def main(path, out=None, err=None):
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        print("m2u_convert: error: cannot read %s: %s" % (path, e.strerror), file=err)
        return 1
    try:
        m = fmt.read_m2u(data, check_crc=False)
    except fmt.M2uFormatError as e:
        damaged = len(data) >= 4 and len(set(fmt.crc_of(data))) == 2
        print("m2u_convert: %s is not a valid .m2u file: %s%s" % (
            path, e, " (and its checksum does not match: file damaged)" if damaged else ""),
            file=err)
        return 1
    lines = ["file: %s" % path] + _header_lines(m)
    lines.append("provenance:")
    lines += ["  " + line for line in m.provenance.splitlines()]
    lines.append("tensors (%d):" % len(m.entries))
    lines += ["  " + line for line in _tensor_lines(m)]
    if m.quantisation:
        lines.append("quantisation (%d entries; INT8 activation scales from m2u_calibrate):"
                     % len(m.quantisation))
        width = max(len(name) for name, _, _ in m.quantisation)
        for name, kind, scales in m.quantisation:
            lines.append("  %-*s  %-22s %s" % (width, name, fmt.QUANT_KIND_NAMES[kind],
                                                " ".join("%.6g" % v for v in scales[:4])
                                                + (" ..." if len(scales) > 4 else "")))
    ok = m.stored_crc == m.computed_crc
    lines.append("checksum: ok" if ok else "checksum: MISMATCH (stored 0x%08x, computed 0x%08x)"
                 % (m.stored_crc, m.computed_crc))
    print("\n".join(lines), file=out)
    if not ok:
        print("m2u_convert: %s is not a valid .m2u file: checksum mismatch (file damaged)" % path,
              file=err)
        return 1
    return 0
