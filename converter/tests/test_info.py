"""m2u_convert.py --info: a valid file, a damaged one, a non-.m2u file, and
a reader of stdout that goes away."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

import support
import m2u_format as fmt
from test_format import PROVENANCE, random_tensors


class Info(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.path = os.path.join(self.dir, "m.m2u")
        info = fmt.ModelInfo(in_channels=1, out_channels=2, bn_folded=True,
                             input_normalization=fmt.NORM_STANDARDIZE, std_floor=1e-6,
                             channel_std=[1, 0, 0, 0, 0, 0, 0, 0])
        self.data = fmt.write_m2u(info, PROVENANCE, random_tensors(1, 2, True))
        with open(self.path, "wb") as f:
            f.write(self.data)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_valid(self):
        rc, out, err = support.convert("--info", self.path)
        self.assertEqual(rc, 0, err)
        for pattern in ("flags: 0x1 \\(BN_FOLDED\\)", "out_channels: 2",
                        "PER_IMAGE_STANDARDIZE, pixel_scale 255, std_floor 1e-06",
                        "source: x.pth", r"decode1\.conv\.0\.weight +F32 +2x16x1x1 +\d+ +128",
                        "checksum: ok"):
            self.assertRegex(out, pattern)

    def test_checksum_mismatch(self):
        damaged = bytearray(self.data)
        damaged[300] ^= 0x20  # inside the provenance text: still parses
        with open(self.path, "wb") as f:
            f.write(damaged)
        rc, out, err = support.convert("--info", self.path)
        self.assertEqual(rc, 1)
        self.assertIn("tensors (104):", out)
        self.assertIn("checksum: MISMATCH (stored 0x", out)
        self.assertIn("checksum mismatch", err)

    def test_invalid_file(self):
        with open(self.path, "wb") as f:
            f.write(b"M2UWEIGH" + self.data[8:100])
        rc, out, err = support.convert("--info", self.path)
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertIn("is not a valid .m2u file: file is 100 bytes", err)
        rc, _, err = support.convert("--info", os.path.join(self.dir, "absent.m2u"))
        self.assertEqual(rc, 1)
        self.assertIn("cannot read", err)

    def test_reader_of_stdout_gone(self):
        """`--info F | head -n 1` ends quietly with 128 + SIGPIPE. The reader
        here closed before anything was written: `head -n 1` breaks the pipe
        only when the output outruns the pipe's buffer (64 KiB), so with it
        the test could pass on a converter that prints a traceback."""
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            result = subprocess.run([sys.executable, support.CONVERT_SCRIPT, "--info", self.path],
                                    stdout=write_end, stderr=subprocess.PIPE, text=True)
        finally:
            os.close(write_end)
        self.assertEqual(result.stderr, "")
        self.assertEqual(result.returncode, 128 + signal.SIGPIPE)


if __name__ == "__main__":
    unittest.main()
