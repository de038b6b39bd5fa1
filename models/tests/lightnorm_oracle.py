"""An independent exact oracle for the LightNorm section of docs/spec.md, written from the spec text with
Python ints and fractions.Fraction: one channel at a time, one value at a time. Nothing here calls
models.lightnorm or numpy; the BFP output conversion is oracle.py's (itself independent of the model).
"""
from __future__ import annotations

from fractions import Fraction

from .oracle import pow2

CHUNKS = 8


class Format:
    """A binary format with `ew` exponent and `mw` fraction bits: subnormals, Inf/NaN at the top exponent."""

    def __init__(self, ew: int, mw: int):
        self.ew, self.mw = ew, mw
        self.bias = 2 ** (ew - 1) - 1
        self.top = 2 ** ew - 1

    def value(self, bits: int):
        """Exact value as a Fraction, or the strings 'nan' / '+inf' / '-inf'."""
        s = (bits >> (self.ew + self.mw)) & 1
        e = (bits >> self.mw) % 2 ** self.ew
        f = bits % 2 ** self.mw
        if e == self.top:
            return "nan" if f else ("-inf" if s else "+inf")
        if e == 0:
            v = Fraction(f, 2 ** self.mw) * pow2(1 - self.bias)
        else:
            v = (1 + Fraction(f, 2 ** self.mw)) * pow2(e - self.bias)
        return -v if s else v

    def largest(self) -> Fraction:
        return (2 - Fraction(1, 2 ** self.mw)) * pow2(self.bias)

    def rtz(self, v: Fraction) -> int:
        """The format value nearest v toward zero (saturating), as bits; a zero is +0."""
        a = abs(v)
        if a >= self.largest():
            out = ((self.top - 1) << self.mw) | (2 ** self.mw - 1)
        else:
            e = 1 - self.bias  # the binade of a, at least the smallest normal one
            while a >= pow2(e + 1):
                e += 1
            step = pow2(e - self.mw)
            k = int(a / step)  # floor, a >= 0
            if k == 0:
                return 0
            if k < 2 ** self.mw:          # only in the lowest binade: a subnormal
                out = k
            else:
                out = ((e + self.bias) << self.mw) | (k - 2 ** self.mw)
        return out | (1 << (self.ew + self.mw)) if v < 0 else out

    def finite(self, bits: int) -> bool:
        return not isinstance(self.value(bits), str)


# --- the unit's input formats (spec LN.4a), from the spec text: one element at a time -------------------
def fp32_to_fmt(bits: int, fmt: Format) -> int:
    """A binary32 bit pattern -> format bits: NaN -> the quiet NaN (sign 0, top fraction bit), +-Inf ->
    +-Inf, a finite value (subnormals included) -> its RTZ rounding (saturating, zeros +0)."""
    s, e, f = bits >> 31 & 1, bits >> 23 & 0xFF, bits & 0x7FFFFF
    inf = (2 ** fmt.ew - 1) << fmt.mw
    if e == 255:
        return inf | (1 << (fmt.mw - 1)) if f else inf | (s << (fmt.ew + fmt.mw))
    mag = Fraction(f) * pow2(-149) if e == 0 else Fraction(f + 2 ** 23) * pow2(e - 150)
    return fmt.rtz(-mag if s else mag)


W_OF_MODE = {0: 16, 1: 8, 2: 4, 3: 16}  # spec section 1 (the reserved code reads as FB24)


def bfp_block_to_fmt(exp: int, signs, mags, flags: int, mode: int, fmt: Format) -> list[int]:
    """One BFP block -> format bits per element: a flagged block is all NaN; otherwise each element
    (-1)^s * (m mod 2^W) * 2^(E - 127 - (W - 1)) rounded toward zero (saturating, zeros +0)."""
    w = W_OF_MODE[mode]
    if flags:
        return [(2 ** fmt.ew - 1) << fmt.mw | (1 << (fmt.mw - 1))] * len(mags)
    out = []
    for s, m in zip(signs, mags):
        v = Fraction(m % 2 ** w) * pow2(exp - 127 - (w - 1))
        out.append(fmt.rtz(-v if s else v))
    return out


