"""Shared steps of turning a source model into a .m2u file.

ConversionError (bad input: the CLI exits 2), the --dtype policy, the tensor
value checks, the provenance record and the atomic output write (temp file
in the output's folder, fsync, rename; the temp file is removed on failure,
so bad input never leaves a partial output). Needs numpy only.
"""

import datetime
import hashlib
import os
import tempfile

import numpy as np

import m2u_format as fmt

CONVERTER = "m2u_convert.py"
CONVERTER_VERSION = "1.0.0"
DTYPE_POLICIES = ("keep", "f32", "f16")


class ConversionError(Exception):
    """The source model cannot be converted; the message says why."""


def cast_tensor(name, array, policy):
    """The array in the stored dtype: keep (F32 or F16 as found), f32 or f16.

    Refuses non-finite values, naming the tensor and the first bad index,
    before and after the cast (F16 overflows to inf above 65504).
    """
    if array.dtype.kind != "f":
        raise ConversionError("tensor '%s' has dtype %s; expected floating point"
                              % (name, array.dtype))
    try:
        fmt.check_values(name, array)
    except fmt.M2uFormatError as e:
        raise ConversionError(str(e))
    if policy == "keep":
        if array.dtype not in (np.float32, np.float16):
            raise ConversionError("tensor '%s' has dtype %s, which .m2u does not store; pass "
                                  "--dtype f32 or --dtype f16" % (name, array.dtype))
        target = np.dtype("<f4") if array.dtype == np.float32 else np.dtype("<f2")
    else:
        target = np.dtype("<f4" if policy == "f32" else "<f2")
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(array, dtype=target)
    try:
        fmt.check_values(name, out)
    except fmt.M2uFormatError as e:
        raise ConversionError("%s (after conversion to %s: out of range)"
                              % (e, "F16" if out.dtype == np.float16 else "F32"))
    return out


def provenance(source_path, extra, date=None):
    """Ordered provenance fields: source, source_sha256, converter, date, then `extra`."""
    with open(source_path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if date is None:
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    fields = {"source": os.path.basename(source_path), "source_sha256": digest,
              "converter": "%s %s" % (CONVERTER, CONVERTER_VERSION), "date": date}
    fields.update(extra)
    return fields


def write_atomically(path, data):
    """Writes `data` to `path` through a fsynced temp file and a rename."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                                dir=folder)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
