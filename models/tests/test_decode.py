"""BFPTensor decode (to_float32) exact against Fractions; port packing (docs/spec.md section 1)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import models as fb

from . import oracle
from .gen import BLOCKS, MODES, W, hyp, oracle_quantize_array, random_bits


def random_tensor(rng, mode, lead, nb, k):
    w = W[mode]
    exp = rng.integers(1, 255, lead + (nb,))
    exp = np.where(rng.random(exp.shape) < 0.1, rng.choice([1, 254], exp.shape), exp)
    mag = rng.integers(0, 1 << w, lead + (nb, k))
    mag = np.where(rng.random(mag.shape) < 0.1, (1 << w) - 1, mag)
    mag = np.where(rng.random(mag.shape) < 0.1, 0, mag)
    sign = (rng.integers(0, 2, mag.shape) & (mag != 0)).astype(np.uint8)
    return fb.BFPTensor(exp, sign, mag, np.zeros(exp.shape, np.uint8), fb.mode_code(mode))


def assert_decode_exact(q, mode):
    got = q.to_float32()
    assert got.dtype == np.float32
    assert got.shape == q.mag.shape[:-2] + (q.mag.shape[-2] * q.block,)
    gbits = got.view(np.uint32).reshape(-1, q.block).tolist()
    exps = q.exp.reshape(-1).tolist()
    signs = q.sign.reshape(-1, q.block).tolist()
    mags = q.mag.reshape(-1, q.block).tolist()
    for n, (e, s, m) in enumerate(zip(exps, signs, mags)):
        want = oracle.decode_block(oracle.Block(e, s, m), mode)
        for i, (b, v) in enumerate(zip(gbits[n], want)):
            assert oracle.f32_kind(b) != "nan" and oracle.f32_kind(b) != "inf"
            assert oracle.f32_value(b) == v, f"block {n} element {i}: E={e} s={s[i]} m={m[i]} -> {b:08x}"
            if v == 0:
                assert b == 0, "a zero decodes as +0"


@pytest.mark.parametrize("mode", MODES)
def test_decode_random_tensors(mode, rng):
    for k in BLOCKS:
        assert_decode_exact(random_tensor(rng, mode, (2,), max(1, 64 // k), k), mode)


@pytest.mark.parametrize("mode", MODES)
def test_decode_extremes(mode):
    w = W[mode]
    top = (1 << w) - 1
    mags = np.array([[[top, 1, 0, top - 1]]] * 4, np.int64)
    sign = np.array([[[1, 0, 0, 0]]] * 4, np.uint8)
    exp = np.array([[254], [1], [127], [0]], np.int64)
    mags[3] = 0  # an E = 0 block only holds zeros
    sign[3] = 0
    q = fb.BFPTensor(exp, sign, mags, np.zeros((4, 1), np.uint8), fb.mode_code(mode))
    assert_decode_exact(q, mode)
    # the extremes: (2^W - 1) * 2^(127 - (W-1)) is finite, 1 * 2^(1 - 127 - (W-1)) is a binary32 subnormal for W > 3
    assert np.isfinite(q.to_float32()).all()


@pytest.mark.parametrize("mode", MODES)
def test_decode_quantized(mode, rng):
    bits = random_bits(rng, (3, 64), 16)
    q = fb.quantize(bits.view(np.float32), mode, fb.RNE, 16)
    assert_decode_exact(q, mode)
    want = oracle_quantize_array(bits, mode, fb.RNE, 16)
    dec = q.to_float32().reshape(-1).view(np.uint32).tolist()
    flat = [v for blk in want for v in oracle.decode_block(blk, mode)]
    assert [oracle.f32_value(b) for b in dec] == flat


@hyp(80)
@given(data=st.data(), k=st.sampled_from(BLOCKS), mode=st.sampled_from(MODES))
def test_pack_unpack_round_trip(data, k, mode):
    w = W[mode]
    mag = data.draw(st.lists(st.integers(0, (1 << w) - 1), min_size=k, max_size=k))
    sign = [data.draw(st.integers(0, 1)) & (m != 0) for m in mag]
    s_port, m_port = fb.pack_block(np.array(sign, np.uint8), np.array(mag, np.int64))
    # the layout, written from the spec's table: sign bit i; magnitude in bits [16i+15:16i], low W bits
    assert s_port == sum(s << i for i, s in enumerate(sign))
    assert m_port == sum(m << (16 * i) for i, m in enumerate(mag))
    assert s_port >> k == 0 and m_port >> (16 * k) == 0
    for i in range(k):
        assert (m_port >> (16 * i + w)) & ((1 << (16 - w)) - 1) == 0, "upper bits of a slot are 0"
    s2, m2 = fb.unpack_block(s_port, m_port, k)
    assert s2.tolist() == sign and m2.tolist() == mag


def test_pack_quantized_block_round_trip(rng):
    bits = random_bits(rng, (1, 16), 16)
    q = fb.quantize(bits.view(np.float32), fb.FB24, fb.RNE, 16)
    s, m = fb.pack_block(q.sign[0, 0], q.mag[0, 0])
    s2, m2 = fb.unpack_block(s, m, 16)
    assert (s2 == q.sign[0, 0]).all() and (m2 == q.mag[0, 0]).all()


def test_unpack_ignores_bits_beyond_the_block():
    s, m = fb.unpack_block(0b1101, (0xABCD << 32) | (0x1234 << 16) | 0x00FF, 2)
    assert s.tolist() == [1, 0] and m.tolist() == [0x00FF, 0x1234]


def test_float32_bits_round_trip(rng):
    b = rng.integers(0, 1 << 32, 1000, dtype=np.uint64).astype(np.uint32)
    assert (fb.float32_bits(fb.bits_float32(b)) == b).all()
