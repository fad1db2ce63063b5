#!/usr/bin/env python3
"""m2u_convert.py - converts an M2U-Net (PyTorch state_dict or ONNX) to .m2u.

  m2u_convert.py MODEL -o OUT.m2u --input-convention CONV [options]
  m2u_convert.py --info FILE.m2u

The source's format is read from its content, not its name (some models
ship without a suffix): a torch.save file is a zip archive (bytes 50 4b 03
04, "PK") or, in the legacy format, a pickle (first byte 0x80); an ONNX
model is a protobuf ModelProto with a graph. A suffix (.pth/.pt, .onnx)
that disagrees with the content gets a note on stderr; a file that is
neither is refused, naming its first bytes.

PyTorch: fp32 or fp16 state_dict (bare, or under 'state_dict' / 'model'); Cin
from conv1.0.0.weight, Cout from decode1.conv.0.weight; written with raw
batch norm. The state_dict does not record the activations: --activation
defaults to relu6 and --output to sigmoid (M2U-Net's).
ONNX: an export with batch norm folded into the Convs, mapped onto the
layer list (onnx_import.py); written BN_FOLDED. The hidden activation and
the output activation are read from the graph; --activation must agree with
it, while --output may deliberately add (sigmoid) or drop (linear) the final
sigmoid.
--input-convention has no default (see input_convention.py): the Octopi
3-channel model takes raw255, the 1-channel model standardize.

Exit status: 0 done, 2 bad input (nothing written), 1 --info on an invalid
file or an I/O error, 141 (128 + SIGPIPE, like a program the signal ended)
when the reader of stdout goes away early (`--info FILE | head`). Output is
written atomically (m2u_build.py).
"""

import argparse
import os
import signal
import sys

import input_convention
import m2u_build
import m2u_format as fmt
import m2u_info
from m2u_build import ConversionError

PTH_SUFFIXES = (".pth", ".pt")
ONNX_SUFFIXES = (".onnx",)
ONNX_GRAPH_FIELD = 7  # onnx.proto: ModelProto.graph


def _parser():
    p = argparse.ArgumentParser(
        prog="m2u_convert.py", description="Convert an M2U-Net (PyTorch state_dict or ONNX export) to .m2u.")
    p.add_argument("source", nargs="?",
                   help="MODEL: a PyTorch state_dict or an ONNX export (told apart by content)")
    p.add_argument("-o", dest="out_path", metavar="OUT.m2u", help="output file")
    p.add_argument("--info", metavar="FILE.m2u", help="describe a .m2u file and verify it")
    p.add_argument("--activation", choices=("relu6", "relu"),
                   help="hidden activation (.pth default relu6; .onnx: checked against the graph)")
    p.add_argument("--output", choices=("sigmoid", "linear"),
                   help="output activation (.pth default sigmoid; .onnx default: the graph's)")
    p.add_argument("--input-convention", metavar="CONV",
                   help="required: " + input_convention.CONVENTION_HELP)
    p.add_argument("--grey-fill", choices=("replicate", "first"), default="replicate",
                   help="grey image into every input channel, or the first only (default "
                        "replicate)")
    p.add_argument("--dtype", choices=m2u_build.DTYPE_POLICIES, default="keep",
                   help="stored weight dtype: keep the source's F32/F16 (default), f32 or f16")
    p.add_argument("--fixed-date", metavar="DATE",
                   help="provenance date to record instead of now (reproducible fixtures)")
    return p


def _varint(f):
    """The base-128 varint at f's position; None when the file ends inside it
    or it is longer than 10 bytes (64 bits)."""
    value = 0
    for shift in range(0, 70, 7):
        byte = f.read(1)
        if not byte:
            return None
        value |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return value
    return None


def _protobuf_fields(f, size):
    """Field numbers of the top-level fields of the protobuf message that
    fills `f` (size bytes), in order. ValueError says where the bytes stop
    being one."""
    fields = []
    while f.tell() < size:
        start = f.tell()
        key = _varint(f)
        if key is None or key >> 3 == 0 or key & 7 not in (0, 1, 2, 5):
            raise ValueError("no valid field key at byte %d" % start)
        wire = key & 7
        if wire == 0:
            if _varint(f) is None:
                raise ValueError("field %d at byte %d: varint cut off by the end of the file"
                                 % (key >> 3, start))
        else:
            length = _varint(f) if wire == 2 else {1: 8, 5: 4}[wire]
            if length is None or f.tell() + length > size:
                raise ValueError("field %d at byte %d runs past the end of the file (%d bytes)"
                                 % (key >> 3, start, size))
            f.seek(length, os.SEEK_CUR)
        fields.append(key >> 3)
    return fields


def detect_format(path):
    """('pth' or 'onnx', what the content is) from the bytes of the file at
    `path`; ConversionError naming the file and its first bytes otherwise."""
    with open(path, "rb") as f:
        head = f.read(16)
        if not head:
            raise ConversionError("source %s is empty" % path)
        if head.startswith(b"PK\x03\x04"):
            return "pth", "a zip archive (torch.save)"
        if head.startswith(b"\x80"):
            return "pth", "a pickle (legacy torch.save)"
        f.seek(0)
        try:
            fields, broken = _protobuf_fields(f, os.fstat(f.fileno()).st_size), None
        except ValueError as e:
            fields, broken = [], e
    if ONNX_GRAPH_FIELD in fields:
        return "onnx", "a protobuf ModelProto (ONNX)"
    if broken is None:
        looks = "is a protobuf message without a graph (field %d), not an ONNX model" % (
            ONNX_GRAPH_FIELD)
    elif head.startswith(b"\x08"):
        looks = ("starts like an ONNX ModelProto (08: ir_version) but is not a well-formed "
                 "protobuf message: %s (truncated or damaged?)" % broken)
    else:
        looks = "is neither a PyTorch file nor an ONNX model"
    raise ConversionError(
        "source %s %s; its first bytes are %s (%r). Expected a torch.save file (a zip archive "
        "starting PK\\x03\\x04, or a legacy pickle starting \\x80) or an ONNX ModelProto "
        "(protobuf, starting 08)" % (path, looks, head.hex(" "), head))


