"""Block Minifloat model (models/block_minifloat.py) against an independent exact oracle written from
docs/spec.md ("Block Minifloat") with Python ints and Fractions: values are taken exactly from binary32 bits, the
grid point is chosen by exact rounding, and the code is found by searching the format's decode table (no
shifts, no carries, no vectorized code shared with the model). Binary32 rounding, addition and the LFSR
lanes come from models/tests/oracle.py (itself independent of the model)."""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np
import pytest

from models import block_minifloat as bm
from models.bfp import float32_bits
from models.tests import oracle as o

FORMATS = [(2, 5), (4, 3), (2, 3), (3, 2)]
PAIRS = [((2, 5), (2, 5)), ((4, 3), (2, 5)), ((2, 3), (2, 3)), ((3, 2), (2, 3))]


# --- the oracle ------------------------------------------------------------------------------------------
def o_floor_log2(v: Fraction) -> int:
    k = 0
    while o.pow2(k) > v:
        k -= 1
    while o.pow2(k + 1) <= v:
        k += 1
    return k


@lru_cache(maxsize=None)
def o_decode_table(e: int, m: int) -> dict[int, Fraction]:
    """Magnitude code {E, man} -> value relative to 2^offset, from the format's definition."""
    bias = 2 ** (e - 1)
    table = {}
    for ef in range(2 ** e):
        for man in range(2 ** m):
            if ef == 0:
                table[(ef << m) | man] = Fraction(man, 2 ** m) * o.pow2(1 - bias)
            else:
                table[(ef << m) | man] = (1 + Fraction(man, 2 ** m)) * o.pow2(ef - bias)
    return table


def o_quantize_block(bits: list[int], e: int, m: int, rounding: int, rnd=None, r: int = 8):
    """-> (shared exponent, element codes, flags)."""
    emax, emin = 2 ** (e - 1) - 1, -(2 ** (e - 1))
    table = o_decode_table(e, m)
    top = max(table.values())
    assert top == o.pow2(emax) * (2 - o.pow2(-m))
    kinds = [o.f32_kind(b) for b in bits]
    logs = [o_floor_log2(abs(o.f32_value(b))) for b, k in zip(bits, kinds) if k in ("normal", "subnormal")]
    if "inf" in kinds:
        logs.append(10 ** 6)
    se = min(max(max(logs, default=-(10 ** 6)), -128), 127)
    offset = se - emax
    codes, flags = [], 0
    for i, (b, k) in enumerate(zip(bits, kinds)):
        s = b >> 31 & 1
        if k == "nan":
            flags |= o.INVALID
            codes.append(0)
            continue
        if k == "inf":
            flags |= o.OVERFLOW
            value = top
        elif k == "zero":
            value = Fraction(0)
        else:
            v = abs(o.f32_value(b)) / o.pow2(offset)
            eb = min(max(o_floor_log2(v), emin + 1), emax)
            scaled = v * o.pow2(m - eb)
            fl = o.floor_frac(scaled)
            if rounding == bm.RNE:
                rem = scaled - fl
                q = fl + (rem > Fraction(1, 2) or (rem == Fraction(1, 2) and fl % 2 == 1))
            else:
                q = o.floor_frac(scaled + Fraction(rnd[i], 2 ** r))
            value = min(q * o.pow2(eb - m), top)
        (code,) = [c for c, val in table.items() if val == value]
        codes.append(code | (s << (e + m) if value else 0))
    return se, codes, flags


def o_value(code: int, se: int, e: int, m: int) -> Fraction:
    table = o_decode_table(e, m)
    v = table[code & ((1 << (e + m)) - 1)] * o.pow2(se - (2 ** (e - 1) - 1))
    return -v if code >> (e + m) & 1 else v


