"""models.neuroflix against an independent oracle (docs/spec.md, "NeuroFlix"): operand values taken exactly
from their bits as Python ints / Fractions, conversions rounded from Fractions, the dot product summed
exactly as a Fraction (no bricks, no lanes) and rounded once by oracle.round_f32."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from models import neuroflix as nf
from models.bfp import FLAG_INVALID, FLAG_OVERFLOW

from . import oracle

NAN32 = oracle.CANONICAL_NAN
FX4, FX8, E5M2, FP16 = 0, 1, 2, 3
FIELDS = {E5M2: (5, 2), FP16: (5, 10)}


# --- the oracle -------------------------------------------------------------------------------------------
def o_fixed(byte: int, wa: int) -> int:
    mag = byte & (0x7 if wa == FX4 else 0x7F)
    return -mag if byte & 0x80 else mag


def o_float(bits: int, fmt: int):
    """Exact value (Fraction), or 'nan' / '+inf' / '-inf'."""
    eb, fb = FIELDS[fmt]
    s = bits >> (eb + fb) & 1
    e = bits >> fb & 31
    f = bits & ((1 << fb) - 1)
    if e == 31:
        return "nan" if f else ("-inf" if s else "+inf")
    v = Fraction(f) * oracle.pow2(-14 - fb) if e == 0 else Fraction(f + (1 << fb)) * oracle.pow2(e - 15 - fb)
    return -v if s else v


def o_round_float(v: Fraction, fmt: int, neg: bool) -> int:
    """Nearest-even to FP16/E5M2 from an exact value; beyond the largest finite (after rounding) -> Inf."""
    eb, fb = FIELDS[fmt]
    s = int(neg) << (eb + fb)
    a = abs(v)
    if a == 0:
        return s
    e = -14
    while oracle.pow2(e + 1) <= a:
        e += 1
    q = a / oracle.pow2(e - fb)
    m = q.numerator // q.denominator
    r = q - m
    if r > Fraction(1, 2) or (r == Fraction(1, 2) and m & 1):
        m += 1
    if m == 2 << fb:
        m, e = 1 << fb, e + 1
    if e > 15:
        return s | (31 << fb)
    if m < (1 << fb):
        return s | m
    return s | ((e + 15) << fb) | (m - (1 << fb))


def o_float_bits(bits32: int, fmt: int) -> int:
    kind = oracle.f32_kind(bits32)
    eb, fb = FIELDS[fmt]
    if kind == "nan":
        return 0x7E00 if fmt == FP16 else 0x7E
    if kind == "inf":
        return (bits32 >> 31) << (eb + fb) | (31 << fb)
    return o_round_float(oracle.f32_value(bits32), fmt, bool(bits32 >> 31))


def o_max_exponent(bits: list[int]) -> int | None:
    finite = [abs(oracle.f32_value(b)) for b in bits if oracle.f32_kind(b) not in ("nan", "inf")]
    m = max(finite, default=Fraction(0))
    if m == 0:
        return None
    e = 0
    while oracle.pow2(e) > m:
        e -= 1
    while oracle.pow2(e + 1) <= m:
        e += 1
    return e


def o_quantize_fixed(bits: list[int], wa: int) -> tuple[list[int], int]:
    w = 4 if wa == FX4 else 8
    top = (1 << (w - 1)) - 1
    f = o_max_exponent(bits)
    scale = 0 if f is None else f - (w - 2)
    out = []
    for b in bits:
        kind = oracle.f32_kind(b)
        if kind == "nan":
            out.append(0)
            continue
        neg = bool(b >> 31)
        if kind == "inf":
            mag = top
        else:
            q = abs(oracle.f32_value(b)) / oracle.pow2(scale)
            mag = q.numerator // q.denominator
            r = q - mag
            if r > Fraction(1, 2) or (r == Fraction(1, 2) and mag & 1):
                mag += 1
            mag = min(mag, top)
        out.append((0x80 if neg and mag else 0) | mag)
    return out, scale


def o_quantize_float(bits: list[int], fmt: int) -> tuple[list[int], int]:
    f = o_max_exponent(bits)
    scale = 0 if f is None else f - 14
    out = []
    for b in bits:
        kind = oracle.f32_kind(b)
        if kind != "normal" and kind != "subnormal" and kind != "zero":
            out.append(o_float_bits(b, fmt))
        else:
            out.append(o_round_float(oracle.f32_value(b) / oracle.pow2(scale), fmt, bool(b >> 31)))
    return out, scale


def o_mac(a, b, wa, fmt_b, scale) -> tuple[int, int]:
    """Beats of (A bytes, B elements) with per-beat modes; the exact sum in the lanes' unit (2^-24 for a
    float B, 1 for a fixed B: the spec's integer view) scaled by the last beat's unit and scale."""
    total = Fraction(0)
    nan = pinf = ninf = False
    for t in range(len(a)):
        for x, y in zip(a[t], b[t]):
            av = o_fixed(x, wa[t])
            if fmt_b[t] in FIELDS:
                bv = o_float(y, fmt_b[t])
                if bv == "nan" or (isinstance(bv, str) and av == 0):
                    nan = True
                elif isinstance(bv, str):
                    neg = (bv == "-inf") != (x >> 7 & 1 == 1)
                    ninf |= neg
                    pinf |= not neg
                else:
                    total += av * bv * (1 << 24)
            else:
                total += av * o_fixed(y & 0xFF, fmt_b[t])
    if nan or (pinf and ninf):
        return NAN32, FLAG_INVALID
    if pinf or ninf:
        return (0x7F800000 if pinf else 0xFF800000), FLAG_OVERFLOW
    unit = scale[-1] - (24 if fmt_b[-1] in FIELDS else 0)
    bits = oracle.round_f32(total * oracle.pow2(unit))
    return bits, FLAG_OVERFLOW if oracle.f32_kind(bits) == "inf" else 0


# --- stimulus ---------------------------------------------------------------------------------------------
def random_b(rng, n: int, fmt: int, specials: float) -> np.ndarray:
    if fmt == FX4:
        return rng.integers(0, 256, n) & 0x87
    if fmt == FX8:
        return rng.integers(0, 256, n)
    eb, fb = FIELDS[fmt]
    e = rng.choice([0, 1, 2, 15, 16, 29, 30, int(rng.integers(0, 31))], n)
    e = np.where(rng.random(n) < 0.5, rng.integers(0, 31, n), e)
    bits = (rng.integers(0, 2, n) << (eb + fb)) | (e << fb) | rng.integers(0, 1 << fb, n)
    sp = rng.random(n)
    bits = np.where(sp < specials / 2, (bits & (1 << (eb + fb))) | (31 << fb), bits)  # +/-Inf
    bits = np.where((sp >= specials / 2) & (sp < specials), (31 << fb) | rng.integers(1, 1 << fb, n), bits)
    return bits


def random_a(rng, n: int, wa: int) -> np.ndarray:
    a = rng.integers(0, 256, n)
    a = np.where(rng.random(n) < 0.1, a & 0x80, a)  # zeros, -0 included
    return np.where(rng.random(n) < 0.1, a | 0x7F, a)  # saturated magnitudes


MODE_PAIRS = [(wa, fb) for wa in (FX4, FX8) for fb in (FX4, FX8, E5M2, FP16)]


# --- conversion -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", [E5M2, FP16])
def test_float_bits_against_oracle(rng, fmt):
    eb, fb = FIELDS[fmt]
    bits = rng.integers(0, 2**32, 6000, dtype=np.uint64).astype(np.uint32)
    # values in and around the format's range: exponents 2^-27 .. 2^17, ties at the format's half ulp
    e = rng.integers(127 - 27, 127 + 17, 6000)
    near = ((rng.integers(0, 2, 6000) << 31) | (e << 23) | rng.integers(0, 1 << 23, 6000)).astype(np.uint32)
    ties = (near & ~np.uint32((1 << (23 - fb)) - 1)) | np.uint32(1 << (22 - fb))
    corners = np.array([0, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00001, 0x7F800001, 1,
                        0x477FE000, 0x477FEFFF, 0x477FF000, 0xC77FF000, 0x47800000, 0x33800000, 0x33000000,
                        0x33000001, 0x387FC000, 0x38800000, 0x47600000, 0x47700000, 0x37800000, 0x37000000],
                       np.uint32)
    for src in (bits, near, ties, corners):
        got = nf.float_bits(src.view(np.float32), fmt).tolist()
        for c, g in zip(src.tolist(), got):
            assert g == o_float_bits(c, fmt), f"{c:08x}: model {g:04x} oracle {o_float_bits(c, fmt):04x}"


@pytest.mark.parametrize("fmt", [E5M2, FP16])
def test_float_value_exact(fmt):
    eb, fb = FIELDS[fmt]
    for bits in range(1 << (1 + eb + fb)):
        v, want = nf.float_value(bits, fmt), o_float(bits, fmt)
        if want == "nan":
            assert np.isnan(v)
        elif isinstance(want, str):
            assert v == (np.inf if want == "+inf" else -np.inf)
        else:
            assert Fraction(float(v)) == want


@pytest.mark.parametrize("wa", [FX4, FX8])
def test_quantize_fixed_against_oracle(rng, wa):
    for trial in range(60):
        n = int(rng.integers(1, 40))
        x = (rng.standard_normal(n) * 2.0 ** rng.integers(-140, 120)).astype(np.float32)
        if trial % 4 == 1:  # ties at the rounding position after scaling
            x = (np.round(rng.standard_normal(n) * 8) + 0.5).astype(np.float32)
        if trial % 4 == 2:  # specials and zeros
            x[rng.random(n) < 0.2] = np.nan
            x[rng.random(n) < 0.2] = -np.inf
            x[rng.random(n) < 0.2] = 0.0
        if trial % 10 == 3:
            x[:] = 0.0
        if trial % 10 == 5:  # subnormal tensor
            x = (rng.standard_normal(n) * 2.0 ** -140).astype(np.float32)
        q, s = nf.quantize_fixed(x, wa)
        want_q, want_s = o_quantize_fixed(x.view(np.uint32).tolist(), wa)
        assert (q.tolist(), s) == (want_q, want_s), f"trial {trial}"


@pytest.mark.parametrize("fmt", [E5M2, FP16])
def test_quantize_float_against_oracle(rng, fmt):
    for trial in range(60):
        n = int(rng.integers(1, 40))
        x = (rng.standard_normal(n) * 2.0 ** rng.integers(-140, 120)
             * 2.0 ** rng.integers(-30, 1, n)).astype(np.float32)
        if trial % 4 == 2:
            x[rng.random(n) < 0.2] = np.nan
            x[rng.random(n) < 0.2] = np.inf
        if trial % 10 == 3:
            x[:] = 0.0
        q, s = nf.quantize_float(x, fmt)
        want_q, want_s = o_quantize_float(x.view(np.uint32).tolist(), fmt)
        assert (q.tolist(), s) == (want_q, want_s), f"trial {trial}"


# --- the MAC ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("wa,fmt_b", MODE_PAIRS)
def test_mac_against_oracle(rng, wa, fmt_b):
    g = nf.GROUP
    for trial in range(60):
        t = int(rng.integers(1, 6))
        specials = [0.0, 0.0, 0.05, 0.3][trial % 4]
        a = random_a(rng, t * g, wa).reshape(t, g)
        b = random_b(rng, t * g, fmt_b, specials).reshape(t, g)
        scale = int(rng.choice([0, int(rng.integers(-40, 40)), -300, -200, 150, 220, int(rng.integers(-512, 512))]))
        if trial % 7 == 0 and t > 1:  # exact cancellation
            a[-1], b[-1] = a[0] ^ 0x80, b[0]
        bits, flags = nf.mac(a, b, wa, fmt_b, scale)
        want = o_mac(a.tolist(), b.tolist(), [wa] * t, [fmt_b] * t, [scale] * t)
        assert (int(bits), int(flags)) == want, (f"trial {trial} wa={wa} fmt_b={fmt_b} scale={scale}: "
                                                 f"model {int(bits):08x}/{int(flags)} oracle {want[0]:08x}/{want[1]}")


def test_mac_mixed_modes_use_the_last_beat(rng):
    """Beats of one reduction in different modes (not what a GEMM does, but defined): lanes sum as integers,
    the last beat's format and scale give the unit."""
    g = nf.GROUP
    for trial in range(100):
        t = int(rng.integers(2, 5))
        wa = rng.integers(0, 2, t)
        fmt = rng.integers(0, 4, t)
        scale = rng.integers(-60, 60, t)
        a = np.stack([random_a(rng, g, int(w)) for w in wa])
        b = np.stack([random_b(rng, g, int(f), 0.05) for f in fmt])
        bits, flags = nf.mac(a, b, wa, fmt, scale)
        want = o_mac(a.tolist(), b.tolist(), wa.tolist(), fmt.tolist(), scale.tolist())
        assert (int(bits), int(flags)) == want, f"trial {trial}"


