"""models.fast (FAST: docs/spec.md section "FAST") against the independent Fraction oracle fast_oracle.py."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models import fast

from . import fast_oracle as fo
from . import oracle
from .gen import block_bits, f32, hyp, make_bits, random_bits, special_blocks

PREC = fast.PRECISIONS
ROUNDINGS = (fo.RTZ, fo.RNE, fo.RNA, fo.SR)


def assert_groups_equal(q: fast.FastTensor, want: list[list[fo.Group]], bits, what: str) -> None:
    rows = q.mag.reshape(-1, q.mag.shape[-2], q.mag.shape[-1])
    codes = q.code.reshape(-1, q.code.shape[-1])
    signs = q.sign.reshape(rows.shape)
    flags = q.flags.reshape(codes.shape)
    bits = np.asarray(bits, np.uint32).reshape(len(want), -1)
    for r, row in enumerate(want):
        for g, grp in enumerate(row):
            got = (int(codes[r, g]) + q.base, signs[r, g].tolist(), rows[r, g].tolist(), int(flags[r, g]))
            exp = (grp.exp, grp.sign, grp.mag, grp.flags)
            assert got == exp, (f"{what}: row {r} group {g}\n  input {[hex(b) for b in bits[r, g*16:(g+1)*16]]}"
                                f"\n  model  {got}\n  oracle {exp}")


def check_quantize(bits, m, rounding, exp_bits=8, base=None, seed=0xACE1, first=0):
    bits = np.asarray(bits, np.uint32).reshape(-1, np.asarray(bits).shape[-1])
    q = fast.quantize(f32(bits), m, rounding, 16, exp_bits, base=base, seed=seed, first_group=first)
    want = fo.quantize_rows(bits.tolist(), m, rounding, 16, exp_bits, base, seed, first)
    assert_groups_equal(q, want, bits, f"m={m} rounding={rounding} exp_bits={exp_bits} base={base} seed={seed:#x}")
    assert q.code.max(initial=0) < (1 << exp_bits)
    return q, want


# --- conversion ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("exp_bits", fast.EXP_WIDTHS)
@pytest.mark.parametrize("m", PREC)
def test_quantize_random(m, exp_bits, rng):
    """Structured random data with specials (zeros, -0, subnormals, NaN, Inf, wild patterns), every
    rounding; the last axis is not a multiple of 16 (zero padding)."""
    for rounding in ROUNDINGS:
        bits = random_bits(rng, (3, 70), 16)
        check_quantize(bits, m, rounding, exp_bits, seed=int(rng.integers(0, 1 << 16)),
                       first=int(rng.integers(0, 50)))


@hyp(200)
@given(data=st.data(), m=st.sampled_from(PREC), rounding=st.sampled_from(ROUNDINGS),
       exp_bits=st.sampled_from(fast.EXP_WIDTHS), seed=st.integers(0, 0xFFFF))
def test_quantize_hypothesis(data, m, rounding, exp_bits, seed):
    bits = [x for _ in range(2) for x in data.draw(block_bits(16))]
    check_quantize(np.array(bits, np.uint32)[None, :], m, rounding, exp_bits, seed=seed)


def _bits_of(v: Fraction) -> int:
    b = oracle.round_f32(v)
    assert oracle.f32_value(b) == v, "not exactly representable"
    return b


def tie_groups(m: int, rng) -> np.ndarray:
    """Groups whose elements sit exactly halfway between two magnitudes (and one binary32 ulp either side),
    both parities, in groups of exponent E (254 .. 1, subnormal territory included). Element 0 = 2^(E-127)
    fixes E."""
    rows = []
    for e in (254, 160, 127, 40, 24, 3, 1):
        lsb = oracle.pow2(e - 127 - (m - 1))
        row = [_bits_of(oracle.pow2(e - 127))]
        for q in [0, 1, 2, (1 << m) - 2, int(rng.integers(0, (1 << m) - 1))]:
            v = (q + Fraction(1, 2)) * lsb
            if v < oracle.pow2(-149):
                continue
            b = _bits_of(v) | (int(rng.integers(0, 2)) << 31)
            row += [b, b + 1, b - 1 if b & 0x7FFFFFFF else b]
        row = (row + [0] * 16)[:16]
        rows.append(row)
    return np.array(rows, np.uint32)


def saturation_groups(m: int) -> np.ndarray:
    """The group maximum rounds up past 2^m - 1 (RNE; SR with noise): all-ones fractions at E 254/127/1,
    and an all-subnormal group with every bit set."""
    rows = []
    for e in (254, 127, 1):
        for frac in ((1 << 23) - 1, (1 << 23) - (1 << (23 - m)), (1 << 23) - (1 << (24 - m)) + 1):
            rows.append([int(make_bits(0, e, frac))] + [int(make_bits(1, e, frac))] * 15)
    rows.append([int(make_bits(1, 0, (1 << 23) - 1))] * 16)
    return np.array(rows, np.uint32)


@pytest.mark.parametrize("exp_bits", fast.EXP_WIDTHS)
@pytest.mark.parametrize("m", PREC)
def test_quantize_corners(m, exp_bits, rng):
    """Ties and their binary32 neighbours at every exponent class, saturation, zero groups, NaN, Inf,
    subnormals, huge-with-tiny (the oracle decides; here we also check the defining properties)."""
    for rounding in ROUNDINGS:
        for bits in (tie_groups(m, rng), saturation_groups(m), special_blocks(16)):
            q, _ = check_quantize(bits, m, rounding, exp_bits, seed=int(rng.integers(0, 1 << 16)))
            assert q.mag.max() <= (1 << m) - 1
            assert not np.any((q.mag == 0) & (q.sign == 1)), "negative zero"
    # zero group: exponent 0 (8-bit) or code 0 (4-bit), all magnitudes 0, no flags
    q = fast.quantize(np.zeros(16, np.float32), m, fast.SR, exp_bits=exp_bits)
    assert q.code.tolist() == [0] and q.mag.max() == 0 and q.flags.tolist() == [0]


@pytest.mark.parametrize("m", PREC)
def test_four_bit_exponent_clamps(m, rng):
    """A 4-bit code is clamp(E_max - base, 0, 15): a base far below a group saturates it, a base above
    flushes it; the default base (tensor maximum - 15) never clamps the largest group."""
    bits = random_bits(rng, (4, 64), 16, specials=False)
    emax = int(fast.group_max_exponent(f32(bits)).max())
    for base in (0, max(emax - 40, 0), max(emax - 15, 0), emax, min(emax + 3, 255), None):
        for rounding in ROUNDINGS:
            check_quantize(bits, m, rounding, 4, base=base, seed=int(rng.integers(0, 1 << 16)))
    # a group 20 binades above base + 15 saturates every nonzero element
    x = np.full(16, 2.0 ** 30, np.float32)
    q = fast.quantize(x, m, fast.RTZ, exp_bits=4, base=127)
    assert q.code.tolist() == [15] and set(q.mag.ravel().tolist()) == {(1 << m) - 1}
    q = fast.quantize(x, m, fast.RTZ, exp_bits=4)  # default base: exact, top bit set
    assert q.code.tolist() == [15] and q.base == 127 + 30 - 15 and set(q.mag.ravel().tolist()) == {1 << (m - 1)}


def test_sr_unbiased_and_uses_8_bit_noise(rng):
    """SR is unbiased to within 1/256 of an LSB (8-bit noise): the mean of many roundings of one value."""
    v = np.float32(1.0 + 0.3)  # in a group with max 2.0: scaled 1.3 * 2^(m-1) / 2
    x = np.tile(np.array([2.0, v] + [0.0] * 14, np.float32), (4096, 1))
    q = fast.quantize(x, 4, fast.SR, seed=0x1234)
    mean = q.mag[:, 0, 1].mean()
    exact = float(v) * 2 ** (4 - 1) / 2
    assert abs(mean - exact) < 0.02, (mean, exact)
    assert set(np.unique(q.mag[:, 0, 1])) == {int(exact), int(exact) + 1}


@pytest.mark.parametrize("m,mode", [(8, "FB16"), (4, "FB12")])
def test_same_as_flexblock_conversion(m, mode, rng):
    """With 8-bit exponents, FAST's 8-bit (4-bit) conversion is FlexBlock's FB16 (FB12) conversion under
    every rounding, SR with the same LFSR lanes and 8 noise bits (spec "FAST 2")."""
    import models as fb
    bits = random_bits(rng, (5, 64), 16)
    for r in ROUNDINGS:
        q = fast.quantize(f32(bits), m, r, seed=0x5EED, first_group=7)
        ref = fb.quantize(f32(bits), mode, r, seed=0x5EED, first_block=7)
        assert np.array_equal(q.mag, ref.mag) and np.array_equal(q.sign, ref.sign)
        assert np.array_equal(q.code, ref.exp) and np.array_equal(q.flags, ref.flags)


# --- the fMAC -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("m_b", PREC)
@pytest.mark.parametrize("m_a", PREC)
def test_group_dot_chunk_serial(m_a, m_b, rng):
    """The chunk-serial pass sum equals the oracle's plain signed dot product, every precision pair,
    random and extreme (all 2^m - 1, alternating signs) magnitudes."""
    n = 200
    sa, sb = rng.integers(0, 2, (n, 16)), rng.integers(0, 2, (n, 16))
    ma, mb = rng.integers(0, 1 << m_a, (n, 16)), rng.integers(0, 1 << m_b, (n, 16))
    ma[0], mb[0], sa[0], sb[0] = (1 << m_a) - 1, (1 << m_b) - 1, 0, 0
    ma[1], mb[1], sa[1], sb[1] = (1 << m_a) - 1, (1 << m_b) - 1, 1, 0
    got = fast.group_dot(sa, ma, sb, mb, m_a, m_b)
    for k in range(n):
        ga = fo.Group(0, 0, m_a, sa[k].tolist(), ma[k].tolist())
        gb = fo.Group(0, 0, m_b, sb[k].tolist(), mb[k].tolist())
        assert int(got[k]) == fo.dot(ga, gb)
    assert len(fast.passes(m_a, m_b)) == fast.cycles_per_group(m_a, m_b) == (m_a // 2) * (m_b // 2)


def _oracle_gemm_bits(a, b, m_a, m_b, rounding, exp_bits, seed_a, seed_b):
    ab = np.asarray(a, np.float32).view(np.uint32)
    bb = np.asarray(b, np.float32).T.copy().view(np.uint32)
    return fo.gemm(ab.tolist(), bb.tolist(), m_a, m_b, rounding, exp_bits, seed_a, seed_b)


@pytest.mark.parametrize("exp_bits", fast.EXP_WIDTHS)
@pytest.mark.parametrize("m_a,m_b", [(2, 2), (2, 8), (4, 4), (6, 2), (6, 6), (8, 4), (8, 8)])
def test_gemm_random(m_a, m_b, exp_bits, rng):
    """GEMM from FP32 (specials included: NaN/Inf/subnormal/zero groups) vs the oracle, results and flags,
    SR with per-operand seeds; also the pass-by-pass `mac` on the same groups."""
    M, K, N = 3, 37, 4
    a = f32(random_bits(rng, (M, K), 16))
    b = f32(random_bits(rng, (N, K), 16)).T.copy()
    for rounding in ROUNDINGS:
        seed = int(rng.integers(0, 1 << 16))
        c, flags = fast.gemm(a, b, m_a, m_b, rounding, exp_bits, seed=seed)
        want = _oracle_gemm_bits(a, b, m_a, m_b, rounding, exp_bits, seed, seed ^ 0xFFFF)
        got_bits = c.view(np.uint32)
        for i in range(M):
            for j in range(N):
                assert (int(got_bits[i, j]), int(flags[i, j])) == want[i][j], (i, j, rounding)
        qa = fast.quantize(a, m_a, rounding, exp_bits=exp_bits, seed=seed)
        qb = fast.quantize(b.T, m_b, rounding, exp_bits=exp_bits, seed=seed ^ 0xFFFF)
        bits2, flags2 = fast.mac(_rows(qa), _cols(qb))
        assert np.array_equal(bits2, got_bits) and np.array_equal(flags2, flags)


def _axis(q: fast.FastTensor, idx) -> fast.FastTensor:
    return fast.FastTensor(q.code[idx], q.base, q.sign[idx], q.mag[idx], q.flags[idx], q.m, q.exp_bits)


def _rows(q):  # (M, ng) -> (M, 1, ng): A's rows against every column of B in `mac`
    return _axis(q, (slice(None), None))


def _cols(q):  # (N, ng) -> (1, N, ng)
    return _axis(q, (None, slice(None)))


def test_mac_extremes():
    """Terms that overflow binary32 (8-bit exponents near 254 twice), Inf - Inf = NaN (canonical),
    subnormal and underflowing terms, cancellation to +0: oracle vs model on hand-made groups."""
    def grp(code, sign, mag, m, flags=0, base=0):
        return fo.Group(code, base, m, list(sign), list(mag), flags)
    cases = []
    top8 = [255] * 16
    cases.append(([grp(254, [0] * 16, top8, 8), grp(254, [1] * 16, top8, 8)],
                  [grp(254, [0] * 16, top8, 8), grp(254, [0] * 16, top8, 8)]))  # +Inf + -Inf
    cases.append(([grp(1, [0] * 16, [1] * 16, 2)], [grp(1, [0] * 16, [3] * 16, 2)]))  # underflow
    cases.append(([grp(100, [0] * 16, [3] * 16, 4), grp(100, [1] * 16, [3] * 16, 4)],
                  [grp(100, [0] * 16, [5] * 16, 6), grp(100, [0] * 16, [5] * 16, 6)]))  # cancel to +0
    cases.append(([grp(15, [0] * 16, [63] * 16, 6, 1, base=239)], [grp(15, [1] * 16, [2] * 16, 2, 2, base=239)]))
    for ga, gb in cases:
        want = fo.mac(ga, gb)
        ta = fast.FastTensor(np.array([g.code for g in ga]), ga[0].base, np.array([g.sign for g in ga]),
                             np.array([g.mag for g in ga]), np.array([g.flags for g in ga], np.uint8), ga[0].m)
        tb = fast.FastTensor(np.array([g.code for g in gb]), gb[0].base, np.array([g.sign for g in gb]),
                             np.array([g.mag for g in gb]), np.array([g.flags for g in gb], np.uint8), gb[0].m)
        bits, flags = fast.mac(ta, tb)
        assert (int(bits), int(flags)) == want


# --- cycle model --------------------------------------------------------------------------------------------
def test_array_cycles_formula():
    """array_cycles = tiles x groups x passes + fill, checked against a direct count of the schedule."""
    for r, c, m, k, n, pa, pb in [(1, 1, 3, 40, 2, 2, 8), (4, 4, 17, 100, 9, 6, 4), (16, 16, 256, 1152, 128, 8, 8)]:
        count = 0
        for _ in range(0, m, r):
            for _ in range(0, n, c):
                for _ in range(0, k, 16):
                    count += len(fast.passes(pa, pb))
        assert fast.array_cycles(r, c, m, k, n, pa, pb) == count + fast.FILL_CYCLES


# --- the training interface ---------------------------------------------------------------------------------
def test_fast_arithmetic_gemm_matches_oracle(rng):
    ar = fast.FastArithmetic()
    ar.configure(n_layers=2, n_steps=10)
    a = rng.standard_normal((5, 40)).astype(np.float32)
    b = rng.standard_normal((40, 3)).astype(np.float32)
    for pass_, layer, step in [("fp", 0, 0), ("bp", 1, 3), ("wg", 0, 9), ("fp", 1, 9)]:
        seed = int(rng.integers(0, 1 << 16))
        c = ar.gemm(a, b, pass_, layer, step, seed)
        m = ar.precision[layer]
        assert c.dtype == np.float32 and c.shape == (5, 3)
        want = _oracle_gemm_bits(a, b, m, m, fo.SR, 4, seed, seed ^ 0xFFFF)
        assert c.view(np.uint32).tolist() == [[w[0] for w in row] for row in want]
    assert ar.cycles(5, 40, 3, "fp", 0) == fast.array_cycles(16, 16, 5, 40, 3, ar.precision[0], ar.precision[0])


def test_fast_first_accurate_second_schedule(rng):
    """r(X) against an independent Fraction-free computation from oracle groups; precision starts at 2,
    rises by 2 exactly when r > eps(l, i) = alpha - beta i/I - beta l/L, never falls, stops at 8; later
    steps and deeper layers (smaller eps) reach higher precision."""
    x = rng.standard_normal((8, 64)).astype(np.float32)
    rows = x.view(np.uint32).tolist()
    lo = fo.quantize_rows(rows, 2, fo.RTZ, 16, 4)
    hi = fo.quantize_rows(rows, 4, fo.RTZ, 16, 4)

    def val(g, k):
        return (-1) ** g.sign[k] * g.mag[k] * oracle.pow2(g.exp - 127 - (g.m - 1))
    num = sum(abs(val(h, k) - val(l, k)) for rh, rl in zip(hi, lo) for h, l in zip(rh, rl) for k in range(16))
    den = sum(abs(val(l, k)) for rl in lo for l in rl for k in range(16))
    assert fast.relative_improvement(x, 2) == pytest.approx(float(num / den), rel=1e-12)

    ar = fast.FastArithmetic(alpha=0.9, beta=0.5)
    ar.configure(n_layers=3, n_steps=20)
    assert ar.precision == [2, 2, 2]
    b = rng.standard_normal((64, 4)).astype(np.float32)
    prev = list(ar.precision)
    for step in range(20):
        for layer in range(3):
            before = ar.precision[layer]
            ar.gemm(x, b, "fp", layer, step, step)
            if before < 8:
                lay, st_, r, eps, after = ar.history[-1]
                assert (lay, st_) == (layer, step)
                assert eps == pytest.approx(0.9 - 0.5 * step / 20 - 0.5 * layer / 3)
                assert after == (before + 2 if r > eps else before)
            ar.gemm(x.T.copy(), x, "wg", layer, step, step)  # other passes never change precision
        assert all(p >= q for p, q in zip(ar.precision, prev)) and max(ar.precision) <= 8
        prev = list(ar.precision)
    assert ar.precision[2] >= ar.precision[0] and ar.precision[2] > 2


def test_fast_arithmetic_trains_a_small_mlp(rng):
    """The interface in a training loop (every forward, backward and weight-gradient GEMM through
    FastArithmetic.gemm): a 16-32-3 MLP on Gaussian blobs learns (loss falls by half, accuracy > 85%),
    and the schedule only ever raises precision."""
    n, d, k = 384, 16, 3
    centers = rng.standard_normal((k, d)).astype(np.float32) * 2
    y = rng.integers(0, k, n)
    x = (centers[y] + rng.standard_normal((n, d))).astype(np.float32)
    w1 = (rng.standard_normal((d, 32)) * np.sqrt(2 / d)).astype(np.float32)
    w2 = (rng.standard_normal((32, k)) * np.sqrt(2 / 32)).astype(np.float32)
    ar = fast.FastArithmetic()
    steps = 120
    ar.configure(n_layers=2, n_steps=steps)
    losses = []
    for step in range(steps):
        idx = rng.integers(0, n, 32)
        xb, yb = x[idx], y[idx]
        h = np.maximum(ar.gemm(xb, w1, "fp", 0, step, 2 * step), 0)
        z = ar.gemm(h, w2, "fp", 1, step, 2 * step + 1)
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        losses.append(float(-np.log(p[np.arange(32), yb] + 1e-9).mean()))
        dz = p.copy()
        dz[np.arange(32), yb] -= 1
        dz = (dz / 32).astype(np.float32)
        dh = ar.gemm(dz, w2.T.copy(), "bp", 1, step, 3 * step) * (h > 0)
        w2 -= 0.1 * ar.gemm(h.T.copy(), dz, "wg", 1, step, 5 * step)
        w1 -= 0.1 * ar.gemm(xb.T.copy(), dh.astype(np.float32), "wg", 0, step, 7 * step)
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10]), (losses[:10], losses[-10:])
    # evaluation at the final precisions (a non-"fp" pass never moves the schedule)
    z = ar.gemm(np.maximum(ar.gemm(x, w1, "bp", 0, steps, 1), 0), w2, "bp", 1, steps, 2)
    assert np.mean(np.argmax(z, axis=1) == y) > 0.85
    for layer in range(2):
        seen = [m for l, _, _, _, m in ar.history if l == layer]
        assert seen == sorted(seen) and 2 <= seen[0] and seen[-1] <= 8


def test_fast_eval_view_never_schedules(rng):
    """for_eval(): the evaluation forward passes use the trained precisions and never move them."""
    ar = fast.FastArithmetic(alpha=-1.0, beta=0.0)  # eps < 0: every training forward GEMM raises precision
    ar.configure(n_layers=1, n_steps=10)
    ev = ar.for_eval()
    x = rng.standard_normal((4, 32)).astype(np.float32)
    w = rng.standard_normal((32, 3)).astype(np.float32)
    for _ in range(3):
        c = ev.gemm(x, w, "fp", 0, 0, 1)
    assert ar.precision == [2] and ev.precision == [2]
    assert np.array_equal(c.view(np.uint32), fast.gemm(x, w, 2, 2, fast.SR, 4, seed=1)[0].view(np.uint32))
    ar.gemm(x, w, "fp", 0, 0, 1)
    assert ar.precision == [4] and ev.precision == [4]
    assert ar.finish()["final_precision"] == [4]
