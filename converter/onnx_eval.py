"""A small numpy interpreter for ONNX graphs, to check the converter's
mapping independently (it shares no code with onnx_import.py).

Evaluates the graph node by node on any N x C x H x W input, ignoring the
declared input shape (M2U-Net is fully convolutional). Op types: Conv
(groups, pads, strides, dilations), Relu, Clip, Add, Sigmoid, Concat,
Resize (mode linear, pytorch_half_pixel or half_pixel coordinates),
Constant, Identity. Anything else raises NotImplementedError naming the
node. Computes in float64 by default.
"""

import numpy as np
import onnx
from onnx import helper, numpy_helper


def _attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


def _conv(x, w, b, attrs):
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    groups = attrs.get("group", 1)
    sh, sw = attrs.get("strides", [1, 1])
    dh, dw = attrs.get("dilations", [1, 1])
    pt, pl, pb, pr = attrs.get("pads", [0, 0, 0, 0])
    if _text(attrs.get("auto_pad", "NOTSET")) != "NOTSET":
        raise NotImplementedError("Conv auto_pad")
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    ho = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1

    def tap(i, j):
        return xp[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh, j * dw:j * dw + sw * (wo - 1) + 1:sw]

    if groups == c == m and cg == 1:  # depthwise
        out = np.zeros((n, m, ho, wo), dtype=x.dtype)
        for i in range(kh):
            for j in range(kw):
                out += tap(i, j) * w[:, 0, i, j][None, :, None, None]
    else:
        patches = np.stack([np.stack([tap(i, j) for j in range(kw)], axis=2)
                            for i in range(kh)], axis=2)  # n, c, kh, kw, ho, wo
        mg = m // groups
        parts = []
        for g in range(groups):
            pg = patches[:, g * cg:(g + 1) * cg]
            wg = w[g * mg:(g + 1) * mg]
            parts.append(np.tensordot(wg, pg, axes=([1, 2, 3], [1, 2, 3])))  # mg, n, ho, wo
        out = np.concatenate(parts, axis=0).transpose(1, 0, 2, 3)
    if b is not None:
        out = out + b[None, :, None, None]
    return np.ascontiguousarray(out)


def _linear_axis(x, axis, out_len, scale, pytorch):
    """1-D linear resize along `axis` with half-pixel source coordinates
    (pytorch_half_pixel: source 0 when resizing to length 1)."""
    in_len = x.shape[axis]
    if out_len > 1 or not pytorch:
        src = (np.arange(out_len, dtype=np.float64) + 0.5) / scale - 0.5
    else:
        src = np.zeros(1)
    src = np.maximum(src, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), in_len - 1)
    i1 = np.minimum(i0 + 1, in_len - 1)
    w1 = (src - i0).astype(x.dtype)
    shape = [1] * x.ndim
    shape[axis] = out_len
    w1 = w1.reshape(shape)
    return np.take(x, i0, axis=axis) * (1 - w1) + np.take(x, i1, axis=axis) * w1


def _resize(x, roi, scales, sizes, attrs, opset):
    if opset < 11:
        raise NotImplementedError("Resize before opset 11 (asymmetric coordinates)")
    mode = _text(attrs.get("mode", "nearest"))
    coords = _text(attrs.get("coordinate_transformation_mode", "half_pixel"))
    if mode != "linear" or coords not in ("pytorch_half_pixel", "half_pixel"):
        raise NotImplementedError("Resize mode %s with %s coordinates" % (mode, coords))
    if scales is not None and scales.size:
        scales = [float(s) for s in scales]
        out_shape = [int(np.floor(d * s)) for d, s in zip(x.shape, scales)]
    else:
        out_shape = [int(s) for s in sizes]
        scales = [o / d for o, d in zip(out_shape, x.shape)]
    if out_shape[:2] != list(x.shape[:2]):
        raise NotImplementedError("Resize over the batch or channel axis")
    y = x
    for axis in (2, 3):
        y = _linear_axis(y, axis, out_shape[axis], scales[axis], coords == "pytorch_half_pixel")
    return y


def _constant(node, attrs, dtype):
    if "value" in attrs:
        return _as(numpy_helper.to_array(attrs["value"]), dtype)
    for key in ("value_float", "value_floats"):
        if key in attrs:
            return np.array(attrs[key], dtype=dtype)
    for key in ("value_int", "value_ints"):
        if key in attrs:
            return np.array(attrs[key], dtype=np.int64)
    raise NotImplementedError("Constant with attributes %s" % sorted(attrs))


def _as(array, dtype):
    return array.astype(dtype) if array.dtype.kind == "f" else array


def _opset(model):
    return max([o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] or [0])


def _clip(x, inputs, values, attrs, opset):
    if opset < 11:
        low, high = attrs.get("min", -np.inf), attrs.get("max", np.inf)
    else:
        low = values[inputs[1]] if len(inputs) > 1 and inputs[1] else -np.inf
        high = values[inputs[2]] if len(inputs) > 2 and inputs[2] else np.inf
    return np.clip(x, low, high)


def evaluate(model, x, names=(), dtype=np.float64):
    """Runs `model` (path or ModelProto) on input array `x`.

    Returns {name: array} for the graph outputs and every tensor in `names`.
    """
    if isinstance(model, str):
        model = onnx.load(model)
    opset = _opset(model)
    g = model.graph
    values = {t.name: _as(numpy_helper.to_array(t), dtype) for t in g.initializer}
    inputs = [i.name for i in g.input if i.name not in values]
    if len(inputs) != 1:
        raise ValueError("graph has %d data inputs; expected 1" % len(inputs))
    values[inputs[0]] = np.asarray(x, dtype=dtype)
    for node in g.node:
        missing = [i for i in node.input if i and i not in values]
        if missing:
            raise ValueError("node %s '%s': input '%s' is not computed yet"
                             % (node.op_type, node.name, missing[0]))
        ins = [values[i] if i else None for i in node.input]
        attrs = _attrs(node)
        op = node.op_type
        if op == "Conv":
            out = _conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, attrs)
        elif op == "Relu":
            out = np.maximum(ins[0], 0)
        elif op == "Clip":
            out = _clip(ins[0], node.input, values, attrs, opset)
        elif op == "Add":
            out = ins[0] + ins[1]
        elif op == "Sigmoid":
            out = 1 / (1 + np.exp(-ins[0]))
        elif op == "Concat":
            out = np.concatenate(ins, axis=attrs["axis"])
        elif op == "Resize":
            ins += [None] * (4 - len(ins))
            out = _resize(*ins, attrs, opset)
        elif op == "Constant":
            out = _constant(node, attrs, dtype)
        elif op == "Identity":
            out = ins[0]
        else:
            raise NotImplementedError("node %s '%s': op type not supported by onnx_eval"
                                      % (op, node.name))
        values[node.output[0]] = out
    wanted = [o.name for o in g.output] + list(names)
    return {name: values[name] for name in wanted}
