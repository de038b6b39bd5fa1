"""NeuroFlix heterogeneous fixed/float MAC (docs/spec.md, "NeuroFlix"), mirroring rtl/neuroflix_mac.sv.

Operand A is always fixed point (FX4 or FX8: sign-magnitude, per-tensor power-of-two scale); operand B is
fixed point (forward pass: weights) or a float (backward / weight-gradient passes: error gradients in FP16 or
FP8 E5M2). Every operand is cut into 4-bit bricks: A's magnitude into 1 (FX4) or 2 (FX8) bricks, B's
magnitude (fixed) or its significand shifted left by its exponent modulo 4 (float) into 1, 2, 2 or 4 bricks
(FX4, FX8, E5M2, FP16). A brick product of A brick ia and B brick ib has the weight 16^(q + ia + ib), q = B's
exponent offset divided by 4 (0 for fixed), and is added, as a signed integer, into the *lane* of that
position: 12 separate integer accumulators, no floating-point addition and no alignment shifter beyond a
choice among 4-bit positions. A reduction ends by merging the lanes exactly, V = sum_L lane_L * 16^L, and
rounding V * 2^lsb once to binary32 (nearest-even), lsb = scale - 24 for a float B (the lanes' unit is
2^-24, the smallest FP16 subnormal) and = scale for a fixed B. The result is therefore the exact dot
product of the quantized operands times 2^scale, rounded once.
"""
from __future__ import annotations

import math

import numpy as np

from .bfp import FLAG_INVALID, FLAG_OVERFLOW

CANONICAL_NAN = 0x7FC00000
GROUP = 8      # element pairs per beat (the RTL's G)
LANES = 12     # brick positions 0 .. 11
LANE_BITS = 32
MAX_BEATS = 1 << 19  # a reduction's lanes stay within LANE_BITS up to this many beats

# format codes on the ports: A is FX4 (0) or FX8 (1); B is FX4 (0), FX8 (1), FP8 E5M2 (2) or FP16 (3)
FX4, FX8, E5M2, FP16 = 0, 1, 2, 3
FORMATS = {"FX4": FX4, "FX8": FX8, "E5M2": E5M2, "FP16": FP16}
FIXED_WIDTH = {FX4: 4, FX8: 8}
FLOAT_FIELDS = {E5M2: (5, 2), FP16: (5, 10)}  # (exponent bits, fraction bits), bias 15, IEEE specials
FLOAT_NAN = {E5M2: 0x7E, FP16: 0x7E00}


def bricks_a(wa: int) -> int:
    return 2 if wa == FX8 else 1


def bricks_b(fmt_b: int) -> int:
    return {FX4: 1, FX8: 2, E5M2: 2, FP16: 4}[fmt_b]


def steps(wa: int, fmt_b: int) -> int:
    """Cycles per beat: one brick pair (ia, ib) of every element per cycle."""
    return bricks_a(wa) * bricks_b(fmt_b)


def products_per_cycle(wa: int, fmt_b: int, group: int = GROUP) -> float:
    return group / steps(wa, fmt_b)


# --- conversion from FP32 -------------------------------------------------------------------------------
def _floor_log2_max(x: np.ndarray) -> int | None:
    finite = np.abs(x[np.isfinite(x)]).astype(np.float64)
    if finite.size == 0 or finite.max() == 0:
        return None
    return int(np.frexp(finite.max())[1]) - 1