def test_mac_result_ties_round_to_even():
    # FX8 1 x FP16 [2^15, 2^-9]: exact 2^15 + 2^-9 is half a binary32 ulp above 2^15 -> 2^15 (even);
    # [2^15, 2^-8, 2^-9] -> 2^15 + 3 * 2^-9, a tie between 2^15 + 2^-8 (odd) and 2^15 + 2^-7 -> up.
    one = 0x01
    for b_vals, want in (([0x7800, 0x1800], 0x47000000), ([0x7800, 0x1C00, 0x1800], 0x47000002)):
        b = np.zeros((1, nf.GROUP), np.int64)
        a = np.zeros((1, nf.GROUP), np.int64)
        b[0, :len(b_vals)] = b_vals
        a[0, :len(b_vals)] = one
        bits, _ = nf.mac(a, b, FX8, FP16, 0)
        assert int(bits) == want == o_mac(a.tolist(), b.tolist(), [FX8], [FP16], [0])[0]


def test_mac_lanes_are_the_bricks():
    """One FX8 x FP16 product lands in the lanes q + ia + ib: 127 x (sig 0x7FF << 3) at q = 7."""
    a = np.zeros((1, nf.GROUP), np.int64)
    b = np.zeros((1, nf.GROUP), np.int64)
    a[0, 0], b[0, 0] = 0x7F, 0x7BFF  # FP16 65504: e = 30, off = 29 = 4*7 + 1
    lanes, nan, pinf, ninf = nf.lanes_of(a, b, FX8, FP16)
    assert int(nf.merge(lanes)) == 127 * 0x7FF << 29
    assert lanes[:7].sum() == 0 and lanes[7:].any()
    assert not (nan or pinf or ninf)


