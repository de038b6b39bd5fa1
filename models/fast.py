"""FAST (Zhang, McDanel, Kung, HPCA 2022): variable-precision BFP with stochastic rounding, bit-exact
(docs/spec.md section "FAST"), mirroring rtl/fast_fp2bfp.sv and rtl/fast_mac.sv.

- Format: groups of G = 16 values along the reduction axis share an exponent; every element has a sign
  and an `m`-bit magnitude, m in {2, 4, 6, 8}, read by the fMAC as m/2 two-bit chunks (most significant
  first). The shared exponent is `exp_bits` wide: 8 (the binary32 biased exponent field) or 4 (an offset
  above a per-tensor 8-bit base: E = base + code).
- Conversion from FP32 (rtl/fast_fp2bfp.sv): the group's largest exponent, the magnitudes aligned to it,
  8-bit LFSR noise added below the kept LSB, then truncation (SR); RTZ, RNE, RNA for comparison.
- fMAC: a group pair's exact integer dot product computed chunk-serially, (ma/2) x (mb/2) passes of
  16 two-bit x two-bit products each, then one binary32 rounding and a binary32 accumulation over groups
  (models.pe.term_fp32 / accumulate, the same rules as FlexBlock's fp32_acc).
- Cycle model, and `FastArithmetic` (the training interface) with the "Fast First, Accurate Second"
  precision schedule.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import lfsr
from .bfp import FLAG_INVALID, FLAG_OVERFLOW, bits_float32, float32_bits
from .pe import accumulate, term_fp32

GROUP = 16
CHUNK = 2  # mantissa bits per fMAC pass
PRECISIONS = (2, 4, 6, 8)  # mantissa (magnitude) bits the fMAC supports
EXP_WIDTHS = (8, 4)
RTZ, RNE, RNA, SR = 0, 1, 2, 3  # the codes of models.fp2bfp / rtl/fast_fp2bfp.sv
ROUNDING_BY_NAME = {"RTZ": RTZ, "RNE": RNE, "RNA": RNA, "SR": SR}
SIG_BITS = 24
EXP_BIAS = 127
FILL_CYCLES = 2  # rtl/fast_mac.sv: last pass -> fp32_acc's term stage -> result FIFO -> out handshake


def prec_code(m: int) -> int:
    """The fMAC's 2-bit precision code of an m-bit mantissa: m/2 - 1."""
    if m not in PRECISIONS:
        raise ValueError(f"mantissa bits must be one of {PRECISIONS}, got {m}")
    return m // CHUNK - 1


def chunks(m: int) -> int:
    return prec_code(m) + 1


@dataclass
class FastTensor:
    """Groups along the last axis.

    code:  (..., ngroups)     the shared exponent field (exp_bits wide)
    base:  int                per-tensor base (0 when exp_bits = 8); the group's exponent is E = base + code
    sign:  (..., ngroups, G)  0/1, canonical (0 where mag == 0)
    mag:   (..., ngroups, G)  0 .. 2^m - 1
    flags: (..., ngroups)     FLAG_INVALID | FLAG_OVERFLOW
    """

    code: np.ndarray
    base: int
    sign: np.ndarray
    mag: np.ndarray
    flags: np.ndarray
    m: int
    exp_bits: int = 8

    @property
    def exp(self) -> np.ndarray:
        return self.code.astype(np.int64) + int(self.base)

    def signed_mag(self) -> np.ndarray:
        m = self.mag.astype(np.int64)
        return np.where(self.sign.astype(bool), -m, m)

    def lsb_exponent(self) -> np.ndarray:
        """Power of two of each group's LSB: E - 127 - (m - 1)."""
        return self.exp - EXP_BIAS - (self.m - 1)

    def to_float64(self) -> np.ndarray:
        """Exact decode (float64 holds every value exactly), shape (..., ngroups*G)."""
        v = np.ldexp(self.signed_mag().astype(np.float64), self.lsb_exponent()[..., None])
        return v.reshape(*v.shape[:-2], -1)


def _to_groups(x, group: int) -> np.ndarray:
    bits = float32_bits(x).astype(np.int64)
    if bits.ndim == 0:
        bits = bits[None]
    pad = (-bits.shape[-1]) % group
    if pad:
        bits = np.concatenate([bits, np.zeros(bits.shape[:-1] + (pad,), np.int64)], axis=-1)
    return bits.reshape(*bits.shape[:-1], -1, group)


def _fields(bits):
    e = (bits >> 23) & 0xFF
    frac = bits & 0x7FFFFF
    is_nan = (e == 255) & (frac != 0)
    is_inf = (e == 255) & (frac == 0)
    e_eff = np.where(e == 0, (frac != 0).astype(np.int64), e)  # a subnormal counts as exponent 1
    e_eff = np.where(is_inf, 254, np.where(is_nan, 0, e_eff))
    sig = np.where(e == 0, frac, frac | (1 << 23))
    return e_eff, np.where(is_nan | is_inf, 0, sig), is_nan, is_inf


