"""The committed loss-trajectory fixtures (tests/fixtures/*_trajectory.m2uf):
reproducible to the byte, 20 steps per optimiser, starting at the gradient
fixture's loss on the zero-padded frame and going down."""

import os
import unittest

import support
import m2uf
import make_gradient_fixtures as grads
import make_trajectory_fixtures as trajectories

NAMES = [name for name, _, _, _ in grads.FIXTURES]


class TrajectoryFixtures(unittest.TestCase):
    def test_regeneration_is_bit_identical(self):
        support.assert_fixtures_regenerate(self, trajectories.make, NAMES, (".m2u", ".m2uf", "_grad.m2uf"),
                                           "_trajectory.m2uf")

    def test_losses_go_down(self):
        for name in NAMES:
            fixture = m2uf.read(os.path.join(support.FIXTURES, name + "_trajectory.m2uf"))
            self.assertEqual(sorted(fixture), ["adam", "sgd"])
            for kind, losses in fixture.items():
                self.assertEqual(len(losses), trajectories.STEPS)
                self.assertLess(losses[-1], 0.8 * losses[0], "%s %s" % (name, kind))


if __name__ == "__main__":
    unittest.main()
