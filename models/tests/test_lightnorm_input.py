"""range_bn's input formats (docs/spec.md LN.4a): FP32 and BFP activations converted to fp10 on entry,
models.lightnorm against the independent exact oracle (lightnorm_oracle.py) element by element and through
whole jobs."""
from __future__ import annotations

import numpy as np
import pytest

from models import lightnorm as ln
from models.bfp import BFPTensor
from models.fp2bfp import RTZ, quantize

from .lightnorm_oracle import Format, bfp_block_to_fmt, fp32_to_fmt
from .test_lightnorm import oracle_unit

OFMT = Format(5, 4)


def f32(x) -> int:
    return int(np.float32(x).view(np.uint32))


# binary32 corners: zeros, NaNs (quiet, signalling, negative), infinities, binary32 subnormals, the fp10
# saturation point (63488 = the largest fp10, 65536 = its first power of two beyond) and flush point
# (2^-18 = the smallest fp10 subnormal step, 2^-14 = the smallest fp10 normal)
FP32_CORNERS = [0x00000000, 0x80000000, 0x7FC00000, 0xFFC00000, 0x7F800001, 0xFFFFFFFF, 0x7F800000,
                0xFF800000, 0x00000001, 0x807FFFFF, 0x00800000, 0x7F7FFFFF, 0xFF7FFFFF,
                f32(63488.0), f32(-63488.0), f32(63488.0) + 1, f32(65535.996), f32(65536.0), f32(-65536.0),
                f32(63487.996), f32(2.0 ** -18), f32(2.0 ** -18) - 1, f32(-(2.0 ** -18)) - 1, f32(2.0 ** -19),
                f32(-1.5 * 2.0 ** -18), f32(2.0 ** -14), f32(2.0 ** -14) - 1, f32(-(2.0 ** -14)) - 1,
                f32(1.0), f32(-1.0), f32(1.0) - 1, f32(3.0 * 2.0 ** -17)]


def test_from_fp32_corners_and_random(rng):
    bits = np.concatenate([np.array(FP32_CORNERS, np.uint32),
                           rng.integers(0, 1 << 32, 20000, dtype=np.uint64).astype(np.uint32),
                           # values near the fp10 range, where every rounding case lives
                           float_bits_near(rng, 20000)])
    got = ln.from_fp32(bits)
    for b, g in zip(bits.tolist(), got.tolist()):
        assert g == fp32_to_fmt(b, OFMT), (hex(b), hex(g))


def float_bits_near(rng, k):
    x = rng.standard_normal(k) * 2.0 ** rng.integers(-22, 18, k)
    return np.asarray(x, np.float32).view(np.uint32)


def test_from_fp32_specials_are_defined():
    got = ln.from_fp32(np.array([0x7FC00000, 0xFFFFFFFF, 0x7F800000, 0xFF800000, 0x7F7FFFFF, 0x00000001,
                                 0x80000000], np.uint32))
    assert got.tolist() == [ln.fp10_nan(), ln.fp10_nan(), 0x1F0, 0x3F0, ln.FP10.max_finite, 0, 0]


