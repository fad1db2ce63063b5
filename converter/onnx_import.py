"""Maps an ONNX export of M2U-Net (batch norm folded into biased Convs) onto
M2U-Net's layer list and returns the tensors of a BN_FOLDED .m2u.

The graph is walked from its input in topological order. Constant and
Identity nodes only provide values or aliases; every other node must be the
next layer M2U-Net computes: the stem Conv and its activation, each inverted
residual block's Convs and activations and its residual Add, the four
Resize x2 (mode linear, pytorch_half_pixel or half_pixel coordinates) and
Concat(upsampled, skip), the final Conv, and optionally a Sigmoid. Hidden
activations are Relu, or Clip(0, 6) for ReLU6 (bounds as attributes, or as
inputs from initializers or Constants); one kind across the whole graph.
A node that does not fit is refused, naming its op type, name and inputs.
A Conv without a bias input gets a zero bias. Imports onnx lazily.
"""

from collections import OrderedDict, namedtuple

import numpy as np

import m2u_arch
from m2u_build import ConversionError, cast_tensor

Mapping = namedtuple("Mapping", "in_channels out_channels activation output tensors "
                                "stage_tensors output_name opset producer")

_RESIZE_ATTRIBUTES = {"mode", "coordinate_transformation_mode", "cubic_coeff_a",
                      "exclude_outside", "extrapolation_value", "nearest_mode", "antialias",
                      "keep_aspect_ratio_policy"}


def _attributes(node):
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


def _describe(node, inputs):
    return "node %s '%s' (inputs: %s)" % (node.op_type, node.name or "<unnamed>",
                                          ", ".join("'%s'" % i for i in inputs) or "none")


class _Graph:
    """Topologically ordered compute nodes, constants and Identity aliases."""

    def __init__(self, model):
        from onnx import numpy_helper
        g = model.graph
        self.constants = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        inputs = [i for i in g.input if i.name not in self.constants]
        if len(inputs) != 1:
            raise ConversionError("the graph has %d inputs (%s); M2U-Net has one image input"
                                  % (len(inputs), ", ".join(i.name for i in inputs)))
        self.input = inputs[0]
        self.alias = {}
        self.nodes = []  # (node, resolved inputs)
        for node in self._topological(g):
            inputs = [self.alias.get(name, name) for name in node.input]
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                self.constants[node.output[0]] = self._constant_value(node)
            elif node.op_type == "Identity" and node.domain in ("", "ai.onnx"):
                if inputs[0] in self.constants:
                    self.constants[node.output[0]] = self.constants[inputs[0]]
                else:
                    self.alias[node.output[0]] = inputs[0]
            else:
                self.nodes.append((node, inputs))
        self.outputs = [self.alias.get(o.name, o.name) for o in g.output]

    def _topological(self, g):
        available = {i.name for i in g.input} | set(self.constants) | {""}
        pending, ordered = list(range(len(g.node))), []
        while pending:
            ready = [i for i in pending if all(name in available for name in g.node[i].input)]
            if not ready:
                n = g.node[pending[0]]
                missing = [name for name in n.input if name not in available]
                raise ConversionError("%s: input '%s' is never produced (graph is not a DAG or "
                                      "is incomplete)" % (_describe(n, n.input), missing[0]))
            for i in ready:
                available.update(g.node[i].output)
            ordered += ready
            done = set(ready)
            pending = [i for i in pending if i not in done]
        return [g.node[i] for i in ordered]

    @staticmethod
    def _constant_value(node):
        from onnx import numpy_helper
        attrs = _attributes(node)
        if "value" in attrs:
            return numpy_helper.to_array(attrs["value"])
        for key, dtype in (("value_float", np.float32), ("value_floats", np.float32),
                           ("value_int", np.int64), ("value_ints", np.int64)):
            if key in attrs:
                return np.array(attrs[key], dtype=dtype)
        raise ConversionError("%s: unsupported Constant attribute %s"
                              % (_describe(node, node.input), sorted(attrs)))


