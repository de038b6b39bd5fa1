"""Quantization error against the FP32 input, exactly (Fractions), per rounding mode (docs/spec.md
section 2), and the unbiasedness of stochastic rounding."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import models as fb

from . import oracle
from .gen import MODES, W, f32, make_bits, random_bits


def _errors(bits, mode, rounding, block, **kw):
    """Per finite element: (x, decoded, lsb, saturated) as exact Fractions."""
    bits = np.asarray(bits, np.uint32)
    q = fb.quantize(f32(bits), mode, rounding, block, **kw)
    dec = q.to_float32().reshape(-1, block).view(np.uint32).tolist()
    mags = q.mag.reshape(-1, block).tolist()
    exps = q.exp.reshape(-1).tolist()
    flat = bits.reshape(-1, bits.shape[-1])
    pad = (-flat.shape[1]) % block
    flat = np.concatenate([flat, np.zeros((flat.shape[0], pad), np.uint32)], 1).reshape(-1, block).tolist()
    top = (1 << W[mode]) - 1
    for xs, ds, ms, e in zip(flat, dec, mags, exps):
        lsb = oracle.pow2(e - 127 - (W[mode] - 1))
        for x, d, m in zip(xs, ds, ms):
            if oracle.f32_kind(x) in ("nan", "inf"):
                continue
            yield oracle.f32_value(x), oracle.f32_value(d), lsb, m == top


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("rounding", [fb.RTZ, fb.RNE, fb.RNA, fb.SR])
def test_error_bounds(mode, rounding, rng):
    n = 0
    for block in (1, 16, 54):
        bits = random_bits(rng, (4, 108), block)
        for x, d, lsb, sat in _errors(bits, mode, rounding, block, seed=int(rng.integers(0, 1 << 16))):
            n += 1
            err = d - x
            msg = f"x={float(x)!r} decoded={float(d)!r} lsb=2^{int(math.log2(lsb))} mode={mode} R={rounding}"
            assert d == 0 or (d < 0) == (x < 0), msg  # never flips a sign
            if rounding == fb.RTZ:
                assert abs(d) <= abs(x) and abs(err) < lsb, msg
            elif rounding in (fb.RNE, fb.RNA):
                if sat and abs(x) > abs(d):
                    assert abs(err) < lsb, msg  # rounded up into saturation: < 1 LSB
                else:
                    assert abs(err) <= lsb / 2, msg
            else:
                assert abs(err) < lsb, msg
    assert n > 1000


def test_bounds_are_tight():
    """The half-LSB bound is attained (ties) and RTZ errors approach 1 LSB: the bounds are not vacuous."""
    lsb = 2.0 ** -7  # FB16, E = 127
    x = np.array([1.0, 2.5 * lsb, (1 - 2.0 ** -16) * lsb], np.float32)
    q = fb.quantize(x, fb.FB16, fb.RNE, 3)
    assert q.to_float32()[1] - x[1] == -lsb / 2  # 2.5 LSB -> 2 LSB
    q = fb.quantize(x, fb.FB16, fb.RTZ, 3)
    assert q.to_float32()[2] == 0 and x[2] - q.to_float32()[2] > 0.99 * lsb


@pytest.mark.parametrize("mode,r", [(fb.FB16, 8), (fb.FB12, 8), (fb.FB24, 4), (fb.FB16, 13), (fb.FB16, 1)])
def test_sr_unbiased(mode, r, rng):
    """Mean SR error over many blocks of one repeated value, on consecutive LFSR states.

    With rnd uniform on 0..2^r-1, E[floor(v + rnd/2^r)] = v_r, v truncated to r fraction bits, so the
    expected error is v_r - v, in (-2^-r, 0] LSB. Each rounding is a Bernoulli step of std <= 1/2 LSB, so the
    mean of N roundings has std sd <= 1/(2 sqrt N); we allow 6 sd around v_r. (Checked empirically: over
    600 trials the normalized mean errors are ~N(0, 1), worst |z| < 4.) RTZ's bias of -frac(v) fails this.
    """
    k, nblocks = 16, 2048
    n = k * nblocks
    tol = 6 / (2 * math.sqrt(n))
    w = W[mode]
    top = (1 << w) - 1
    for _ in range(6):
        e = int(rng.integers(60, 200))
        frac = int(rng.integers(0, top * (1 << (24 - w)) - (1 << 23)))  # v < 2^W - 1: no saturation
        x = make_bits(0, e, frac)
        v = Fraction((1 << 23) | frac, 1 << (24 - w))  # the scaled value in LSBs (element = block maximum)
        v_r = Fraction(math.floor(v * 2 ** r), 2 ** r)
        bits = np.full((nblocks, k), x, np.uint32)
        for rounding in (fb.SR, fb.RTZ):
            q = fb.quantize(f32(bits), mode, rounding, k, seed=int(rng.integers(0, 1 << 16)),
                            first_block=int(rng.integers(0, 60000)), sr_width=r)
            mean = Fraction(int(q.mag.sum()), n)
            msg = f"{rounding=}: mean {float(mean)} LSB, v={float(v)}, v_r={float(v_r)}, tol {tol}"
            if rounding == fb.SR:
                assert abs(float(mean - v_r)) <= tol, msg
                assert -2.0 ** -r - tol <= float(mean - v) <= tol, msg
            elif v_r - math.floor(v) > 2 * tol:
                assert abs(float(mean - v_r)) > tol, msg  # the test tells a biased rounding apart
    # the SR bits themselves over a full period: every r-bit window value equally often (0 once less)
    bits_r = fb.lfsr.sr_bits(0xACE1, 0, 65535, 1, r)[:, 0]
    counts = np.bincount(bits_r, minlength=1 << r)
    assert counts.max() - counts.min() <= 1
