"""The hand-worked locus of the genetics tests: p = [0.1, 0.2, 0.3, 0.4] over allele codes
a = 0, b = 1, c = 2, d = 3, no mutation (I4), and the comparison tolerance (rtol 1e-12)."""

import numpy as np
import pytest

P = np.array([0.1, 0.2, 0.3, 0.4])
A, B, C, D = 0, 1, 2, 3
I4 = np.eye(4)
REL = 1e-12


def approx(x):
    return pytest.approx(x, rel=REL, abs=1e-15)