class _Walker:
    def __init__(self, graph, opset, activation):
        self.graph = graph
        self.opset = opset
        self.activation = activation  # 'relu6', 'relu' or None (infer)
        self.activation_source = "--activation %s" % activation if activation else None
        self.pos = 0
        self.tensors = OrderedDict()

    def fail(self, node, inputs, message):
        if node.op_type == "BatchNormalization":
            message += ("; batch norm must be folded into the Convs (export in eval mode with "
                        "do_constant_folding=True, or convert the .pth instead)")
        raise ConversionError("cannot place %s: %s" % (_describe(node, inputs), message))

    def peek(self):
        return self.graph.nodes[self.pos] if self.pos < len(self.graph.nodes) else (None, None)

    def take(self, op_types, data_input, what):
        node, inputs = self.peek()
        if node is None:
            raise ConversionError("the graph ends where M2U-Net has %s on tensor '%s'"
                                  % (what, data_input))
        if node.op_type not in op_types or node.domain not in ("", "ai.onnx"):
            self.fail(node, inputs, "expected %s on tensor '%s'" % (what, data_input))
        if not inputs or inputs[0] != data_input:
            self.fail(node, inputs, "expected %s on tensor '%s', but its data input is '%s'"
                      % (what, data_input, inputs[0] if inputs else ""))
        self.pos += 1
        return node, inputs

    def constant(self, node, inputs, index, what):
        name = inputs[index] if index < len(inputs) else ""
        if name == "":
            return None
        if name not in self.graph.constants:
            self.fail(node, inputs, "its %s '%s' is not an initializer or Constant" % (what, name))
        return self.graph.constants[name]

    def conv(self, spec, x, describe):
        what = "Conv '%s' (%s)" % (spec.name, describe)
        node, inputs = self.take(("Conv",), x, what)
        attrs = _attributes(node)
        pad = spec.kernel // 2
        checks = (("group", attrs.get("group", 1), spec.groups),
                  ("strides", list(attrs.get("strides", [1, 1])), [spec.stride] * 2),
                  ("pads", list(attrs.get("pads", [0, 0, 0, 0])), [pad] * 4),
                  ("dilations", list(attrs.get("dilations", [1, 1])), [1, 1]),
                  ("auto_pad", _text(attrs.get("auto_pad", "NOTSET")), "NOTSET"))
        for key, found, expected in checks:
            if found != expected:
                self.fail(node, inputs, "%s: expected %s %s, found %s"
                          % (what, key, expected, found))
        weight = self.constant(node, inputs, 1, "weight")
        if weight is None:
            self.fail(node, inputs, "%s has no weight" % what)
        shape = m2u_arch.weight_shape(spec)
        if tuple(weight.shape) != shape:
            self.fail(node, inputs, "%s: expected weight shape %s, found %s"
                      % (what, list(shape), list(weight.shape)))
        bias = self.constant(node, inputs, 2, "bias")
        if bias is None:
            bias = np.zeros(spec.cout, dtype=weight.dtype)
        if tuple(bias.shape) != (spec.cout,):
            self.fail(node, inputs, "%s: expected bias shape %s, found %s"
                      % (what, [spec.cout], list(bias.shape)))
        self.tensors[spec.name + ".weight"] = weight
        self.tensors[spec.name + ".bias"] = bias
        return node.output[0]

    def _clip_kind(self, node, inputs):
        attrs = _attributes(node)
        if self.opset < 11:
            low, high = attrs.get("min", -np.inf), attrs.get("max", np.inf)
        else:
            low = self.constant(node, inputs, 1, "min")
            high = self.constant(node, inputs, 2, "max")
            low = -np.inf if low is None else float(np.asarray(low).reshape(-1)[0])
            high = np.inf if high is None else float(np.asarray(high).reshape(-1)[0])
        if low == 0 and high == 6:
            return "relu6"
        if low == 0 and high == np.inf:
            return "relu"
        self.fail(node, inputs, "Clip(%g, %g) is neither ReLU6 (Clip 0..6) nor ReLU" % (low, high))

    def act(self, x, after):
        what = "the hidden activation (Relu or Clip 0..6) after '%s'" % after
        node, inputs = self.take(("Relu", "Clip"), x, what)
        kind = "relu" if node.op_type == "Relu" else self._clip_kind(node, inputs)
        if self.activation is None:
            self.activation = kind
            self.activation_source = "%s '%s'" % (node.op_type, node.name)
        elif kind != self.activation:
            self.fail(node, inputs, "activation %s here, but %s (from %s); the activation "
                      "must be the same across the graph"
                      % (kind, self.activation, self.activation_source))
        return node.output[0]

    def block(self, block, x):
        roles = (["expand 1x1"] if len(block.convs) == 3 else []) + ["depthwise 3x3",
                                                                      "project 1x1"]
        y = x
        for spec, role in zip(block.convs, roles):
            y = self.conv(spec, y, "%s, %d->%d" % (role, spec.cin, spec.cout))
            if spec.act:
                y = self.act(y, spec.name)
        if block.residual:
            node, inputs = self.peek()
            if node is None or node.op_type != "Add" or sorted(inputs) != sorted([x, y]):
                what = "the residual Add of block '%s' on tensors '%s' and '%s'" % (
                    block.name, x, y)
                if node is None:
                    raise ConversionError("the graph ends where M2U-Net has %s" % what)
                self.fail(node, inputs, "expected %s" % what)
            self.pos += 1
            y = node.output[0]
        return y

    def conv_weight_dim(self, index):
        """Dim `index` of the next node's weight if it is a Conv with a constant
        4-D weight, else 0 (the caller then refuses the node)."""
        node, inputs = self.peek()
        if node is None or node.op_type != "Conv" or len(inputs) < 2:
            return 0
        weight = self.graph.constants.get(inputs[1])
        return weight.shape[index] if weight is not None and weight.ndim == 4 else 0

    def resize(self, x, stage, channels, input_shape):
        what = "the x2 bilinear upsample of stage '%s'" % stage.name
        node, inputs = self.take(("Resize", "Upsample"), x, what)
        if node.op_type == "Upsample" or self.opset < 11:
            self.fail(node, inputs, "%s at opset %d uses asymmetric coordinates, not PyTorch's "
                      "bilinear align_corners=False; re-export with opset >= 11"
                      % (node.op_type, self.opset))
        attrs = _attributes(node)
        unknown = sorted(set(attrs) - _RESIZE_ATTRIBUTES)
        if unknown:
            self.fail(node, inputs, "unsupported Resize attribute(s) %s" % unknown)
        mode = _text(attrs.get("mode", "nearest"))
        coords = _text(attrs.get("coordinate_transformation_mode", "half_pixel"))
        if mode != "linear" or coords not in ("pytorch_half_pixel", "half_pixel"):
            self.fail(node, inputs, "Resize mode '%s' with coordinate_transformation_mode '%s'; "
                      "M2U-Net needs mode 'linear' with 'pytorch_half_pixel' (or 'half_pixel')"
                      % (mode, coords))
        if attrs.get("exclude_outside", 0) != 0 or attrs.get("antialias", 0) != 0:
            self.fail(node, inputs, "Resize with exclude_outside or antialias set")
        scales = self.constant(node, inputs, 2, "scales")
        if scales is not None and scales.size:
            if [float(s) for s in scales.reshape(-1)] != [1.0, 1.0, 2.0, 2.0]:
                self.fail(node, inputs, "Resize scales %s; expected [1, 1, 2, 2]"
                          % scales.reshape(-1).tolist())
        else:
            self._check_sizes(node, inputs, stage, channels, input_shape)
        return node.output[0]

    def _check_sizes(self, node, inputs, stage, channels, input_shape):
        sizes = self.constant(node, inputs, 3, "sizes")
        if sizes is None:
            self.fail(node, inputs, "Resize has neither constant scales nor sizes")
        n, _, h, w = input_shape
        if not (isinstance(h, int) and isinstance(w, int)):
            self.fail(node, inputs, "Resize uses fixed sizes %s but the graph input's height and "
                      "width are not fixed" % sizes.tolist())
        # The Resize input is the previous stage, at twice this stage's divisor.
        d = stage.downscale * 2
        expected = [n, channels, h // d * 2, w // d * 2]
        if sizes.reshape(-1).tolist() != expected:
            self.fail(node, inputs, "Resize sizes %s; x2 of this tensor is %s"
                      % (sizes.reshape(-1).tolist(), expected))

    def concat(self, up, skip, stage):
        what = "Concat(upsampled '%s', skip '%s') of stage '%s'" % (up, skip, stage.name)
        node, inputs = self.peek()
        if node is None:
            raise ConversionError("the graph ends where M2U-Net has %s" % what)
        axis = _attributes(node).get("axis")
        if node.op_type != "Concat" or axis not in (1, -3) or inputs != [up, skip]:
            hint = ""
            if node.op_type == "Concat" and inputs == [skip, up]:
                hint = " (its inputs are in the wrong order: upsampled first, skip second)"
            self.fail(node, inputs, "expected %s along axis 1%s" % (what, hint))
        self.pos += 1
        return node.output[0]


def _declared_shape(value_info):
    dims = value_info.type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in dims]


