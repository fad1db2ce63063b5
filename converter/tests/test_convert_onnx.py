"""m2u_convert.py on .onnx files: the mapping onto M2U-Net (checked against
onnx_eval.py, the independent interpreter), accepted variants, and every
refusal (naming the node, exit status 2, no output file)."""

import os
import shutil
import tempfile
import unittest
import warnings

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

import support
import m2u_format as fmt
import m2unet
import onnx_eval
import onnx_import
import png_read

HEIGHT, WIDTH = 48, 80


def random_model(activation):
    """An eval-mode M2UNet(3, 1) with non-trivial batch-norm statistics."""
    torch.manual_seed(1)
    model = m2unet.M2UNet(3, 1, activation, "sigmoid").eval()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.1, 0.1)
            assert module.running_var.shape == (n,)
    return model


def export(model, path, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.zeros(1, 3, HEIGHT, WIDTH), path, opset_version=12,
                          input_names=["input"], output_names=["output"], **options)
    return onnx.load(path)


def nodes(model, op_type):
    return [n for n in model.graph.node if n.op_type == op_type]


def relative_difference(a, b):
    return float(np.abs(np.asarray(a, np.float64) - b).max() / np.abs(b).max())


def compare_mapping_with_eval(test, path, x):
    """Max relative difference over output and stages between the converter's
    mapping (run by M2UNet, float32) and onnx_eval.py (float64)."""
    mapping = onnx_import.map_onnx(path, None, "keep")
    model = m2unet.model_from_tensors(mapping.tensors, mapping.in_channels,
                                      mapping.out_channels, mapping.activation, mapping.output,
                                      folded=True)
    values = onnx_eval.evaluate(path, x, list(mapping.stage_tensors.values()))
    with torch.no_grad():
        y, stages = model(torch.from_numpy(x), return_stages=True)
    worst = relative_difference(y.numpy(), values[mapping.output_name])
    for stage, name in mapping.stage_tensors.items():
        test.assertEqual(stages[stage].shape, values[name].shape, stage)
        worst = max(worst, relative_difference(stages[stage].numpy(), values[name]))
    return worst


