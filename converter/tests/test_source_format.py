"""m2u_convert.py reads the source's format from its content, not its name:
a state_dict or an ONNX export without a suffix converts, one with the other
format's suffix converts with a note, and anything else is refused naming
the file and what its first bytes look like (status 2, no output)."""

import os
import shutil
import tempfile
import unittest
from collections import OrderedDict

import torch

import support
import m2u_format as fmt
import m2unet
from test_convert_onnx import export, random_model

DATE = "2024-01-01T00:00:00Z"


class SourceFormat(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        torch.manual_seed(0)
        cls.state = OrderedDict(m2unet.M2UNet(3, 1).state_dict())
        cls.onnx_path = os.path.join(cls.tmp, "m.onnx")
        export(random_model("relu6"), cls.onnx_path, training=torch.onnx.TrainingMode.EVAL,
               do_constant_folding=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def setUp(self):
        self.dir = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.dir)

    def convert(self, source):
        """(.m2u bytes, stderr) of a conversion that must succeed."""
        out = source + ".m2u"
        rc, _, err = support.convert(source, "-o", out, "--input-convention", "raw255",
                                     "--fixed-date", DATE)
        self.assertEqual(rc, 0, err)
        with open(out, "rb") as f:
            return f.read(), err

    def assert_same_but_source_name(self, data, reference, name):
        """`data` is `reference` byte for byte, but for the file name that
        the provenance's `source:` line records."""
        m = fmt.read_m2u(reference)
        provenance = OrderedDict(line.split(": ", 1) for line in m.provenance.splitlines())
        provenance["source"] = name
        self.assertEqual(data, fmt.write_m2u(m.info, provenance, m.tensors))

    def write(self, name, content):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(content)
        return path

    def test_extensionless_state_dict_converts_like_the_pth(self):
        for legacy in (False, True):
            with self.subTest(format="legacy pickle" if legacy else "zip"):
                named = os.path.join(self.dir, "model.pth")
                bare = os.path.join(self.dir, "model")
                torch.save(self.state, named, _use_new_zipfile_serialization=not legacy)
                shutil.copyfile(named, bare)
                reference, err = self.convert(named)
                self.assertEqual(err, "")
                data, err = self.convert(bare)
                self.assertEqual(err, "")
                self.assertIn("source: model\n", fmt.read_m2u(data).provenance)
                self.assert_same_but_source_name(data, reference, "model")

    def test_extensionless_onnx_converts_like_the_onnx(self):
        bare = os.path.join(self.dir, "m")
        shutil.copyfile(self.onnx_path, bare)
        data, err = self.convert(bare)
        self.assertEqual(err, "")
        self.assertTrue(fmt.read_m2u(data).info.bn_folded)
        reference, _ = self.convert(shutil.copy(self.onnx_path, self.dir))
        self.assert_same_but_source_name(data, reference, "m")

    def test_misnamed_files_convert_with_a_note(self):
        onnx_as_pth = shutil.copyfile(self.onnx_path, os.path.join(self.dir, "onnx.pth"))
        data, err = self.convert(onnx_as_pth)
        self.assertTrue(fmt.read_m2u(data).info.bn_folded)
        self.assertIn("note: %s is named like a PyTorch file but holds a protobuf ModelProto "
                      "(ONNX); converting it as ONNX" % onnx_as_pth, err)
        pth_as_onnx = os.path.join(self.dir, "state.onnx")
        torch.save(self.state, pth_as_onnx)
        data, err = self.convert(pth_as_onnx)
        self.assertFalse(fmt.read_m2u(data).info.bn_folded)
        self.assertIn("note: %s is named like an ONNX model but holds a zip archive "
                      "(torch.save); converting it as a PyTorch state_dict" % pth_as_onnx, err)

    def test_other_content_is_refused_naming_the_file_and_its_first_bytes(self):
        with open(self.onnx_path, "rb") as f:
            onnx_start = f.read(3000)
        cases = [
            ("model", b"GIF89a\x01\x00\x01\x00",
             ["is neither a PyTorch file nor an ONNX model",
              "its first bytes are 47 49 46 38 39 61 01 00 01 00 (b'GIF89a\\x01\\x00\\x01\\x00')",
              "a zip archive starting PK\\x03\\x04, or a legacy pickle starting \\x80"]),
            ("model.pth", b"not a pickle",
             ["is neither a PyTorch file nor an ONNX model", "6e 6f 74 20 61 20 70 69 63 6b"]),
            ("cut.onnx", onnx_start,
             ["starts like an ONNX ModelProto (08: ir_version) but is not a well-formed "
              "protobuf message: field 7 at byte", "runs past the end of the file (3000 bytes)",
              "its first bytes are 08 07 12 07 70 79 74 6f 72 63 68"]),
            ("version", b"\x08\x07", ["is a protobuf message without a graph (field 7)"]),
            ("empty", b"", ["is empty"]),
        ]
        for name, content, fragments in cases:
            with self.subTest(name=name):
                path = self.write(name, content)
                out = os.path.join(self.dir, "out.m2u")
                rc, _, err = support.convert(path, "-o", out, "--input-convention", "raw255")
                self.assertEqual(rc, 2, err)
                self.assertIn("error: source %s " % path, err)
                for fragment in fragments:
                    self.assertIn(fragment, err)
                self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    unittest.main()
