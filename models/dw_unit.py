"""The depthwise vector unit (docs/spec.md section 6, "The depthwise vector unit"), mirroring rtl/dw_unit.sv.

Lanes are K = 16 channels. A block is the K channels of one pixel (or of one kernel tap) with one shared
exponent, in the block's mode; the unit multiplies one element pair per lane per cycle (the taps in time)
and sums in binary32 per lane with section 3's term and sum rounding (a block pair of one element):

  FWD  Y[p, c]  = sum_d X[p + d, c] k_c[d]           9 taps per output, tap order d = (dh, dw) raster
  BWD  dX[q, c] = sum_d dY[q + d, c] k_c[8 - d]      the same conv on dY, kernel turned 180 degrees
  WG   dW[c, d] = sum_p X[p + d, c] dY[p, c]          pixels p in raster order, one sum per tap

Taps outside the map (zero padding, stride 1, padding 1) are skipped: a border output's sum has fewer terms,
in the same order. The model adds a +0 term with no flags for them instead, which gives the same bits: the
running sum starts at +0 and is never -0 (+0 + -0 = +0, an exact-zero sum of two values that are not both -0
is +0, and a nonzero binary32 sum is at least 2^-149), and acc + (+0) = acc for every other acc, NaN and Inf
included.

Tensors are BFPTensors with blocks along the channel axis:
  x, dy:   exp (H, W, G), sign/mag (H, W, G, K)     G = channel groups
  kernel:  exp (9, G),    sign/mag (9, G, K)        tap d = 3 (dh + 1) + (dw + 1)
Results are binary32 bit patterns (uint32) and flags per element: FWD/BWD (H, W, G, K), WG (9, G, K).
"""
from __future__ import annotations

import numpy as np

from .bfp import BFPTensor, mag_bits
from .fp2bfp import RTZ, quantize
from .pe import accumulate, block_dot, term_exponent, term_fp32

FWD, BWD, WG = 0, 1, 2
PASS_NAMES = {FWD: "FWD", BWD: "BWD", WG: "WG"}
TAPS = [(dh, dw) for dh in (-1, 0, 1) for dw in (-1, 0, 1)]  # tap d = 3 (dh + 1) + (dw + 1)
LANES = 16

# Cycle model (spec section 6, "The depthwise vector unit: cycles"): from the edge that takes the cfg beat to
# the edge that takes the job's last result, inputs offered without gaps and results taken at once.
KERNEL_BEATS = 9     # FWD / BWD: the kernel register file is loaded before the first tap
PIPE = 4             # tap issue -> operand registers -> product -> term -> sum stage pushes; taken one edge later
READOUT = 9          # WG: one result beat per tap after the last pixel
ERROR_CYCLES = 5     # a bad configuration: one error op through the same pipeline


def _shifted(t: BFPTensor, dh: int, dw: int):
    """Blocks of t at (y + dh, x + dw) for every (y, x) and whether that pixel is inside the map; zero blocks
    (flags 0) outside."""
    h, w = t.exp.shape[:2]
    valid = np.zeros((h, w), bool)
    ys, xs = slice(max(0, -dh), min(h, h - dh)), slice(max(0, -dw), min(w, w - dw))
    yt, xt = slice(max(0, dh), min(h, h + dh)), slice(max(0, dw), min(w, w + dw))
    exp, sign, mag, flags = (np.zeros_like(a) for a in (t.exp, t.sign, t.mag, t.flags))
    exp[ys, xs], sign[ys, xs], mag[ys, xs], flags[ys, xs] = t.exp[yt, xt], t.sign[yt, xt], t.mag[yt, xt], t.flags[yt, xt]
    valid[ys, xs] = True
    return exp, sign, mag, flags, valid


def _terms(ea, sa, ma, fa, mode_a, eb, sb, mb, fb, mode_b, valid):
    """Section 3's term of one-element block pairs, lane by lane: fp32(P * 2^X), +0 and no flags where the
    tap is not valid. Shapes broadcast: exp/flags/valid (..., G), sign/mag (..., G, K)."""
    p = block_dot(np.asarray(sa)[..., None], np.asarray(ma)[..., None], np.asarray(sb)[..., None],
                  np.asarray(mb)[..., None])
    x = term_exponent(ea, eb, mode_a, mode_b)[..., None]
    valid = np.asarray(valid)
    t = np.where(valid[..., None], term_fp32(p, x), np.float32(0))
    f = np.where(valid, np.asarray(fa) | np.asarray(fb), 0)
    return t.astype(np.float32), np.broadcast_to(f[..., None], t.shape).astype(np.uint8)


def conv(pass_: int, a: BFPTensor, kernel: BFPTensor, mode_a=None, mode_b=None):
    """FWD (a = X) or BWD (a = dY): (bits, flags), each (H, W, G, K). Modes default to the tensors' own
    (a mode code 3 decodes as FB24)."""
    if pass_ not in (FWD, BWD):
        raise ValueError(f"conv is FWD or BWD, not {pass_}")
    mode_a = a.mode if mode_a is None else mode_a
    mode_b = kernel.mode if mode_b is None else mode_b
    terms, flags = [], []
    for d, (dh, dw) in enumerate(TAPS):
        ea, sa, ma, fa, valid = _shifted(a, dh, dw)
        kd = 8 - d if pass_ == BWD else d
        t, f = _terms(ea, sa, ma, fa, mode_a, kernel.exp[kd], kernel.sign[kd], kernel.mag[kd], kernel.flags[kd],
                      mode_b, valid[..., None])
        terms.append(t)
        flags.append(f)
    return accumulate(np.stack(terms), np.stack(flags))


