"""models.range_bn_bwd (docs/spec.md LN.5a) against the independent Fraction oracle
(lightnorm_oracle.backward_channel) and against the float backward of LN.5 within the formats' error."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from models import lightnorm as ln
from models import range_bn_bwd as rb

from .lightnorm_oracle import Format, backward_channel

F, G = Format(5, 4), Format(6, 3)


def fp(x):
    return ln.encode(np.asarray(x, np.float64))


def fg(x):
    return ln.encode(np.asarray(x, np.float64), ln.FP10G)


def check(x, dy, gamma, c, eps, dy2=None):
    """The model's dx, dgamma, dbeta equal the oracle's for every channel, bit for bit."""
    dy2 = dy if dy2 is None else dy2
    dx, dgamma, dbeta, _ = rb.backward(x, dy, gamma, c, eps, dy2)
    nan = lambda o: rb.NAN_G if o == "nan" else o  # noqa: E731
    for ch in range(x.shape[1]):
        wdx, wdg, wdb = backward_channel(x[:, ch].tolist(), dy[:, ch].tolist(), dy2[:, ch].tolist(),
                                         int(gamma[ch]), int(c), int(eps), F, G)
        assert dx[:, ch].tolist() == [nan(o) for o in wdx], ch
        assert int(dgamma[ch]) == nan(wdg), ch
        assert int(dbeta[ch]) == nan(wdb), ch


def random_job(rng, n):
    x = rng.standard_normal((n, 8)) * 10.0 ** rng.integers(-2, 3, 8) + rng.standard_normal(8) * 10.0 ** rng.integers(-2, 2, 8)
    dy = rng.standard_normal((n, 8)) * 10.0 ** rng.integers(-4, 2, 8)
    gamma = fp(rng.uniform(0.25, 4.0, 8) * rng.choice([-1, 1], 8))
    return fp(x), fg(dy), gamma, fp(ln.range_constant(n)), fp(float(rng.choice([1e-5, 1e-3, 0.1])))


@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 13, 16, 37, 100, 257])
def test_backward_random(n, rng):
    """Chunk sizes that do and do not divide n, n below the chunk count."""
    check(*random_job(rng, n))


def test_backward_corners(rng):
    n = 45
    x, dy, gamma, c, eps = random_job(rng, n)
    x[:, 0] = fp(3.25)                                   # a constant channel: argmax = argmin, no correction
    x[:, 1] = 0                                          # a channel of zeros (with some -0 among them)
    x[::3, 1] = ln.FP10.sign_bit
    x[:, 2] = fp(rng.choice([-60000.0, 60000.0], n))     # the largest range, ties inside every chunk
    x[:, 3] = fp(rng.standard_normal(n) * 2.0 ** -16)    # subnormal values
    x[5, 4] = fp(np.nan)                                 # NaN x poisons the channel
    dy[9, 5] = fg(np.inf)                                # so does an Inf dy in pass B1
    x[:, 6] = fp(rng.standard_normal(n) * 1e4 + 3e4)     # huge offset: E and P need ~100 bits
    dy[:, 6] = fg(rng.choice([-1, 1], n) * 4e9)          # saturating gradients (largest 1-6-3 ~ 4.2e9)
    dy[:, 7] = fg(rng.standard_normal(n) * 2.0 ** -32)   # subnormal gradients
    for e in (eps, fp(0.0)):                             # eps = 0: s saturates on the constant channels
        check(x, dy, gamma, c, e)


def test_backward_bad_parameters_and_pass2(rng):
    x, dy, gamma, c, eps = random_job(rng, 20)
    gamma[1] = fp(np.nan)
    check(x, dy, gamma, c, eps)
    check(x, dy, gamma, fp(np.inf), eps)                 # a non-finite shared constant poisons every channel
    check(x, dy, gamma, c, fp(-np.inf))
    dy2 = dy.copy()                                      # pass B2 re-streams dy: NaN/Inf there is that dx only
    dy2[3, 2] = fg(np.nan)
    dy2[7, 4] = fg(-np.inf)
    dy2[8] = fg(rng.standard_normal(8))
    check(x, dy, fp(np.ones(8)), c, eps, dy2)


def test_round_big_matches_oracle(rng):
    """round_big (any width) against the oracle's rounding, across the whole 1-6-3 range and beyond."""
    mags = [int(m) for m in rng.integers(1, 1 << 62, 300)]
    mags = [m << int(k) for m, k in zip(mags, rng.integers(0, 60, 300))] + [0, 1, (1 << 130) - 1]
    lsbs = rng.integers(-90, 10, len(mags))
    signs = rng.integers(0, 2, len(mags))
    got = rb.round_big(signs, np.array(mags, dtype=object), lsbs, ln.FP10G)
    for s, m, lsb, gbits in zip(signs.tolist(), mags, lsbs.tolist(), got.tolist()):
        v = Fraction(m) * (Fraction(2) ** lsb)
        assert gbits == G.rtz(-v if s else v), (s, m, lsb)