def group_max_exponent(x, group: int = GROUP) -> np.ndarray:
    """E_max of every group (NaN excluded, Inf as 254, subnormal as 1, zero group 0)."""
    return _fields(_to_groups(x, group))[0].max(axis=-1)


def tensor_base(x, group: int = GROUP, exp_bits: int = 4) -> int:
    """The per-tensor base of a 4-bit exponent: max over groups of E_max - (2^exp_bits - 1), at least 0, so
    the tensor's largest group is never clamped and smaller ones clamp upwards (lose low bits)."""
    if exp_bits == 8:
        return 0
    return max(int(group_max_exponent(x, group).max(initial=0)) - ((1 << exp_bits) - 1), 0)


def quantize(x, m: int, rounding=SR, group: int = GROUP, exp_bits: int = 8, base: int | None = None,
             seed: int = lfsr.DEFAULT_SEED, first_group: int = 0, sr_bits: int = lfsr.DEFAULT_SR_BITS) -> FastTensor:
    """FP32 -> FAST BFP along the last axis (zero-padded to whole groups).

    SR: q = floor(|x| * 2^((m-1) - (E-127)) + rnd / 2^sr_bits), rnd the lane's LFSR bits (models.lfsr:
    lane i = element position i of the group; groups in C order take LFSR blocks first_group, ...).
    exp_bits = 4: code = clamp(E_max - base, 0, 15), E = base + code (base: tensor_base(x) if None)."""
    prec_code(m)
    if exp_bits not in EXP_WIDTHS:
        raise ValueError(f"exponent width must be 8 or 4, got {exp_bits}")
    if isinstance(rounding, str):
        rounding = ROUNDING_BY_NAME[rounding.upper()]
    if rounding not in (RTZ, RNE, RNA, SR):
        raise ValueError(f"rounding must be a 2-bit code (RTZ, RNE, RNA, SR), got {rounding}")
    bits = _to_groups(x, group)
    e_eff, sig, is_nan, is_inf = _fields(bits)
    e_max = e_eff.max(axis=-1)
    if exp_bits == 8:
        base, code = 0, e_max
    else:
        if base is None:
            base = max(int(e_max.max(initial=0)) - 15, 0)
        if not 0 <= base <= 255:
            raise ValueError("base must fit 8 bits")
        code = np.clip(e_max - base, 0, 15)
    e_grp = code + base

    # sig / 2^s in units of the group's LSB; s < 0 only when a 4-bit code clamped down (saturates anyway:
    # a left shift by 16 of any nonzero sig exceeds 2^8 - 1). Past s = 41 every rounding gives 0.
    s = np.clip(e_grp[..., None] - e_eff + SIG_BITS - m, -16, SIG_BITS + lfsr.WIDTH + 1)
    up = np.maximum(-s, 0)
    dn = np.maximum(s, 0)
    if rounding == SR:
        nblocks = int(np.prod(bits.shape[:-1]))
        rnd = lfsr.sr_bits(seed, first_group, nblocks, group, sr_bits).reshape(bits.shape)
        q = ((((sig << sr_bits) << up) >> dn) + rnd) >> sr_bits
    else:
        q = (sig << up) >> dn
        if rounding in (RNE, RNA):
            rem = sig & ((np.int64(1) << dn) - 1)
            half = np.where(dn > 0, np.int64(1) << np.maximum(dn - 1, 0), 1 << 62)
            if rounding == RNE:
                q = q + ((rem > half) | ((rem == half) & (q & 1 == 1)))
            else:
                q = q + (rem >= half)
    top = (1 << m) - 1
    q = np.where(is_inf, top, np.minimum(q, top))
    flags = np.where(is_nan.any(axis=-1), FLAG_INVALID, 0) | np.where(is_inf.any(axis=-1), FLAG_OVERFLOW, 0)
    return FastTensor(code=code.astype(np.int64), base=int(base), sign=((bits >> 31) & (q != 0)).astype(np.uint8),
                      mag=q.astype(np.int64), flags=flags.astype(np.uint8), m=m, exp_bits=exp_bits)


# --- the fMAC ------------------------------------------------------------------------------------------
def passes(m_a: int, m_b: int) -> list[tuple[int, int]]:
    """The fMAC's pass order: (i, j) = (chunk of A, chunk of B), most significant first, B inner."""
    return [(i, j) for i in reversed(range(chunks(m_a))) for j in reversed(range(chunks(m_b)))]


def cycles_per_group(m_a: int, m_b: int) -> int:
    """Passes (= cycles) of one group pair: (ma/2) x (mb/2)."""
    return chunks(m_a) * chunks(m_b)