def o_gemm(a_rows, b_cols, fa, fb):
    """a_rows[m] / b_cols[n]: lists of (se, codes, flags) blocks. -> (bits, flags) nested lists."""
    bits, flags = [], []
    for ar in a_rows:
        rb, rf = [], []
        for bc in b_cols:
            terms, f = [], 0
            for (sa, ca, fla), (sb, cb, flb) in zip(ar, bc):
                exact = sum((o_value(x, sa, *fa) * o_value(y, sb, *fb) for x, y in zip(ca, cb)), Fraction(0))
                terms.append(o.round_f32(exact))
                f |= fla | flb
            r, fl = o.accumulate(terms, f)
            rb.append(r)
            rf.append(fl)
        bits.append(rb)
        flags.append(rf)
    return bits, flags


def o_quantize_rows(rows, e, m, rounding, block, lanes=None, r=8):
    out = []
    for row in rows:
        row = list(row) + [0] * ((-len(row)) % block)
        out.append([o_quantize_block(row[j:j + block], e, m, rounding,
                                     lanes.next_block() if rounding == bm.SR else None, r)
                    for j in range(0, len(row), block)])
    return out


# --- stimulus --------------------------------------------------------------------------------------------
def special_bits(rng, n: int) -> np.ndarray:
    """binary32 patterns mixing every corner class: normals over a few binades, zeros of both signs,
    binary32 subnormals, NaN, +/-Inf, values far below the block max (minifloat subnormals, flush to 0)."""
    x = (rng.standard_normal(n) * 2.0 ** rng.integers(-6, 6, n)).astype(np.float32)
    bits = float32_bits(x).astype(np.int64)
    kind = rng.random(n)
    sub = rng.integers(1, 1 << 23, n) | (rng.integers(0, 2, n) << 31)
    bits = np.where(kind < 0.06, 0, bits)
    bits = np.where((kind >= 0.06) & (kind < 0.09), 0x80000000, bits)
    bits = np.where((kind >= 0.09) & (kind < 0.13), sub, bits)
    bits = np.where((kind >= 0.13) & (kind < 0.14), 0x7FC00000 | rng.integers(1, 1 << 22, n), bits)
    bits = np.where((kind >= 0.14) & (kind < 0.15), 0x7F800000 | (rng.integers(0, 2, n) << 31), bits)
    tiny = float32_bits((rng.standard_normal(n) * 2.0 ** rng.integers(-20, -3, n)).astype(np.float32))
    bits = np.where((kind >= 0.15) & (kind < 0.3), tiny, bits)
    return bits.astype(np.uint32)


def as_f32(bits) -> np.ndarray:
    return np.asarray(bits, np.uint32).view(np.float32)


def check_quantize(bits_rows: np.ndarray, e, m, rounding, block, seed=0xACE1):
    q = bm.quantize(as_f32(bits_rows), bm.Minifloat(e, m), rounding, block, seed)
    lanes = o.LfsrLanes(seed, block, 8)
    expect = o_quantize_rows([list(map(int, r)) for r in bits_rows], e, m, rounding, block, lanes)
    codes = q.codes()
    for i, row in enumerate(expect):
        for j, (se, c, fl) in enumerate(row):
            got = (int(q.se[i, j]), [int(v) for v in codes[i, j]], int(q.flags[i, j]))
            assert got == (se, c, fl), f"row {i} block {j}: model {got}\n oracle {(se, c, fl)}"
    return q


# --- conversion ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("e,m", FORMATS)
@pytest.mark.parametrize("rounding", [bm.RNE, bm.SR])
@pytest.mark.parametrize("block", [16, 48])
def test_quantize_matches_oracle(rng, e, m, rounding, block):
    bits = special_bits(rng, 3 * (2 * block + 5)).reshape(3, -1)  # ragged: the last block is zero-padded
    check_quantize(bits, e, m, rounding, block, int(rng.integers(0, 1 << 16)))