def quantize_fixed(x, wa: int) -> tuple[np.ndarray, int]:
    """FP32 tensor -> (sign-magnitude bytes, scale): value = (-1)^s * mag * 2^scale.

    scale = floor(log2 max|x|) - (W - 2) over the finite values (0 if none is nonzero), so the largest
    maps into [2^(W-2), 2^(W-1)); mag = round-nearest-even(|x| * 2^-scale), saturated to 2^(W-1) - 1.
    NaN -> 0, +/-Inf -> +/-(2^(W-1) - 1); a magnitude of 0 has sign 0."""
    x = np.asarray(x, np.float32).astype(np.float64)
    w = FIXED_WIDTH[wa]
    top = (1 << (w - 1)) - 1
    f = _floor_log2_max(x)
    scale = 0 if f is None else f - (w - 2)
    with np.errstate(invalid="ignore"):
        mag = np.rint(np.ldexp(np.abs(x), -scale))
    mag = np.where(np.isnan(x), 0, np.minimum(mag, top)).astype(np.int64)
    sign = (x < 0) & (mag > 0)
    return ((sign.astype(np.int64) << 7) | mag).astype(np.uint8), scale


def float_bits(x, fmt: int) -> np.ndarray:
    """FP32 -> FP16 / E5M2 bits, IEEE round-to-nearest-even: subnormals kept, a value whose rounding (with an
    unbounded exponent) exceeds the largest finite becomes +/-Inf, NaN -> canonical (0x7E00 / 0x7E)."""
    ebits, fbits = FLOAT_FIELDS[fmt]
    bias = (1 << (ebits - 1)) - 1
    emin = 1 - bias
    with np.errstate(invalid="ignore"):  # signalling-NaN payloads
        x = np.asarray(x, np.float32).astype(np.float64)
    a = np.abs(x)
    sign = np.signbit(x).astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.where(a > 0, np.frexp(np.where(np.isfinite(a), a, 1.0))[1] - 1, emin)
        e = np.maximum(e, emin)
        q = np.rint(np.ldexp(np.where(np.isfinite(a), a, 0.0), -(e - fbits)))  # in units of the ulp
    carry = q >= (1 << (fbits + 1))
    e = np.where(carry, e + 1, e)
    q = np.where(carry, q / 2, q).astype(np.int64)
    normal = q >= (1 << fbits)
    field = np.where(normal, e + bias, 0)
    frac = np.where(normal, q - (1 << fbits), q)
    inf_field = (1 << ebits) - 1
    over = (field >= inf_field) | np.isinf(x)
    bits = (sign << (ebits + fbits)) | (field << fbits) | frac
    bits = np.where(over, (sign << (ebits + fbits)) | (inf_field << fbits), bits)
    bits = np.where(np.isnan(x), FLOAT_NAN[fmt], bits)
    return bits.astype(np.uint16)


def float_value(bits, fmt: int) -> np.ndarray:
    """FP16 / E5M2 bits -> their value (float64, exact)."""
    ebits, fbits = FLOAT_FIELDS[fmt]
    bits = np.asarray(bits, np.int64)
    sign = np.where((bits >> (ebits + fbits)) & 1, -1.0, 1.0)
    e = (bits >> fbits) & ((1 << ebits) - 1)
    f = bits & ((1 << fbits) - 1)
    sig = np.where(e == 0, f, f | (1 << fbits))
    v = sign * np.ldexp(sig.astype(np.float64), np.maximum(e, 1) - 15 - fbits)
    v = np.where(e == (1 << ebits) - 1, np.where(f == 0, sign * np.inf, np.nan), v)
    return v


def quantize_float(x, fmt: int) -> tuple[np.ndarray, int]:
    """FP32 tensor -> (FP16/E5M2 bits, scale): value = decoded * 2^scale. scale = floor(log2 max|x|) - 14
    over the finite values (0 if none is nonzero): the largest maps into [2^14, 2^15), so it never rounds
    to Inf (a power-of-two loss scale per tensor). NaN and Inf stay NaN and Inf."""
    x = np.asarray(x, np.float32)
    f = _floor_log2_max(x)
    scale = 0 if f is None else f - 14
    return float_bits(np.ldexp(x.astype(np.float64), -scale).astype(np.float32), fmt), scale


def fixed_value(bytes_, wa: int) -> np.ndarray:
    """Sign-magnitude bytes -> integer value, with the magnitude bits the MAC reads (W - 1 of them)."""
    b = np.asarray(bytes_, np.int64)
    mag = b & ((1 << (FIXED_WIDTH[wa] - 1)) - 1)
    return np.where(b >> 7 & 1, -mag, mag)