def weight_grad(x: BFPTensor, dy: BFPTensor, mode_a=None, mode_b=None):
    """WG: (bits, flags), each (9, G, K): dW[d] = sum over pixels p (raster) of X[p + d] dY[p]."""
    mode_a = x.mode if mode_a is None else mode_a
    mode_b = dy.mode if mode_b is None else mode_b
    h, w = x.exp.shape[:2]
    terms, flags = [], []
    for dh, dw in TAPS:
        ea, sa, ma, fa, valid = _shifted(x, dh, dw)
        t, f = _terms(ea, sa, ma, fa, mode_a, dy.exp, dy.sign, dy.mag, dy.flags, mode_b, valid[..., None])
        terms.append(t.reshape(h * w, *t.shape[2:]))
        flags.append(f.reshape(h * w, *f.shape[2:]))
    # reduce over the pixels (axis 0), the 9 taps side by side
    bits, fl = accumulate(np.stack(terms, axis=1), np.stack(flags, axis=1))
    return bits, fl


def run(pass_: int, a: BFPTensor, b: BFPTensor, mode_a=None, mode_b=None):
    """One job: FWD/BWD with (a, b) = (X or dY, kernel), WG with (a, b) = (X, dY)."""
    return weight_grad(a, b, mode_a, mode_b) if pass_ == WG else conv(pass_, a, b, mode_a, mode_b)


def from_fp32(pass_: int, a, b, mode_a: int, mode_b: int, rounding=(RTZ, RTZ), lanes: int = LANES):
    """The convenience from FP32: a (H, W, C) map, b a (3, 3, C) kernel (FWD/BWD) or the (H, W, C) dY (WG),
    converted by models.fp2bfp with blocks along the channel axis (C zero-padded to whole blocks of `lanes`),
    then `run`. Returns (bits, flags) with the channel axis back to C: (H, W, C) or (9, C)."""
    a = np.asarray(a, np.float32)
    b = np.asarray(b, np.float32)
    c = a.shape[-1]
    qa = quantize(a, mode_a, rounding[0], lanes)
    qb = quantize(b.reshape(9, c) if pass_ != WG else b, mode_b, rounding[1], lanes)
    bits, flags = run(pass_, qa, qb)
    return bits.reshape(*bits.shape[:-2], -1)[..., :c], flags.reshape(*flags.shape[:-2], -1)[..., :c]


# --- cycles and utilization ------------------------------------------------------------------------------
def valid_taps(h: int, w: int) -> int:
    """Products of one channel's job: taps inside the map, summed over the outputs (FWD/BWD) or pixels (WG)."""
    return (3 * h - 2) * (3 * w - 2)


def first_issue(pass_: int, h: int, w: int) -> int:
    """Edge after which the first tap issues: the window of output (0, 0) (inputs up to (min(1, H - 1),
    min(1, W - 1)), one per edge from edge 1) and, FWD/BWD, the 9 kernel beats (edges 1..9); WG's first dY
    beat is in by edge 1."""
    need = min(1, h - 1) * w + min(1, w - 1) + 1
    return max(KERNEL_BEATS, need) if pass_ in (FWD, BWD) else need


def job_cycles(pass_: int, h: int, w: int) -> int:
    """Cycles of one job (one channel group), cfg take to last result take, no gaps, no back-pressure."""
    if pass_ not in (FWD, BWD, WG) or h < 1 or w < 1:
        return ERROR_CYCLES
    return first_issue(pass_, h, w) + valid_taps(h, w) + (READOUT if pass_ == WG else 0) + PIPE


def stream_period(pass_: int, h: int, w: int) -> int:
    """Cycles from one job's cfg beat taken to the next job's, jobs back to back (the next cfg beat offered at
    once): the unit takes a cfg beat in the cycle after its sequencer issues the job's last op (its last tap,
    WG its last read-out, an error beat), while that op drains, so a stream of C / 16 channel groups costs
    this per group (and the last job's drain once)."""
    if pass_ not in (FWD, BWD, WG) or h < 1 or w < 1:
        return 2
    return first_issue(pass_, h, w) + valid_taps(h, w) + (READOUT if pass_ == WG else 0) + 1


def lane_utilization(pass_: int, h: int, w: int, cycles: int | None = None) -> float:
    """Useful products / (16 lanes x cycles): every lane a channel of a whole group (channels a multiple of
    16). Useful = products with both operands inside the map."""
    cycles = job_cycles(pass_, h, w) if cycles is None else cycles
    return valid_taps(h, w) / cycles


def submultiplier_utilization(pass_: int, h: int, w: int, mode_a, mode_b, cycles: int | None = None) -> float:
    """Useful 4x4 sub-multiplier operations / (16 lanes x 16 sub-multipliers x cycles): a product of Wa x Wb
    magnitude bits is (Wa/4)(Wb/4) of the 16 a lane's 16x16 multiplier holds; the lane does one product per
    cycle whatever the mode."""
    na, nb = mag_bits(mode_a) // 4, mag_bits(mode_b) // 4
    return lane_utilization(pass_, h, w, cycles) * na * nb / 16


__all__ = ["FWD", "BWD", "WG", "PASS_NAMES", "TAPS", "LANES", "conv", "weight_grad", "run", "from_fp32",
           "valid_taps", "first_issue", "job_cycles", "stream_period", "lane_utilization", "submultiplier_utilization",
           "KERNEL_BEATS", "PIPE", "READOUT", "ERROR_CYCLES"]