@pytest.mark.parametrize("e,m", FORMATS)
def test_corner_blocks(e, m):
    """Zero block, an all-NaN block, Inf, subnormal max, tiny max (shared exponent clamped at -128),
    the largest binary32 (se = 127) and NaN beside normals."""
    f32 = lambda *v: float32_bits(np.array(v, np.float32)).astype(np.int64)
    max32 = float(np.finfo(np.float32).max)
    blocks = [
        f32(0, -0.0, 0, 0),
        np.array([0x7FC00000, 0xFFC00001, 0x7F800001, 0]),
        f32(np.inf, 1.0, -3.5, 0.25),
        f32(-np.inf, np.inf, 1e-3, 0),
        np.array([1, 0x80000003, 0x007FFFFF, 0x00400000]),  # binary32 subnormals only
        f32(2.0 ** -130, 2.0 ** -140, -(2.0 ** -129) * 1.5, 2.0 ** -131),  # max below the clamp
        f32(max32, -max32, 1.0, 2.0 ** 120),
        np.array([0x7FC00000, 0x3FC00000, 0xBF400000, 0]),
    ]
    bits = np.stack(blocks).astype(np.uint32)
    for rounding in (bm.RNE, bm.SR):
        q = check_quantize(bits.reshape(1, -1), e, m, rounding, 4)
    assert q.se[0, 0] == -128 and not q.codes()[0, 0].any()                        # zero block
    assert q.flags[0, 1] == bm.FLAG_INVALID and not q.codes()[0, 1].any()
    assert q.se[0, 2] == 127 and q.flags[0, 2] == bm.FLAG_OVERFLOW                  # Inf: se clamps at 127
    assert q.se[0, 4] == -127 and q.se[0, 5] == -128                                # subnormal max; clamp


@pytest.mark.parametrize("e,m", FORMATS)
def test_saturation_and_ties(e, m):
    """The block max rounding up past 2^emax (2 - 2^-m) saturates; RNE ties go to even in every binade and
    in the minifloat subnormal range."""
    f = bm.Minifloat(e, m)
    rows = []
    for k in range(-3, 4):
        big = 2.0 ** k * (2 - 2.0 ** -(m + 2))  # rounds up past the top code (RNE): saturates
        row = [big]
        for t in range(f.emin, f.emax + 1):  # ties: halfway between two codes in binade t (relative)
            ulp = 2.0 ** (t - m) if t > f.emin else 2.0 ** (f.emin + 1 - m)
            base = 2.0 ** max(t, f.emin + 1) if t > f.emin else 0.0
            for j in (1, 2, 3):
                row.append((base + (j + 0.5) * ulp) * 2.0 ** (k - f.emax))
        rows.append(row)
    x = np.array(rows, np.float32)
    bits = float32_bits(x).astype(np.uint32)
    q = check_quantize(bits, e, m, bm.RNE, x.shape[1])
    top = (1 << (e + m)) - 1
    assert (q.codes()[:, 0, 0] == top).all()
    decoded = q.to_float32()
    assert np.all(np.abs(decoded[:, 1:] - x[:, 1:]) > 0)  # every tie moved (nothing was exact)


def test_sr_is_unbiased_and_uses_the_lfsr(rng):
    """SR's mean over many LFSR draws lands within a few standard errors of the value; two seeds differ."""
    x = np.full((4096, 16), 0.3, np.float32)
    x[:, 0] = 1.0  # the block max: 0.3 sits between codes
    q = bm.quantize(x, bm.E2M5, bm.SR, 16, 0x1234)
    d = q.to_float32().reshape(x.shape)[:, 1:].astype(np.float64)
    spacing = 2.0 ** (-2 - 5)
    assert abs(d.mean() - 0.3) < 4 * spacing / np.sqrt(d.size) + spacing / 256
    q2 = bm.quantize(x, bm.E2M5, bm.SR, 16, 0x4321)
    assert not np.array_equal(q.man, q2.man)


