"""requantize: under RTZ, re-quantizing a stored high-precision copy equals converting the FP32 data
directly with merged blocks, bit for bit (docs/spec.md section 2)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import models as fb

from .gen import f32, hyp, random_bits, special_blocks

PAIRS = [(fb.FB24, fb.FB24), (fb.FB24, fb.FB16), (fb.FB24, fb.FB12), (fb.FB16, fb.FB16), (fb.FB16, fb.FB12),
         (fb.FB12, fb.FB12), (3, fb.FB12)]


def assert_same(a, b, what):
    assert a.mode == b.mode and a.block == b.block, what
    for name in ("exp", "sign", "mag", "flags"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.shape == y.shape, f"{what}: {name} shape {x.shape} != {y.shape}"
        bad = np.argwhere(x != y)
        assert bad.size == 0, f"{what}: {name} differs first at {bad[0].tolist()}: {x[tuple(bad[0])]} vs {y[tuple(bad[0])]}"


def check(bits, src, dst, k, g):
    x = f32(bits)
    direct = fb.quantize(x, dst, fb.RTZ, block=k * g)
    re = fb.requantize(fb.quantize(x, src, fb.RTZ, block=k), dst, merge=g)
    assert_same(re, direct, f"{src}->{dst} K={k} merge={g}")


@pytest.mark.parametrize("src,dst", PAIRS)
def test_requantize_equals_direct(src, dst, rng):
    for k in (1, 4, 16, 54):
        for g in (1, 2, 3, 4):
            bits = random_bits(rng, (3, k * g * 3), k)
            check(bits, src, dst, k, g)


@hyp(60)
@given(seed=st.integers(0, 2**32 - 1), k=st.sampled_from([1, 2, 4, 16]), g=st.integers(1, 8),
       pair=st.sampled_from(PAIRS))
def test_requantize_hypothesis(seed, k, g, pair):
    bits = random_bits(np.random.default_rng(seed), (2, k * g * 2), k)
    check(bits, *pair, k, g)


@pytest.mark.parametrize("src,dst", PAIRS)
def test_requantize_special_blocks(src, dst):
    for k in (4, 16):
        sp = special_blocks(k).reshape(-1)
        sp = sp[: len(sp) - len(sp) % (4 * k)]
        for g in (1, 2, 4):
            check(sp.reshape(1, -1), src, dst, k, g)
            check(sp[::-1].copy().reshape(1, -1), src, dst, k, g)


def test_requantize_rejects():
    q = fb.quantize(np.ones(48, np.float32), fb.FB12, block=16)
    with pytest.raises(ValueError):
        fb.requantize(q, fb.FB16)  # wider
    with pytest.raises(ValueError):
        fb.requantize(q, fb.FB12, merge=2)  # 3 blocks do not merge in pairs