def test_mac_batched_equals_one_by_one(rng):
    a = random_a(rng, 5 * 3 * 8, FX8).reshape(5, 3, 8)
    b = random_b(rng, 5 * 3 * 8, FP16, 0.02).reshape(5, 3, 8)
    bits, flags = nf.mac(a, b, FX8, FP16, -7)
    for i in range(5):
        one = nf.mac(a[i], b[i], FX8, FP16, -7)
        assert (int(one[0]), int(one[1])) == (int(bits[i]), int(flags[i]))


def test_steps_and_products_per_cycle():
    table = {(wa, fb): nf.products_per_cycle(wa, fb) for wa, fb in MODE_PAIRS}
    assert table == {(FX4, FX4): 8, (FX4, FX8): 4, (FX4, E5M2): 4, (FX4, FP16): 2,
                     (FX8, FX4): 4, (FX8, FX8): 2, (FX8, E5M2): 2, (FX8, FP16): 1}


# --- the training interface -------------------------------------------------------------------------------
def o_gemm(a: np.ndarray, b: np.ndarray, pass_: str, act: int, w: int, grad: int) -> list[list[int]]:
    """The oracle's view of a pass: quantize each tensor (oracle conversions), then o_mac per output."""
    bits_a, bits_b = a.view(np.uint32), b.view(np.uint32)
    g = nf.GROUP
    m, k = a.shape
    n = b.shape[1]
    out = []
    for i in range(m):
        row = []
        for j in range(n):
            row.append(None)
        out.append(row)
    if pass_ == "fp":
        qa, sa = o_quantize_fixed(bits_a.ravel().tolist(), act)
        qb, sb = o_quantize_fixed(bits_b.ravel().tolist(), w)
        A = [[qa[i * k + kk] for kk in range(k)] for i in range(m)]
        B = [[qb[kk * n + j] for kk in range(k)] for j in range(n)]
        wa, fb, s = act, w, sa + sb
        pairs = [(i, j, A[i], B[j]) for i in range(m) for j in range(n)]
    elif pass_ == "bp":
        qg, sg = o_quantize_float(bits_a.ravel().tolist(), grad)
        qw, sw = o_quantize_fixed(bits_b.ravel().tolist(), w)
        wa, fb, s = w, grad, sw + sg
        pairs = [(i, j, [qw[kk * n + j] for kk in range(k)], [qg[i * k + kk] for kk in range(k)])
                 for i in range(m) for j in range(n)]
    else:
        qa, sa = o_quantize_fixed(bits_a.ravel().tolist(), act)
        qg, sg = o_quantize_float(bits_b.ravel().tolist(), grad)
        wa, fb, s = act, grad, sa + sg
        pairs = [(i, j, [qa[i * k + kk] for kk in range(k)], [qg[kk * n + j] for kk in range(k)])
                 for i in range(m) for j in range(n)]
    for i, j, ra, rb in pairs:
        pad = -k % g
        ra, rb = ra + [0] * pad, rb + [0] * pad
        t = len(ra) // g
        out[i][j] = o_mac([ra[x * g:(x + 1) * g] for x in range(t)], [rb[x * g:(x + 1) * g] for x in range(t)],
                          [wa] * t, [fb] * t, [s] * t)[0]
    return out


