"""The training CNN's LightNorm variant (docs/spec.md LN.6) differentiates through the backward unit's
bit-exact model: on a BN layer of the CNN's shape (batch x 8 x 8 positions, 8 or 16 channels) its gradients
are models.range_bn_bwd.backward's on the forward's own fp10 inputs and dy rounded RTZ to 1-6-3, bit for
bit (decoded), and they stay within the formats' error of LN.5's float range-BN gradient at the same
inputs."""
from __future__ import annotations

import numpy as np
import pytest

from models import lightnorm as ln
from models import range_bn_bwd as rb
from models.training import bn_cnn


@pytest.mark.parametrize("channels", [8, 16])
def test_lightnorm_backward_is_the_unit(rng, channels):
    n = 4 * 64                                            # batch 4 of 8x8 positions
    z = (rng.standard_normal((n, channels)) * rng.uniform(0.1, 3.0, channels)).astype(np.float32)  # centred
    gamma = rng.uniform(0.5, 2.0, channels).astype(np.float32)
    beta = rng.uniform(-0.5, 0.5, channels).astype(np.float32)
    dy = (rng.standard_normal((n, channels)) * 1e-3).astype(np.float32)
    _, cache = bn_cnn.bn_forward("lightnorm", z, gamma, beta)
    dx, dg, db = bn_cnn.bn_backward(dy, cache)
    # the unit on the values the forward read
    x1, g1 = ln.encode(z), ln.encode(gamma)
    c1, e1 = ln.encode(ln.range_constant(n)), ln.encode(bn_cnn.EPS)
    ux, ug, ub, _ = rb.backward(x1, ln.encode(dy, ln.FP10G), g1, c1, e1)
    for got, bits in ((dx, ux), (dg, ug), (db, ub)):
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, ln.decode(bits, ln.FP10G).astype(np.float32))
    # ... and near LN.5's float range-BN gradient at the values the unit reads (fp10 x and gamma, 1-6-3 dy;
    # on float x the chunk argmax/argmin can be another of the values that round to the same fp10 maximum).
    # Centred data, as test_range_bn_bwd's closeness test: an offset channel's 1-5-4 mean dominates the error.
    _, rcache = ln.range_bn_float(ln.decode(x1), ln.decode(g1), np.zeros(channels), bn_cnn.EPS)
    rx, rg, rbeta = ln.range_bn_backward(ln.decode(ln.encode(dy, ln.FP10G), ln.FP10G), rcache)
    for got, ref in ((dx, rx), (dg[None], rg[None]), (db[None], rbeta[None])):
        rel = np.linalg.norm(got - ref, axis=0) / np.linalg.norm(ref, axis=0)
        assert (rel < 0.3).all(), rel
