"""FP32 -> BFP conversion (docs/spec.md section 2), mirroring rtl/fp2bfp.sv.

`quantize` is the functional form; `Fp2Bfp` keeps the hardware unit's state (the stochastic-rounding block
counter since the last seed load) so a sequence of calls sees the same random bits as the RTL.
"""
from __future__ import annotations

import numpy as np

from . import lfsr
from .bfp import FLAG_INVALID, FLAG_OVERFLOW, BFPTensor, float32_bits, mag_bits, mode_code

RTZ, RNE, RNA, SR = 0, 1, 2, 3
ROUNDING_NAMES = {RTZ: "RTZ", RNE: "RNE", RNA: "RNA", SR: "SR"}
ROUNDING_BY_NAME = {v: k for k, v in ROUNDING_NAMES.items()}

SIG_BITS = 24  # binary32 significand with the hidden bit


def rounding_code(rounding) -> int:
    if isinstance(rounding, str):
        return ROUNDING_BY_NAME[rounding.upper()]
    if not 0 <= int(rounding) <= 3:
        raise ValueError(f"rounding code {rounding} is not a 2-bit code")
    return int(rounding)


def to_blocks(x, block: int) -> np.ndarray:
    """binary32 bit patterns of x, zero-padded along the last axis to whole blocks: (..., nblocks, block)."""
    bits = float32_bits(x)
    if bits.ndim == 0:
        bits = bits[None]
    pad = (-bits.shape[-1]) % block
    if pad:
        bits = np.concatenate([bits, np.zeros(bits.shape[:-1] + (pad,), np.uint32)], axis=-1)
    return bits.reshape(*bits.shape[:-1], -1, block)


def quantize(x, mode, rounding=RTZ, block: int = 16, seed: int = lfsr.DEFAULT_SEED,
             first_block: int = 0, sr_width: int = lfsr.DEFAULT_SR_BITS) -> BFPTensor:
    """Convert x (any shape, binary32 values) to blocks of `block` along its last axis.

    The last axis is zero-padded to a whole number of blocks. For SR, the blocks (in C order over the
    leading axes) take the LFSR bits of block numbers first_block, first_block+1, ... after loading `seed`.
    """
    mode = mode_code(mode)
    rounding = rounding_code(rounding)
    w = mag_bits(mode)
    bits = to_blocks(x, block).astype(np.int64)

    sign = bits >> 31
    e = (bits >> 23) & 0xFF
    frac = bits & 0x7FFFFF
    is_nan = (e == 255) & (frac != 0)
    is_inf = (e == 255) & (frac == 0)
    e_eff = np.where(e == 0, (frac != 0).astype(np.int64), e)
    e_eff = np.where(is_inf, 254, np.where(is_nan, 0, e_eff))
    exp = e_eff.max(axis=-1)
    sig = np.where(e == 0, frac, frac | (1 << 23))
    sig = np.where(is_nan | is_inf, 0, sig)

    # sig / 2^s is the magnitude in units of the block's LSB. s >= 8 for every element; past
    # SIG_BITS + 16 + 1 every rounding mode gives 0, so the shift is clamped there (as in the RTL).
    s = np.minimum(exp[..., None] - e_eff + SIG_BITS - w, SIG_BITS + lfsr.WIDTH + 1)
    q = sig >> s
    if rounding in (RNE, RNA):
        rem = sig & ((np.int64(1) << s) - 1)
        half = np.int64(1) << (s - 1)
        if rounding == RNE:
            q = q + ((rem > half) | ((rem == half) & (q & 1 == 1)))
        else:
            q = q + (rem >= half)
    elif rounding == SR:
        nblocks = int(np.prod(bits.shape[:-1]))
        rnd = lfsr.sr_bits(seed, first_block, nblocks, block, sr_width).reshape(bits.shape)
        q = (((sig << sr_width) >> s) + rnd) >> sr_width

    top = (1 << w) - 1
    q = np.minimum(q, top)
    q = np.where(is_inf, top, q)
    flags = np.where(is_nan.any(axis=-1), FLAG_INVALID, 0) | np.where(is_inf.any(axis=-1), FLAG_OVERFLOW, 0)
    return BFPTensor(exp=exp.astype(np.int64), sign=(sign & (q != 0)).astype(np.uint8), mag=q,
                     flags=flags.astype(np.uint8), mode=mode)


