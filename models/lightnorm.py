"""LightNorm: range batch normalization on low-precision floating point, output to BFP (docs/spec.md,
section "LightNorm"), mirroring rtl/range_bn.sv; and the plain binary32 batch norm of the baseline unit.

Formats `fp10` 1-5-4 (activations, statistics, parameters) and 1-6-3 (gradients): IEEE-like binary formats
with subnormals, an all-ones exponent for Inf/NaN, every operation exact then rounded once toward zero (RTZ),
overflow saturating to the largest finite value, every zero result +0. Values travel as bit patterns
(int64 arrays). All arithmetic here is integer and vectorized; `docs/spec.md` is the contract and
models/tests/lightnorm_oracle.py the independent exact oracle. The unit's input may also be binary32 or BFP
(`to_unit`, docs/spec.md LN.4a): converted to fp10 on entry, RTZ.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .bfp import BFPTensor
from .fp2bfp import RTZ, quantize

CHUNKS = 8   # range BN: chunks per channel
LANES = 8    # channels per beat = one BFP group


@dataclass(frozen=True)
class Fmt:
    ew: int  # exponent bits
    mw: int  # fraction bits

    @property
    def bias(self) -> int:
        return (1 << (self.ew - 1)) - 1

    @property
    def emin(self) -> int:
        return 1 - self.bias

    @property
    def emax(self) -> int:
        return self.bias

    @property
    def lsb(self) -> int:
        """Power of two of the format's smallest step (the subnormal LSB)."""
        return self.emin - self.mw

    @property
    def bits(self) -> int:
        return 1 + self.ew + self.mw

    @property
    def max_finite(self) -> int:
        return (((1 << self.ew) - 2) << self.mw) | ((1 << self.mw) - 1)

    @property
    def sign_bit(self) -> int:
        return 1 << (self.ew + self.mw)


FP10 = Fmt(5, 4)     # 1-5-4: forward
FP10G = Fmt(6, 3)    # 1-6-3: gradients


def _fields(bits, fmt: Fmt):
    b = np.asarray(bits, dtype=np.int64)
    return (b >> (fmt.ew + fmt.mw)) & 1, (b >> fmt.mw) & ((1 << fmt.ew) - 1), b & ((1 << fmt.mw) - 1)


def is_finite(bits, fmt: Fmt = FP10) -> np.ndarray:
    return _fields(bits, fmt)[1] != (1 << fmt.ew) - 1


def is_nan(bits, fmt: Fmt = FP10) -> np.ndarray:
    _, e, f = _fields(bits, fmt)
    return (e == (1 << fmt.ew) - 1) & (f != 0)


def sig_lsb(bits, fmt: Fmt = FP10):
    """Finite values as (sign, integer significand M, power of two L of its LSB): |x| = M * 2^L."""
    s, e, f = _fields(bits, fmt)
    m = np.where(e == 0, f, f | (1 << fmt.mw))
    lsb = np.where(e == 0, fmt.emin, e - fmt.bias) - fmt.mw
    return s, m, lsb


def to_fixed(bits, fmt: Fmt = FP10) -> np.ndarray:
    """Finite values as signed integers in units of 2^fmt.lsb (exact)."""
    assert fmt.emax + 1 - fmt.lsb < 62, "fixed-point form does not fit int64"
    s, m, lsb = sig_lsb(bits, fmt)
    v = m << (lsb - fmt.lsb)
    return np.where(s == 1, -v, v)


def round_fixed(sign, mag, lsb, fmt: Fmt = FP10) -> np.ndarray:
    """RTZ(+-mag * 2^lsb) as format bits: mag >= 0 an integer below 2^53, lsb a power of two (arrays or
    scalars); saturates to the largest finite value; a zero result is +0."""
    mag = np.asarray(mag, dtype=np.int64)
    sign, lsb, mag = np.broadcast_arrays(np.asarray(sign, np.int64), np.asarray(lsb, np.int64), mag)
    assert (mag < (1 << 53)).all()
    p = np.frexp(mag.astype(np.float64))[1].astype(np.int64) - 1   # leading-one position (exact below 2^53)
    e = p + lsb
    sh = p - fmt.mw
    frac_n = np.where(sh >= 0, mag >> np.clip(sh, 0, 63), mag << np.clip(-sh, 0, 63)) & ((1 << fmt.mw) - 1)
    normal = ((e - fmt.emin + 1) << fmt.mw) | frac_n
    ss = lsb - fmt.lsb
    sub = np.where(ss >= 0, mag << np.clip(ss, 0, 63), mag >> np.clip(-ss, 0, 63))
    out = np.where(e > fmt.emax, fmt.max_finite, np.where(e >= fmt.emin, normal, sub))
    out = np.where(mag == 0, 0, out)
    return np.where((out != 0) & (sign == 1), out | fmt.sign_bit, out)


