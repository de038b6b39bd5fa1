"""block_dot / term_exponent / term_fp32 / accumulate against the integer + Fraction oracle (docs/spec.md
section 3). binary32 rounding in the oracle is oracle.round_f32 (from a Fraction), never numpy."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import models as fb

from . import oracle
from .gen import MODES, W, hyp

X_MIN, X_MAX = -284, 254


# --- the oracle's own binary32 rounding, checked on cases known by hand ----------------------------------
def test_oracle_round_f32_known_values():
    F = oracle.Fraction
    assert oracle.round_f32(F(1)) == 0x3F800000
    assert oracle.round_f32(F(-2)) == 0xC0000000
    assert oracle.round_f32(F(1) + F(1, 2 ** 24)) == 0x3F800000  # tie -> even
    assert oracle.round_f32(F(1) + F(3, 2 ** 24)) == 0x3F800002  # tie -> even (up)
    assert oracle.round_f32(F(1, 2 ** 149)) == 1
    assert oracle.round_f32(F(1, 2 ** 150)) == 0  # tie with 0 -> even (0)
    assert oracle.round_f32(-F(3, 2 ** 151)) == 0x80000001  # 0.75 of the smallest subnormal
    assert oracle.round_f32(F(2 ** 24 - 1, 2 ** 150)) == 0x00800000  # rounds up out of the subnormals
    assert oracle.round_f32(F(2 ** 24 - 1) * 2 ** 104) == 0x7F7FFFFF
    assert oracle.round_f32(F(2 ** 25 - 1) * 2 ** 103) == 0x7F800000  # halfway to 2^128: even = overflow
    assert oracle.round_f32(-F(2 ** 26 - 3) * 2 ** 102) == 0xFF7FFFFF
    assert oracle.add_f32(0x3F800000, 0xBF800000) == 0  # x + -x = +0
    assert oracle.add_f32(0x80000000, 0x80000000) == 0x80000000
    assert oracle.add_f32(0x7F800000, 0xFF800000) == oracle.CANONICAL_NAN


def test_oracle_round_f32_round_trips_every_exponent(rng):
    for b in rng.integers(0, 0x7F800000, 3000).tolist() + [1, 0x7F7FFFFF, 0x00800000, 0x007FFFFF]:
        for s in (0, 0x80000000):
            assert oracle.round_f32(oracle.f32_value(b | s)) == b | s


# --- block_dot, term_exponent ----------------------------------------------------------------------------
@hyp(100)
@given(data=st.data(), k=st.sampled_from([1, 4, 16, 54, 216]), wa=st.sampled_from([4, 8, 16]),
       wb=st.sampled_from([4, 8, 16]))
def test_block_dot(data, k, wa, wb):
    def vec(w):
        m = data.draw(st.lists(st.one_of(st.integers(0, (1 << w) - 1), st.just((1 << w) - 1)),
                               min_size=k, max_size=k))
        s = data.draw(st.lists(st.integers(0, 1), min_size=k, max_size=k))
        return s, m
    sa, ma = vec(wa)
    sb, mb = vec(wb)
    got = fb.block_dot(np.array(sa, np.uint8), np.array(ma), np.array(sb, np.uint8), np.array(mb))
    assert int(got) == oracle.block_dot(sa, ma, sb, mb)


def test_block_dot_batched_and_extreme(rng):
    top = (1 << 16) - 1
    for k in (16, 216):
        m = np.full((3, k), top)
        s = np.zeros((3, k), np.uint8)
        s[1] = 1
        s[2, ::2] = 1
        got = fb.block_dot(s, m, np.zeros((3, k), np.uint8), m)
        assert got.tolist() == [oracle.block_dot(s[i].tolist(), m[i].tolist(), [0] * k, m[i].tolist())
                                for i in range(3)]
        assert got[0] == k * top * top  # 2^32 * 216: needs 40 bits, exact
    ma, mb = rng.integers(0, 256, (5, 7, 16)), rng.integers(0, 16, (5, 7, 16))
    sa, sb = rng.integers(0, 2, (5, 7, 16)), rng.integers(0, 2, (5, 7, 16))
    got = fb.block_dot(sa, ma, sb, mb)
    for i in range(5):
        for j in range(7):
            assert got[i, j] == oracle.block_dot(sa[i, j].tolist(), ma[i, j].tolist(), sb[i, j].tolist(),
                                                 mb[i, j].tolist())


def test_term_exponent_all_modes():
    e = np.arange(0, 255)
    for ma in MODES:
        for mb in MODES:
            got = fb.term_exponent(e[:, None], e[None, :], ma, mb)
            want = [[oracle.term_exponent(a, b, ma, mb) for b in range(255)] for a in range(255)]
            assert got.tolist() == want
            assert got.min() >= X_MIN and got.max() <= X_MAX


# --- term_fp32 -------------------------------------------------------------------------------------------
def _p_near(draw):
    """P values that round at interesting places: powers of two +/- small, ties at the 24th bit, random."""
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.integers(-(1 << 41), 1 << 41))
    if kind == 1:
        b = draw(st.integers(0, 41))
        return draw(st.sampled_from([-1, 1])) * ((1 << b) + draw(st.integers(-3, 3)))
    if kind == 2:  # 25+ significant bits with the bits below the 24th exactly 100..0 (a tie)
        extra = draw(st.integers(1, 16))
        top = draw(st.integers(1 << 23, (1 << 24) - 1))
        return draw(st.sampled_from([-1, 1])) * ((top << extra) | (1 << (extra - 1)))
    return draw(st.integers(-(1 << 24), 1 << 24))


@hyp(800)
@given(data=st.data())
def test_term_fp32(data):
    p = _p_near(data.draw)
    bl = max(abs(p).bit_length(), 1)
    x = data.draw(st.one_of(
        st.integers(X_MIN, X_MAX),
        st.integers(-150 - bl - 2, -126 - bl + 2),  # subnormal / underflow boundary
        st.integers(127 - bl - 1, 128 - bl + 1),  # overflow boundary
    ))
    x = min(max(x, X_MIN), X_MAX)
    got = int(fb.term_fp32(np.int64(p), np.int64(x)).view(np.uint32))
    assert got == oracle.term_bits(p, x), f"P={p} X={x}: model {got:08x}, oracle {oracle.term_bits(p, x):08x}"


def _double_rounding_traps(rng, count):
    """(P, X) whose exact value sits just off a tie of the subnormal grid, closer than P's 24-bit rounding can
    see: rounding P to binary32 first and scaling after (two roundings) goes the wrong way on about half."""
    out = []
    for _ in range(count):
        kept = int(rng.integers(1, 23))  # significant bits the subnormal result keeps
        q = int(rng.integers(1 << (kept - 1), 1 << kept)) if kept > 1 else 1
        low = int(rng.integers(25, 40)) - kept  # P has kept + 1 + low > 24 bits
        delta = int(rng.choice([-1, 1])) * int(rng.integers(1, 1 << max(low - 30, 1)))
        p = ((2 * q + 1) << low) + delta
        x = -150 - low  # (2q+1) * 2^(low + x) = (2q+1) * 2^-150: a tie between subnormals q and q+1
        out.append((int(rng.choice([-1, 1])) * p, x))
    return out


def test_term_fp32_single_rounding_in_subnormals(rng):
    cases = _double_rounding_traps(rng, 300)
    p = np.array([c[0] for c in cases], np.int64)
    x = np.array([c[1] for c in cases], np.int64)
    got = fb.term_fp32(p, x).view(np.uint32).tolist()
    for (pi, xi), g in zip(cases, got):
        assert g == oracle.term_bits(pi, xi), f"P={pi} X={xi}"


def test_term_fp32_vectorized_grid(rng):
    p = np.concatenate([rng.integers(-(1 << 40), 1 << 40, 300), np.arange(-5, 6), [(1 << 25) - 1, 3 << 23]])
    x = rng.integers(X_MIN, X_MAX + 1, p.size)
    x[:40] = rng.integers(-200, -140, 40)
    got = fb.term_fp32(p, x).view(np.uint32).tolist()
    assert got == [oracle.term_bits(int(a), int(b)) for a, b in zip(p, x)]
    assert int(fb.term_fp32(np.int64(0), np.int64(-10)).view(np.uint32)) == 0  # P = 0 -> +0


# --- accumulate ------------------------------------------------------------------------------------------
@st.composite
def term_lists(draw, n_max=24):
    base = draw(st.integers(1, 254))
    out = []
    for _ in range(draw(st.integers(1, n_max))):
        kind = draw(st.sampled_from(["near"] * 8 + ["zero", "sub", "inf", "max"]))
        s = draw(st.integers(0, 1)) << 31
        if kind == "near":
            e = min(max(base + draw(st.integers(-30, 3)), 0), 254)
            out.append(s | (e << 23) | draw(st.integers(0, (1 << 23) - 1)))
        elif kind == "zero":
            out.append(s)
        elif kind == "sub":
            out.append(s | draw(st.integers(1, (1 << 23) - 1)))
        elif kind == "inf":
            out.append(s | 0x7F800000)
        else:
            out.append(s | 0x7F7FFFFF)
    return out


def _run_accumulate(terms, flags=None):
    t = np.array(terms, np.uint32).view(np.float32)[:, None]
    f = None if flags is None else np.array(flags, np.uint8)[:, None]
    bits, fl = fb.accumulate(t, f)
    return int(bits[0]), int(fl[0])


@hyp(400)
@given(terms=term_lists(), data=st.data())
def test_accumulate(terms, data):
    flags = data.draw(st.lists(st.integers(0, 3), min_size=len(terms), max_size=len(terms)))
    got = _run_accumulate(terms, flags)
    in_flags = 0
    for f in flags:
        in_flags |= f
    want = oracle.accumulate(terms, in_flags)
    assert got == want, f"terms {[f'{t:08x}' for t in terms]}: model {got[0]:08x}/{got[1]}, oracle {want[0]:08x}/{want[1]}"
    assert _run_accumulate(terms) == oracle.accumulate(terms)


def test_accumulate_columns_independent(rng):
    """A (T, M, N) stack: every output reduces its own column, in order."""
    t = (rng.standard_normal((7, 3, 4)) * 2.0 ** rng.integers(-20, 20, (7, 3, 4))).astype(np.float32)
    t[2, 0, 0] = np.inf
    t[5, 0, 0] = -np.inf
    t[1, 1, 1] = np.float32(3e38)
    t[3, 1, 1] = np.float32(3e38)
    bits, flags = fb.accumulate(t)
    for i in range(3):
        for j in range(4):
            want = oracle.accumulate(np.ascontiguousarray(t[:, i, j]).view(np.uint32).tolist())
            assert (int(bits[i, j]), int(flags[i, j])) == want
    assert bits[0, 0] == oracle.CANONICAL_NAN and flags[0, 0] == 3
    assert flags[1, 1] == fb.FLAG_OVERFLOW  # a finite sum overflowing


def test_accumulate_special_cases():
    INF, NINF = 0x7F800000, 0xFF800000
    one, mone = 0x3F800000, 0xBF800000
    cases = [
        ([one, mone], 0, 0),  # exact cancellation: +0
        ([0x80000000], 0, 0),  # +0 + -0 = +0
        ([INF, one], INF, 2),
        ([INF, NINF, one], oracle.CANONICAL_NAN, 3),  # NaN, and it stays NaN
        ([INF, NINF, INF], oracle.CANONICAL_NAN, 3),
        ([0x7F7FFFFF, 0x7F7FFFFF, NINF], oracle.CANONICAL_NAN, 3),  # overflow then -Inf
        ([0x7F7FFFFF, 0x72FFFFFF], 0x7F7FFFFF, 0),  # max + just under half its ulp (2^103): stays finite
        ([0x7F7FFFFF, 0x73000000], INF, 2),  # + exactly half: the tie's even neighbour is 2^128 -> Inf
        ([0x7F7FFFFF, 0xF3000000], 0x7F7FFFFE, 0),  # max - half an ulp: tie to even, down
        ([0x00000001, 0x00000001], 0x00000002, 0),  # subnormals add exactly
        ([0x00800000, 0x80000001], 0x007FFFFF, 0),  # down into the subnormals
    ]
    for terms, bits, flags in cases:
        assert oracle.accumulate(terms) == (bits, flags), terms
        assert _run_accumulate(terms) == (bits, flags), terms


def test_accumulate_one_dimensional_terms():
    """Terms of shape (T,): a single reduction (no output axes)."""
    bits, flags = fb.accumulate(np.array([1.0, 2.0, np.inf, -np.inf], np.float32))
    assert int(bits) == oracle.CANONICAL_NAN and int(flags) == 3
    bits, flags = fb.accumulate(np.array([1.0, 2.0], np.float32), np.array([1, 0], np.uint8))
    assert int(bits) == 0x40400000 and int(flags) == fb.FLAG_INVALID


@pytest.mark.parametrize("mode_a", MODES)
def test_term_pipeline_from_blocks(mode_a, rng):
    """block_dot -> term_exponent -> term_fp32 for random blocks of every mode pair."""
    for mode_b in MODES:
        wa, wb = W[mode_a], W[mode_b]
        ea, eb = rng.integers(1, 255, 50), rng.integers(1, 255, 50)
        ma, mb = rng.integers(0, 1 << wa, (50, 16)), rng.integers(0, 1 << wb, (50, 16))
        sa, sb = rng.integers(0, 2, (50, 16)), rng.integers(0, 2, (50, 16))
        p = fb.block_dot(sa, ma, sb, mb)
        x = fb.term_exponent(ea, eb, mode_a, mode_b)
        got = fb.term_fp32(p, x).view(np.uint32).tolist()
        for i in range(50):
            pi = oracle.block_dot(sa[i].tolist(), ma[i].tolist(), sb[i].tolist(), mb[i].tolist())
            xi = oracle.term_exponent(int(ea[i]), int(eb[i]), mode_a, mode_b)
            assert got[i] == oracle.term_bits(pi, xi)
