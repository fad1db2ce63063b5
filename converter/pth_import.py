"""Reads an M2U-Net PyTorch state_dict (.pth) into the tensors of a raw .m2u.

Accepts a bare state_dict or a dict wrapping one under 'state_dict' or
'model'. Cin comes from conv1.0.0.weight, Cout from decode1.conv.0.weight;
every other key must then have exactly the name and shape M2U-Net has
(num_batches_tracked entries are ignored). Imports torch lazily.
"""

from collections import OrderedDict

import m2u_format as fmt
from m2u_build import ConversionError, cast_tensor

WRAPPER_KEYS = ("state_dict", "model")


def _is_state_dict(obj):
    import torch
    return isinstance(obj, dict) and obj and all(torch.is_tensor(v) for v in obj.values())


def load_state_dict(path):
    """(state_dict, how it was found) from a .pth file."""
    import torch
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a file it cannot read
        raise ConversionError("%s cannot be read as a PyTorch state_dict: %s"
                              % (path, str(e).splitlines()[0] if str(e) else type(e).__name__))
    if _is_state_dict(obj):
        return obj, "bare state_dict"
    if isinstance(obj, dict):
        for key in WRAPPER_KEYS:
            if key in obj and _is_state_dict(obj[key]):
                return obj[key], "state_dict wrapped under key '%s'" % key
        raise ConversionError(
            "%s holds a dict with keys %s but no state_dict (tensors by name) at the top level "
            "or under %s" % (path, sorted(map(str, obj))[:8], " or ".join(map(repr, WRAPPER_KEYS))))
    raise ConversionError("%s holds a %s, not a state_dict" % (path, type(obj).__name__))


def _shape(tensor):
    return list(tensor.shape)


def _channels(sd, key, pattern, index, low, high):
    if key not in sd:
        raise ConversionError("key '%s' is missing (it gives the %s channel count)"
                              % (key, "input" if index == 1 else "output"))
    shape = _shape(sd[key])
    expected = list(pattern)
    if len(shape) == 4:
        expected[index] = shape[index]
    if shape != expected or not low <= shape[index] <= high:
        raise ConversionError("key '%s': expected shape %s with C in %d..%d, found %s"
                              % (key, str(pattern).replace("'", ""), low, high, shape))
    return shape[index]


def tensors_from_state_dict(sd, dtype_policy):
    """(Cin, Cout, OrderedDict name -> numpy array in .m2u order) of a raw model."""
    import torch
    cin = _channels(sd, "conv1.0.0.weight", [32, "Cin", 3, 3], 1, 1, 8)
    cout = _channels(sd, "decode1.conv.0.weight", ["Cout", 16, 1, 1], 0, 1, 64)
    expected = fmt.expected_tensors(cin, cout, bn_folded=False)
    names = {name for name, _ in expected}
    unexpected = [k for k in sd if k not in names and not k.endswith(".num_batches_tracked")]
    note = ("; unexpected keys: %s" % ", ".join("'%s'" % k for k in unexpected[:3])
            if unexpected else "")
    tensors = OrderedDict()
    for name, shape in expected:
        if name not in sd:
            raise ConversionError("key '%s' is missing (expected shape %s for M2U-Net with "
                                  "Cin %d, Cout %d)%s" % (name, list(shape), cin, cout, note))
        if tuple(sd[name].shape) != shape:
            raise ConversionError("key '%s': expected shape %s, found %s"
                                  % (name, list(shape), _shape(sd[name])))
    if unexpected:
        key = unexpected[0]
        raise ConversionError("unexpected key '%s' (shape %s): not part of M2U-Net with Cin %d, "
                              "Cout %d" % (key, _shape(sd[key]), cin, cout))
    for name, _ in expected:
        tensor = sd[name].detach()
        if tensor.dtype == torch.bfloat16:
            if dtype_policy == "keep":
                raise ConversionError("tensor '%s' has dtype bfloat16, which .m2u does not store; "
                                      "pass --dtype f32 or --dtype f16" % name)
            tensor = tensor.float()
        tensors[name] = cast_tensor(name, tensor.cpu().numpy(), dtype_policy)
    return cin, cout, tensors
