"""m2u_format: write/read round trip, layout rules, and the reader's refusals."""

import struct
import unittest
import zlib

import numpy as np

import support  # noqa: F401  (sets sys.path)
import m2u_arch
import m2u_format as fmt

PROVENANCE = {"source": "x.pth", "source_sha256": "0" * 64, "converter": "test", "date": "d"}


def random_tensors(cin, cout, folded, seed=0, f16=()):
    rng = np.random.default_rng(seed)
    tensors = {}
    for name, shape in fmt.expected_tensors(cin, cout, folded):
        value = rng.standard_normal(shape).astype(np.float32)
        if name.endswith("running_var"):
            value = np.abs(value)
        tensors[name] = value.astype(np.float16) if name in f16 else value
    return tensors


def recrc(data):
    """Bytes with the CRC trailer recomputed (to reach the checks after it)."""
    body = bytes(data[:-4])
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def patched(data, offset, fmt_code, value):
    out = bytearray(data)
    struct.pack_into("<" + fmt_code, out, offset, value)
    return recrc(out)


class RoundTrip(unittest.TestCase):
    def test_raw_and_folded_with_mixed_dtypes(self):
        for folded in (False, True):
            with self.subTest(folded=folded):
                f16 = {"conv1.0.0.weight", "decode1.conv.0.bias"}
                tensors = random_tensors(2, 3, folded, f16=f16)
                info = fmt.ModelInfo(in_channels=2, out_channels=3, bn_folded=folded,
                                     hidden_activation=fmt.ACT_RELU, grey_fill=fmt.FILL_FIRST,
                                     channel_mean=[1, 2, 0, 0, 0, 0, 0, 0],
                                     channel_std=[3, 4, 0, 0, 0, 0, 0, 0])
                data = fmt.write_m2u(info, PROVENANCE, tensors)
                m = fmt.read_m2u(data)
                for key, value in vars(info).items():
                    np.testing.assert_array_equal(np.float32(getattr(m.info, key)),
                                                  np.float32(value), key)
                self.assertEqual(list(m.tensors), [n for n, _ in
                                                   fmt.expected_tensors(2, 3, folded)])
                for name, value in tensors.items():
                    self.assertEqual(m.tensors[name].dtype, value.dtype, name)
                    np.testing.assert_array_equal(m.tensors[name], value)
                self.assertIn("source_sha256: " + "0" * 64, m.provenance)
                h = m.header
                self.assertEqual(h["file_bytes"], len(data))
                self.assertEqual(h["provenance_offset"], 256)
                self.assertEqual(h["tensor_table_offset"] % 8, 0)
                self.assertEqual(h["quant_count"], 0)
                self.assertEqual(h["data_offset"] % 64, 0)
                self.assertTrue(all(e.offset % 64 == 0 for e in m.entries))
                self.assertEqual(struct.unpack("<I", data[-4:])[0],
                                 zlib.crc32(data[:-4]) & 0xFFFFFFFF)
                self.assertEqual(h["data_offset"] + h["data_bytes"], len(data) - 4)

    def test_expected_tensors_match_layer_list(self):
        raw = fmt.expected_tensors(3, 1, False)
        folded = fmt.expected_tensors(3, 1, True)
        convs = m2u_arch.all_convs(m2u_arch.make_architecture(3, 1))
        self.assertEqual(len(convs), 52)
        self.assertEqual(len(raw), 51 * 5 + 2)
        self.assertEqual(len(folded), 52 * 2)
        self.assertEqual(raw[0], ("conv1.0.0.weight", (32, 3, 3, 3)))
        self.assertEqual(raw[1], ("conv1.0.1.weight", (32,)))
        self.assertEqual(folded[1], ("conv1.0.0.bias", (32,)))
        self.assertEqual(raw[-2:], [("decode1.conv.0.weight", (1, 16, 1, 1)),
                                    ("decode1.conv.0.bias", (1,))])
        self.assertIn(("decode1.ir1.conv.0.weight", (5, 33, 1, 1)), raw)
        self.assertIn(("decode4.ir1.conv.3.weight", (19, 1, 3, 3)), raw)