def random_blocks(rng, k: int, mode: int) -> BFPTensor:
    """k blocks of 8 with every field drawn freely: exponents 0..255, magnitudes with bits above W set
    (ignored), signs on zero magnitudes, all four flag values, zero blocks."""
    exp = rng.integers(0, 256, k)
    exp[: k // 4] = rng.integers(100, 150, k // 4)       # around the fp10 range for most of them
    mag = rng.integers(0, 1 << 16, (k, 8))
    mag[k // 2:] &= (1 << (16 >> (mode % 3))) - 1        # half of them canonical (upper bits 0)
    sign = rng.integers(0, 2, (k, 8))
    mag[rng.random(k) < 0.05] = 0                        # zero blocks (signs still set on some)
    flags = np.where(rng.random(k) < 0.1, rng.integers(1, 4, k), 0)
    return BFPTensor(exp[:, None], sign[:, None, :], mag[:, None, :], flags[:, None], mode)


@pytest.mark.parametrize("mode", [0, 1, 2, 3])
def test_from_bfp_random(mode, rng):
    q = random_blocks(rng, 3000, mode)
    got = ln.from_bfp(q)
    assert got.shape == (3000, 8)
    for i in range(3000):
        want = bfp_block_to_fmt(int(q.exp[i, 0]), q.sign[i, 0].tolist(), q.mag[i, 0].tolist(),
                                int(q.flags[i, 0]), mode, OFMT)
        assert got[i].tolist() == want, (i, q.exp[i, 0], q.mag[i, 0], q.flags[i, 0])


@pytest.mark.parametrize("mode", [0, 1, 2])
def test_from_bfp_corners(mode):
    """Zero blocks, the fp10 saturation and flush points of each mode, -0 elements, flags."""
    w = 16 >> mode
    top = (1 << w) - 1
    e_one = 127 + (w - 1)                                # m = 1 means 1.0
    cases = [(0, [0] * 8, [0] * 8, 0),                   # the all-zero block
             (200, [1] * 8, [0] * 8, 0),                 # zero magnitudes with signs: +0
             (e_one + 15, [0, 1] * 4, [1, 2, top, top - 1, 3, 0, 1, 1], 0),  # 2^15 .. saturating
             (e_one + 16, [0] * 8, [1, 0, 0, 0, 0, 0, 0, top], 0),            # 65536: just beyond
             (255, [1] * 8, [top] * 8, 0),               # the largest exponent field: saturates
             (e_one - 18, [0, 1] * 4, [1, 1, 2, 3, 0, top, 1, 0], 0),          # 2^-18: the flush point
             (e_one - 19, [0, 1] * 4, [1, 1, 2, 3, 0, top, 1, 0], 0),          # half of it: 0 or 1 step
             (1, [0] * 8, [top] * 8, 0),                 # far below: every element flushes to +0
             (130, [0] * 8, [5] * 8, 1), (130, [0] * 8, [5] * 8, 2), (0, [0] * 8, [0] * 8, 3)]
    for e, s, m, f in cases:
        q = BFPTensor(np.array([[e]]), np.array([[s]]), np.array([[m]]), np.array([[f]]), mode)
        want = bfp_block_to_fmt(e, s, m, f, mode, OFMT)
        assert ln.from_bfp(q)[0].tolist() == want, (e, s, m, f)
    sat = BFPTensor(np.array([[255]]), np.zeros((1, 1, 8), int), np.full((1, 1, 8), top), np.zeros((1, 1)), mode)
    assert (ln.from_bfp(sat) == ln.FP10.max_finite).all()
    flagged = BFPTensor(np.array([[130]]), np.zeros((1, 1, 8), int), np.ones((1, 1, 8), int), np.ones((1, 1)), mode)
    assert (ln.from_bfp(flagged) == ln.fp10_nan()).all()


def test_fmt_codes():
    assert [ln.fmt_code(k) for k in range(4)] == [ln.IN_FP10, ln.IN_FP32, ln.IN_BFP, ln.IN_FP10]
    assert ln.fmt_code("BFP") == ln.IN_BFP
    with pytest.raises(ValueError):
        ln.fmt_code(4)


# --- whole jobs: the unit on converted inputs against the oracle on the oracle's conversion --------------
def job_params(rng, n):
    gamma = ln.encode(rng.uniform(0.25, 2.0, 8) * rng.choice([-1, 1], 8))
    beta = ln.encode(rng.standard_normal(8))
    return gamma, beta, ln.encode(ln.range_constant(n)), ln.encode(1e-3)


def check_job(x1_fp10, x2_fp10, raw1, raw2, in_fmt, gamma, beta, c, eps, mode):
    got, _ = ln.forward(raw1, gamma, beta, c, eps, mode, raw2, in_fmt=in_fmt)
    want = oracle_unit(x1_fp10, x2_fp10, gamma, beta, c, eps, mode)
    assert len(want) == got.exp.shape[0]
    for i, blk in enumerate(want):
        assert (int(got.exp[i, 0]), got.mag[i, 0].tolist(), got.sign[i, 0].tolist(), int(got.flags[i, 0])) == \
            (blk.exp, blk.mag, blk.sign, blk.flags), (i, blk)


@pytest.mark.parametrize("n", [1, 9, 37, 100])
def test_unit_fp32_input(n, rng):
    """FP32 activations with the corners in some lanes: binary32 subnormals and tiny values (flush), values
    beyond the fp10 range (saturation), NaN/Inf (the channel is NaN), -0."""
    x = (rng.standard_normal((n, 8)) * 10.0 ** rng.integers(-2, 3, 8)).astype(np.float32)
    x[:, 1] = rng.choice(np.array([1e-40, -1e-42, 2.0 ** -19, -0.0, 2.0 ** -18], np.float32), n)
    x[:, 2] = rng.choice(np.array([7e4, -1e9, 63488.0, 65535.996, 3e38], np.float32), n)
    x[rng.integers(0, n), 3] = np.float32(np.nan)
    x[rng.integers(0, n), 4] = np.float32(-np.inf)
    bits = x.view(np.uint32)
    x2 = bits.copy()
    x2[rng.integers(0, n), 5] = 0x7F800001            # pass 2 re-reads a signalling NaN: that element only
    conv = lambda b: np.array([[fp32_to_fmt(int(v), OFMT) for v in row] for row in b], np.int64)  # noqa: E731
    for mode in (0, 1, 2):
        check_job(conv(bits), conv(x2), bits, x2, ln.IN_FP32, *job_params(rng, n), mode)


@pytest.mark.parametrize("n", [2, 8, 29, 64])
@pytest.mark.parametrize("in_mode", [0, 1, 2])
def test_unit_bfp_input(n, in_mode, rng):
    """BFP activations as the GEMM datapath writes them (fp2bfp RTZ, groups of 8 channels), with a zero
    block, a block beyond the fp10 range, a block below its flush point and a flagged block."""
    x = rng.standard_normal((n, 8)) * 10.0 ** rng.integers(-2, 3, 8)
    q = quantize(x.astype(np.float32), in_mode, RTZ, block=8)
    exp, sign, mag, flags = q.exp.copy(), q.sign.copy(), q.mag.copy(), q.flags.copy()
    k = rng.permutation(n)
    mag[k[0]] = 0
    sign[k[0]] = 0
    if n > 3:
        exp[k[1]] = 160                                    # 2^17 and up: saturates
        exp[k[2]] = 100                                    # below 2^-18: flushes to +0
        flags[k[3]] = rng.integers(1, 4)                   # invalid/overflow: the 8 channels are NaN
    q = BFPTensor(exp, sign, mag, flags, in_mode)
    conv = np.array([bfp_block_to_fmt(int(exp[i, 0]), sign[i, 0].tolist(), mag[i, 0].tolist(), int(flags[i, 0]),
                                      in_mode, OFMT) for i in range(n)], np.int64)
    gamma, beta, c, eps = job_params(rng, n)
    check_job(conv, conv, q, None, ln.IN_BFP, gamma, beta, c, eps, int(rng.integers(0, 3)))


def test_traffic_input_formats():
    """Bytes per element read in each input format: fp10 10 bits, FP32 4 bytes, BFP (8 + 8 (1 + W)) / 64."""
    n, c = 1024, 16
    e = n * c
    for fmt, w, rd in (("fp10", 8, 10 / 8), ("fp32", 8, 4.0), ("bfp", 16, (8 + 8 * 17) / 64),
                       ("bfp", 8, (8 + 8 * 9) / 64), ("bfp", 4, (8 + 8 * 5) / 64)):
        t = ln.traffic_bytes(n, c, "lightnorm", 8, fmt, w)
        assert t["stats (read x)"] == t["normalize (read x)"] == e * rd
        assert t["total"] == e * (2 * rd + (8 + 8 * 9) / 64)