class Fp2Bfp:
    """The conversion unit with its state: seed and blocks converted since the seed was loaded."""

    def __init__(self, block: int = 16, seed: int = lfsr.DEFAULT_SEED, sr_width: int = lfsr.DEFAULT_SR_BITS):
        self.block = block
        self.sr_width = sr_width
        self.load_seed(seed)

    def load_seed(self, seed: int) -> None:
        self.seed = int(seed) & 0xFFFF
        self.blocks_done = 0

    def __call__(self, x, mode, rounding=RTZ) -> BFPTensor:
        out = quantize(x, mode, rounding, self.block, self.seed, self.blocks_done, self.sr_width)
        self.blocks_done += int(np.prod(out.exp.shape))
        return out


def zero_setting_error(x, q: BFPTensor) -> float:
    """ZSE: of the nonzero, non-NaN inputs, the fraction converted to magnitude 0."""
    bits = to_blocks(x, q.block)
    nonzero = ((bits & 0x7FFFFFFF) != 0) & ~np.isnan(bits.view(np.float32))
    n = int(nonzero.sum())
    return float((nonzero & (q.mag == 0)).sum()) / n if n else 0.0


def requantize(q: BFPTensor, mode, merge: int = 1) -> BFPTensor:
    """Re-quantize blocks to a mode of no more magnitude bits, merging `merge` consecutive blocks, by
    truncation (RTZ): bit-identical to converting the original data directly (spec section 2)."""
    mode = mode_code(mode)
    w_new, w_old = mag_bits(mode), q.width
    if w_new > w_old:
        raise ValueError(f"cannot re-quantize W={w_old} to the wider W={w_new}")
    nb = q.exp.shape[-1]
    if nb % merge:
        raise ValueError(f"{nb} blocks do not merge in groups of {merge}")
    lead = q.exp.shape[:-1]
    exp = q.exp.reshape(*lead, nb // merge, merge)
    mag = q.mag.reshape(*lead, nb // merge, merge, q.block)
    sign = q.sign.reshape(mag.shape)
    new_exp = exp.max(axis=-1)
    shift = (w_old - w_new) + (new_exp[..., None] - exp)
    new_mag = (mag >> np.minimum(shift, 63)[..., None]).reshape(*lead, nb // merge, merge * q.block)
    new_sign = (sign.reshape(new_mag.shape) & (new_mag != 0)).astype(np.uint8)
    flags = np.bitwise_or.reduce(q.flags.reshape(exp.shape), axis=-1)
    return BFPTensor(new_exp, new_sign, new_mag, flags.astype(np.uint8), mode)


# --- the authors' simulator's groupings (216 / 108 / 54 elements per conv group) -------------------------
GROUP_CHANNELS = {0: 6, 1: 12, 2: 24}  # FB24, FB16, FB12


def fake_quantize_grouped(x, mode, rounding=RTZ, seed: int = lfsr.DEFAULT_SEED) -> np.ndarray:
    """Quantize-and-decode a conv ([N, C, kh, kw]) or FC ([N, F]) tensor with the authors' grouping:
    groups of [1, Cg, kh, kw] (conv) or Cg along dim 1 (FC), Cg = 24/12/6 for FB12/FB16/FB24.
    Returns binary32 values of the input's shape."""
    x = np.asarray(x, dtype=np.float32)
    cg = GROUP_CHANNELS[mode_code(mode)]
    n, c = x.shape[:2]
    rest = x.shape[2:]
    pad = (-c) % cg
    xp = np.concatenate([x, np.zeros((n, pad) + rest, np.float32)], axis=1) if pad else x
    per_group = cg * int(np.prod(rest, dtype=np.int64))
    grouped = xp.reshape(n, (c + pad) // cg, per_group)
    q = quantize(grouped, mode, rounding, block=per_group, seed=seed)
    return q.to_float32().reshape(xp.shape)[:, :c]
