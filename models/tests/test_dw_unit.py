"""models.dw_unit (docs/spec.md section 6, "The depthwise vector unit") against the independent oracle
(tests/oracle.py: Python ints and Fractions, no model code). The oracle here walks the definition literally:
per output (FWD/BWD) or per tap (WG), per channel, the taps inside the map in order, each product a block
pair of one element (section 3's term), summed from +0 with section 3's sum rounding and flags. Random BFP
maps in every mode pair (reserved 3 included), border taps, tiny maps (1 x 1, 1 x W, H x 1), zero channels,
saturated blocks whose terms overflow to Inf, Inf - Inf = NaN, and the FP32 convenience (models.fp2bfp,
blocks along the channels) against the oracle's own conversion."""
from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from models import BFPTensor
from models import dw_unit as du

from . import oracle
from .gen import f32, random_bits

TAPS = [(dh, dw) for dh in (-1, 0, 1) for dw in (-1, 0, 1)]
MODE_PAIRS = list(itertools.product((0, 1, 2, 3), repeat=2))


def blocks_of(t: BFPTensor) -> dict:
    """index tuple (leading axes) -> oracle.Block, as plain Python ints."""
    out = {}
    for idx in np.ndindex(*t.exp.shape):
        out[idx] = oracle.Block(int(t.exp[idx]), [int(v) for v in t.sign[idx]], [int(v) for v in t.mag[idx]],
                                int(t.flags[idx]))
    return out


def oracle_conv(pass_, a: BFPTensor, k: BFPTensor, ma: int, mb: int):
    h, w, g, lanes = a.mag.shape
    A, Kb = blocks_of(a), blocks_of(k)
    bits = np.zeros((h, w, g, lanes), np.uint32)
    flags = np.zeros((h, w, g, lanes), np.uint8)
    for y, x, c, l in itertools.product(range(h), range(w), range(g), range(lanes)):
        terms, f = [], 0
        for d, (dh, dw) in enumerate(TAPS):
            if not (0 <= y + dh < h and 0 <= x + dw < w):
                continue  # zero padding: the tap is skipped
            blk_a = A[(y + dh, x + dw, c)]
            blk_k = Kb[(8 - d if pass_ == du.BWD else d, c)]
            p = oracle.block_dot([blk_a.sign[l]], [blk_a.mag[l]], [blk_k.sign[l]], [blk_k.mag[l]])
            terms.append(oracle.term_bits(p, oracle.term_exponent(blk_a.exp, blk_k.exp, ma, mb)))
            f |= blk_a.flags | blk_k.flags
        bits[y, x, c, l], flags[y, x, c, l] = oracle.accumulate(terms, f)
    return bits, flags


def oracle_wg(xt: BFPTensor, dy: BFPTensor, ma: int, mb: int):
    h, w, g, lanes = xt.mag.shape
    X, G = blocks_of(xt), blocks_of(dy)
    bits = np.zeros((9, g, lanes), np.uint32)
    flags = np.zeros((9, g, lanes), np.uint8)
    for d, c, l in itertools.product(range(9), range(g), range(lanes)):
        dh, dw = TAPS[d]
        terms, f = [], 0
        for y, x in itertools.product(range(h), range(w)):  # pixels in raster order
            if not (0 <= y + dh < h and 0 <= x + dw < w):
                continue
            bx, bg = X[(y + dh, x + dw, c)], G[(y, x, c)]
            p = oracle.block_dot([bx.sign[l]], [bx.mag[l]], [bg.sign[l]], [bg.mag[l]])
            terms.append(oracle.term_bits(p, oracle.term_exponent(bx.exp, bg.exp, ma, mb)))
            f |= bx.flags | bg.flags
        bits[d, c, l], flags[d, c, l] = oracle.accumulate(terms, f)
    return bits, flags


def random_bfp(rng, lead, lanes, mode, kind="random") -> BFPTensor:
    """Random blocks (canonical signs, magnitudes within the mode's W): exponents over the whole range or
    (kind 'huge') near 254 so that products overflow binary32; some zero blocks, zero channels and flags."""
    w = oracle.W_OF_MODE[mode]
    exp = rng.integers(0, 255, lead) if kind == "random" else rng.integers(200, 255, lead)
    if kind == "near":
        exp = rng.integers(120, 135, lead)
    mag = rng.integers(0, 1 << w, (*lead, lanes))
    mag = np.where(rng.random((*lead, lanes)) < 0.15, 0, mag)           # zero elements
    mag = np.where(rng.random((*lead, lanes)) < 0.1, (1 << w) - 1, mag)  # saturated elements
    mag[..., rng.integers(0, lanes)] = 0                                  # a zero channel in every block
    zero_blk = rng.random(lead) < 0.1
    mag = np.where(zero_blk[..., None], 0, mag)
    sign = (rng.integers(0, 2, mag.shape) & (mag != 0)).astype(np.uint8)
    flags = np.where(rng.random(lead) < 0.1, rng.integers(1, 4, lead), 0).astype(np.uint8)
    return BFPTensor(exp.astype(np.int64), sign, mag.astype(np.int64), flags, mode)