def test_matches_the_authors_formula(rng):
    """On finite data the conversion is the authors' quant_function (floor(log2), clamp, f = i 2^-e - 1,
    round, clamp to rlim) with nearest-even rounding, here in float64."""
    for e, m in FORMATS:
        x = (rng.standard_normal((50, 48)) * 2.0 ** rng.integers(-30, 30, (50, 1))).astype(np.float32)
        xf = x.astype(np.float64)
        emax, emin = 2 ** (e - 1) - 1, -(2 ** (e - 1))
        max_exp = np.clip(np.floor(np.log2(np.abs(xf).max(axis=1, keepdims=True))), -128, 127)
        offset = max_exp - emax
        i = np.abs(xf) * 2.0 ** -offset
        ex = np.clip(np.floor(np.log2(i + 1e-60)), emin + 1, emax)
        fr = np.where(i < 2.0 ** (emin + 1), i * 2.0 ** -ex, i * 2.0 ** -ex - 1)
        fr = np.round(fr * 2 ** m) / 2 ** m * 2.0 ** ex
        k = np.where(i < 2.0 ** (emin + 1), fr, 2.0 ** ex + fr)
        ref = np.sign(xf) * np.minimum(k, 2.0 ** emax * (2 - 2.0 ** -m)) * 2.0 ** offset
        got = bm.quantize(x, bm.Minifloat(e, m), bm.RNE, 48).to_float32().reshape(x.shape)
        np.testing.assert_array_equal(got.astype(np.float64), ref)


# --- dot product and GEMM --------------------------------------------------------------------------------
def test_kulisch_width_is_tight():
    """The worst case (every element the top code, same sign) fills the Kulisch width exactly: it needs
    every magnitude bit, and no block can exceed it (the bound is reached)."""
    for (fa, fb) in PAIRS:
        for block in (16, 48):
            A, B = bm.Minifloat(*fa), bm.Minifloat(*fb)
            top_a, top_b = (1 << (A.e + A.m)) - 1, (1 << (B.e + B.m)) - 1
            qa = bm.BMTensor.from_codes(np.full((1, block), top_a), [0], [0], A)
            qb = bm.BMTensor.from_codes(np.full((1, block), top_b), [0], [0], B)
            p, _ = bm.block_dot(qa, qb)
            assert int(p[0]).bit_length() == bm.kulisch_bits(A, B, block) - 1


@pytest.mark.parametrize("fa,fb", PAIRS)
@pytest.mark.parametrize("block", [16, 48])
@pytest.mark.parametrize("rounding", [bm.RNE, bm.SR])
def test_gemm_matches_oracle(rng, fa, fb, block, rounding):
    m, kdim, n = 3, 2 * block + 7, 2
    a = special_bits(rng, m * kdim).reshape(m, kdim)
    b = special_bits(rng, kdim * n).reshape(kdim, n)
    b[:, 1] = float32_bits(-as_f32(a[0]))  # column 1 cancels row 0 (before rounding)
    seed = int(rng.integers(0, 1 << 16))
    c, flags = bm.gemm(as_f32(a), as_f32(b), bm.Minifloat(*fa), bm.Minifloat(*fb), rounding, block,
                       bm.BlockMinifloat(block, seed))
    lanes = o.LfsrLanes(seed, block, 8)
    qa = o_quantize_rows([list(map(int, r)) for r in a], *fa, rounding, block, lanes)
    qb = o_quantize_rows([list(map(int, r)) for r in b.T], *fb, rounding, block, lanes)
    bits, fl = o_gemm(qa, qb, fa, fb)
    got = c.view(np.uint32)
    for i in range(m):
        for j in range(n):
            assert (int(got[i, j]), int(flags[i, j])) == (bits[i][j], fl[i][j]), (i, j)


def test_gemm_extreme_exponents(rng):
    """Blocks at both ends of the shared exponent: terms that overflow binary32 to Inf (and Inf - Inf =
    NaN) and terms in binary32's subnormal range, straight from codes."""
    for fa, fb in PAIRS[:2]:
        A, B = bm.Minifloat(*fa), bm.Minifloat(*fb)
        nb, k = 6, 16
        ca = rng.integers(0, 1 << A.bits, (2, nb, k))
        cb = rng.integers(0, 1 << B.bits, (2, nb, k))
        se_a = rng.choice([-128, -127, -100, 0, 126, 127], (2, nb))
        se_b = rng.choice([-128, -120, 0, 127], (2, nb))
        fla = rng.integers(0, 4, (2, nb)) * (rng.random((2, nb)) < 0.2)
        qa = bm.BMTensor.from_codes(ca, se_a, fla, A)
        qb = bm.BMTensor.from_codes(cb, se_b, np.zeros((2, nb)), B)
        bits, flags = bm.bm_gemm(qa, qb)
        ob = [[(int(se_a[r, j]), list(map(int, ca[r, j])), int(fla[r, j])) for j in range(nb)] for r in range(2)]
        oc = [[(int(se_b[r, j]), list(map(int, cb[r, j])), 0) for j in range(nb)] for r in range(2)]
        eb, ef = o_gemm(ob, oc, fa, fb)
        assert bits.tolist() == eb and flags.tolist() == ef


