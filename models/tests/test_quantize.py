"""quantize / Fp2Bfp against the independent Fraction oracle (docs/spec.md sections 1-2)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import models as fb
from models import lfsr

from . import oracle
from .gen import (BLOCKS, MODES, ROUNDINGS, W, assert_blocks_equal, block_bits, f32, hyp,
                  oracle_quantize_array, random_bits, saturation_blocks, special_blocks, tie_blocks)


def check(bits, mode, rounding, block, seed=lfsr.DEFAULT_SEED, first_block=0, r=8):
    bits = np.asarray(bits, np.uint32)
    q = fb.quantize(f32(bits), mode, rounding, block=block, seed=seed, first_block=first_block, sr_width=r)
    assert q.mode == (0 if mode == 3 else mode) and q.width == W[mode] and q.block == block
    want = oracle_quantize_array(bits, mode, rounding, block, seed, first_block, r)
    assert_blocks_equal(q, want, bits, f"mode={mode} rounding={rounding} K={block} seed={seed:#x} "
                                       f"first_block={first_block} r={r}")
    return q, want


@hyp(400)
@given(data=st.data(), k=st.sampled_from([1, 4, 16]), mode=st.sampled_from(MODES),
       rounding=st.sampled_from(ROUNDINGS), seed=st.integers(0, 0xFFFF), first=st.integers(0, 40),
       r=st.integers(1, 16))
def test_blocks_hypothesis(data, k, mode, rounding, seed, first, r):
    nb = data.draw(st.integers(1, 3))
    bits = [x for _ in range(nb) for x in data.draw(block_bits(k))]
    check(np.array(bits, np.uint32)[None, :], mode, rounding, k, seed, first, r)


@pytest.mark.parametrize("block", BLOCKS)
@pytest.mark.parametrize("mode", MODES)
def test_random_structured(mode, block, rng):
    """Structured random data (3-D / 2-D: SR blocks in C order over the leading axes; last axis not a
    multiple of K: zero padding), every rounding mode."""
    length = max(3 * block - 1, 300)
    for rounding in ROUNDINGS:
        lead = (2, 2) if block <= 16 else (2,) if block < 216 else (1,)
        bits = random_bits(rng, lead + (length,), block)
        check(bits, mode, rounding, block, seed=int(rng.integers(0, 1 << 16)),
              first_block=int(rng.integers(0, 100)), r=int(rng.choice([1, 4, 8, 13, 16])))


def test_uniform_random_bit_patterns(rng):
    """Unstructured 32-bit patterns (mostly flushed to zero: many NaN/Inf/huge exponents)."""
    for mode in MODES:
        for rounding in ROUNDINGS:
            bits = rng.integers(0, 1 << 32, (3, 48), dtype=np.uint64).astype(np.uint32)
            check(bits, mode, rounding, 16)


@pytest.mark.parametrize("mode", MODES)
def test_ties_every_position(mode, rng):
    for block in BLOCKS:
        bits = tie_blocks(rng, mode, block)
        got = {}
        for rounding in (fb.RTZ, fb.RNE, fb.RNA):
            got[rounding] = check(bits, mode, rounding, block)[0].mag
        # the generator really produced ties: RNE and RNA disagree exactly on the even-truncation ties
        assert (got[fb.RNA] != got[fb.RNE]).any()
        assert ((got[fb.RNA] - got[fb.RTZ]) <= 1).all()


@pytest.mark.parametrize("mode", MODES)
def test_saturation(mode):
    w = W[mode]
    for block in BLOCKS:
        bits = saturation_blocks(mode, block)
        for rounding in ROUNDINGS:
            q, _ = check(bits, mode, rounding, block, r=16)
            assert (q.flags == 0).all(), "rounding-up saturation sets no flag"
        q = fb.quantize(f32(bits), mode, fb.RNE, block)
        assert q.mag[0, 0, 0] == (1 << w) - 1 and q.exp[0, 0] == 254  # (2^24-1) * 2^(254-150) saturates, E kept


@pytest.mark.parametrize("mode", MODES)
def test_special_blocks(mode):
    for block in BLOCKS:
        bits = special_blocks(block)
        for rounding in ROUNDINGS:
            check(bits, mode, rounding, block, r=int(8 + rounding))


def test_special_values_hand_checked():
    """A few results written out by hand from the spec, independent of the oracle too."""
    top = 255  # FB16
    q = fb.quantize(np.zeros(4, np.float32), "FB16", block=4)
    assert q.exp.tolist() == [0] and q.mag.tolist() == [[0] * 4] and q.flags.tolist() == [0]
    q = fb.quantize(f32([0x80000000, 0x80000000]), "FB16", block=2)  # -0: canonical +0
    assert q.sign.tolist() == [[0, 0]] and q.exp.tolist() == [0]
    q = fb.quantize(f32([0xFFC00000, 0x7F800001]), "FB16", block=2)  # all NaN
    assert q.exp.tolist() == [0] and q.sign.tolist() == [[0, 0]] and q.mag.tolist() == [[0, 0]]
    assert q.flags.tolist() == [fb.FLAG_INVALID]
    q = fb.quantize(np.array([-np.inf, 1.0, np.nan, 2.0 ** 127], np.float32), "FB16", fb.RNE, block=4)
    assert q.exp.tolist() == [254] and q.flags.tolist() == [fb.FLAG_INVALID | fb.FLAG_OVERFLOW]
    assert q.sign.tolist() == [[1, 0, 0, 0]] and q.mag.tolist() == [[top, 0, 0, 128]]
    q = fb.quantize(np.array([3.0, 1.0, 0.75, -0.5], np.float32), "FB12", fb.RTZ, block=4)
    # E = 128 (3.0 = 1.5 * 2^1), LSB = 2^(1 - 3) = 0.25
    assert q.exp.tolist() == [128] and q.mag.tolist() == [[12, 4, 3, 2]] and q.sign.tolist() == [[0, 0, 0, 1]]
    q = fb.quantize(np.array([1.0, 2.0 ** -3 * 1.5, 2.0 ** -4 * 1.5], np.float32), "FB12", fb.RNE, block=3)
    # LSB = 2^-3: 0.1875 = 1.5 LSB -> 2 (tie to even), 0.09375 = 0.75 LSB -> 1
    assert q.mag.tolist() == [[8, 2, 1]]
    q = fb.quantize(np.array([1.0, 2.0 ** -3 * 2.5], np.float32), "FB12", fb.RNE, block=2)
    assert q.mag.tolist() == [[8, 2]]  # 2.5 -> 2
    q = fb.quantize(np.array([1.0, 2.0 ** -3 * 2.5], np.float32), "FB12", fb.RNA, block=2)
    assert q.mag.tolist() == [[8, 3]]  # 2.5 -> 3
    q = fb.quantize(f32([0x00000003, 0x00000001]), "FB24", block=2)  # E = 1 subnormal block
    assert q.exp.tolist() == [1] and q.mag.tolist() == [[0, 0]]  # 3 * 2^-149 << LSB 2^-141
    q = fb.quantize(f32([0x00400000]), "FB24", block=1)  # 2^-127 = 2^14 LSB at E = 1
    assert q.exp.tolist() == [1] and q.mag.tolist() == [[1 << 14]]


def test_mode_names_and_reserved_code():
    x = np.random.default_rng(1).standard_normal(64).astype(np.float32)
    ref = fb.quantize(x, 0)
    for m in ("FB24", "fb24", 3):
        q = fb.quantize(x, m)
        assert q.mode == fb.FB24 and (q.mag == ref.mag).all() and (q.exp == ref.exp).all()
    with pytest.raises(ValueError):
        fb.mode_code(4)
    with pytest.raises(ValueError):
        fb.rounding_code(4)


def test_fp2bfp_state_sequence(rng):
    """The stateful unit: SR bits continue across calls, every block advances the lanes whatever its
    rounding mode, and a seed load restarts them."""
    k, r = 8, 8
    unit = fb.Fp2Bfp(block=k, seed=0x5EED, sr_width=r)
    lanes = oracle.LfsrLanes(0x5EED, k, r)
    script = [(fb.SR, 3), (fb.RTZ, 2), (fb.SR, 1), (fb.RNE, 4), (fb.SR, 2), ("load", 0x0BAD), (fb.SR, 2),
              (fb.RNA, 1), (fb.SR, 3)]
    for what, arg in script:
        if what == "load":
            unit.load_seed(arg)
            lanes = oracle.LfsrLanes(arg, k, r)
            continue
        bits = random_bits(rng, (arg, k), k)
        mode = int(rng.integers(0, 4))
        q = unit(f32(bits), mode, what)
        want = oracle.quantize_rows(bits.tolist(), mode, what, k, lanes, r)
        if what != fb.SR:
            lanes.skip(arg)
        assert_blocks_equal(q, [b for row in want for b in row], bits, f"step {what} x{arg}")


def test_sr_sees_first_block(rng):
    """quantize(first_block=n) equals the tail of a longer conversion from block 0."""
    bits = random_bits(rng, (10, 16), 16, specials=False)
    full = fb.quantize(f32(bits), fb.FB16, fb.SR, 16, seed=0x1111)
    tail = fb.quantize(f32(bits[4:]), fb.FB16, fb.SR, 16, seed=0x1111, first_block=4)
    assert (full.mag[4:] == tail.mag).all()


def test_scalar_and_float64_inputs():
    q = fb.quantize(1.5, "FB16", block=1)
    assert q.exp.tolist() == [127] and q.mag.tolist() == [[192]]
    q = fb.quantize(np.array([0.1], np.float64), "FB24", block=1)  # float64 input: converted to binary32 first
    want = oracle.quantize_block([int(np.float32(0.1).view(np.uint32))], 0, 0)
    assert q.mag.tolist() == [want.mag] and q.exp.tolist() == [want.exp]