class ReaderRefusals(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.info = fmt.ModelInfo(in_channels=1, out_channels=1, bn_folded=False,
                                 channel_std=[1, 0, 0, 0, 0, 0, 0, 0])
        cls.tensors = random_tensors(1, 1, False)
        cls.data = fmt.write_m2u(cls.info, PROVENANCE, cls.tensors)
        cls.m = fmt.read_m2u(cls.data)

    def refuse(self, data, *fragments):
        with self.assertRaises(fmt.M2uFormatError) as ctx:
            fmt.read_m2u(data)
        for fragment in fragments:
            self.assertIn(fragment, str(ctx.exception))

    def entry_offset(self, index):
        return self.m.header["tensor_table_offset"] + index * fmt.TENSOR_ENTRY_BYTES

    def test_magic_version_size_crc(self):
        self.refuse(b"XXXXXXXX" + self.data[8:], "magic")
        self.refuse(patched(self.data, 8, "I", 2), "format_version 2", "supports version 1")
        self.refuse(self.data[:-8] + self.data[-4:], "file_bytes")
        damaged = bytearray(self.data)
        damaged[-100] ^= 1
        self.refuse(bytes(damaged), "checksum mismatch")
        self.refuse(self.data[:100], "at least")

    def test_header_fields(self):
        self.refuse(patched(self.data, 24, "I", 2), "flags")
        self.refuse(patched(self.data, 28, "I", 9), "in_channels")
        self.refuse(patched(self.data, 36, "I", 2), "hidden_activation")
        self.refuse(patched(self.data, 44, "f", 0.0), "bn_epsilon")
        self.refuse(patched(self.data, 56, "f", float("nan")), "pixel_scale")
        self.refuse(patched(self.data, 96, "f", 0.0), "channel_std[0]")
        self.refuse(patched(self.data, 68, "f", 1.0), "channel_mean[1]", "must be 0")
        self.refuse(patched(self.data, 200, "I", 1), "reserved")
        self.refuse(patched(self.data, 48, "I", 1), "std_floor is 0 with per-image standardisation")

    def test_sections(self):
        self.refuse(patched(self.data, 144, "Q", self.m.header["tensor_table_offset"] + 4),
                    "tensor_table_offset", "multiple of 8")
        self.refuse(patched(self.data, 168, "Q", self.m.header["data_offset"] + 8),
                    "data_offset", "multiple of 64")
        self.refuse(patched(self.data, 176, "Q", len(self.data)), "data section")
        self.refuse(patched(self.data, 136, "I", 70000), "provenance_bytes")

    def test_provenance(self):
        at = self.m.header["provenance_offset"]
        self.refuse(patched(self.data, at, "B", 0), "NUL")
        self.refuse(patched(self.data, at, "B", 0xFF), "UTF-8")
        self.refuse(patched(self.data, at, "6s", b"sourcX"), "'source: ...'")

    def test_tensor_entries(self):
        e0, e1 = self.m.entries[0], self.m.entries[1]
        at = self.entry_offset(0)
        self.refuse(patched(self.data, at + 64, "I", 5), "dtype 5")
        self.refuse(patched(self.data, at + 68, "I", 5), "rank 5")
        self.refuse(patched(self.data, at + 88, "Q", e0.offset + 4), "not a multiple of 64")
        self.refuse(patched(self.data, at + 96, "Q", e0.nbytes + 4), "bytes is")
        self.refuse(patched(self.data, at + 104, "I", 0), "quant_index 0")
        self.refuse(patched(self.data, at + 110, "B", 1), "reserved")
        self.refuse(patched(self.data, at + 88, "Q", e1.offset), "overlaps")
        self.refuse(patched(self.data, self.entry_offset(1), "64s", b"conv1.0.0.weight"),
                    "duplicate")
        self.refuse(patched(self.data, at, "64s", b"x" * 64), "NUL-terminated")
        self.refuse(patched(self.data, at + 64, "I", fmt.DTYPE_I8), "I8")

    def test_tensor_set_and_values(self):
        self.refuse(patched(self.data, self.entry_offset(0), "64s", b"conv1.0.0.weightX"),
                    "'conv1.0.0.weight' is missing")
        shrunk = bytearray(patched(self.data, self.entry_offset(0) + 84, "I", 1))
        self.refuse(patched(shrunk, self.entry_offset(0) + 96, "Q", 32 * 3 * 4),
                    "conv1.0.0.weight", "expected shape [32, 1, 3, 3], found [32, 1, 3, 1]")
        e = self.m.entries[0]
        self.refuse(patched(self.data, e.offset + 8, "f", float("inf")),
                    "conv1.0.0.weight", "index [0, 0, 0, 2]", "finite")
        var = next(x for x in self.m.entries if x.name == "conv1.0.1.running_var")
        self.refuse(patched(self.data, var.offset + 4, "f", -1.0),
                    "conv1.0.1.running_var", "index [1]", ">= 0")
        folded = patched(self.data, 24, "I", fmt.FLAG_BN_FOLDED)
        self.refuse(folded, "conv1.0.0.bias' is missing", "BN_FOLDED")

    def test_writer_refuses_invalid_models(self):
        tensors = dict(self.tensors)
        tensors["conv1.0.1.running_var"] = -np.ones(32, np.float32)
        with self.assertRaises(fmt.M2uFormatError):
            fmt.write_m2u(self.info, PROVENANCE, tensors)
        del tensors["conv1.0.1.running_var"]
        with self.assertRaises(fmt.M2uFormatError):
            fmt.write_m2u(self.info, PROVENANCE, tensors)


if __name__ == "__main__":
    unittest.main()
