"""models.bf16_mac against an independent oracle (docs/spec.md "bfloat16 baseline"): bfloat16 values taken
exactly from their bits as Fractions, products exact, every binary32 rounding by oracle.round_f32 /
oracle.add_f32 (Python ints and Fractions, never numpy)."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from models import bf16_mac as bm
from models.bfp import FLAG_INVALID, FLAG_OVERFLOW

from . import oracle

NAN32 = oracle.CANONICAL_NAN


# --- the oracle -------------------------------------------------------------------------------------------
def o_bf16_kind(b: int) -> str:
    e, f = (b >> 7) & 0xFF, b & 0x7F
    return ("nan" if f else "inf") if e == 255 else ("zero" if e == 0 and f == 0 else "finite")


def o_bf16_value(b: int) -> Fraction:
    s, e, f = b >> 15 & 1, (b >> 7) & 0xFF, b & 0x7F
    v = Fraction(f, 1) * oracle.pow2(-133) if e == 0 else Fraction(128 + f) * oracle.pow2(e - 134)
    return -v if s else v


def o_to_bf16(bits32: int) -> int:
    """binary32 -> bfloat16, nearest-even from the exact value (spec): NaN -> 0x7FC0, overflow -> Inf."""
    kind = oracle.f32_kind(bits32)
    s = bits32 >> 31
    if kind == "nan":
        return 0x7FC0
    if kind == "inf":
        return (s << 15) | 0x7F80
    v = abs(oracle.f32_value(bits32))
    if v == 0:
        return s << 15
    e = max(v.numerator.bit_length() - v.denominator.bit_length() - 1, -126)
    while oracle.pow2(e + 1) <= v:
        e += 1
    while e > -126 and oracle.pow2(e) > v:
        e -= 1
    q = v / oracle.pow2(e - 7)  # in ulps of bfloat16
    m = q.numerator // q.denominator
    r = q - m
    if r > Fraction(1, 2) or (r == Fraction(1, 2) and m & 1):
        m += 1
    if m == 256:
        m, e = 128, e + 1
    if e > 127:
        return (s << 15) | 0x7F80
    if m < 128:
        return (s << 15) | m
    return (s << 15) | ((e + 127) << 7) | (m - 128)


def o_product(a: int, b: int) -> int:
    ka, kb = o_bf16_kind(a), o_bf16_kind(b)
    sign = (a ^ b) >> 15 & 1
    if "nan" in (ka, kb) or {ka, kb} == {"inf", "zero"}:
        return NAN32
    if "inf" in (ka, kb):
        return (sign << 31) | 0x7F800000
    return oracle.round_f32(o_bf16_value(a) * o_bf16_value(b), zero_sign=sign)


def o_mac(a: list[list[int]], b: list[list[int]]) -> tuple[int, int]:
    """Beats of N pairs; pairwise tree per beat, then acc = fp32(acc + s) from +0."""
    acc, overflow = 0, False
    is_inf = lambda x: oracle.f32_kind(x) == "inf"  # noqa: E731
    for ga, gb in zip(a, b):
        level = [o_product(x, y) for x, y in zip(ga, gb)]
        overflow |= any(map(is_inf, level))
        while len(level) > 1:
            level = [oracle.add_f32(level[i], level[i + 1]) for i in range(0, len(level), 2)]
            overflow |= any(map(is_inf, level))
        acc = oracle.add_f32(acc, level[0])
        overflow |= is_inf(acc)
    nan = oracle.f32_kind(acc) == "nan"
    return (NAN32 if nan else acc), (FLAG_INVALID if nan else 0) | (FLAG_OVERFLOW if overflow else 0)


# --- stimulus: bfloat16 patterns of every corner class ----------------------------------------------------
def bf16_patterns(rng: np.random.Generator, n: int, specials: float = 0.1) -> np.ndarray:
    """Random bfloat16 bits: exponents near 127 (most), the extremes, subnormals, zeros, NaN, Inf."""
    e = np.clip(rng.normal(127, 6, n).astype(np.int64), 1, 254)
    pick = rng.random(n)
    e = np.where(pick < 0.05, rng.integers(1, 255, n), e)
    e = np.where((pick >= 0.05) & (pick < 0.08), 0, e)  # subnormal
    e = np.where((pick >= 0.08) & (pick < 0.10), 254, e)
    e = np.where((pick >= 0.10) & (pick < 0.12), 1, e)
    f = rng.integers(0, 128, n)
    bits = (rng.integers(0, 2, n) << 15) | (e << 7) | f
    sp = rng.random(n)
    bits = np.where(sp < specials * 0.4, bits & 0x8000, bits)  # +/-0
    bits = np.where((sp >= specials * 0.4) & (sp < specials * 0.7), (bits & 0x8000) | 0x7F80, bits)  # Inf
    bits = np.where((sp >= specials * 0.7) & (sp < specials), 0x7F80 | rng.integers(1, 128, n), bits)  # NaN
    return bits.astype(np.uint16)


# --- conversion -------------------------------------------------------------------------------------------
def test_to_bf16_corners():
    cases = [0x00000000, 0x80000000, 0x3F800000, 0x3F808000, 0x3F818000, 0x3F808001, 0x3F80FFFF,
             0x7F7FFFFF, 0x7F7F7FFF, 0x7F7F8000, 0xFF7F8000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC12345,
             0x7F800001, 0x00000001, 0x00008000, 0x00018000, 0x007FFFFF, 0x007F8000, 0x80008001]
    got = bm.to_bf16(np.array(cases, np.uint32).view(np.float32))
    for c, g in zip(cases, got.tolist()):
        assert g == o_to_bf16(c), f"{c:08x}: model {g:04x} oracle {o_to_bf16(c):04x}"


def test_to_bf16_random(rng):
    bits = rng.integers(0, 2**32, 20000, dtype=np.uint64).astype(np.uint32)
    ties = (bits & 0xFFFF0000) | 0x8000  # exactly half an ulp
    for src in (bits, ties):
        got = bm.to_bf16(src.view(np.float32)).tolist()
        for c, g in zip(src.tolist(), got):
            assert g == o_to_bf16(c), f"{c:08x}: model {g:04x} oracle {o_to_bf16(c):04x}"


def test_bf16_to_f32_exact(rng):
    bits = bf16_patterns(rng, 2000, specials=0.0)
    for b, v in zip(bits.tolist(), bm.bf16_to_f32(bits).tolist()):
        assert Fraction(v) == o_bf16_value(b)


# --- products and the MAC ---------------------------------------------------------------------------------
def test_products_every_class(rng):
    a = bf16_patterns(rng, 20000, specials=0.2)
    b = bf16_patterns(rng, 20000, specials=0.2)
    got = bm.products(a, b).view(np.uint32).tolist()
    for x, y, g in zip(a.tolist(), b.tolist(), got):
        want = o_product(x, y)
        if want == NAN32:
            assert (g >> 23) & 0xFF == 0xFF and g & 0x7FFFFF, f"{x:04x}*{y:04x}"
        else:
            assert g == want, f"{x:04x}*{y:04x}: model {g:08x} oracle {want:08x}"


def test_products_underflow_and_overflow_round_once():
    # subnormal x subnormal underflows to 0; 1.5*2^-75 x 2^-75 = 1.5 * 2^-150 rounds to 2^-149 (above half);
    # 2^-75 x 2^-75 = 2^-150 is a tie with 0 (even: 0); the largest x 2 overflows.
    cases = [(0x0001, 0x0001), (0x1A40, 0x1A00), (0x1A00, 0x1A00), (0x7F7F, 0x4000), (0xFF7F, 0x3F80)]
    for x, y in cases:
        got = int(bm.products(np.uint16(x), np.uint16(y)).view(np.uint32))
        assert got == o_product(x, y), f"{x:04x}*{y:04x}"


@pytest.mark.parametrize("lanes", [1, 2, 4, 8])
def test_mac_against_oracle(rng, lanes):
    for trial in range(120):
        t = int(rng.integers(1, 12))
        specials = [0.0, 0.02, 0.3][trial % 3]
        a = bf16_patterns(rng, t * lanes, specials).reshape(t, lanes)
        b = bf16_patterns(rng, t * lanes, specials).reshape(t, lanes)
        if trial % 5 == 0:  # exact cancellation: the last beat negates the first
            a[-1], b[-1] = a[0] ^ 0x8000, b[0]
        bits, flags = bm.mac(a, b)
        want = o_mac(a.tolist(), b.tolist())
        assert (int(bits), int(flags)) == want, f"trial {trial}: model {int(bits):08x}/{int(flags)} oracle {want}"


def test_mac_ties_in_accumulation():
    # acc = 1 then + 2^-24 (a tie: stays 1, even), + 3*2^-24 (tie up to 1 + 2^-22)
    one, tie = 0x3F80, 0x3380  # 1.0, 2^-24
    a = np.array([[one], [tie], [0x3440]], np.uint16)  # 1, 2^-24, 3*2^-24 (1.5 * 2^-23)
    b = np.array([[one], [one], [one]], np.uint16)
    bits, flags = bm.mac(a, b)
    assert (int(bits), int(flags)) == o_mac(a.tolist(), b.tolist())
    assert int(bits) == 0x3F800002


def test_mac_batched_equals_one_by_one(rng):
    a = bf16_patterns(rng, 6 * 5 * 4, 0.05).reshape(6, 5, 4)
    b = bf16_patterns(rng, 6 * 5 * 4, 0.05).reshape(6, 5, 4)
    bits, flags = bm.mac(a, b)
    for i in range(6):
        one = bm.mac(a[i], b[i])
        assert int(one[0]) == int(bits[i]) and int(one[1]) == int(flags[i])


# --- the training interface -------------------------------------------------------------------------------
def test_bf16_arithmetic_gemm_against_oracle(rng):
    ar = bm.BF16Arithmetic()
    ar.configure(3, 10)
    a = rng.standard_normal((5, 11)).astype(np.float32)
    b = rng.standard_normal((11, 3)).astype(np.float32)
    for pass_ in ("fp", "bp", "wg"):
        c = ar.gemm(a, b, pass_, 1, 0, 0x1234)
        assert c.dtype == np.float32 and c.shape == (5, 3)
        for i in range(5):
            for j in range(3):
                ga = [o_to_bf16(int(x)) for x in a[i].view(np.uint32)] + [0]  # padded to groups of 4
                gb = [o_to_bf16(int(x)) for x in b[:, j].view(np.uint32)] + [0]
                want, _ = o_mac([ga[k:k + 4] for k in range(0, 12, 4)], [gb[k:k + 4] for k in range(0, 12, 4)])
                assert int(c[i, j].view(np.uint32)) == want
    assert ar.cycles(5, 11, 3, "fp", 0) == bm.gemm_cycles(5, 11, 3)
    assert ar.cycles(8, 64, 8, "fp", 0) == 2 * 2 * 16 + bm.fill(4)