def products_per_cycle(m_a: int, m_b: int, group: int = GROUP) -> float:
    return group / cycles_per_group(m_a, m_b)


def group_dot(sa, ma, sb, mb, m_a: int, m_b: int) -> np.ndarray:
    """Exact group dot product over the last axis, computed pass by pass as the fMAC does:
    P = sum over passes (i, j) of (sum_e (-1)^(sa^sb) chunk_i(ma) chunk_j(mb)) << 2(i + j). int64."""
    neg = (np.asarray(sa).astype(np.int64) ^ np.asarray(sb).astype(np.int64)).astype(bool)
    ma, mb = np.asarray(ma, np.int64), np.asarray(mb, np.int64)
    acc = np.zeros(np.broadcast_shapes(ma.shape, mb.shape)[:-1], np.int64)
    for i, j in passes(m_a, m_b):
        prod = ((ma >> (CHUNK * i)) & 3) * ((mb >> (CHUNK * j)) & 3)
        acc = acc + (np.where(neg, -prod, prod).sum(axis=-1) << (CHUNK * (i + j)))
    return acc


def term_exponent(exp_a, exp_b, m_a: int, m_b: int) -> np.ndarray:
    """Power of two of P's LSB: Ea + Eb - 254 - (ma - 1) - (mb - 1), with E = base + code."""
    return np.asarray(exp_a, np.int64) + np.asarray(exp_b, np.int64) - 2 * EXP_BIAS - (m_a - 1) - (m_b - 1)


def mac(a: FastTensor, b: FastTensor) -> tuple[np.ndarray, np.ndarray]:
    """The fMAC's reduction over the groups of the last group axis of a and b (broadcast leading axes):
    terms fp32(P * 2^X) accumulated in binary32 in ascending group order. Returns (bits uint32, flags)."""
    p = group_dot(a.sign, a.mag, b.sign, b.mag, a.m, b.m)  # (..., ngroups)
    x = term_exponent(a.exp, b.exp, a.m, b.m)
    x = np.broadcast_to(x, p.shape)
    f = np.broadcast_to(a.flags | b.flags, p.shape)
    return accumulate(np.moveaxis(term_fp32(p, x), -1, 0), np.moveaxis(f, -1, 0))


def fast_gemm_q(qa: FastTensor, qb: FastTensor) -> tuple[np.ndarray, np.ndarray]:
    """C = A B from quantized operands: qa groups of A's rows (M, ng, G), qb of B's columns (N, ng, G).
    The exact group products come from a float64 matmul (|partial sums| < 2^53); group_dot is the same
    value pass by pass (tested)."""
    sa = np.moveaxis(qa.signed_mag().astype(np.float64), -2, 0)  # (ng, M, G)
    sb = np.moveaxis(qb.signed_mag().astype(np.float64), -2, 0).transpose(0, 2, 1)  # (ng, G, N)
    p = np.matmul(sa, sb).astype(np.int64)  # (ng, M, N)
    x = term_exponent(qa.exp.T[:, :, None], qb.exp.T[:, None, :], qa.m, qb.m)
    f = qa.flags.T[:, :, None] | qb.flags.T[:, None, :]
    return accumulate(term_fp32(p, x), f)


def gemm(a, b, m_a: int, m_b: int, rounding=SR, exp_bits: int = 8, seed: int = lfsr.DEFAULT_SEED,
         seed_b: int | None = None, group: int = GROUP) -> tuple[np.ndarray, np.ndarray]:
    """Quantize binary32 A (M x Kdim, groups along rows) and B (Kdim x N, groups along columns), each with
    its own per-tensor base and LFSR seed (B: seed ^ 0xFFFF unless given), and multiply on the fMAC.
    Returns (C float32, flags)."""
    qa = quantize(np.asarray(a, np.float32), m_a, rounding, group, exp_bits, seed=seed)
    sb = (seed ^ 0xFFFF) if seed_b is None else seed_b
    qb = quantize(np.asarray(b, np.float32).T, m_b, rounding, group, exp_bits, seed=sb)
    bits, flags = fast_gemm_q(qa, qb)
    return bits_float32(bits), flags


# --- cycle model -----------------------------------------------------------------------------------------
def mac_job_cycles(groups_per_result: list[int] | int, m_a: int, m_b: int, results: int = 1) -> int:
    """Cycles of one fMAC (rtl/fast_mac.sv) on a job of reductions fed back to back with no back-pressure,
    from the rising edge that takes the first group pair to the one that takes the last result:
    every group pair takes (ma/2)(mb/2) cycles, plus FILL_CYCLES (the result FIFO and its handshake)."""
    n = groups_per_result * results if isinstance(groups_per_result, int) else sum(groups_per_result)
    return n * cycles_per_group(m_a, m_b) + FILL_CYCLES