@pytest.mark.parametrize("act,w,grad", [("FX8", "FX8", "FP16"), ("FX4", "FX8", "E5M2")])
def test_neuroflix_arithmetic_gemm_against_oracle(rng, act, w, grad):
    ar = nf.NeuroFlixArithmetic(act, w, grad)
    ar.configure(2, 5)
    codes = (nf.FORMATS[act], nf.FORMATS[w], nf.FORMATS[grad])
    m, k, n = 4, 13, 3
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = (rng.standard_normal((k, n)) * 1e-3).astype(np.float32)
    for pass_ in ("fp", "bp", "wg"):
        c = ar.gemm(a, b, pass_, 0, 0, 0xBEEF)
        assert c.dtype == np.float32 and c.shape == (m, n)
        want = o_gemm(a, b, pass_, *codes)
        assert c.view(np.uint32).tolist() == want, pass_
        # and it is close to the float product (the quantization error of 4/8-bit fixed point)
        ref = a.astype(np.float64) @ b.astype(np.float64)
        tol = 0.6 if act == "FX4" else 0.1
        assert np.abs(c - ref).max() <= tol * np.abs(ref).max() + 1e-30, pass_
    assert ar.name == f"NeuroFlix-{nf.FIXED_WIDTH[codes[0]]}/{grad}"
    assert ar.cycles(m, k, n, "fp", 0) == nf.gemm_cycles(m, k, n, codes[0], codes[1])
    assert ar.cycles(8, 64, 8, "wg", 0) == 2 * 2 * 8 * nf.steps(codes[0], codes[2]) + nf.FILL


