"""The GEMM engine: every GEMM of the network goes through here, to the run's training arithmetic
(models/training/arithmetics.py: FlexBlock or another design's class with the same interface).

The engine draws one 16-bit seed per GEMM from the run's seed (for every GEMM, FP32 layers included, so every
arithmetic and configuration sees the same seed stream), counts the GEMM's cycles with the arithmetic's own
cycle model and with the baseline (FlexBlock FB24 x FB24 on the same array), and runs the layers listed in
cfg.fp32_layers as plain float32 matmuls whatever the arithmetic."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..bfp import FB24
from ..pe_array import gemm_schedule
from .config import TrainConfig

PASSES = ("fp", "bp", "wg")


@dataclass
class ReplayGemm:
    """One FlexBlock GEMM as executed: C = A x B with A (M x Kdim) and B (Kdim x N) exactly the FP32 operands
    given to the model (quantizer: `Fp2Bfp(block, seed)`, A then B^T, rounding `rounding`). Iterates as the
    6-tuple (name, a, b, mode_a, mode_b, rounding); `seed` matters only for SR."""
    name: str
    a: np.ndarray
    b: np.ndarray
    mode_a: int
    mode_b: int
    rounding: int
    seed: int
    block: int = 16
    c: np.ndarray | None = None  # the binary32 result the training used

    def __iter__(self):
        return iter((self.name, self.a, self.b, self.mode_a, self.mode_b, self.rounding))


def array_cycles(m: int, kdim: int, n: int, mode_a, mode_b, cfg: TrainConfig) -> int:
    """PE cycles of an M x Kdim x N GEMM on FlexBlock's cfg.rows x cfg.cols array: tiles x block pairs x
    cycles per block pair (`models.cycles_per_block`; no fill, feed or non-GEMM work). A mode None (an FP32
    layer: the array has no FP32 mode) counts as FB24."""
    return gemm_schedule(m, kdim, n, FB24 if mode_a is None else mode_a, FB24 if mode_b is None else mode_b,
                         cfg.rows, cfg.cols, cfg.block)


def fb24_cycles(m: int, kdim: int, n: int, cfg: TrainConfig) -> int:
    """The baseline every arithmetic's cycles are compared with: the GEMM in FB24 x FB24 on FlexBlock's array."""
    return array_cycles(m, kdim, n, FB24, FB24, cfg)


def replay_tiles(gemms, rows: int = 4, cols: int = 4) -> int:
    """Output tiles of a rows x cols array a list of GEMMs needs."""
    return sum(math.ceil(g.a.shape[0] / rows) * math.ceil(g.b.shape[1] / cols) for g in gemms)


class Engine:
    """Runs the network's GEMMs through `arith` (an object with the training-arithmetic interface), counts
    cycles. `step`: the training step the next GEMMs belong to (set by the training loop)."""

    def __init__(self, arith, seed: int, cfg: TrainConfig, count_cycles: bool = True):
        self.arith = arith
        self.cfg = cfg
        self.seeds = np.random.default_rng([seed, 0x5EED])
        self.count_cycles = count_cycles
        self.step = 0
        self.cycles = 0
        self.fb24_cycles = 0

    def gemm(self, pass_: str, layer: int, a, b) -> np.ndarray:
        """C = A x B (binary32) of `layer`'s `pass_` GEMM (fp: H x W, bp: dZ x W^T, wg: H^T x dZ)."""
        a = np.ascontiguousarray(a, np.float32)
        b = np.ascontiguousarray(b, np.float32)
        (m, kdim), n = a.shape, b.shape[1]
        if self.count_cycles:
            self.fb24_cycles += fb24_cycles(m, kdim, n, self.cfg)
            self.cycles += int(self.arith.cycles(m, kdim, n, pass_, layer))
        seed = int(self.seeds.integers(0, 1 << 16))  # drawn for every GEMM: the same stream in every config
        if layer in self.cfg.fp32_layers:
            return a @ b
        c = self.arith.gemm(a, b, pass_, layer, self.step, seed)
        if not (isinstance(c, np.ndarray) and c.dtype == np.float32 and c.shape == (m, n)):
            raise TypeError(f"{getattr(self.arith, 'name', self.arith)}.gemm(L{layer}.{pass_}) returned "
                            f"{type(c).__name__} {getattr(c, 'dtype', '')} {getattr(c, 'shape', '')}, "
                            f"not float32 ({m}, {n})")
        return c

    def end_step(self) -> None:
        """The training loop finished step `self.step` (optimizer update included)."""
        hook = getattr(self.arith, "end_step", None)
        if hook is not None:
            hook(self.step)
