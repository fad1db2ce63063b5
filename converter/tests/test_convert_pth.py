"""m2u_convert.py on .pth files: a good conversion, --info, and every refusal
(each must name the key or tensor, exit with status 2 and leave no file)."""

import os
import shutil
import tempfile
import unittest
from collections import OrderedDict

import numpy as np
import torch

import support
import m2u_format as fmt
import m2unet


class PthConversion(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.manual_seed(0)
        cls.state = OrderedDict((k, v.clone()) for k, v in m2unet.M2UNet(3, 1).state_dict().items())

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.out = os.path.join(self.dir, "out.m2u")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def save(self, obj, name="model.pth"):
        path = os.path.join(self.dir, name)
        torch.save(obj, path)
        return path

    def modified(self, **changes):
        state = OrderedDict((k, v.clone()) for k, v in self.state.items())
        state.update(changes)
        return state

    def refuse(self, source, *fragments, args=("--input-convention", "raw255")):
        before = sorted(os.listdir(self.dir))
        rc, out, err = support.convert(source, "-o", self.out, *args)
        self.assertEqual(rc, 2, err)
        for fragment in fragments:
            self.assertIn(fragment, err)
        self.assertFalse(os.path.exists(self.out))
        self.assertEqual(sorted(os.listdir(self.dir)), before, "temp file left behind")
        return err

    def test_fp16_wrapped_state_dict_keeps_f16(self):
        half = OrderedDict((k, v.half() if v.is_floating_point() else v)
                           for k, v in self.state.items())
        source = self.save({"model": half, "epoch": 3})
        rc, out, err = support.convert(source, "-o", self.out, "--input-convention", "raw255")
        self.assertEqual(rc, 0, err)
        with open(self.out, "rb") as f:
            m = fmt.read_m2u(f.read())
        self.assertFalse(m.info.bn_folded)
        self.assertEqual((m.info.in_channels, m.info.out_channels), (3, 1))
        self.assertTrue(all(e.dtype == fmt.DTYPE_F16 for e in m.entries))
        self.assertIn("wrapped under key 'model'", m.provenance)
        self.assertIn("source: model.pth", m.provenance)
        np.testing.assert_array_equal(m.tensors["conv2.2.conv.0.weight"],
                                      half["conv2.2.conv.0.weight"].numpy())
        rc, out, err = support.convert("--info", self.out)
        self.assertEqual(rc, 0, err)
        for pattern in ("in_channels: 3", "AFFINE, pixel_scale 255", "source_sha256: [0-9a-f]{64}",
                        r"conv4\.13\.conv\.7\.running_var +F16 +96 +\d+ +192",
                        "checksum: ok"):
            self.assertRegex(out, pattern)

    def test_options_reach_the_header(self):
        source = self.save(self.state)
        rc, _, err = support.convert(source, "-o", self.out, "--activation", "relu", "--output",
                                     "linear", "--grey-fill", "first", "--dtype", "f16",
                                     "--input-convention", "affine:1:0.5,0.5,0.5:0.25,0.25,0.25")
        self.assertEqual(rc, 0, err)
        with open(self.out, "rb") as f:
            info = fmt.read_m2u(f.read()).info
        self.assertEqual((info.hidden_activation, info.output_activation, info.grey_fill),
                         (fmt.ACT_RELU, fmt.OUT_LINEAR, fmt.FILL_FIRST))
        self.assertEqual((info.pixel_scale, info.channel_mean[:4], info.channel_std[:4]),
                         (1.0, [0.5, 0.5, 0.5, 0.0], [0.25, 0.25, 0.25, 0.0]))
        rc, _, err = support.convert(source, "-o", self.out, "--input-convention", "standardize")
        with open(self.out, "rb") as f:
            info = fmt.read_m2u(f.read()).info
        self.assertEqual((info.input_normalization, info.pixel_scale),
                         (fmt.NORM_STANDARDIZE, 255.0))
        self.assertAlmostEqual(info.std_floor, 1e-6)

    def test_missing_input_convention(self):
        self.refuse(self.save(self.state), "--input-convention is required", "raw255",
                    "standardize", "3-channel", "1-channel", args=())

    def test_bad_input_convention(self):
        self.refuse(self.save(self.state), "MEAN list has 1 values", "3 input channels",
                    args=("--input-convention", "affine:255:0:1"))
        self.refuse(self.save(self.state), "unknown input convention 'raw'",
                    args=("--input-convention", "raw"))

    def test_wrong_key(self):
        state = self.modified()
        state["conv2.2.conv.0.weights"] = state.pop("conv2.2.conv.0.weight")
        self.refuse(self.save(state), "key 'conv2.2.conv.0.weight' is missing",
                    "expected shape [96, 16, 1, 1]", "unexpected keys: 'conv2.2.conv.0.weights'")

    def test_unexpected_key(self):
        self.refuse(self.save(self.modified(**{"extra.weight": torch.zeros(2)})),
                    "unexpected key 'extra.weight' (shape [2])")

    def test_wrong_shape(self):
        wrong = torch.zeros(144, 24, 3, 3)
        self.refuse(self.save(self.modified(**{"conv2.3.conv.0.weight": wrong})),
                    "key 'conv2.3.conv.0.weight': expected shape [144, 24, 1, 1], "
                    "found [144, 24, 3, 3]")
        self.refuse(self.save(self.modified(**{"conv1.0.0.weight": torch.zeros(32, 3, 5, 5)})),
                    "key 'conv1.0.0.weight': expected shape [32, Cin, 3, 3]", "found [32, 3, 5, 5]")

    def test_nan_weight(self):
        weight = self.state["conv3.4.conv.3.weight"].clone()
        weight[5, 0, 1, 2] = float("nan")
        self.refuse(self.save(self.modified(**{"conv3.4.conv.3.weight": weight})),
                    "tensor 'conv3.4.conv.3.weight': value at index [5, 0, 1, 2] is nan")

    def test_negative_running_var(self):
        var = self.state["decode2.ir1.conv.4.running_var"].clone()
        var[3] = -0.5
        self.refuse(self.save(self.modified(**{"decode2.ir1.conv.4.running_var": var})),
                    "tensor 'decode2.ir1.conv.4.running_var': value at index [3] is -0.5")

    def test_f16_overflow(self):
        mean = self.state["conv1.0.1.running_mean"].clone()
        mean[7] = 1e6
        self.refuse(self.save(self.modified(**{"conv1.0.1.running_mean": mean})),
                    "tensor 'conv1.0.1.running_mean': value at index [7] is inf",
                    "after conversion to F16",
                    args=("--input-convention", "raw255", "--dtype", "f16"))

    def test_float64_needs_dtype(self):
        state = self.modified(**{"conv1.0.0.weight": self.state["conv1.0.0.weight"].double()})
        self.refuse(self.save(state), "tensor 'conv1.0.0.weight' has dtype float64",
                    "--dtype f32")

    def test_not_a_state_dict(self):
        self.refuse(self.save({"epoch": 3, "net": [1, 2]}), "no state_dict", "'state_dict'")
        path = self.save(self.state, "cut.pth")
        with open(path, "r+b") as f:
            f.truncate(4096)  # still a zip archive by its first bytes
        self.refuse(path, "cut.pth cannot be read as a PyTorch state_dict")
        self.refuse(os.path.join(self.dir, "absent.pth"), "does not exist")

    def test_program_exit_status_and_no_output(self):
        source = self.save(self.modified(**{"decode1.conv.0.weight": torch.zeros(1, 8, 1, 1)}))
        result = support.convert_program(source, "-o", self.out, "--input-convention", "raw255")
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("key 'decode1.conv.0.weight': expected shape [Cout, 16, 1, 1]",
                      result.stderr)
        self.assertEqual(os.listdir(self.dir), ["model.pth"])

    def test_existing_output_survives_a_failed_conversion(self):
        with open(self.out, "wb") as f:
            f.write(b"previous")
        state = self.modified()
        del state["conv4.8.conv.1.bias"]
        rc, _, err = support.convert(self.save(state), "-o", self.out, "--input-convention",
                                     "raw255")
        self.assertEqual(rc, 2)
        self.assertIn("key 'conv4.8.conv.1.bias' is missing", err)
        with open(self.out, "rb") as f:
            self.assertEqual(f.read(), b"previous")


if __name__ == "__main__":
    unittest.main()
