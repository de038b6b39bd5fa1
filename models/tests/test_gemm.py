"""bfp_gemm and gemm against the oracle (oracle quantizer -> exact block dot products -> Fraction-rounded
terms -> Fraction-rounded binary32 accumulation), docs/spec.md sections 2-4."""
from __future__ import annotations

import numpy as np
import pytest

import models as fb
from models import lfsr

from . import oracle
from .gen import f32, random_bits

PAIRS = [(a, b) for a in (0, 1, 2) for b in (0, 1, 2)]


def to_tensor(rows: list[list[oracle.Block]], mode: int) -> fb.BFPTensor:
    return fb.BFPTensor(
        exp=np.array([[b.exp for b in r] for r in rows], np.int64),
        sign=np.array([[b.sign for b in r] for r in rows], np.uint8),
        mag=np.array([[b.mag for b in r] for r in rows], np.int64),
        flags=np.array([[b.flags for b in r] for r in rows], np.uint8), mode=fb.mode_code(mode))


def oracle_gemm(a_bits, b_bits, mode_a, mode_b, rounding, block, seed=lfsr.DEFAULT_SEED):
    """The oracle of fb.gemm: one quantizer, A's rows first, then B's columns."""
    lanes = oracle.LfsrLanes(seed, block, 8) if rounding == oracle.SR else None
    qa = oracle.quantize_rows(np.asarray(a_bits).tolist(), mode_a, rounding, block, lanes)
    qb = oracle.quantize_rows(np.asarray(b_bits).T.tolist(), mode_b, rounding, block, lanes)
    return oracle.bfp_gemm(qa, qb, mode_a, mode_b)


def assert_result(got_bits, got_flags, want_bits, want_flags, what):
    gb, gf = np.asarray(got_bits).tolist(), np.asarray(got_flags).tolist()
    for m, (rb, rf) in enumerate(zip(want_bits, want_flags)):
        for n, (b, f) in enumerate(zip(rb, rf)):
            assert (gb[m][n], gf[m][n]) == (b, f), \
                f"{what}: C[{m}][{n}] model {gb[m][n]:08x}/{gf[m][n]}, oracle {b:08x}/{f}"


def _operands(rng, m, kdim, n, block, scale=1.0):
    a = random_bits(rng, (m, kdim), block, specials=False)
    b = random_bits(rng, (n, kdim), block, specials=False).T.copy()
    if scale != 1.0:  # ordinary data: normal-ish values of one scale, so sums cancel and round
        a = (rng.standard_normal((m, kdim)) * scale).astype(np.float32).view(np.uint32)
        b = (rng.standard_normal((kdim, n)) * scale).astype(np.float32).view(np.uint32)
    return a, b


@pytest.mark.parametrize("mode_a,mode_b", PAIRS)
def test_bfp_gemm_vs_oracle(mode_a, mode_b, rng):
    for block, kdim in ((16, 37), (4, 13), (16, 16), (54, 60)):
        m, n = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        for scale in (1.0, 3.0):
            a, b = _operands(rng, m, kdim, n, block, scale)
            qa = oracle.quantize_rows(a.tolist(), mode_a, fb.RNE, block)
            qb = oracle.quantize_rows(b.T.tolist(), mode_b, fb.RNE, block)
            bits, flags = fb.bfp_gemm(to_tensor(qa, mode_a), to_tensor(qb, mode_b))
            assert bits.shape == (m, n) and bits.dtype == np.uint32 and flags.shape == (m, n)
            assert_result(bits, flags, *oracle.bfp_gemm(qa, qb, mode_a, mode_b),
                          f"modes {mode_a}x{mode_b} K={block} Kdim={kdim}")


@pytest.mark.parametrize("mode_a,mode_b", PAIRS)
def test_gemm_vs_oracle(mode_a, mode_b, rng):
    for rounding in (fb.RTZ, fb.RNE, fb.RNA, fb.SR):
        block = int(rng.choice([4, 16]))
        kdim = int(rng.choice([5, 17, 23, 40]))  # mostly not a multiple of the block
        m, n = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        a, b = _operands(rng, m, kdim, n, block, scale=float(rng.choice([1.0, 2.0 ** -60, 2.0 ** 50])))
        c, flags = fb.gemm(f32(a), f32(b), mode_a, mode_b, rounding, block)
        assert c.dtype == np.float32 and c.shape == (m, n)
        assert_result(c.view(np.uint32), flags, *oracle_gemm(a, b, mode_a, mode_b, rounding, block),
                      f"gemm modes {mode_a}x{mode_b} R={rounding} K={block} Kdim={kdim}")


