"""The BFP format (docs/spec.md section 1): modes, the block container, port packing, exact decode."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FB24, FB16, FB12 = 0, 1, 2
MODE_NAMES = {FB24: "FB24", FB16: "FB16", FB12: "FB12"}
MODE_BY_NAME = {v: k for k, v in MODE_NAMES.items()}
MAG_PORT_BITS = 16  # every element's magnitude travels in a 16-bit port slot
EXP_BIAS = 127

FLAG_INVALID = 1  # a NaN was converted (or produced)
FLAG_OVERFLOW = 2  # an infinity was converted (or produced)


def mode_code(mode) -> int:
    """Mode code of a name ('FB16') or code; the reserved code 3 decodes as FB24 (spec section 1)."""
    if isinstance(mode, str):
        return MODE_BY_NAME[mode.upper()]
    mode = int(mode)
    if not 0 <= mode <= 3:
        raise ValueError(f"mode code {mode} is not a 2-bit code")
    return FB24 if mode == 3 else mode


def mag_bits(mode) -> int:
    """Magnitude bits W of a mode: 16, 8 or 4."""
    return 16 >> mode_code(mode)


def cycles_per_block(mode_a, mode_b, block: int = 16) -> int:
    """Cycles a PE spends on one block pair: (Wa/4)*(Wb/4) sub-multipliers per product, 16 per cycle."""
    return (mag_bits(mode_a) // 4) * (mag_bits(mode_b) // 4) * block // 16


@dataclass
class BFPTensor:
    """A tensor of blocks along its last axis.

    exp:   (..., nblocks)     shared biased exponents E, 0..254
    sign:  (..., nblocks, K)  0/1, canonical (0 where mag == 0)
    mag:   (..., nblocks, K)  magnitudes, 0 .. 2^W - 1
    flags: (..., nblocks)     FLAG_INVALID | FLAG_OVERFLOW
    mode:  the precision mode of every block
    """

    exp: np.ndarray
    sign: np.ndarray
    mag: np.ndarray
    flags: np.ndarray
    mode: int

    @property
    def block(self) -> int:
        return self.mag.shape[-1]

    @property
    def width(self) -> int:
        return mag_bits(self.mode)

    def signed_mag(self) -> np.ndarray:
        """Magnitudes with their signs applied, int64."""
        m = self.mag.astype(np.int64)
        return np.where(self.sign.astype(bool), -m, m)

    def lsb_exponent(self) -> np.ndarray:
        """Unbiased power of two of each block's LSB: E - 127 - (W - 1)."""
        return self.exp.astype(np.int64) - EXP_BIAS - (self.width - 1)

    def to_float32(self) -> np.ndarray:
        """Exact decode, shape (..., nblocks*K). Exact in binary32: at most 16 significant bits and an
        LSB no smaller than 2^-141."""
        v = np.ldexp(self.signed_mag().astype(np.float64), self.lsb_exponent()[..., None])
        out = v.astype(np.float32)
        return out.reshape(*out.shape[:-2], -1)

    def __getitem__(self, idx) -> "BFPTensor":
        """Select along the leading (non-block) axes."""
        return BFPTensor(self.exp[idx], self.sign[idx], self.mag[idx], self.flags[idx], self.mode)


def pack_block(sign, mag) -> tuple[int, int]:
    """(sign, mag) arrays of one block -> the port integers: sign bit i, mag bits [16i+15:16i]."""
    s = 0
    m = 0
    for i, (si, mi) in enumerate(zip(np.asarray(sign).tolist(), np.asarray(mag).tolist())):
        s |= (si & 1) << i
        m |= (mi & 0xFFFF) << (MAG_PORT_BITS * i)
    return s, m


def unpack_block(sign_port: int, mag_port: int, block: int) -> tuple[np.ndarray, np.ndarray]:
    """The port integers of one block -> (sign, mag) arrays of length `block`."""
    sign = np.array([(sign_port >> i) & 1 for i in range(block)], dtype=np.uint8)
    mag = np.array([(mag_port >> (MAG_PORT_BITS * i)) & 0xFFFF for i in range(block)], dtype=np.int64)
    return sign, mag


def float32_bits(x) -> np.ndarray:
    """binary32 bit patterns of x (as uint32)."""
    return np.ascontiguousarray(np.asarray(x, dtype=np.float32)).view(np.uint32)


def bits_float32(b) -> np.ndarray:
    """binary32 values of uint32 bit patterns."""
    return np.ascontiguousarray(np.asarray(b, dtype=np.uint32)).view(np.float32)