# --- the training interface and the cycle model ----------------------------------------------------------
@pytest.mark.parametrize("family", ["BM8", "BM6"])
@pytest.mark.parametrize("pass_", ["fp", "bp", "wg"])
def test_arithmetic_gemm_matches_oracle(rng, family, pass_):
    arith = bm.BMArithmetic(family, block=16)
    arith.configure(3, 10)
    a = (rng.standard_normal((3, 37)) * 0.1).astype(np.float32)
    b = (rng.standard_normal((37, 2))).astype(np.float32)
    seed = int(rng.integers(0, 1 << 16))
    c = arith.gemm(a, b, pass_, 0, 0, seed)
    assert c.dtype == np.float32 and c.shape == (3, 2)
    fx, fg = bm.FAMILIES[family]
    fa, fb = {"fp": (fx, fx), "bp": (fg, fx), "wg": (fx, fg)}[pass_]
    lanes = o.LfsrLanes(seed, 16, 8)
    qa = o_quantize_rows([list(map(int, r)) for r in float32_bits(a)], fa.e, fa.m, bm.SR, 16, lanes)
    qb = o_quantize_rows([list(map(int, r)) for r in float32_bits(b.T)], fb.e, fb.m, bm.SR, 16, lanes)
    bits, _ = o_gemm(qa, qb, (fa.e, fa.m), (fb.e, fb.m))
    assert c.view(np.uint32).tolist() == bits
    # and it is the product within the formats' precision: an element's conversion error is below one ulp of
    # its block's top binade, 2^(floor(log2 max|x|) - M) (BM.2: the max sets the shared exponent; saturation
    # loses less than that), and the exact sum is rounded once to binary32 (BM.4)
    ua, ub = _block_ulp(a, fa.m), _block_ulp(b.T, fb.m).T
    aa, ab = np.abs(a).astype(np.float64), np.abs(b).astype(np.float64)
    bound = ua @ ab + aa @ ub + ua @ ub
    err = np.abs(c.astype(np.float64) - a.astype(np.float64) @ b)
    assert np.all(err <= bound + 2.0**-23 * (aa @ ab + bound)), (err, bound)


def _block_ulp(x: np.ndarray, m: int, block: int = 16) -> np.ndarray:
    """Per element of x (rows x k, blocks of `block` along k): one ulp of its block's top binade at m bits."""
    pad = np.pad(np.abs(x).astype(np.float64), ((0, 0), (0, -x.shape[1] % block)))
    top = pad.reshape(x.shape[0], -1, block).max(axis=2)
    ulp = np.where(top > 0, np.exp2(np.floor(np.log2(np.where(top > 0, top, 1.0))) - m), 0.0)
    return np.repeat(ulp, block, axis=1)[:, :x.shape[1]]


def test_array_cycles():
    """ceil-tiles x blocks per reduction, one block pair per cycle, plus the fill."""
    assert bm.array_cycles(4, 48, 4, 4, 4, 48) == 1 + bm.MAC_LATENCY - 1
    assert bm.array_cycles(5, 49, 9, 4, 4, 16) == 2 * 3 * 4 + bm.MAC_LATENCY - 1
    arith = bm.BMArithmetic("BM8", block=16, rows=2, cols=2)
    assert arith.cycles(2, 32, 2, "fp", 0) == 2 + bm.MAC_LATENCY - 1