# --- the MAC --------------------------------------------------------------------------------------------
def decode_b(b, fmt_b) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """B elements -> (sign, bricks (..., 4), q, nan, inf): the hardware's view of operand B."""
    b = np.asarray(b, np.int64)
    fmt_b = np.broadcast_to(np.asarray(fmt_b, np.int64), b.shape)
    fp16, e5m2 = fmt_b == FP16, fmt_b == E5M2
    sign = np.where(fp16, b >> 15, b >> 7) & 1
    # fixed: the magnitude, W - 1 bits
    fixed_mag = np.where(fmt_b == FX4, b & 0x7, b & 0x7F)
    # float: significand with its hidden bit, offset of its LSB in units of 2^-24
    e = np.where(fp16, (b >> 10) & 0x1F, (b >> 2) & 0x1F)
    frac = np.where(fp16, b & 0x3FF, b & 0x3)
    sig = np.where(fp16, np.where(e == 0, frac, frac | 0x400), np.where(e == 0, frac, frac | 0x4))
    off = np.maximum(e, 1) - 1 + np.where(fp16, 0, 8)
    is_float = fp16 | e5m2
    special = is_float & (e == 0x1F)
    shifted = np.where(is_float, np.where(special, 0, sig << (off & 3)), fixed_mag)
    q = np.where(is_float & ~special, off >> 2, 0)
    bricks = (shifted[..., None] >> (4 * np.arange(4))) & 0xF
    return sign, bricks, q, special & (frac != 0), special & (frac == 0)