def test_constant_channel_has_no_correction():
    """A constant channel: P = 0 and argmax = argmin everywhere, so dx = RTZ63(a RTZ63(dy - md)) exactly,
    finite even with eps = 0 (s saturates to the largest 1-5-4 value)."""
    n = 24
    x = np.full((n, 8), fp(1.5), np.int64)
    dy = fg(np.linspace(-1, 1, n)[:, None] * np.ones(8))
    for eps in (fp(1e-3), fp(0.0)):
        dx, dgamma, _, bst = rb.backward(x, dy, fp(np.ones(8)), fp(0.1), eps)
        assert (bst.p == 0).all() and (dgamma == 0).all()
        assert (rb.extreme_sign(n, bst, np.arange(n)) == 0).all()
        u = rb.add_g(dy, ln.neg(bst.md, ln.FP10G))
        assert (dx == rb.mul_to(bst.fwd.a, ln.FP10, u, ln.FP10G)).all()
        assert ln.is_finite(dx, ln.FP10G).all()


def _float_with_model_stats(x, dy, gamma, c, bst):
    """LN.5's formula in float64 around the unit's own forward statistics (its rounded mean and scale,
    the constant c): dx = a (dy - mean dy) -+ a s c P at the argmax / argmin, dgamma = s P, dbeta = D."""
    xf, dyf = ln.decode(x), ln.decode(dy, ln.FP10G)
    mean, s, a = ln.decode(bst.fwd.mean), ln.decode(bst.fwd.scale), ln.decode(bst.fwd.a)
    p = (dyf * (xf - mean)).sum(axis=0)
    corr = a * s * float(ln.decode(c)) * p
    sel = rb.extreme_sign(x.shape[0], bst, np.arange(x.shape[0]))
    return a * (dyf - dyf.mean(axis=0)) - sel * corr, s * p, dyf.sum(axis=0), corr


@pytest.mark.parametrize("n", [9, 40, 131])
def test_backward_within_format_error_of_float(n, rng):
    """Against LN.5's float formula (itself checked against finite differences in test_lightnorm.py),
    evaluated at the unit's forward statistics: every rounding is RTZ to 4 significant bits (relative
    error < 2^-3), so dbeta is within 2^-3 |D|, dgamma within 2 * 2^-3 |s P| (Pr, then the product), and
    each dx within the error of its roundings: u (2 roundings, with md's), v, and the correction (4)."""
    x, dy, gamma, c, eps = random_job(rng, n)
    dx, dgamma, dbeta, bst = rb.backward(x, dy, gamma, c, eps)
    fdx, fdg, fdb, corr = _float_with_model_stats(x, dy, gamma, c, bst)
    r = 2.0 ** -3
    tiny = 2.0 ** -30
    assert (np.abs(ln.decode(dbeta, ln.FP10G) - fdb) <= r * np.abs(fdb) + tiny).all()
    assert (np.abs(ln.decode(dgamma, ln.FP10G) - fdg) <= (2 * r + r * r) * np.abs(fdg) + tiny).all()
    dyf, a = ln.decode(dy, ln.FP10G), ln.decode(bst.fwd.a)
    mdy = np.abs(dyf.mean(axis=0))
    bound = (np.abs(a) * ((2 * r + r * r) * (np.abs(dyf) + 2 * mdy)) * (1 + r) + 4 * r * np.abs(corr)
             + r * (np.abs(fdx) + np.abs(corr)) + tiny)
    assert (np.abs(ln.decode(dx, ln.FP10G) - fdx) <= bound).all()


@pytest.mark.parametrize("n", [16, 64, 200])
def test_backward_close_to_float_statistics(n, rng):
    """Against LN.5's float backward with float statistics (exact mean and scale): on centred data (so the
    forward's 1-5-4 mean is not the dominant error) every channel's dx is within 30 % in norm (the worst of
    960 channels over 40 seeds measured 24 %: 5-bit s and a, 4-bit dy, u, v, dx)."""
    x = fp(rng.standard_normal((n, 8)) * 10.0 ** rng.integers(-2, 3, 8))
    dy = fg(rng.standard_normal((n, 8)) * 10.0 ** rng.integers(-4, 2, 8))
    gamma = fp(rng.uniform(0.25, 4.0, 8) * rng.choice([-1, 1], 8))
    c, eps = fp(ln.range_constant(n)), fp(1e-3)
    dx, _, _, _ = rb.backward(x, dy, gamma, c, eps)
    _, cache = ln.range_bn_float(ln.decode(x), ln.decode(gamma), np.zeros(8), eps=float(ln.decode(eps)))
    ref, _, _ = ln.range_bn_backward(ln.decode(dy, ln.FP10G), cache)
    rel = np.linalg.norm(ln.decode(dx, ln.FP10G) - ref, axis=0) / np.linalg.norm(ref, axis=0)
    assert (rel < 0.3).all(), rel


def test_cycles():
    assert rb.range_bn_bwd_cycles(10, 8, 16) == 1 + 20 + 67 + 16
    assert rb.range_bn_bwd_cycles(10, 9, 16) == 2 * (1 + 20 + 67 + 16)