def channel(xs1, xs2, gamma: int, beta: int, c: int, eps: int, fmt: Format):
    """One channel through the unit: pass-1 values xs1, pass-2 values xs2 (format bits). Returns the
    list of pass-2 outputs, each a Fraction or 'nan', and the intermediate values."""
    n = len(xs1)
    vals = [fmt.value(b) for b in xs1]
    bad = any(isinstance(v, str) for v in vals) or not all(fmt.finite(b) for b in (gamma, beta, c, eps))
    if bad:
        return ["nan"] * len(xs2), {"poison": True}
    # chunks: j covers indices floor(j n / 8) .. floor((j+1) n / 8) - 1, empty ones add nothing
    smax = smin = Fraction(0)
    for j in range(CHUNKS):
        lo, hi = j * n // CHUNKS, (j + 1) * n // CHUNKS
        if hi > lo:
            smax += max(vals[lo:hi])
            smin += min(vals[lo:hi])
    total = sum(vals, Fraction(0))
    mean = fmt.rtz(total / n) if n else 0
    d = fmt.rtz((smax - smin) * fmt.value(c))
    den = fmt.rtz(fmt.value(d) + fmt.value(eps))
    dv = fmt.value(den)
    scale = fmt.rtz(1 / dv) if dv != 0 else fmt.rtz(fmt.largest())
    a = fmt.rtz(fmt.value(gamma) * fmt.value(scale))
    outs = []
    for b in xs2:
        x = fmt.value(b)
        if isinstance(x, str):
            outs.append("nan")
            continue
        t = fmt.rtz(x - fmt.value(mean))
        p = fmt.rtz(fmt.value(t) * fmt.value(a))
        z = fmt.rtz(fmt.value(p) + fmt.value(beta))
        outs.append(fmt.value(z))
    return outs, {"poison": False, "mean": mean, "d": d, "den": den, "scale": scale, "a": a,
                  "smax": smax, "smin": smin, "sum": total}


def backward_channel(xs, dys, dys2, gamma: int, c: int, eps: int, f: Format, g: Format):
    """One channel through the backward unit (docs/spec.md LN.5a), from the spec text: forward values xs
    (format f), gradients dys of pass B1 and dys2 of pass B2 (format g). Returns (dx list, dgamma,
    dbeta): g-format bits, or 'nan'. Argmax/argmin by a strict comparison of exact values in stream
    order (the first index on ties); the forward's mean, scale and a from `channel` above."""
    n = len(xs)
    xv = [f.value(b) for b in xs]
    dv = [g.value(b) for b in dys]
    _, st = channel(xs, [], gamma, 0, c, eps, f)
    if st["poison"] or any(isinstance(v, str) for v in dv):
        return ["nan"] * len(dys2), "nan", "nan"
    imax, imin, chunk_of = {}, {}, {}
    for j in range(CHUNKS):
        lo, hi = j * n // CHUNKS, (j + 1) * n // CHUNKS
        if hi > lo:
            kmax = kmin = lo
            for k in range(lo, hi):
                chunk_of[k] = j
                if xv[k] > xv[kmax]:
                    kmax = k
                if xv[k] < xv[kmin]:
                    kmin = k
            imax[j], imin[j] = kmax, kmin
    D = sum(dv, Fraction(0))
    E = sum((d * x for d, x in zip(dv, xv)), Fraction(0))
    mean, s, a = f.value(st["mean"]), f.value(st["scale"]), f.value(st["a"])
    P = E - mean * D
    md = g.value(g.rtz(D / n))
    pr = g.value(g.rtz(P))
    dgamma = g.rtz(s * pr)
    dbeta = g.rtz(D)
    corr = g.value(g.rtz(g.value(g.rtz(g.value(g.rtz(a * s)) * f.value(c))) * pr))
    dx = []
    for k, b in enumerate(dys2):
        d = g.value(b)
        if isinstance(d, str):
            dx.append("nan")
            continue
        u = g.value(g.rtz(d - md))
        v = g.rtz(a * u)
        is_max, is_min = imax[chunk_of[k]] == k, imin[chunk_of[k]] == k
        if is_max and not is_min:
            v = g.rtz(g.value(v) - corr)
        elif is_min and not is_max:
            v = g.rtz(g.value(v) + corr)
        dx.append(v)
    return dx, dgamma, dbeta
