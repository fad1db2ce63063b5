"""onnx_eval.py against PyTorch on small hand-built graphs."""

import unittest

import numpy as np
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

import support  # noqa: F401  (sets sys.path)
import onnx_eval


def graph_model(nodes, initializers, opset=12):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, k) for k, v in initializers.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


class OnnxEval(unittest.TestCase):
    def setUp(self):
        self.rng = np.random.default_rng(0)
        self.x = self.rng.standard_normal((2, 4, 10, 14)).astype(np.float32)

    def check(self, model, expected):
        y = onnx_eval.evaluate(model, self.x)["y"]
        np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)

    def test_conv_variants(self):
        cases = ((6, 3, 2, 2, [1, 1, 1, 1], 1), (4, 3, 4, 1, [1, 1, 1, 1], 1),
                 (8, 1, 1, 1, [0, 0, 0, 0], 1), (6, 3, 1, 2, [0, 1, 2, 1], 2))
        for cout, k, groups, stride, pads, dilation in cases:
            with self.subTest(cout=cout, k=k, groups=groups, stride=stride, pads=pads):
                w = self.rng.standard_normal((cout, 4 // groups, k, k)).astype(np.float32)
                b = self.rng.standard_normal(cout).astype(np.float32)
                node = helper.make_node("Conv", ["x", "w", "b"], ["y"], group=groups,
                                        strides=[stride] * 2, pads=pads,
                                        dilations=[dilation] * 2, kernel_shape=[k, k])
                padded = F.pad(torch.from_numpy(self.x), (pads[1], pads[3], pads[0], pads[2]))
                expected = F.conv2d(padded, torch.from_numpy(w), torch.from_numpy(b), stride,
                                    0, dilation, groups)
                self.check(graph_model([node], {"w": w, "b": b}), expected.numpy())

    def test_resize_matches_bilinear_align_corners_false(self):
        for mode in ("pytorch_half_pixel", "half_pixel"):
            with self.subTest(mode=mode):
                nodes = [helper.make_node("Constant", [], ["roi"], value=numpy_helper.from_array(
                             np.array([], np.float32))),
                         helper.make_node("Identity", ["s"], ["s2"]),
                         helper.make_node("Resize", ["x", "roi", "s2"], ["y"], mode="linear",
                                          coordinate_transformation_mode=mode)]
                model = graph_model(nodes, {"s": np.array([1, 1, 2, 2], np.float32)})
                expected = F.interpolate(torch.from_numpy(self.x), scale_factor=2,
                                         mode="bilinear", align_corners=False)
                self.check(model, expected.numpy())

    def test_clip_add_concat_sigmoid(self):
        nodes = [helper.make_node("Clip", ["x", "lo", "hi"], ["c"]),
                 helper.make_node("Relu", ["x"], ["r"]),
                 helper.make_node("Add", ["c", "r"], ["a"]),
                 helper.make_node("Sigmoid", ["a"], ["s"]),
                 helper.make_node("Concat", ["s", "x"], ["y"], axis=1)]
        model = graph_model(nodes, {"lo": np.array(0, np.float32), "hi": np.array(1, np.float32)})
        s = 1 / (1 + np.exp(-(np.clip(self.x, 0, 1) + np.maximum(self.x, 0))))
        self.check(model, np.concatenate([s, self.x], axis=1))

    def test_unsupported_op(self):
        model = graph_model([helper.make_node("Tanh", ["x"], ["y"], name="T")], {})
        with self.assertRaisesRegex(NotImplementedError, "node Tanh 'T'"):
            onnx_eval.evaluate(model, self.x)


if __name__ == "__main__":
    unittest.main()