def array_cycles(rows: int, cols: int, m: int, kdim: int, n: int, m_a: int, m_b: int,
                 group: int = GROUP) -> int:
    """An R x C array of fMACs, output-stationary (A's group broadcast along a row, B's along a column,
    every fMAC one output), on an M x Kdim x N GEMM: ceil(M/R) ceil(N/C) output tiles, each ceil(Kdim/G)
    group pairs of (ma/2)(mb/2) passes, back to back, plus the fill. With R = C = 1 it is mac_job_cycles,
    which the RTL bench asserts cycle for cycle."""
    tiles = -(-m // rows) * -(-n // cols)
    return mac_job_cycles(-(-kdim // group), m_a, m_b, results=tiles)


# --- training interface: "Fast First, Accurate Second" ---------------------------------------------------
def relative_improvement(x, m: int, group: int = GROUP, exp_bits: int = 4) -> float:
    """r(X) at precision m: sum |BFP(X, m+2) - BFP(X, m)| / sum |BFP(X, m)| (RTZ, no noise, so the measure
    is deterministic); 0 for an all-zero BFP(X, m) (nothing to improve on), inf if only the finer is
    nonzero."""
    lo = quantize(x, m, RTZ, group, exp_bits).to_float64()
    hi = quantize(x, m + CHUNK, RTZ, group, exp_bits).to_float64()
    den = np.abs(lo).sum()
    num = np.abs(hi - lo).sum()
    if den == 0:
        return 0.0 if num == 0 else float("inf")
    return float(num / den)


class FastArithmetic:
    """FAST's training arithmetic (brief's interface). Every layer starts at 2-bit mantissas; at each
    forward GEMM of layer l at step i, while its precision m < 8, r(A) at m (A = the activations) is
    compared with eps(l, i) = alpha - beta*i/I - beta*l/L, and m rises by 2 bits when r(A) > eps.
    Precision never falls. All three passes of a layer use its current precision; operands are converted
    with 8-bit LFSR stochastic rounding and 4-bit shared exponents (per-tensor base)."""

    name = "FAST"

    def __init__(self, alpha: float = 0.6, beta: float = 0.3, exp_bits: int = 4, start_bits: int = 2,
                 rows: int = 16, cols: int = 16):
        self.alpha, self.beta, self.exp_bits, self.start_bits = alpha, beta, exp_bits, start_bits
        self.rows, self.cols = rows, cols
        self.configure(1, 1)

    def configure(self, n_layers: int, n_steps: int) -> None:
        self.n_layers, self.n_steps = max(int(n_layers), 1), max(int(n_steps), 1)
        self.precision = [self.start_bits] * self.n_layers
        self.history: list[tuple[int, int, float, float, int]] = []  # (layer, step, r, eps, m after)

    def eps(self, layer: int, step: int) -> float:
        return self.alpha - self.beta * step / self.n_steps - self.beta * layer / self.n_layers

    def _schedule(self, a, layer: int, step: int) -> None:
        m = self.precision[layer]
        if m >= PRECISIONS[-1]:
            return
        r = relative_improvement(a, m, GROUP, self.exp_bits)
        eps = self.eps(layer, step)
        if r > eps:
            self.precision[layer] = m + CHUNK
        self.history.append((layer, step, r, eps, self.precision[layer]))

    def gemm(self, a: np.ndarray, b: np.ndarray, pass_: str, layer: int, step: int, seed: int) -> np.ndarray:
        if pass_ == "fp":
            self._schedule(a, layer, step)
        m = self.precision[layer]
        c, _ = gemm(a, b, m, m, SR, self.exp_bits, seed=int(seed) & 0xFFFF)
        return c

    def cycles(self, m: int, kdim: int, n: int, pass_: str, layer: int) -> int:
        p = self.precision[layer]
        return array_cycles(self.rows, self.cols, m, kdim, n, p, p)

    def for_eval(self) -> "FastArithmetic":
        """The arithmetic of evaluation forward passes: the same precisions, never moving the schedule."""
        return _FastEval(self)

    def finish(self) -> dict:
        """Extra results of a run: the final precision per layer and the schedule's history."""
        return {"final_precision": list(self.precision), "precision_history": list(self.history)}


class _FastEval(FastArithmetic):
    """A view of a FastArithmetic that reads its precisions and never schedules (evaluation passes)."""

    def __init__(self, trained: FastArithmetic):
        self.trained = trained
        self.name, self.exp_bits, self.rows, self.cols = trained.name, trained.exp_bits, trained.rows, trained.cols

    @property
    def precision(self):
        return self.trained.precision

    def configure(self, n_layers: int, n_steps: int) -> None:
        pass

    def _schedule(self, a, layer: int, step: int) -> None:
        pass