def lanes_of(a, b, wa, fmt_b) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The brick-lane accumulations of a reduction over the last two axes (T beats x G elements).

    a: sign-magnitude bytes (..., T, G); b: 16-bit B elements (..., T, G); wa, fmt_b: per beat (..., T) or
    scalars. Returns (lanes int64 (..., 12), nan, pos_inf, neg_inf) where the flags say whether a NaN
    (NaN operand or Inf x 0), a +Inf or a -Inf product occurred."""
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    wa = np.asarray(wa, np.int64)[..., None] if np.ndim(wa) else np.asarray(wa, np.int64)
    fmt = np.asarray(fmt_b, np.int64)[..., None] if np.ndim(fmt_b) else np.asarray(fmt_b, np.int64)
    amag = np.where(wa == FX8, a & 0x7F, a & 0x7)
    abricks = np.stack([amag & 0xF, amag >> 4], axis=-1)  # (..., T, G, 2)
    sb, bbricks, q, nan, inf = decode_b(b, np.broadcast_to(fmt, b.shape))
    sign = np.where((a >> 7 & 1) ^ sb, -1, 1)
    pp = sign[..., None, None] * abricks[..., :, None] * bbricks[..., None, :]  # (..., T, G, 2, 4)
    pos = q[..., None, None] + np.arange(2)[:, None] + np.arange(4)[None, :]
    # positions past lane 11 only pair with bricks that are 0 (E5M2's bricks 2, 3): no lane of their own
    pp = np.where(pos < LANES, pp, 0)
    pos = np.where(pos < LANES, pos, 0)
    # lane L of reduction r = sum of the brick products at position L: one bincount over (r, L) (float64
    # weights are exact here: every partial sum stays far below 2^53)
    lead = pp.shape[:-4]
    r = np.arange(int(np.prod(lead, dtype=np.int64)), dtype=np.int64).reshape(lead + (1, 1, 1, 1))
    idx = np.broadcast_to(r * LANES + pos, pp.shape).ravel()
    lanes = np.bincount(idx, weights=pp.ravel().astype(np.float64), minlength=max(1, r.size) * LANES)
    lanes = np.rint(lanes).astype(np.int64).reshape(lead + (LANES,))
    nan = nan | (inf & (amag == 0))
    inf = inf & (amag != 0)
    pos_inf = (inf & (sign > 0)).any(axis=(-2, -1))
    neg_inf = (inf & (sign < 0)).any(axis=(-2, -1))
    return lanes, nan.any(axis=(-2, -1)), pos_inf, neg_inf


def merge(lanes) -> np.ndarray:
    """V = sum_L lane_L * 16^L, exactly (Python integers, object array)."""
    lanes = np.asarray(lanes, np.int64).astype(object)
    return (lanes * np.array([16 ** i for i in range(LANES)], dtype=object)).sum(axis=-1)


def _round_to_f32_bits(v: int, lsb: int) -> int:
    """v * 2^lsb rounded once to binary32, nearest-even (subnormals, overflow to Inf); 0 -> +0. The integer
    is first narrowed to 53 bits with the dropped bits jammed into a sticky LSB, which keeps the binary32
    rounding decision (24 + 2 bits remain above it); float64 then holds it exactly."""
    if v == 0:
        return 0
    mag = abs(v)
    shift = max(mag.bit_length() - 53, 0)
    if shift:
        mag = (mag >> shift) | int(mag & ((1 << shift) - 1) != 0)
    with np.errstate(over="ignore"):
        f = np.float32(math.ldexp(float(mag), lsb + shift)) if lsb + shift < 1000 else np.float32(np.inf)
    bits = int(np.array(f).view(np.uint32))
    return bits | (0x80000000 if v < 0 else 0)


def round_lanes(lanes, nan, pinf, ninf, lsb) -> tuple[np.ndarray, np.ndarray]:
    """neuroflix_merge: V = merge(lanes), fp32(V * 2^lsb) rounded once, NaN / Inf products overriding.
    Returns (result bits uint32, flags uint8: FLAG_INVALID if the result is NaN, FLAG_OVERFLOW if +/-Inf)."""
    lsb = np.broadcast_to(np.asarray(lsb, np.int64), nan.shape)
    # Fast path: where |V| < 2^53 (bounded from the lanes) V * 2^lsb is exact in float64 (lsb >= -536), and
    # one cast rounds it to binary32; the rest goes through exact Python integers.
    bound = (np.abs(lanes).astype(np.float64) * 16.0 ** np.arange(LANES)).sum(axis=-1)
    small = bound < 2.0 ** 53
    v_small = (np.where(small[..., None], lanes, 0) * (16 ** np.arange(LANES, dtype=np.int64))).sum(axis=-1)
    with np.errstate(over="ignore"):
        out = np.ldexp(v_small.astype(np.float64), lsb).astype(np.float32).view(np.uint32)
    out = np.array(out, np.uint32)  # V = 0 gives +0; a negative V that rounds to 0 gives -0
    for idx in zip(*np.nonzero(~small)) if np.ndim(small) else ([()] if not small else []):
        out[idx] = _round_to_f32_bits(int(merge(lanes[idx])), int(lsb[idx]))
    out = np.where(pinf | ninf, np.where(pinf, 0x7F800000, 0xFF800000), out).astype(np.uint32)
    out = np.where(nan | (pinf & ninf), CANONICAL_NAN, out).astype(np.uint32)
    is_nan = out == CANONICAL_NAN
    is_inf = (out & 0x7FFFFFFF) == 0x7F800000
    flags = np.where(is_nan, FLAG_INVALID, 0) | np.where(is_inf, FLAG_OVERFLOW, 0)
    return out, flags.astype(np.uint8)


def mac(a, b, wa, fmt_b, scale) -> tuple[np.ndarray, np.ndarray]:
    """Reductions over the last two axes (T beats x G elements) as the RTL computes them: lanes, exact merge,
    one rounding. `wa`, `fmt_b` per beat (or scalar); `scale` (the beat's in_scale) and whether B is a float
    come from the reduction's last beat. Returns (result bits uint32, flags uint8)."""
    lanes, nan, pinf, ninf = lanes_of(a, b, wa, fmt_b)
    last_fmt = np.asarray(fmt_b)[..., -1] if np.ndim(fmt_b) else np.asarray(fmt_b)
    last_scale = np.asarray(scale)[..., -1] if np.ndim(scale) else np.asarray(scale)
    return round_lanes(lanes, nan, pinf, ninf, np.asarray(last_scale, np.int64) - np.where(last_fmt >= E5M2, 24, 0))


def dot_gemm(a_fixed_rows, b_rows, wa: int, fmt_b: int, scale: int) -> np.ndarray:
    """C[i, j] = the MAC's reduction of A row i with B row j (already quantized: M x Kdim bytes, N x Kdim B
    elements, one mode pair), binary32 bits out (M x N). The same lanes as `mac`, computed as matrix
    products: lane L = sum_ia A_ia . Bpos_(L - ia)^T, where A_ia holds the signed A bricks ia and Bpos_j
    the signed B brick that sits at position j (at most one per element). Every lane is an integer below
    2^53, so float64 matrix products are exact. (Zero padding of Kdim to whole beats adds nothing.)"""
    a = np.asarray(a_fixed_rows, np.int64)
    b = np.asarray(b_rows, np.int64)
    amag = a & (0x7F if wa == FX8 else 0x7)
    sa = np.where(a >> 7 & 1, -1, 1)
    a_bricks = [(sa * (amag & 0xF)).astype(np.float64), (sa * (amag >> 4)).astype(np.float64)]
    sb, bbricks, q, bnan, binf = decode_b(b, np.full(b.shape, fmt_b))
    signed_b = np.where(sb == 1, -1, 1)[..., None] * bbricks  # (N, K, 4)
    b_at = np.zeros((LANES,) + b.shape)  # b_at[j]: the signed B brick at position j
    for ib in range(4):
        p = q + ib
        for j in range(LANES):
            b_at[j] += np.where(p == j, signed_b[..., ib], 0)
    lanes = np.zeros((a.shape[0], b.shape[0], LANES))
    for ia in range(bricks_a(wa)):
        for j in range(LANES - ia):
            lanes[..., j + ia] += a_bricks[ia] @ b_at[j].T
    lanes = np.rint(lanes).astype(np.int64)
    azero = (amag == 0).astype(np.float64)
    pos_a = ((amag != 0) & (sa > 0)).astype(np.float64)
    neg_a = ((amag != 0) & (sa < 0)).astype(np.float64)
    inf_pos_b = (binf & (sb == 0)).astype(np.float64)
    inf_neg_b = (binf & (sb == 1)).astype(np.float64)
    nan = bnan.any(axis=1)[None, :] | (azero @ binf.astype(np.float64).T > 0)
    pinf = (pos_a @ inf_pos_b.T + neg_a @ inf_neg_b.T) > 0
    ninf = (pos_a @ inf_neg_b.T + neg_a @ inf_pos_b.T) > 0
    return round_lanes(lanes, nan, pinf, ninf, scale - (24 if fmt_b >= E5M2 else 0))[0]


# --- cycle model ----------------------------------------------------------------------------------------
FILL = 2  # the merge cycle after the last step, then the result handshake (first beat's edge = 0)


def gemm_cycles(m: int, kdim: int, n: int, wa: int, fmt_b: int, rows: int = 4, cols: int = 4,
                group: int = GROUP, fill: int = FILL) -> int:
    """Cycles of an output-stationary rows x cols array of neuroflix_mac units (one output element each)
    on an (m x kdim) . (kdim x n) GEMM: every output tile takes ceil(kdim / group) beats of steps(wa, fmt_b)
    cycles, back to back (the next beat is taken in the cycle of the current one's last step)."""
    return math.ceil(m / rows) * math.ceil(n / cols) * math.ceil(kdim / group) * steps(wa, fmt_b) + fill


class NeuroFlixArithmetic:
    """The training interface (the brief). Forward: activations (FX`act`) x weights (FX`w`), fixed x fixed.
    Backward: weights (fixed) x error gradients (`grad` float); weight gradient: activations (fixed) x error
    gradients (float). Each operand tensor gets its own power-of-two scale (quantize_fixed / quantize_float);
    the MAC's result is the exact dot product of the quantized values times 2^(scale_a + scale_b), rounded
    once to binary32. Deterministic: the seed is unused (no stochastic rounding)."""

    def __init__(self, act: str = "FX8", w: str = "FX8", grad: str = "FP16", rows: int = 4, cols: int = 4):
        self.wa_act, self.wa_w, self.fmt_grad = FORMATS[act], FORMATS[w], FORMATS[grad]
        assert self.wa_act in FIXED_WIDTH and self.wa_w in FIXED_WIDTH and self.fmt_grad in FLOAT_FIELDS
        self.rows, self.cols = rows, cols
        self.name = f"NeuroFlix-{FIXED_WIDTH[self.wa_act]}/{grad}"

    def configure(self, n_layers: int, n_steps: int) -> None:
        pass  # the precisions are fixed per tensor kind, no schedule

    def gemm(self, a, b, pass_: str, layer: int, step: int, seed: int) -> np.ndarray:
        a = np.asarray(a, np.float32)
        b = np.asarray(b, np.float32)
        if pass_ == "fp":    # activations (fixed) . weights (fixed)
            qa, sa = quantize_fixed(a, self.wa_act)
            qb, sb = quantize_fixed(b.T, self.wa_w)
            bits = dot_gemm(qa, qb, self.wa_act, self.wa_w, sa + sb)
        elif pass_ == "bp":  # dZ (float) . W^T (fixed): the MAC's A port takes the weights
            qw, sw = quantize_fixed(b.T, self.wa_w)
            qg, sg = quantize_float(a, self.fmt_grad)
            bits = dot_gemm(qw, qg, self.wa_w, self.fmt_grad, sw + sg).T
        elif pass_ == "wg":  # activations^T (fixed) . dZ (float)
            qa, sa = quantize_fixed(a, self.wa_act)
            qg, sg = quantize_float(b.T, self.fmt_grad)
            bits = dot_gemm(qa, qg, self.wa_act, self.fmt_grad, sa + sg)
        else:
            raise ValueError(pass_)
        return np.ascontiguousarray(bits).view(np.float32)

    def mode(self, pass_: str) -> tuple[int, int]:
        return {"fp": (self.wa_act, self.wa_w), "bp": (self.wa_w, self.fmt_grad),
                "wg": (self.wa_act, self.fmt_grad)}[pass_]

    def cycles(self, m: int, kdim: int, n: int, pass_: str, layer: int) -> int:
        return gemm_cycles(m, kdim, n, *self.mode(pass_), self.rows, self.cols)


# --- the on-chip converter (rtl/neuroflix_fp2nf.sv) --------------------------------------------------------
def convert(x, fmt: int, scale: int) -> np.ndarray:
    """FP32 values -> the 16-bit element words of neuroflix_fp2nf for format `fmt` (FX4, FX8, E5M2, FP16)
    and a given tensor scale: exactly what quantize_fixed / quantize_float produce once the scale is known
    (fixed: sign-magnitude byte of nearest-even(|x| 2^-scale) saturated, NaN -> 0, Inf -> saturated;
    float: float_bits(x 2^-scale))."""
    with np.errstate(invalid="ignore"):  # signalling-NaN payloads
        x = np.asarray(x, np.float32).astype(np.float64)
    if fmt in FIXED_WIDTH:
        top = (1 << (FIXED_WIDTH[fmt] - 1)) - 1
        with np.errstate(invalid="ignore"):
            mag = np.rint(np.ldexp(np.abs(x), -scale))
        mag = np.where(np.isnan(x), 0, np.minimum(mag, top)).astype(np.int64)
        sign = (x < 0) & (mag > 0)
        return ((sign.astype(np.int64) << 7) | mag).astype(np.uint16)
    with np.errstate(over="ignore", invalid="ignore"):
        return float_bits(np.ldexp(x, -scale).astype(np.float32), fmt)