def add(a, b, fmt: Fmt = FP10) -> np.ndarray:
    """RTZ(a + b) of finite operands (exact fixed-point sum, one rounding)."""
    v = to_fixed(a, fmt) + to_fixed(b, fmt)
    return round_fixed((v < 0).astype(np.int64), np.abs(v), fmt.lsb, fmt)


def neg(a, fmt: Fmt = FP10) -> np.ndarray:
    return np.asarray(a, np.int64) ^ fmt.sign_bit


def mul(a, b, fmt: Fmt = FP10) -> np.ndarray:
    """RTZ(a * b) of finite operands (exact significand product, one rounding)."""
    sa, ma, la = sig_lsb(a, fmt)
    sb, mb, lb = sig_lsb(b, fmt)
    return round_fixed(sa ^ sb, ma * mb, la + lb, fmt)


RECIP_BITS = 10  # 1/M for M < 2^(mw+1) is taken as floor(2^10 / M): enough bits for one RTZ rounding


def recip(a, fmt: Fmt = FP10) -> np.ndarray:
    """RTZ(1 / a) of a finite operand; 1/0 saturates to the largest finite value (sign +)."""
    s, m, lsb = sig_lsb(a, fmt)
    q = (1 << RECIP_BITS) // np.maximum(m, 1)
    out = round_fixed(s, q, -lsb - RECIP_BITS, fmt)
    return np.where(m == 0, fmt.max_finite, out)


def encode(x, fmt: Fmt = FP10) -> np.ndarray:
    """binary32/64 values -> format bits, RTZ, saturating; NaN -> the quiet NaN, +-Inf -> +-Inf."""
    x = np.asarray(x, dtype=np.float64)
    a = np.abs(np.where(np.isfinite(x), x, 0.0))
    a = np.minimum(a, 2.0 ** (fmt.emax + 1))
    mant, ex = np.frexp(a)                                   # a = mant * 2^ex, mant in [0.5, 1)
    e = np.maximum(ex - 1, fmt.emin)
    m = np.floor(np.ldexp(a, fmt.mw - e)).astype(np.int64)   # exact: a power-of-two scaling, then floor
    out = round_fixed(np.signbit(x).astype(np.int64), m, e - fmt.mw, fmt)
    inf = ((1 << fmt.ew) - 1) << fmt.mw
    out = np.where(np.isinf(x), inf | np.where(x < 0, fmt.sign_bit, 0), out)
    return np.where(np.isnan(x), inf | (1 << (fmt.mw - 1)), out)


def decode(bits, fmt: Fmt = FP10) -> np.ndarray:
    """Format bits -> float64 values (exact)."""
    s, e, f = _fields(bits, fmt)
    _, m, lsb = sig_lsb(bits, fmt)
    v = np.ldexp(m.astype(np.float64), lsb)
    v = np.where(e == (1 << fmt.ew) - 1, np.where(f == 0, np.inf, np.nan), v)
    return np.where(s == 1, -v, v)


# --- input formats of range_bn (docs/spec.md LN.4a): converted to fp10 on entry, in both passes ------------
IN_FP10, IN_FP32, IN_BFP = 0, 1, 2   # cfg_fmt codes; **Decision:** the reserved code 3 reads as fp10
IN_FORMAT_NAMES = {IN_FP10: "fp10", IN_FP32: "fp32", IN_BFP: "bfp"}


