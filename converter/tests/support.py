"""Shared helpers of the converter tests: paths, the real-data folder, and
running m2u_convert.py in-process or as a program.

Run the tests from the repository root with
  /usr/bin/python3 -m unittest discover -s converter/tests
"""

import contextlib
import io
import os
import subprocess
import sys
import unittest

TESTS = os.path.dirname(os.path.abspath(__file__))
CONVERTER = os.path.dirname(TESTS)
REPO = os.path.dirname(CONVERTER)
FIXTURES = os.path.join(REPO, "tests", "fixtures")
DATA = os.path.normpath(os.path.join(REPO, "..", "shared", "data"))
CONVERT_SCRIPT = os.path.join(CONVERTER, "m2u_convert.py")

if CONVERTER not in sys.path:
    sys.path.insert(0, CONVERTER)

import m2u_convert  # noqa: E402


def data_file(name):
    """Path of a real data file; skips the test when the folder lacks it."""
    path = os.path.join(DATA, name)
    if not os.path.isfile(path):
        raise unittest.SkipTest("real data %s not found (expected the shared data folder at %s)"
                                % (name, DATA))
    return path


def convert(*argv):
    """(exit status, stdout, stderr) of m2u_convert.main(argv), in-process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = m2u_convert.main([str(a) for a in argv])
        except SystemExit as e:  # argparse
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


def convert_program(*argv):
    """CompletedProcess of m2u_convert.py run by this interpreter."""
    return subprocess.run([sys.executable, CONVERT_SCRIPT] + [str(a) for a in argv],
                          capture_output=True, text=True)


def assert_fixtures_regenerate(test, make, names, inputs, output_suffix):
    """Copies each fixture NAME + every suffix of `inputs` into a scratch
    folder, runs make(folder, log) there, and asserts NAME + output_suffix
    comes out byte-identical to the committed one."""
    import shutil
    import tempfile
    out = tempfile.mkdtemp()
    try:
        for name in names:
            for suffix in inputs:
                shutil.copy(os.path.join(FIXTURES, name + suffix), out)
        with contextlib.redirect_stdout(io.StringIO()):
            make(out, log=lambda *_: None)
        for name in names:
            with open(os.path.join(out, name + output_suffix), "rb") as a, \
                    open(os.path.join(FIXTURES, name + output_suffix), "rb") as b:
                test.assertEqual(a.read(), b.read(), name + output_suffix + " differs when regenerated")
    finally:
        shutil.rmtree(out)