def assert_same(got, want, what):
    gb, gf = got
    wb, wf = want
    gb = np.asarray(gb, np.uint32)
    bad = np.argwhere((gb != wb) | (np.asarray(gf) != wf))
    assert bad.size == 0, (f"{what}: first mismatch at {tuple(bad[0])}: model {int(gb[tuple(bad[0])]):08x} flags "
                           f"{int(np.asarray(gf)[tuple(bad[0])])}, oracle {int(wb[tuple(bad[0])]):08x} flags "
                           f"{int(wf[tuple(bad[0])])} ({len(bad)} elements differ)")


@pytest.mark.parametrize("ma,mb", MODE_PAIRS)
def test_conv_every_mode_pair(ma, mb, rng):
    """FWD and BWD on random maps (borders and tiny maps included), every mode pair."""
    for trial, pass_ in itertools.product(range(2), (du.FWD, du.BWD)):
        h, w = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        lanes = int(rng.choice([4, 16]))
        kind = str(rng.choice(["random", "near", "huge"]))
        a = random_bfp(rng, (h, w, 1), lanes, ma, kind)
        k = random_bfp(rng, (9, 1), lanes, mb, kind)
        assert_same(du.conv(pass_, a, k), oracle_conv(pass_, a, k, ma, mb),
                    f"{du.PASS_NAMES[pass_]} {h}x{w} lanes {lanes} modes {ma}x{mb} {kind} trial {trial}")


@pytest.mark.parametrize("ma,mb", MODE_PAIRS)
def test_weight_grad_every_mode_pair(ma, mb, rng):
    for trial in range(2):
        h, w = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        lanes = int(rng.choice([4, 16]))
        kind = str(rng.choice(["random", "near", "huge"]))
        x = random_bfp(rng, (h, w, 1), lanes, ma, kind)
        g = random_bfp(rng, (h, w, 1), lanes, mb, kind)
        assert_same(du.weight_grad(x, g), oracle_wg(x, g, ma, mb),
                    f"WG {h}x{w} lanes {lanes} modes {ma}x{mb} {kind} trial {trial}")


def test_several_channel_groups(rng):
    """G = 3 channel groups at once: the groups are independent."""
    a = random_bfp(rng, (3, 4, 3), 16, 1, "near")
    k = random_bfp(rng, (9, 3), 16, 0, "near")
    g = random_bfp(rng, (3, 4, 3), 16, 2, "near")
    assert_same(du.conv(du.FWD, a, k), oracle_conv(du.FWD, a, k, 1, 0), "FWD G=3")
    assert_same(du.weight_grad(a, g), oracle_wg(a, g, 1, 2), "WG G=3")


def test_overflow_and_nan(rng):
    """Saturated FB24 blocks at E = 254: every product overflows binary32 (+/-Inf terms); a lane whose taps
    have both signs sums to Inf - Inf = the canonical NaN with both flags."""
    h, w, lanes = 3, 3, 16
    mag = np.full((h, w, 1, lanes), 0xFFFF)
    sign = np.zeros((h, w, 1, lanes), np.uint8)
    sign[0, 0, 0, :8] = 1  # lanes 0..7: output (1, 1) meets a negative input at tap 0
    a = BFPTensor(np.full((h, w, 1), 254), sign, mag, np.zeros((h, w, 1), np.uint8), 0)
    k = BFPTensor(np.full((9, 1), 254), np.zeros((9, 1, lanes), np.uint8), np.full((9, 1, lanes), 0xFFFF),
                  np.zeros((9, 1), np.uint8), 0)
    bits, flags = du.conv(du.FWD, a, k)
    assert_same((bits, flags), oracle_conv(du.FWD, a, k, 0, 0), "saturated FWD")
    assert int(bits[1, 1, 0, 0]) == 0x7FC00000 and int(flags[1, 1, 0, 0]) == 3
    assert int(bits[2, 2, 0, 0]) == 0x7F800000 and int(flags[2, 2, 0, 0]) == 2