def _from_pth(args):
    import pth_import
    sd, how = pth_import.load_state_dict(args.source)
    cin, cout, tensors = pth_import.tensors_from_state_dict(sd, args.dtype)
    activation = args.activation or "relu6"
    output = args.output or "sigmoid"
    notes = {
        "source_format": "PyTorch state_dict (%s)" % how,
        "hidden_activation": activation + (" (--activation)" if args.activation
                                           else " (default; a state_dict does not record it)"),
        "output_activation": output + (" (--output)" if args.output else " (default)"),
    }
    return cin, cout, activation, output, False, tensors, notes


def _from_onnx(args):
    import onnx_import
    m = onnx_import.map_onnx(args.source, args.activation, args.dtype)
    output = args.output or m.output
    graph_output = "the graph ends in Sigmoid" if m.output == "sigmoid" else \
        "the graph ends without Sigmoid (logits)"
    notes = {
        "source_format": "ONNX opset %d, producer %s, batch norm folded" % (m.opset, m.producer),
        "hidden_activation": m.activation + (" (--activation, matches the graph)"
                                             if args.activation else " (from the graph)"),
        "output_activation": "%s (%s%s)" % (output, graph_output,
                                            "; --output %s" % output if args.output else ""),
    }
    if output != m.output:
        print("m2u_convert: note: %s; --output %s %s it" % (
            graph_output, output, "adds a sigmoid after" if output == "sigmoid" else "drops"),
            file=sys.stderr)
    return m.in_channels, m.out_channels, m.activation, output, True, m.tensors, notes


def convert(args):
    """Converts per parsed `args`; raises ConversionError on bad input."""
    if args.input_convention is None:
        raise ConversionError(
            "--input-convention is required (there is no safe default): pass raw255, "
            "standardize or affine:SCALE:MEANS:STDS. The Octopi 3-channel model takes raw255 "
            "(0..255 pixel values), the 1-channel model standardize (per-image (x - mean) / std)")
    if not os.path.isfile(args.source):
        raise ConversionError("source file %s does not exist" % args.source)
    kind, content = detect_format(args.source)
    suffix = os.path.splitext(args.source)[1].lower()
    named = "pth" if suffix in PTH_SUFFIXES else "onnx" if suffix in ONNX_SUFFIXES else kind
    if named != kind:
        print("m2u_convert: note: %s is named like %s but holds %s; converting it as %s" % (
            args.source, "an ONNX model" if named == "onnx" else "a PyTorch file", content,
            "ONNX" if kind == "onnx" else "a PyTorch state_dict"), file=sys.stderr)
    source = _from_pth(args) if kind == "pth" else _from_onnx(args)
    cin, cout, activation, output, folded, tensors, notes = source
    try:
        convention = input_convention.parse_convention(args.input_convention, cin)
    except input_convention.ConventionError as e:
        raise ConversionError("--input-convention: %s" % e)
    info = fmt.ModelInfo(
        in_channels=cin, out_channels=cout, bn_folded=folded,
        hidden_activation={"relu6": fmt.ACT_RELU6, "relu": fmt.ACT_RELU}[activation],
        output_activation={"sigmoid": fmt.OUT_SIGMOID, "linear": fmt.OUT_LINEAR}[output],
        bn_epsilon=1e-5,
        grey_fill={"replicate": fmt.FILL_REPLICATE, "first": fmt.FILL_FIRST}[args.grey_fill],
        **convention)
    notes["input_convention"] = "%s (%s)" % (args.input_convention,
                                             input_convention.describe(info))
    notes["dtype"] = args.dtype
    provenance = m2u_build.provenance(args.source, notes, date=args.fixed_date)
    try:
        data = fmt.write_m2u(info, provenance, tensors)
    except fmt.M2uFormatError as e:
        raise ConversionError(str(e))
    m2u_build.write_atomically(args.out_path, data)
    dtypes = sorted({str(t.dtype) for t in tensors.values()})
    return "wrote %s from %s: Cin %d, Cout %d, %s, %s output, %s, %d tensors (%s), %d bytes" % (
        args.out_path, notes["source_format"], cin, cout, activation, output,
        "BN_FOLDED" if folded else "raw BN", len(tensors), "/".join(dtypes), len(data))


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.info:
        if args.source or args.out_path:
            parser.error("--info takes only the .m2u file")
        return m2u_info.main(args.info)
    if not args.source or not args.out_path:
        parser.error("give MODEL (a state_dict or an ONNX export) and -o OUT.m2u (or --info "
                     "FILE.m2u)")
    try:
        done = convert(args)
    except ConversionError as e:
        print("m2u_convert: error: %s" % e, file=sys.stderr)
        return 2
    except OSError as e:
        print("m2u_convert: error: %s" % e, file=sys.stderr)
        return 1
    print(done)  # outside the try: a closed stdout is no error of the conversion
    return 0


if __name__ == "__main__":
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader of stdout went away (`--info FILE | head`). Python
        # flushes stdout again at exit: point it at /dev/null so that flush
        # cannot fail too, and end like a program SIGPIPE ended.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 128 + signal.SIGPIPE
    sys.exit(status)
