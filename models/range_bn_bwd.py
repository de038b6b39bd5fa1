"""LightNorm's backward unit `range_bn_bwd`, bit-exact (docs/spec.md LN.5a; mirrors rtl/range_bn_bwd.sv).

Per channel: pass B1 reads (x, dy) and forms the forward's statistics (models.lightnorm.statistics,
bit-identical), the chunk argmax/argmin indices and two exact sums D = sum dy (units 2^-33) and
E = sum dy x (units 2^-51); between the passes the per-channel constants md, P, dgamma, dbeta, corr; pass
B2 reads dy again and gives dx. The gradient side spans ~100 + NW bits, more than int64: the exact sums are
Python ints in numpy object arrays, and `round_big` rounds them (RTZ, any width) through
models.lightnorm.round_fixed. The independent Fraction oracle is models/tests/lightnorm_oracle.py
(`backward_channel`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import lightnorm as ln
from .lightnorm import FP10, FP10G, Fmt

NAN_G = int(ln.encode(np.nan, FP10G))   # the quiet NaN of 1-6-3 (0x1FC): every NaN output
_bit_length = np.frompyfunc(int.bit_length, 1, 1)


def _obj(a) -> np.ndarray:
    """int64 values as a Python-int object array (exact, unbounded arithmetic)."""
    return np.asarray(a, np.int64).astype(object)


def fixed_big(bits, fmt: Fmt) -> np.ndarray:
    """Finite values as signed Python ints in units of 2^fmt.lsb (ln.to_fixed without the int64 limit)."""
    s, m, lsb = ln.sig_lsb(bits, fmt)
    v = _obj(m) * (_obj(2) ** _obj(lsb - fmt.lsb))
    return np.where(s == 1, -v, v)


def round_big(sign, mag, lsb, fmt: Fmt) -> np.ndarray:
    """RTZ(+-mag * 2^lsb) for magnitudes of any width (Python ints). Bits below the 52 leading ones are
    dropped first: the result keeps at most mw + 1 of them (nested floors on the power-of-two grid are one
    floor), so ln.round_fixed's 2^53 limit is met and its saturation and subnormal rules are reused."""
    mag = np.asarray(mag, dtype=object)
    sign, lsb, mag = np.broadcast_arrays(np.asarray(sign, np.int64), np.asarray(lsb, np.int64), mag)
    drop = np.maximum(_bit_length(mag).astype(np.int64) - 52, 0)
    m = (mag // (_obj(2) ** _obj(drop))).astype(np.int64)
    return ln.round_fixed(sign, m, lsb + drop, fmt)


def _round_signed(v, lsb, fmt: Fmt) -> np.ndarray:
    v = np.asarray(v, dtype=object)
    return round_big((v < 0).astype(np.int64), np.abs(v), lsb, fmt)


def mul_to(a, fa: Fmt, b, fb: Fmt, out: Fmt = FP10G) -> np.ndarray:
    """RTZ(a * b) to `out` of finite operands in formats fa, fb (the mixed-format multiply of LN.5a)."""
    sa, ma, la = ln.sig_lsb(a, fa)
    sb, mb, lb = ln.sig_lsb(b, fb)
    return ln.round_fixed(sa ^ sb, ma * mb, la + lb, out)


def add_g(a, b) -> np.ndarray:
    """RTZ63(a + b) of finite 1-6-3 operands (exact sum in units of 2^-33, one rounding)."""
    return _round_signed(fixed_big(a, FP10G) + fixed_big(b, FP10G), FP10G.lsb, FP10G)


@dataclass
class BwdStats:
    """Per-channel results of pass B1 and the between phase (format bits unless said)."""
    fwd: ln.Stats        # the forward's statistics (mean, scale s, a = gamma s, ...), bit-identical
    d_sum: np.ndarray    # D = sum dy, Python ints, units 2^-33
    e_sum: np.ndarray    # E = sum dy x, Python ints, units 2^-51
    p: np.ndarray        # P = E - mean D, exact, units 2^-51
    imax: np.ndarray     # (chunks, C): index of each non-empty chunk's first maximum
    imin: np.ndarray     # ... and first minimum
    md: np.ndarray       # RTZ63(D / n)
    pr: np.ndarray       # RTZ63(P)
    dgamma: np.ndarray   # RTZ63(s Pr), NaN bits where poisoned
    dbeta: np.ndarray    # RTZ63(D), NaN bits where poisoned
    corr: np.ndarray     # RTZ63(RTZ63(RTZ63(a s) c) Pr)
    poison: np.ndarray   # bool: every output of the channel is NaN


def statistics(x, dy, gamma, c, eps) -> BwdStats:
    """Pass B1 and the between phase. x: (n, C) 1-5-4 bits, dy: (n, C) 1-6-3 bits; gamma (C,), c, eps."""
    x, dy = np.asarray(x, np.int64), np.asarray(dy, np.int64)
    n, ch = x.shape
    fwd = ln.statistics(x, gamma, np.zeros(ch, np.int64), c, eps, FP10)
    fin_dy = ln.is_finite(dy, FP10G)
    poison = fwd.poison | (~fin_dy).any(axis=0)
    # the forward's value convention: non-finite x counts as 0 and -0 is +0 (one order for max and min)
    v = np.where(ln.is_finite(x, FP10), ln.to_fixed(np.where(ln.is_finite(x, FP10), x, 0), FP10), 0)
    g = np.where(fin_dy, fixed_big(np.where(fin_dy, dy, 0), FP10G), 0)
    d_sum = g.sum(axis=0) if n else np.zeros(ch, object)
    e_sum = (g * _obj(v)).sum(axis=0) if n else np.zeros(ch, object)
    st = ln.chunk_starts(n) if n else np.zeros(0, np.int64)
    ends = np.append(st[1:], n).astype(np.int64)
    imax = np.array([a + v[a:b].argmax(axis=0) for a, b in zip(st, ends)], np.int64).reshape(len(st), ch)
    imin = np.array([a + v[a:b].argmin(axis=0) for a, b in zip(st, ends)], np.int64).reshape(len(st), ch)
    p = e_sum - _obj(ln.to_fixed(fwd.mean, FP10)) * d_sum
    md = round_big((d_sum < 0).astype(np.int64), np.abs(d_sum) // max(n, 1), FP10G.lsb, FP10G)
    pr = _round_signed(p, FP10G.lsb + FP10.lsb, FP10G)
    dbeta = _round_signed(d_sum, FP10G.lsb, FP10G)
    dgamma = mul_to(fwd.scale, FP10, pr, FP10G)
    c_ok = np.where(ln.is_finite(c, FP10), c, 0)
    corr = mul_to(mul_to(mul_to(fwd.a, FP10, fwd.scale, FP10), FP10G, c_ok, FP10), FP10G, pr, FP10G)
    return BwdStats(fwd, d_sum, e_sum, p, imax, imin, md, pr, np.where(poison, NAN_G, dgamma),
                    np.where(poison, NAN_G, dbeta), corr, poison)


def extreme_sign(n: int, bst: BwdStats, index) -> np.ndarray:
    """(rows, C): +1 where index k is its chunk's argmax and not its argmin, -1 for argmin and not argmax,
    0 otherwise (a constant chunk, n <= 8, or an interior element)."""
    index = np.asarray(index, np.int64)
    st = ln.chunk_starts(n)
    j = np.searchsorted(st, index, side="right") - 1           # the chunk of each index
    is_max = bst.imax[j] == index[:, None]
    is_min = bst.imin[j] == index[:, None]
    return is_max.astype(np.int64) - is_min.astype(np.int64)


def pass2(dy2, bst: BwdStats, n: int, index=None) -> np.ndarray:
    """Pass B2: dx bits for the rows dy2 (rows, C) at channel positions `index` (default 0..rows-1):
    u = RTZ63(dy - md), v = RTZ63(a u), dx = RTZ63(v -+ corr) at the chunk's argmax / argmin, else v;
    NaN (NAN_G) where the channel is poisoned or dy is NaN/Inf."""
    dy2 = np.asarray(dy2, np.int64)
    index = np.arange(dy2.shape[0]) if index is None else index
    fin = ln.is_finite(dy2, FP10G)
    u = add_g(np.where(fin, dy2, 0), ln.neg(bst.md, FP10G))
    v = mul_to(bst.fwd.a, FP10, u, FP10G)
    sel = extreme_sign(n, bst, index)
    corr = np.where(sel == 1, ln.neg(bst.corr, FP10G), bst.corr)
    dx = np.where(sel != 0, add_g(v, corr), v)
    return np.where(~fin | bst.poison, NAN_G, dx)


def backward(x, dy, gamma, c, eps, dy2=None):
    """The unit: pass B1 over (x, dy) (n, C), pass B2 over dy2 (default dy again).
    Returns (dx (n, C), dgamma (C,), dbeta (C,)) as 1-6-3 bits, and the BwdStats."""
    bst = statistics(x, dy, gamma, c, eps)
    n = np.asarray(x).shape[0]
    dx = pass2(dy if dy2 is None else dy2, bst, n)
    return dx, bst.dgamma, bst.dbeta, bst


# cycles -------------------------------------------------------------------------------------------------
RANGE_BN_BWD_DRAIN = 3   # the u, v, dx registers and the FIFO write (as the forward's RANGE_BN_DRAIN)


def range_bn_bwd_cycles(n: int, channels: int, nw: int = 16) -> int:
    """Cycles of range_bn_bwd for one layer: per group of 8 channels, 1 configuration + 2n beats + the
    1 + (65 + NW) + 1 cycles between the passes (docs/spec.md LN.5a)."""
    groups = -(-channels // ln.LANES)
    return groups * (1 + 2 * n + 67 + nw) if n else groups
