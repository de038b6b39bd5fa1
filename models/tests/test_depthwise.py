"""models.depthwise (docs/spec.md section 6, "Depthwise conv"): the window / Toeplitz mapping of a 3x3
depthwise conv onto core jobs. Two independent checks: (1) the stored operands written out element by element
from the definition here, then the oracle GEMM (tests/oracle.py) on them, equal models.depthwise's results bit
for bit in every mode pair and rounding; (2) on inputs the BFP conversion keeps exact (small integers), the
mapped result equals the depthwise conv computed with Fractions straight from its definition."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from models import depthwise as dw
from models.core import BWD, FWD, G, PASS_NAMES, WG, W, X

from . import oracle
from .gen import f32, random_bits
from .test_core import oracle_job
from .test_gemm import assert_result


def hand_operands(pass_, x, k, g):
    """The stored tensors of one channel's job, from the spec's text, with Python lists (bit patterns)."""
    h, w = len(x), len(x[0])

    def at(img, r, c):
        return img[r][c] if 0 <= r < h and 0 <= c < w else 0

    def win(img):  # window of output tile (a, b): rows 2a - 1 .., columns 2b - 1 .., lane 4 i + j
        return [[at(img, 2 * a - 1 + i, 2 * b - 1 + j) for i in range(4) for j in range(4)]
                for a in range((h + 1) // 2) for b in range((w + 1) // 2)]

    def toe(kern):  # 16 x 4: row 4 i + j, column 2 oy + ox = kern[i - oy][j - ox] inside the kernel
        return [[kern[i - oy][j - ox] if 0 <= i - oy < 3 and 0 <= j - ox < 3 else 0
                 for oy in range(2) for ox in range(2)] for i in range(4) for j in range(4)]

    if pass_ == FWD:
        return {X: win(x), W: toe(k)}
    if pass_ == BWD:
        rot = [[k[2 - i][2 - j] for j in range(3)] for i in range(3)]
        return {G: win(g), W: [list(col) for col in zip(*toe(rot))]}
    xs = [[at(x, r + i - 1, c) for i in range(3)] for r in range(h) for c in range(-1, w + 1)]
    gs = [[at(g, r, c + 1 - j) for j in range(3)] for r in range(h) for c in range(-1, w + 1)]
    return {X: xs, G: gs}


@pytest.mark.parametrize("pass_", [FWD, BWD, WG])
def test_depthwise_job_vs_oracle(pass_, rng):
    for trial in range(6):
        h, w = int(rng.integers(1, 8)), int(rng.integers(1, 8))
        x, g = random_bits(rng, (h, w), 16), random_bits(rng, (h, w), 16)
        k = random_bits(rng, (3, 3), 16)
        modes = [int(v) for v in rng.integers(0, 3, 2)]
        rounds = [int(v) for v in rng.integers(0, 4, 2)]
        seed = int(rng.integers(0, 1 << 16))
        hand = hand_operands(pass_, np.asarray(x).tolist(), np.asarray(k).tolist(), np.asarray(g).tolist())
        built = dw.stored(pass_, f32(x), f32(k), f32(g))
        if pass_ == WG:  # stored transposed for a BWD-coded job: G = Xs^T, W = Gs^T
            built = {X: built[G].T, G: built[W].T}
        for buf, t in hand.items():
            assert np.array_equal(f32(np.array(t, np.uint32)).view(np.uint32), built[buf].view(np.uint32)), \
                f"trial {trial}: {PASS_NAMES[pass_]} region {buf} differs from the definition"
        want = oracle_job(pass_, *(np.array(hand[b], np.uint32) if b in hand else None for b in (X, W, G)),
                          *modes, *rounds, seed, 16)
        got, flags = dw.depthwise(pass_, f32(x), f32(k), f32(g), *modes, *rounds, seed)
        if pass_ != WG:  # back into tiles: C[(a, b), 2 oy + ox] = map[2a + oy, 2b + ox]
            th, tw = (h + 1) // 2, (w + 1) // 2
            c = np.zeros((th * tw, 4), np.uint32)
            f = np.zeros((th * tw, 4), np.uint8)
            for r in range(h):
                for s in range(w):
                    c[(r // 2) * tw + s // 2, 2 * (r % 2) + s % 2] = got.view(np.uint32)[r, s]
                    f[(r // 2) * tw + s // 2, 2 * (r % 2) + s % 2] = flags[r, s]
            # outputs past an odd edge are not in the map: compare those the map has
            keep = [(i, j) for i in range(th * tw) for j in range(4)
                    if 2 * (i // tw) + j // 2 < h and 2 * (i % tw) + j % 2 < w]
            for i, j in keep:
                assert (int(c[i, j]), int(f[i, j])) == (want[0][i][j], want[1][i][j]), \
                    f"trial {trial}: {PASS_NAMES[pass_]} {h}x{w} modes {modes} roundings {rounds}: C[{i}][{j}]"
        else:
            assert_result(got.view(np.uint32), flags, *want,
                          f"trial {trial}: WG {h}x{w} modes {modes} roundings {rounds}")


def exact_depthwise(pass_, x, k, g):
    """Fractions, straight from the definition (stride 1, padding 1)."""
    h, w = len(x), len(x[0])

    def at(img, r, c):
        return Fraction(img[r][c]) if 0 <= r < h and 0 <= c < w else Fraction(0)
    taps = [(dh, dv) for dh in (-1, 0, 1) for dv in (-1, 0, 1)]
    if pass_ == FWD:
        return [[sum(at(x, r + dh, c + dv) * Fraction(k[dh + 1][dv + 1]) for dh, dv in taps) for c in range(w)]
                for r in range(h)]
    if pass_ == BWD:
        return [[sum(at(g, r - dh, c - dv) * Fraction(k[dh + 1][dv + 1]) for dh, dv in taps) for c in range(w)]
                for r in range(h)]
    return [[sum(at(x, r + dh, c + dv) * at(g, r, c) for r in range(h) for c in range(w)) for dv in (-1, 0, 1)]
            for dh in (-1, 0, 1)]


@pytest.mark.parametrize("pass_", [FWD, BWD, WG])
def test_depthwise_is_the_conv(pass_, rng):
    """Integers up to 15 in magnitude convert exactly in every mode and their sums are exact in binary32:
    the mapped job then is the depthwise conv itself, odd and tiny maps included."""
    for trial in range(8):
        h, w = int(rng.integers(1, 9)), int(rng.integers(1, 9))
        x, g = rng.integers(-15, 16, (h, w)), rng.integers(-15, 16, (h, w))
        k = rng.integers(-15, 16, (3, 3))
        modes = [int(v) for v in rng.integers(0, 3, 2)]
        got, flags = dw.depthwise(pass_, x.astype(np.float32), k.astype(np.float32), g.astype(np.float32), *modes,
                                  int(rng.integers(0, 4)), int(rng.integers(0, 4)), int(rng.integers(0, 1 << 16)))
        want = exact_depthwise(pass_, x.tolist(), k.tolist(), g.tolist())
        assert [[Fraction(float(v)) for v in row] for row in got] == want, \
            f"trial {trial}: {PASS_NAMES[pass_]} {h}x{w} modes {modes}"
        assert not flags.any()


def test_bound():
    """The mapping's full-rate bound: 9/16 for FWD / BWD on even maps; WG 9/16 x W / (W + 2) on whole blocks."""
    assert dw.bound(FWD, 16, 16) == 9 / 16 == dw.bound(BWD, 8, 8)
    assert dw.bound(WG, 14, 14) == 9 * 14 * 14 / (16 * 16 * -(-14 * 16 // 16))
    assert dw.bound(FWD, 7, 7) < 9 / 16  # odd edge: a half-empty window row and column


def hand_split(x, g):
    """The WG split's three jobs' stored tensors, from the spec's text: grid points (r, 4m) with m from
    ceil(-(b0 + 3) / 4) to floor((w - 1 - b0) / 4), b0 the tile's first column shift."""
    h, w = len(x), len(x[0])

    def at(img, r, c):
        return img[r][c] if 0 <= r < h and 0 <= c < w else 0
    tiles = [([(-1, 0), (0, 0), (1, 0), (-1, 1)], [-1, 0, 1, 2]), ([(0, 1), (1, 1), (-1, 2), (0, 2)], [0, 1, 2, 3]),
             ([(1, 2), (-1, 3), (0, 3), (1, 3)], [1, 2, 3, 4])]
    out = []
    for us, bs in tiles:
        lo, hi = -((bs[0] + 3) // 4), (w - 1 - bs[0]) // 4
        pts = [(r, 4 * m) for r in range(h) for m in range(lo, hi + 1)]
        out.append((us, bs, [[at(x, r + dh, c + a) for dh, a in us] for r, c in pts],
                    [[at(g, r, c + b) for b in bs] for r, c in pts]))
    return out


def test_wg_split_vs_oracle(rng):
    """WG split: the three jobs' operands as written in the spec, the oracle GEMM on each, then each tap's four
    class shares (class = column shift mod 4) added by the oracle's binary32 accumulation in class order."""
    for trial in range(4):
        h, w = int(rng.integers(1, 7)), int(rng.integers(1, 11))
        x, g = random_bits(rng, (h, w), 16), random_bits(rng, (h, w), 16)
        modes = [int(v) for v in rng.integers(0, 3, 2)]
        rounds = [int(v) for v in rng.integers(0, 4, 2)]
        seeds = [int(v) for v in rng.integers(0, 1 << 16, 3)]
        got, flags, _ = dw.wg_split(f32(x), f32(g), *modes, *rounds, seeds)
        built = dw.split_operands(f32(x), f32(g))
        shares = {}
        for t, (us, bs, xs, gs) in enumerate(hand_split(np.asarray(x).tolist(), np.asarray(g).tolist())):
            assert np.array_equal(f32(np.array(xs, np.uint32)).view(np.uint32), built[t][G].T.view(np.uint32))
            assert np.array_equal(f32(np.array(gs, np.uint32)).view(np.uint32), built[t][W].T.view(np.uint32))
            cb, cf = oracle_job(WG, np.array(xs, np.uint32), None, np.array(gs, np.uint32), *modes, *rounds, seeds[t], 16)
            for i, (dh, a) in enumerate(us):
                for j, b in enumerate(bs):
                    if abs(a - b) <= 1:
                        assert (dh, a - b, b % 4) not in shares, "a share computed twice"
                        shares[(dh, a - b, b % 4)] = (cb[i][j], cf[i][j])
        assert len(shares) == 36
        for dh in (-1, 0, 1):
            for dv in (-1, 0, 1):
                parts = [shares[(dh, dv, c)] for c in range(4)]
                flags_in = 0
                for _, f in parts:
                    flags_in |= f
                want = oracle.accumulate([b for b, _ in parts], flags_in)
                assert (int(got.view(np.uint32)[dh + 1, dv + 1]), int(flags[dh + 1, dv + 1])) == want, \
                    f"trial {trial}: WG split {h}x{w} modes {modes} roundings {rounds}: dW[{dh + 1}][{dv + 1}]"


def test_wg_split_is_the_conv(rng):
    for trial in range(6):
        h, w = int(rng.integers(1, 9)), int(rng.integers(1, 14))
        x, g = rng.integers(-15, 16, (h, w)), rng.integers(-15, 16, (h, w))
        modes = [int(v) for v in rng.integers(0, 3, 2)]
        got, flags, _ = dw.wg_split(x.astype(np.float32), g.astype(np.float32), *modes, 3, 3)
        want = exact_depthwise(WG, x.tolist(), [[0] * 3] * 3, g.tolist())
        assert [[Fraction(float(v)) for v in row] for row in got] == want, f"trial {trial}: {h}x{w} modes {modes}"
        assert not flags.any()
