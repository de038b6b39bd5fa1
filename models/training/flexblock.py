"""FlexBlock's training arithmetic behind the harness's arithmetic interface (models/training/arithmetics.py):
every GEMM C = A x B as `pe_array` computes it, each operand in the mode its precision policy gives it now.

A GEMM: one conversion unit `Fp2Bfp(block, seed)` quantizes A (M x Kdim) and then B^T (N x Kdim), both along
the reduction axis Kdim, in the operand's mode and the run's rounding; `bfp_gemm` multiplies them (exact block
dot products, binary32 accumulation); the binary32 result is `models.gemm(A, B, mode_a, mode_b, rounding,
quantizer=Fp2Bfp(block, seed))`, bit for bit what the RTL returns. An FP32 layer (modes None) is a plain
float32 matmul. The policy is a static configuration (precision.CONFIG_MODES, FP32) or DYN (dynamic precision
control from each operand's zero-setting error, precision.DynamicPrecision). Cycles: tiles x block pairs x
`models.cycles_per_block` on the cfg.rows x cfg.cols array (FP32 layers as FB24 x FB24)."""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..bfp import bits_float32
from ..fp2bfp import ROUNDING_NAMES, Fp2Bfp, rounding_code, zero_setting_error
from ..pe_array import bfp_gemm
from .config import TrainConfig
from .engine import ReplayGemm, array_cycles
from .precision import ALL_CONFIGS, PASS_OPERANDS, DynamicPrecision, layer_modes