def map_onnx(path, activation, dtype_policy):
    """Maps the ONNX file at `path`; returns a Mapping (see module docstring)."""
    import onnx
    try:
        model = onnx.load(path)
    except Exception as e:  # protobuf raises DecodeError and others
        raise ConversionError("%s cannot be read as an ONNX model: %s" % (path, e))
    opset = max([o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] or [0])
    graph = _Graph(model)
    x = graph.input.name
    if graph.input.type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
        raise ConversionError("graph input '%s' is not float32" % x)
    input_shape = _declared_shape(graph.input)
    if len(input_shape) != 4:
        raise ConversionError("graph input '%s' has rank %d; M2U-Net takes N x C x H x W"
                              % (x, len(input_shape)))
    walker = _Walker(graph, opset, activation)

    cin = walker.conv_weight_dim(1)
    if not 1 <= cin <= 8:
        node, inputs = walker.peek()
        if node is None:
            raise ConversionError("the graph has no layers")
        walker.fail(node, inputs, "expected the stem Conv 'conv1.0.0' (3x3 stride 2, Cin 1..8 "
                    "-> 32) on the graph input '%s'" % x)
    arch = m2u_arch.make_architecture(cin, 1)
    stage_tensors = OrderedDict()
    y = walker.conv(arch.stem, x, "stem 3x3 stride 2, %d->32" % cin)
    y = walker.act(y, arch.stem.name)
    skips = {"decode4": "conv3", "decode3": "conv2", "decode2": "conv1"}
    channels = 32
    for stage in arch.stages:
        if stage.name.startswith("decode"):
            up = walker.resize(y, stage, channels, input_shape)
            skip = stage_tensors[skips[stage.name]] if stage.name in skips else x
            y = walker.concat(up, skip, stage)
        for block in stage.blocks:
            y = walker.block(block, y)
        stage_tensors[stage.name] = y
        channels = stage.cout

    cout = walker.conv_weight_dim(0)
    if not 1 <= cout <= 64:
        node, inputs = walker.peek()
        if node is None:
            raise ConversionError("the graph ends where M2U-Net has its final 1x1 Conv "
                                  "'decode1.conv.0' on tensor '%s'" % y)
        walker.fail(node, inputs, "expected the final 1x1 Conv 'decode1.conv.0' (16 -> Cout, "
                    "Cout 1..64) on tensor '%s'" % y)
    y = walker.conv(arch.final._replace(cout=cout), y, "final 1x1 with bias, 16->%d" % cout)
    output = "linear"
    node, inputs = walker.peek()
    if node is not None and node.op_type == "Sigmoid" and inputs == [y]:
        walker.pos += 1
        y, output = node.output[0], "sigmoid"
    node, inputs = walker.peek()
    if node is not None:
        walker.fail(node, inputs, "it follows M2U-Net's last layer (output tensor '%s')" % y)
    if graph.outputs != [y]:
        raise ConversionError("graph outputs are %s; M2U-Net's output is tensor '%s'"
                              % (graph.outputs, y))
    if walker.activation is None:
        raise ConversionError("the graph has no hidden activation")
    tensors = OrderedDict((name, cast_tensor(name, value, dtype_policy))
                          for name, value in walker.tensors.items())
    producer = ("%s %s" % (model.producer_name, model.producer_version)).strip()
    return Mapping(cin, cout, walker.activation, output, tensors, stage_tensors, y, opset, producer)