@pytest.mark.parametrize("wa,fmt_b", MODE_PAIRS)
def test_dot_gemm_equals_the_mac(rng, wa, fmt_b):
    """The GEMM path (lanes as matrix products) gives the bits of the per-reduction MAC path."""
    m, n, t = 5, 4, 3
    a = random_a(rng, m * t * 8, wa).reshape(m, t * 8)
    b = random_b(rng, n * t * 8, fmt_b, 0.02).reshape(n, t * 8)
    scale = int(rng.integers(-200, 100))
    got = nf.dot_gemm(a, b, wa, fmt_b, scale)
    want = nf.mac(np.broadcast_to(a.reshape(m, 1, t, 8), (m, n, t, 8)),
                  np.broadcast_to(b.reshape(1, n, t, 8), (m, n, t, 8)), wa, fmt_b, scale)[0]
    assert got.tolist() == want.tolist()


def test_round_lanes_wide_sums_against_oracle(rng):
    """Lanes whose merged sum exceeds 2^53 / 2^64 (long reductions): the exact integer path, ties included."""
    no = np.zeros((), bool)
    for trial in range(400):
        lanes = rng.integers(-(1 << 31), 1 << 31, nf.LANES)
        if trial % 4 == 1:
            lanes[:10] = 0  # only the top lanes: a round number
        if trial % 4 == 2:  # a binary32 tie far above 2^53: 2^70 + 2^46
            lanes[:] = 0
            lanes[11], lanes[8] = 1 << 26, 1 << (46 - 32)
            lanes[0] = int(rng.integers(0, 2))  # and sometimes one unit more: rounds up
        lsb = int(rng.integers(-560, 200))
        bits, flags = nf.round_lanes(lanes, no, no, no, lsb)
        v = sum(int(x) << (4 * i) for i, x in enumerate(lanes.tolist()))
        want = oracle.round_f32(Fraction(v) * oracle.pow2(lsb))
        assert int(bits) == want, f"trial {trial}: V = {v}, lsb {lsb}: model {int(bits):08x} oracle {want:08x}"
        assert int(flags) == (FLAG_OVERFLOW if oracle.f32_kind(want) == "inf" else 0)