def test_gemm_structured_and_special_inputs(rng):
    """Structured random operands with NaN, +/-Inf, subnormals, zeros, huge exponents; the reserved code."""
    for trial in range(12):
        mode_a, mode_b = int(rng.integers(0, 4)), int(rng.integers(0, 4))
        rounding = int(rng.integers(0, 4))
        block = int(rng.choice([1, 4, 16]))
        kdim, m, n = int(rng.integers(1, 40)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
        a = random_bits(rng, (m, kdim), block)
        b = random_bits(rng, (n, kdim), block).T.copy()
        c, flags = fb.gemm(f32(a), f32(b), mode_a, mode_b, rounding, block)
        assert_result(c.view(np.uint32), flags, *oracle_gemm(a, b, mode_a, mode_b, rounding, block),
                      f"trial {trial}: modes {mode_a}x{mode_b} R={rounding} K={block} Kdim={kdim}")


def test_gemm_nan_inf_by_hand():
    one = np.ones((1, 32), np.float32)
    a = one.copy()
    a[0, 0], a[0, 16] = np.inf, np.inf  # +Inf in blocks 0 and 1
    a1 = one.copy()
    a1[0, 0] = np.inf
    c, flags = fb.gemm(a1, one.T, fb.FB16, fb.FB16)
    # Inf converts to the finite 255 * 2^(127-7) (only the flag says it was infinite): the term is
    # 255 * 128 * 2^113 = 2^128 - 2^120, finite; + 16 from block 1 is lost in rounding
    assert np.isfinite(c[0, 0]) and c[0, 0] == np.float32(2.0 ** 128 - 2.0 ** 120)
    assert flags[0, 0] == fb.FLAG_OVERFLOW
    b = 2 * one.T
    b[16, 0] = -2.0  # now the terms are (2^128 - 2^120) * 2 = +Inf and -Inf
    c, flags = fb.gemm(a, b, fb.FB16, fb.FB16)
    assert c.view(np.uint32)[0, 0] == 0x7FC00000 and flags[0, 0] == fb.FLAG_INVALID | fb.FLAG_OVERFLOW
    a = one.copy()
    a[0, 3] = np.nan
    c, flags = fb.gemm(a, one.T, fb.FB12, fb.FB24)
    # the NaN converts to 0 (flag only): 31 * 1.0
    assert c[0, 0] == 31.0 and flags[0, 0] == fb.FLAG_INVALID
    big = np.full((1, 16), 3e38, np.float32)
    c, flags = fb.gemm(big, big.T, fb.FB24, fb.FB24)  # finite operands, infinite term
    assert np.isposinf(c[0, 0]) and flags[0, 0] == fb.FLAG_OVERFLOW
    tiny = np.full((1, 16), 1e-30, np.float32)
    c, flags = fb.gemm(tiny, tiny.T, fb.FB24, fb.FB24)  # underflows to +0 exactly
    assert c.view(np.uint32)[0, 0] == 0 and flags[0, 0] == 0
    c, flags = fb.gemm(-tiny, tiny.T, fb.FB24, fb.FB24)  # -0 term, +0 + -0 = +0
    assert c.view(np.uint32)[0, 0] == 0


def test_gemm_shares_one_quantizer_for_sr():
    """SR: A takes blocks 0.., B continues after A (one quantizer, A first)."""
    rng = np.random.default_rng(7)
    a = (rng.standard_normal((2, 32))).astype(np.float32)
    b = (rng.standard_normal((32, 3))).astype(np.float32)
    unit = fb.Fp2Bfp(16)
    qa = unit(a, fb.FB12, fb.SR)
    qb = unit(b.T, fb.FB12, fb.SR)
    want = fb.bfp_gemm(qa, qb)
    got = fb.gemm(a, b, fb.FB12, fb.FB12, fb.SR, 16)
    assert (got[0].view(np.uint32) == want[0]).all() and (got[1] == want[1]).all()
    qb0 = fb.quantize(b.T, fb.FB12, fb.SR, 16)  # B from block 0 instead: different bits
    assert not (qb0.mag == qb.mag).all()


def test_bfp_gemm_rejects_mismatched_blocks():
    a = fb.quantize(np.ones((2, 32), np.float32), fb.FB16, block=16)
    b = fb.quantize(np.ones((2, 48), np.float32), fb.FB16, block=16)
    with pytest.raises(ValueError):
        fb.bfp_gemm(a, b)
    b = fb.quantize(np.ones((2, 32), np.float32), fb.FB16, block=8)
    with pytest.raises(ValueError):
        fb.bfp_gemm(a, b)


def test_block_products(rng):
    a, b = _operands(rng, 3, 40, 2, 8)
    qa, qb = fb.quantize(f32(a), fb.FB24, 0, 8), fb.quantize(f32(b).T, fb.FB16, 0, 8)
    p = fb.block_products(qa, qb)
    assert p.shape == (5, 3, 2)
    for k in range(5):
        for i in range(3):
            for j in range(2):
                assert p[k, i, j] == oracle.block_dot(qa.sign[i, k].tolist(), qa.mag[i, k].tolist(),
                                                      qb.sign[j, k].tolist(), qb.mag[j, k].tolist())


@pytest.mark.parametrize("mode_a,mode_b", [(0, 0), (1, 2), (2, 0)])
def test_bfp_gemm_batch_axes_are_independent_gemms(mode_a, mode_b, rng):
    """A batch (T, M, nb, K) x (T, N, nb, K) gives exactly the T separate GEMMs (specials included)."""
    t, m, n, kdim = 5, 3, 4, 40
    qa = fb.quantize(f32(random_bits(rng, (t * m, kdim), 8)), mode_a, fb.RNE, 8)
    qb = fb.quantize(f32(random_bits(rng, (t * n, kdim), 8)), mode_b, fb.RNE, 8)
    batch = lambda q, rows: fb.BFPTensor(*(v.reshape(t, rows, *v.shape[1:])
                                           for v in (q.exp, q.sign, q.mag, q.flags)), q.mode)
    bits, flags = fb.bfp_gemm(batch(qa, m), batch(qb, n))
    assert bits.shape == flags.shape == (t, m, n)
    for i in range(t):
        want_bits, want_flags = fb.bfp_gemm(qa[i * m:(i + 1) * m], qb[i * n:(i + 1) * n])
        assert (bits[i] == want_bits).all() and (flags[i] == want_flags).all(), f"GEMM {i} of the batch"
    with pytest.raises(ValueError):
        fb.bfp_gemm(batch(qa, m), qb)