class OnnxConversion(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        cls.torch_model = random_model("relu6")
        cls.path = os.path.join(cls.tmp, "m.onnx")
        cls.base = export(cls.torch_model, cls.path, training=torch.onnx.TrainingMode.EVAL,
                          do_constant_folding=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.out = os.path.join(self.dir, "out.m2u")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def variant(self, mutate):
        model = onnx.ModelProto()
        model.CopyFrom(self.base)
        mutate(model)
        path = os.path.join(self.dir, "variant.onnx")
        onnx.save(model, path)
        return path

    def convert(self, path, *args):
        return support.convert(path, "-o", self.out, "--input-convention", "raw255", *args)

    def refuse(self, path, *fragments, args=()):
        rc, _, err = self.convert(path, *args)
        self.assertEqual(rc, 2, err)
        for fragment in fragments:
            self.assertIn(fragment, err)
        self.assertFalse(os.path.exists(self.out))
        self.assertEqual(os.listdir(self.dir), [os.path.basename(path)])
        return err

    def test_export_converts_to_bn_folded(self):
        rc, out, err = self.convert(self.path)
        self.assertEqual(rc, 0, err)
        with open(self.out, "rb") as f:
            m = fmt.read_m2u(f.read())
        self.assertTrue(m.info.bn_folded)
        self.assertEqual((m.info.hidden_activation, m.info.output_activation),
                         (fmt.ACT_RELU6, fmt.OUT_SIGMOID))
        self.assertIn("ONNX opset 12", m.provenance)
        self.assertTrue(all(e.dtype == fmt.DTYPE_F32 for e in m.entries))

    def test_mapping_matches_onnx_eval_and_pytorch(self):
        x = np.random.default_rng(5).uniform(0, 255, (2, 3, 32, 64)).astype(np.float32)
        self.assertLess(compare_mapping_with_eval(self, self.path, x), 1e-5)
        values = onnx_eval.evaluate(self.path, x)
        with torch.no_grad():
            y = self.torch_model(torch.from_numpy(x)).numpy()
        self.assertLess(relative_difference(y, values["output"]), 1e-5)

    def test_real_onnx_mapping_matches_onnx_eval(self):
        path = support.data_file("m2unet_rbc_3ch_relu_bnfolded.onnx")
        grey = png_read.read_png(support.data_file("octopi_dpc_rbc_1024.png"))[..., 0]
        crop = grey[384:512, 384:512].astype(np.float32)
        x = np.ascontiguousarray(np.broadcast_to(crop, (1, 3, 128, 128)))
        self.assertLess(compare_mapping_with_eval(self, path, x), 1e-5)

    def test_constants_as_initializers_identity_chains_and_sizes(self):
        def mutate(model):
            g = model.graph
            for node in nodes(model, "Constant"):
                value = numpy_helper.to_array(node.attribute[0].t)
                g.initializer.append(numpy_helper.from_array(value, node.output[0]))
                g.node.remove(node)
            first, second = nodes(model, "Resize")[:2]
            g.node.insert(0, helper.make_node("Identity", [first.input[2]], ["s_a"], "Id_a"))
            g.node.insert(1, helper.make_node("Identity", ["s_a"], ["s_b"], "Id_b"))
            first.input[2] = "s_b"
            g.initializer.append(numpy_helper.from_array(
                np.array([1, 64, 12, 20], np.int64), "sizes_decode3"))
            second.input[2] = ""
            second.input.append("sizes_decode3")
        path = self.variant(mutate)
        rc, _, err = self.convert(path)
        self.assertEqual(rc, 0, err)
        x = np.random.default_rng(6).uniform(0, 255, (1, 3, HEIGHT, WIDTH)).astype(np.float32)
        self.assertLess(compare_mapping_with_eval(self, path, x), 1e-5)
        os.unlink(self.out)

        def wrong_sizes(model):
            mutate(model)
            model.graph.initializer[-1].CopyFrom(numpy_helper.from_array(
                np.array([1, 64, 6, 10], np.int64), "sizes_decode3"))
        self.refuse(self.variant(wrong_sizes), "node Resize '/decode3/Resize'",
                    "sizes [1, 64, 6, 10]; x2 of this tensor is [1, 64, 12, 20]")

    def test_relu_graph_and_activation_option(self):
        path = os.path.join(self.dir, "relu.onnx")
        export(random_model("relu"), path, training=torch.onnx.TrainingMode.EVAL)
        rc, _, err = self.convert(path, "--activation", "relu", "--output", "linear")
        self.assertEqual(rc, 0, err)
        with open(self.out, "rb") as f:
            info = fmt.read_m2u(f.read()).info
        self.assertEqual((info.hidden_activation, info.output_activation),
                         (fmt.ACT_RELU, fmt.OUT_LINEAR))
        self.assertIn("drops", err)
        os.unlink(self.out)
        self.refuse(path, "activation relu here, but relu6 (from --activation relu6)",
                    args=("--activation", "relu6"))

    def test_unknown_op(self):
        def mutate(model):
            nodes(model, "Clip")[3].op_type = "LeakyRelu"
        err = self.refuse(self.variant(mutate), "cannot place node LeakyRelu",
                          "expected the hidden activation")
        self.assertRegex(err, r"node LeakyRelu '[^']+' \(inputs: '[^']+'")

    def test_unfolded_batch_norm(self):
        path = os.path.join(self.dir, "bn.onnx")
        export(self.torch_model, path, training=torch.onnx.TrainingMode.PRESERVE,
               do_constant_folding=False)
        self.refuse(path, "cannot place node BatchNormalization", "must be folded")

    def test_wrong_resize_mode(self):
        def nearest(model):
            resize = nodes(model, "Resize")[1]
            resize.attribute.append(helper.make_attribute("mode", "nearest"))
            del resize.attribute[[a.name for a in resize.attribute].index("mode")]
        self.refuse(self.variant(nearest), "cannot place node Resize '/decode3/Resize'",
                    "mode 'nearest'")

        def asymmetric(model):
            resize = nodes(model, "Resize")[0]
            for a in resize.attribute:
                if a.name == "coordinate_transformation_mode":
                    a.s = b"asymmetric"
        self.refuse(self.variant(asymmetric), "node Resize '/decode4/Resize'",
                    "coordinate_transformation_mode 'asymmetric'")

        def upsample(model):
            nodes(model, "Resize")[0].op_type = "Upsample"
        self.refuse(self.variant(upsample), "node Upsample", "asymmetric coordinates")

    def test_wrong_scales(self):
        def mutate(model):
            resize = nodes(model, "Resize")[2]
            model.graph.initializer.append(numpy_helper.from_array(
                np.array([1, 1, 3, 3], np.float32), "scales3"))
            resize.input[2] = "scales3"
        self.refuse(self.variant(mutate), "node Resize '/decode2/Resize'",
                    "scales [1.0, 1.0, 3.0, 3.0]; expected [1, 1, 2, 2]")

    def test_mixed_activations(self):
        def mutate(model):
            clip = nodes(model, "Clip")[5]
            clip.op_type = "Relu"
            del clip.input[1:]
        self.refuse(self.variant(mutate), "cannot place node Relu",
                    "activation relu here, but relu6 (from Clip")

    def test_concat_order(self):
        def mutate(model):
            concat = nodes(model, "Concat")[0]
            concat.input[0], concat.input[1] = concat.input[1], concat.input[0]
        self.refuse(self.variant(mutate), "cannot place node Concat '/decode4/Concat'",
                    "wrong order")

    def test_trailing_node(self):
        def mutate(model):
            g = model.graph
            g.node.append(helper.make_node("Neg", ["output"], ["negated"], "Neg_end"))
            g.output[0].name = "negated"
        self.refuse(self.variant(mutate), "cannot place node Neg 'Neg_end' (inputs: 'output')",
                    "follows M2U-Net's last layer")

    def test_not_onnx(self):
        path = os.path.join(self.dir, "junk.onnx")
        with open(path, "wb") as f:
            f.write(b"\x08\x07\x3a\x03\xff\xff\xff")  # ir_version 7, a 3-byte graph of junk
        self.refuse(path, "junk.onnx cannot be read as an ONNX model")


if __name__ == "__main__":
    unittest.main()