@pytest.mark.parametrize("fmt", [nf.FX4, nf.FX8, nf.E5M2, nf.FP16])
def test_convert_is_the_quantizers_with_their_scale(fmt, rng):
    """The on-chip converter's model (given the tensor scale) gives the quantizers' elements bit for bit;
    the quantizers are the functions checked against the oracle above."""
    for _ in range(40):
        x = (rng.standard_normal(64) * 2.0 ** rng.integers(-60, 60, 64)).astype(np.float32)
        x[rng.integers(0, 64, 6)] = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45], np.float32)
        q, scale = nf.quantize_fixed(x, fmt) if fmt in nf.FIXED_WIDTH else nf.quantize_float(x, fmt)
        assert (nf.convert(x, fmt, scale) == q.astype(np.uint16)).all()


@pytest.mark.parametrize("fmt", [nf.FX4, nf.FX8, nf.E5M2, nf.FP16])
def test_convert_at_any_scale_against_oracle(fmt, rng):
    """The converter at scales other than the tensor's own (the RTL takes the scale as an input): fixed
    point saturates, floats overflow to Inf or underflow to zero; every element against the oracle."""
    for _ in range(30):
        bits = rng.integers(0, 1 << 32, 24, dtype=np.uint64).astype(np.uint32)
        bits[:4] = [0x7FC00001, 0xFF800000, 0x80000000, 0x00000003]  # NaN, -Inf, -0, a subnormal
        scale = int(rng.integers(-512, 512))
        got = nf.convert(bits.view(np.float32), fmt, scale).tolist()
        for b, g in zip(bits.tolist(), got):
            kind = oracle.f32_kind(b)
            if fmt in (nf.FX4, nf.FX8):
                top = 7 if fmt == nf.FX4 else 127
                if kind == "nan":
                    want = 0
                elif kind == "inf":
                    want = (0x80 if b >> 31 else 0) | top
                else:
                    q = abs(oracle.f32_value(b)) / oracle.pow2(scale)
                    mag = q.numerator // q.denominator
                    r = q - mag
                    mag += 1 if (r > Fraction(1, 2) or (r == Fraction(1, 2) and mag & 1)) else 0
                    mag = min(mag, top)
                    want = (0x80 if b >> 31 and mag else 0) | mag
            elif kind in ("nan", "inf"):
                want = o_float_bits(b, fmt)
            else:
                want = o_round_float(oracle.f32_value(b) / oracle.pow2(scale), fmt, bool(b >> 31))
            assert g == want, f"{b:08x} scale {scale}: {g:04x}, oracle {want:04x}"