def fmt_code(fmt) -> int:
    """cfg_fmt of a name ('fp32') or a code; the reserved code 3 reads as fp10 (LN.4a)."""
    if isinstance(fmt, str):
        return {v: k for k, v in IN_FORMAT_NAMES.items()}[fmt.lower()]
    if not 0 <= int(fmt) <= 3:
        raise ValueError(f"input format code {fmt} is not a 2-bit code")
    return IN_FP10 if int(fmt) == 3 else int(fmt)


def fp10_nan(fmt: Fmt = FP10) -> int:
    """The quiet NaN every converted NaN becomes (sign 0, top fraction bit)."""
    return (((1 << fmt.ew) - 1) << fmt.mw) | (1 << (fmt.mw - 1))


def from_fp32(bits, fmt: Fmt = FP10) -> np.ndarray:
    """binary32 bit patterns -> format bits: RTZ of the exact value, saturating (a finite binary32 never
    becomes Inf), below the smallest subnormal step +0 (binary32 subnormals included), NaN -> the quiet
    NaN, +-Inf -> +-Inf. `encode` on the float32 values (float64 holds every binary32 exactly)."""
    with np.errstate(invalid="ignore"):  # signalling NaNs widen quietly
        return encode(np.ascontiguousarray(np.asarray(bits, np.uint32)).view(np.float32), fmt)


def from_bfp(q: BFPTensor, fmt: Fmt = FP10) -> np.ndarray:
    """BFP blocks (FlexBlock modes, section 1) -> format bits, shape (..., nblocks * K): element
    (-1)^s m 2^(E - 127 - (W - 1)) with m the low W bits of its magnitude, RTZ once, saturating, +0 for
    zeros and flushed values. **Decision:** a block with a flag set (invalid: a NaN was converted; overflow:
    an Inf was) converts to K NaNs: the flags do not say which element it was."""
    w = q.width
    m = q.mag.astype(np.int64) & ((1 << w) - 1)
    lsb = (q.exp.astype(np.int64) - 127 - (w - 1))[..., None]
    out = round_fixed(q.sign.astype(np.int64) & 1, m, lsb, fmt)
    out = np.where((q.flags.astype(np.int64) != 0)[..., None], fp10_nan(fmt), out)
    return out.reshape(*out.shape[:-2], -1)


def to_unit(x, in_fmt, fmt: Fmt = FP10) -> np.ndarray:
    """A job's input in its configured format -> the unit's fp10 bits (n, C): fp10 bits as they are, binary32
    bit patterns through `from_fp32`, a BFPTensor of (n, C / 8) blocks of 8 through `from_bfp`."""
    code = fmt_code(in_fmt)
    if code == IN_FP32:
        return from_fp32(x, fmt)
    if code == IN_BFP:
        return from_bfp(x, fmt)
    return np.asarray(x, np.int64)