class FlexBlockArithmetic:
    """FlexBlock's multi-mode BFP GEMMs under a precision policy `config` (FP32, FB24, FB16, FB12, FB12LG16,
    FB12LG24 or DYN) with the conversion rounding `rounding` (RTZ, RNE, RNA, SR).

    Beyond the interface (name, configure, gemm, cycles) the harness uses, when present: `end_step(step)`
    (after each training step's update: DYN's window rule), `for_eval()` (the arithmetic the evaluation passes
    use: the same modes, no ZSE bookkeeping, no recording) and `finish()` (the run's extra results: flags, ZSE,
    DYN's modes). `record`: a list that collects every BFP GEMM as a `ReplayGemm` (for an RTL replay)."""

    def __init__(self, config: str = "FB12LG16", rounding: str | int = "RTZ", cfg: TrainConfig | None = None,
                 record: list | None = None):
        if config not in ALL_CONFIGS:
            raise ValueError(f"unknown FlexBlock configuration {config!r} (one of {', '.join(ALL_CONFIGS)})")
        self.config = config
        self.rounding = rounding_code(rounding)
        self.cfg = cfg or TrainConfig()
        self.name = f"FlexBlock {config}" + ("" if config == "FP32" else f" {ROUNDING_NAMES[self.rounding]}")
        self.record = record
        self.flags = 0  # GEMM result flags (invalid | overflow) of every GEMM, evaluation passes included
        self.dyn: DynamicPrecision | None = None
        self.fixed: list | None = None
        self.zse_sum: dict = defaultdict(float)
        self.zse_n: dict = defaultdict(int)
        self.configure(len(self.cfg.sizes) - 1, self.cfg.epochs)  # usable as is; the harness re-configures

    # --- the interface ----------------------------------------------------------------------------------
    def configure(self, n_layers: int, n_steps: int) -> None:
        """n_steps: the whole run's training steps (cfg.epochs epochs); the ZSE window (DYN) and the static
        runs' ZSE report (their last epoch) are counted in steps of n_steps / cfg.epochs."""
        self.n_layers, self.n_steps = n_layers, n_steps
        steps_per_epoch = max(1, n_steps // max(1, self.cfg.epochs))
        self.window = self.cfg.dyn_window or steps_per_epoch
        if self.config == "DYN":
            self.dyn, self.fixed = DynamicPrecision(n_layers, self.cfg), None
            self.zse_from = 0  # DYN measures every step
        else:
            self.dyn, self.fixed = None, layer_modes(self.config, n_layers, self.cfg)
            self.zse_from = (self.cfg.epochs - 1) * steps_per_epoch  # static: the last epoch, for the report
        self.zse_sum.clear()
        self.zse_n.clear()

    def gemm(self, a: np.ndarray, b: np.ndarray, pass_: str, layer: int, step: int, seed: int) -> np.ndarray:
        return self._gemm(a, b, pass_, layer, step, seed, observe=True)

    def cycles(self, m: int, kdim: int, n: int, pass_: str, layer: int) -> int:
        return array_cycles(m, kdim, n, *self.operand_modes(pass_, layer), self.cfg)

    # --- the harness's optional hooks ---------------------------------------------------------------------
    def end_step(self, step: int) -> None:
        """After training step `step` (0-based): at the end of every ZSE window but the last step, DYN steps
        each operand's mode by its window's mean ZSE."""
        done = step + 1
        if self.dyn is not None and done % self.window == 0 and done < self.n_steps:
            self.dyn.update(self.take_zse())

    def for_eval(self) -> "_Evaluation":
        return _Evaluation(self)

    def finish(self) -> dict:
        out = {"flags": self.flags, "final_modes": None, "mode_history": None, "last_zse": None, "zse": None}
        if self.dyn is not None:
            self.dyn.last_zse = self.take_zse()  # the final window's, measured in the final modes
            out.update(final_modes=self.dyn.snapshot(), mode_history=self.dyn.history, last_zse=self.dyn.last_zse)
        else:
            out["zse"] = self.take_zse()
        return out

    # --- FlexBlock specifics ------------------------------------------------------------------------------
    def layer_modes(self, layer: int) -> dict | None:
        """operand -> mode in force for `layer` (None: an FP32 layer)."""
        return self.dyn.modes[layer] if self.dyn is not None else self.fixed[layer]

    def operand_modes(self, pass_: str, layer: int) -> tuple:
        m = self.layer_modes(layer)
        if m is None:
            return None, None
        op_a, op_b = PASS_OPERANDS[pass_]
        return m[op_a], m[op_b]

    def take_zse(self) -> dict:
        """Mean ZSE per (layer, operand) since the last call; clears the sums."""
        out = {k: self.zse_sum[k] / self.zse_n[k] for k in self.zse_sum}
        self.zse_sum.clear()
        self.zse_n.clear()
        return out

    def _gemm(self, a, b, pass_, layer, step, seed, observe: bool) -> np.ndarray:
        a = np.ascontiguousarray(a, np.float32)
        b = np.ascontiguousarray(b, np.float32)
        mode_a, mode_b = self.operand_modes(pass_, layer)
        if mode_a is None:
            return a @ b
        quantizer = Fp2Bfp(self.cfg.block, seed)
        qa = quantizer(a, mode_a, self.rounding)
        qb = quantizer(b.T, mode_b, self.rounding)
        bits, flags = bfp_gemm(qa, qb)
        c = bits_float32(bits)
        self.flags |= int(np.bitwise_or.reduce(flags, axis=None))
        if observe and step >= self.zse_from:
            for op, x, q in zip(PASS_OPERANDS[pass_], (a, b.T), (qa, qb)):
                self.zse_sum[(layer, op)] += zero_setting_error(x, q)
                self.zse_n[(layer, op)] += 1
        if observe and self.record is not None:
            self.record.append(ReplayGemm(f"L{layer}.{pass_}", a.copy(), b.copy(), mode_a, mode_b, self.rounding,
                                          seed, self.cfg.block, c.copy()))
        return c


class _Evaluation:
    """The evaluation passes' view of a FlexBlockArithmetic: its current modes and rounding, its flags; no ZSE
    bookkeeping, no recording."""

    def __init__(self, parent: FlexBlockArithmetic):
        self.parent = parent
        self.name = parent.name

    def configure(self, n_layers: int, n_steps: int) -> None:
        pass

    def gemm(self, a, b, pass_, layer, step, seed):
        return self.parent._gemm(a, b, pass_, layer, step, seed, observe=False)

    def cycles(self, m, kdim, n, pass_, layer):
        return self.parent.cycles(m, kdim, n, pass_, layer)