def test_from_fp32(rng):
    """The FP32 convenience: blocks along the channel axis (C = 20: one whole and one zero-padded group),
    against the oracle's own conversion (quantize_block) and the oracle sums."""
    h, w, c = 3, 4, 20
    for pass_, ma, mb, ra, rb in ((du.FWD, 0, 1, 0, 1), (du.BWD, 2, 2, 2, 0), (du.WG, 1, 0, 1, 2)):
        a = random_bits(rng, (h, w, c), 16)
        b = random_bits(rng, (h, w, c) if pass_ == du.WG else (3, 3, c), 16)
        got = du.from_fp32(pass_, f32(a), f32(b), ma, mb, (ra, rb))

        def conv_blocks(arr, lead, mode, rnd):
            rows = arr.reshape(-1, c).tolist()
            q = oracle.quantize_rows(rows, mode, rnd, 16)
            n = len(q[0])
            exp = np.array([[b.exp for b in r] for r in q]).reshape(*lead, n)
            sign = np.array([[b.sign for b in r] for r in q]).reshape(*lead, n, 16)
            mag = np.array([[b.mag for b in r] for r in q]).reshape(*lead, n, 16)
            fl = np.array([[b.flags for b in r] for r in q]).reshape(*lead, n)
            return BFPTensor(exp, sign.astype(np.uint8), mag, fl.astype(np.uint8), mode)

        qa = conv_blocks(a, (h, w), ma, ra)
        if pass_ == du.WG:
            want = oracle_wg(qa, conv_blocks(b, (h, w), mb, rb), ma, mb)
        else:
            want = oracle_conv(pass_, qa, conv_blocks(b, (9,), mb, rb), ma, mb)
        wb, wf = (v.reshape(*v.shape[:-2], -1)[..., :c] for v in want)
        assert_same(got, (wb, wf), f"from_fp32 {du.PASS_NAMES[pass_]}")


def test_exact_on_small_integers(rng):
    """Integers up to 15 convert exactly in every mode and their sums are exact: FWD / BWD / WG equal the
    depthwise conv computed with Fractions from its definition (stride 1, padding 1)."""
    h, w, c = 4, 5, 16
    x = rng.integers(-15, 16, (h, w, c))
    g = rng.integers(-15, 16, (h, w, c))
    k = rng.integers(-15, 16, (3, 3, c))
    at = lambda t, r, s, ch: Fraction(int(t[r, s, ch])) if 0 <= r < h and 0 <= s < w else Fraction(0)  # noqa: E731
    for ma, mb in ((0, 0), (1, 2), (2, 2)):
        y, fy = du.from_fp32(du.FWD, x.astype(np.float32), k.astype(np.float32), ma, mb)
        dx, fx = du.from_fp32(du.BWD, g.astype(np.float32), k.astype(np.float32), ma, mb)
        dw, fw = du.from_fp32(du.WG, x.astype(np.float32), g.astype(np.float32), ma, mb)
        assert not (fy.any() or fx.any() or fw.any())
        y, dx, dw = (np.asarray(v, np.uint32).view(np.float32) for v in (y, dx, dw))
        for r, s, ch in itertools.product(range(h), range(w), range(c)):
            assert Fraction(float(y[r, s, ch])) == sum(
                at(x, r + dh, s + dv, ch) * int(k[dh + 1, dv + 1, ch]) for dh, dv in TAPS)
            assert Fraction(float(dx[r, s, ch])) == sum(
                at(g, r - dh, s - dv, ch) * int(k[dh + 1, dv + 1, ch]) for dh, dv in TAPS)
        for d, ch in itertools.product(range(9), range(c)):
            dh, dv = TAPS[d]
            assert Fraction(float(dw[d, ch])) == sum(
                at(x, r + dh, s + dv, ch) * int(g[r, s, ch]) for r in range(h) for s in range(w))


def test_cycle_model():
    """The cycle model's parts, from the spec's counting: (3H - 2)(3W - 2) valid taps; the first tap after
    max(9, inputs of output (0, 0)) edges (FWD / BWD) or those inputs (WG); + 9 read-out beats (WG); + 4."""
    assert du.valid_taps(1, 1) == 1 and du.valid_taps(2, 2) == 16 and du.valid_taps(112, 112) == 334 ** 2
    # brute force: count the taps inside the map
    for h, w in ((1, 1), (1, 5), (4, 1), (3, 7)):
        assert du.valid_taps(h, w) == sum(0 <= y + dh < h and 0 <= x + dv < w
                                          for y in range(h) for x in range(w) for dh, dv in TAPS)
    assert du.job_cycles(du.FWD, 1, 1) == 9 + 1 + 4
    assert du.job_cycles(du.FWD, 8, 8) == 10 + 22 * 22 + 4          # inputs 0..W+1: W + 2 > 9
    assert du.job_cycles(du.WG, 1, 1) == 1 + 1 + 9 + 4
    assert du.job_cycles(du.WG, 5, 6) == 8 + 13 * 16 + 9 + 4
    assert du.job_cycles(3, 4, 4) == du.ERROR_CYCLES == du.job_cycles(du.FWD, 0, 4)
    # in a stream the next cfg beat is taken the cycle after the last op issues: 3 edges before its result leaves
    assert du.stream_period(du.FWD, 8, 8) == du.job_cycles(du.FWD, 8, 8) - 3
    assert du.stream_period(du.WG, 5, 6) == du.job_cycles(du.WG, 5, 6) - 3 and du.stream_period(3, 1, 1) == 2
    u = du.lane_utilization(du.FWD, 112, 112)
    assert 0.99 < u < 1
    assert du.submultiplier_utilization(du.FWD, 112, 112, 2, 2) == pytest.approx(u / 16)