# --- range batch norm -----------------------------------------------------------------------------------
def chunk_starts(n: int) -> np.ndarray:
    """First index of every non-empty chunk: chunk j covers [floor(j*n/8), floor((j+1)*n/8)). For n <= 8
    every value is a chunk of its own and 8 - n chunks are empty."""
    return np.unique(np.array([(j * n) // CHUNKS for j in range(CHUNKS)], dtype=np.int64))


def range_constant(n: int) -> float:
    """The host's per-layer constant c = 1 / (CHUNKS * sqrt(2 ln(n / CHUNKS))) (the 1/8 of the means of
    the chunk maxima and minima folded in). **Decision:** where 2 ln(n/8) <= 1 (n <= 13) the range is not
    divided further: c = 1/8."""
    t = 2.0 * math.log(n / CHUNKS) if n > CHUNKS else 0.0
    return 1.0 / (CHUNKS * math.sqrt(t)) if t > 1.0 else 1.0 / CHUNKS


@dataclass
class Stats:
    """Per-channel results of pass 1 and the scale computation (all format bits unless said)."""
    s: np.ndarray        # exact sum of the values, units 2^lsb
    smax: np.ndarray     # exact sum of the chunk maxima, units 2^lsb
    smin: np.ndarray     # exact sum of the chunk minima
    mean: np.ndarray     # RTZ(S / n)
    d: np.ndarray        # RTZ((Smax - Smin) * c)
    den: np.ndarray      # RTZ(d + eps)
    scale: np.ndarray    # RTZ(1 / den)
    a: np.ndarray        # RTZ(gamma * scale)
    poison: np.ndarray   # bool: the channel's outputs are NaN


def statistics(x1, gamma, beta, c, eps, fmt: Fmt = FP10) -> Stats:
    """Pass 1 and the scale step. x1: (n, C) format bits; gamma, beta: (C,); c, eps: scalars."""
    x1 = np.asarray(x1, np.int64)
    n, ch = x1.shape
    gamma, beta = np.asarray(gamma, np.int64), np.asarray(beta, np.int64)
    poison = (~is_finite(x1, fmt)).any(axis=0) | ~is_finite(gamma, fmt) | ~is_finite(beta, fmt)
    poison = poison | ~(is_finite(c, fmt) & is_finite(eps, fmt))
    v = np.where(is_finite(x1, fmt), to_fixed(np.where(is_finite(x1, fmt), x1, 0), fmt), 0)
    if n:
        st = chunk_starts(n)
        smax = np.maximum.reduceat(v, st, axis=0).sum(axis=0)
        smin = np.minimum.reduceat(v, st, axis=0).sum(axis=0)
    else:
        smax = smin = np.zeros(ch, np.int64)
    s = v.sum(axis=0)
    q = np.abs(s) // max(n, 1)
    mean = round_fixed((s < 0).astype(np.int64), q, fmt.lsb, fmt)
    cs, cm, cl = sig_lsb(np.where(is_finite(c, fmt), c, 0), fmt)
    d = round_fixed(np.broadcast_to(cs, (ch,)), (smax - smin) * cm, fmt.lsb + cl, fmt)
    den = add(d, np.where(is_finite(eps, fmt), eps, 0), fmt)
    scale = recip(den, fmt)
    a = mul(np.where(is_finite(gamma, fmt), gamma, 0), scale, fmt)
    return Stats(s, smax, smin, mean, d, den, scale, a, poison)


NAN_OUT = -1  # marks a NaN output element in `normalize`'s result (before the BFP conversion)


def normalize(x2, st: Stats, beta, fmt: Fmt = FP10) -> tuple[np.ndarray, np.ndarray]:
    """Pass 2: z = RTZ(RTZ(RTZ(x - mean) * a) + beta) per element. Returns (z bits, NaN mask)."""
    x2 = np.asarray(x2, np.int64)
    fin = is_finite(x2, fmt)
    xs = np.where(fin, x2, 0)
    t = add(xs, neg(st.mean, fmt), fmt)
    p = mul(t, st.a, fmt)
    z = add(p, np.where(st.poison, 0, beta), fmt)
    nan = ~fin | st.poison
    return np.where(nan, 0, z), nan


def to_float32(z, nan, fmt: Fmt = FP10) -> np.ndarray:
    """fp10 results (exact in binary32) with NaN where marked."""
    return np.where(nan, np.nan, decode(z, fmt)).astype(np.float32)


def forward(x1, gamma, beta, c, eps, mode, x2=None, fmt: Fmt = FP10, in_fmt=IN_FP10) -> tuple[BFPTensor, Stats]:
    """The unit: pass 1 over x1 (n, C), pass 2 over x2 (default: x1 again), output one BFP group of
    LANES channels per position (models.fp2bfp.quantize, RTZ, in `mode`). x1, x2 are in the input format
    `in_fmt` (`to_unit`: fp10 bits, binary32 bits or BFP blocks), converted to fp10 on entry."""
    x1, x2 = to_unit(x1, in_fmt, fmt), None if x2 is None else to_unit(x2, in_fmt, fmt)
    st = statistics(x1, gamma, beta, c, eps, fmt)
    z, nan = normalize(x1 if x2 is None else x2, st, beta, fmt)
    return quantize(to_float32(z, nan, fmt), mode, RTZ, block=LANES), st


# --- float reference of range BN and its backward pass (for training and the derivation's check) ----------
def range_bn_float(x, gamma, beta, eps=1e-5, chunks=CHUNKS):
    """Range BN in float64 on x (n, C): returns (y, cache). scale = 1/(range*C(n) + eps)."""
    n = x.shape[0]
    st = chunk_starts(n)
    mu = x.mean(axis=0)
    rng_ = (np.maximum.reduceat(x, st, axis=0).sum(axis=0) - np.minimum.reduceat(x, st, axis=0).sum(axis=0))
    cn = range_constant(n)
    sc = 1.0 / (rng_ * cn + eps)
    xh = (x - mu) * sc
    return xh * gamma + beta, (xh, sc, gamma, x, st, cn)


def range_bn_backward(dy, cache):
    """Gradients of range BN (spec: the derivation). dy (n, C) -> (dx, dgamma, dbeta).

    With xh = (x - mu) s, s = 1/(R c + eps), R = sum_j max_j - sum_j min_j:
      dbeta = sum dy, dgamma = sum dy xh, g = dy gamma
      dx_i = s (g_i - mean(g)) - s^2 c (sum_k g_k (x_k - mu)) (1[i = argmax of its chunk] - 1[i = argmin])
    (the argmax/argmin of a chunk take the derivative of the max/min; ties: the first index)."""
    xh, sc, gamma, x, st, cn = cache
    n = x.shape[0]
    g = dy * gamma
    dbeta = dy.sum(axis=0)
    dgamma = (dy * xh).sum(axis=0)
    dx = sc * (g - g.mean(axis=0))
    coef = -(sc ** 2) * cn * (g * (xh / sc)).sum(axis=0)
    ends = np.append(st[1:], n)
    for a, b in zip(st, ends):
        seg = x[a:b]
        imax = a + seg.argmax(axis=0)
        imin = a + seg.argmin(axis=0)
        cols = np.arange(x.shape[1])
        dx[imax, cols] += coef
        dx[imin, cols] -= coef
    return dx, dgamma, dbeta


def bn_fp32_float(x, gamma, beta, eps=1e-5):
    """Standard BN (float64) with its cache for the backward pass."""
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    sc = 1.0 / np.sqrt(var + eps)
    xh = (x - mu) * sc
    return xh * gamma + beta, (xh, sc, gamma)


def bn_backward(dy, cache):
    xh, sc, gamma = cache
    g = dy * gamma
    dx = sc * (g - g.mean(axis=0) - xh * (g * xh).mean(axis=0))
    return dx, (dy * xh).sum(axis=0), dy.sum(axis=0)


# --- off-chip traffic per BN layer ------------------------------------------------------------------------
# Cycles from a job's end (its last pass-2 beat taken, + 1) to its last result taken, with no back-pressure:
# the x, t, p, z registers and the credit FIFO's write (docs/spec.md LN.4; x: the converted input, LN.4a);
# bn_fp32 has no x register (LN.7).
RANGE_BN_DRAIN = 4
BN_FP32_DRAIN = 3


def range_bn_cycles(n: int, channels: int, nw: int = 16) -> int:
    """Cycles of range_bn for one layer: per group of 8 channels, 1 configuration + 2n beats + the
    1 + 1 + (34 + NW) + 1 cycles between the passes (docs/spec.md LN.4: the last pass-1 value leaves the
    input register, fold, divider, mean). bn_fp32 takes 1 + 2n + 101."""
    groups = -(-channels // LANES)
    return groups * (1 + 2 * n + 37 + nw)


def bn_fp32_cycles(n: int, channels: int) -> int:
    """Cycles of bn_fp32 for one layer: per group of 8 channels, 1 configuration + 2n beats + the 101 cycles
    between the passes (8 mean/variance, 1 + 38 square root, 1 + 51 reciprocal, 1 rstd, 1 affine; LN.7)."""
    groups = -(-channels // LANES)
    return groups * (1 + 2 * n + 101)


def bfp_bytes_per_element(mode_bits: int) -> float:
    """A BFP group of 8 channels in memory, densely packed: 8-bit exponent + 8 x (1 + W) bits (the 2 flag
    bits per group are not counted: 0.03 bytes per element)."""
    return (8 + LANES * (1 + mode_bits)) / (8 * LANES)


IN_BYTES = {"fp10": lambda w: 10 / 8, "fp32": lambda w: 4.0, "bfp": bfp_bytes_per_element}


def traffic_bytes(n: int, channels: int, unit: str, mode_bits: int = 8, in_fmt: str = "fp10",
                  in_mode_bits: int = 8) -> dict:
    """Off-chip bytes one BN layer moves in the forward pass, by pass (spec: "passes over memory").

    fp32:       stats pass reads x (binary32), normalize pass reads x again and writes y (binary32);
    lightnorm:  stats pass reads x, normalize pass reads x again, both in the stored input format `in_fmt`
                (fp10: 10 bits; fp32: 32 bits; bfp: a group of 8 channels in a mode of `in_mode_bits`
                magnitude bits, `bfp_bytes_per_element`), converted to fp10 inside the unit on each read
                (docs/spec.md LN.4a); it writes y as BFP (mode of `mode_bits`)."""
    elems = n * channels
    if unit == "fp32":
        rd, wr = 4.0, 4.0
    elif unit == "lightnorm":
        rd, wr = IN_BYTES[in_fmt](in_mode_bits), bfp_bytes_per_element(mode_bits)
    else:
        raise ValueError(unit)
    passes = {"stats (read x)": elems * rd, "normalize (read x)": elems * rd, "normalize (write y)": elems * wr}
    passes["total"] = sum(passes.values())
    return passes


# --- the FP32 BN baseline unit (rtl/bn_fp32.sv), bit-exact: binary32 IEEE arithmetic, RNE -------------------
CANONICAL_NAN = 0x7FC00000


def _canon(v: np.ndarray) -> np.ndarray:
    """float32 values with every NaN made the canonical quiet NaN (as rtl/fp32_add.sv and fp32_mul.sv)."""
    v = np.asarray(v, np.float32)
    return np.where(np.isnan(v), np.uint32(CANONICAL_NAN).view(np.float32), v).astype(np.float32)


def _f32(bits) -> np.ndarray:
    return np.asarray(bits, np.uint32).view(np.float32)


def _bits(v) -> np.ndarray:
    return _canon(v).view(np.uint32)


@dataclass
class Fp32Stats:
    mean: np.ndarray   # float32 values
    var: np.ndarray
    rstd: np.ndarray
    a: np.ndarray


def bn_fp32_statistics(x1, gamma, inv_n, eps) -> Fp32Stats:
    """Pass 1 and the scale of the baseline, per channel (binary32 bit patterns in, NaNs canonical):
    s1 = sum x, s2 = sum RNE(x*x) in stream order; mean = s1 * inv_n, var = max(s2 * inv_n - mean*mean, 0),
    rstd = 1 / sqrt(var + eps) (two roundings), a = gamma * rstd; every operation one IEEE rounding."""
    with np.errstate(all="ignore"):
        x1 = _f32(x1)
        s1 = np.zeros(x1.shape[1], np.float32)
        s2 = np.zeros(x1.shape[1], np.float32)
        for row in x1:
            s1 = _canon(s1 + row)
            s2 = _canon(s2 + _canon(row * row))
        inv = np.float32(_f32(np.uint32(inv_n)))
        mean = _canon(s1 * inv)
        ex2 = _canon(s2 * inv)
        var = _canon(ex2 - _canon(mean * mean))
        var = np.where(var < 0, np.float32(0), var).astype(np.float32)
        den = _canon(var + np.float32(_f32(np.uint32(eps))))
        rstd = _canon(np.float32(1) / _canon(np.sqrt(den)))
        a = _canon(_f32(gamma) * rstd)
    return Fp32Stats(mean, var, rstd, a)


def bn_fp32_normalize(x2, st: Fp32Stats, beta) -> np.ndarray:
    """Pass 2: y = RNE(RNE(RNE(x - mean) * a) + beta), binary32 bits (n, C)."""
    with np.errstate(all="ignore"):
        t = _canon(_f32(x2) - st.mean)
        p = _canon(t * st.a)
        return _bits(p + _f32(beta))


def bn_fp32_forward(x1, gamma, beta, inv_n, eps, x2=None) -> np.ndarray:
    st = bn_fp32_statistics(x1, gamma, inv_n, eps)
    return bn_fp32_normalize(x1 if x2 is None else x2, st, beta)
