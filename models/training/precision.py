"""FlexBlock's precision policies: the static configurations (one mode per GEMM operand) and dynamic precision
control (per layer and operand, driven by the zero-setting error). Modes are the model's codes (FB24 = 0,
FB16 = 1, FB12 = 2); None = an FP32 layer (no BFP)."""
from __future__ import annotations

from ..bfp import FB12, FB16, FB24
from .config import TrainConfig

# the six BFP operands of a layer: <pass>.<operand>; pass fp: H x W, bp: dZ x W^T, wg: H^T x dZ
OPERANDS = ("fp.act", "fp.w", "bp.err", "bp.w", "wg.act", "wg.err")
PASS_OPERANDS = {"fp": ("fp.act", "fp.w"), "bp": ("bp.err", "bp.w"), "wg": ("wg.act", "wg.err")}  # (A, B)
STATIC = ("FB24", "FB16", "FB12", "FB12LG16", "FB12LG24")
ALL_CONFIGS = ("FP32",) + STATIC + ("DYN",)
ROUNDINGS = ("RTZ", "RNE", "SR")


def static_modes(fp: int, bp: int, wg: int) -> dict[str, int]:
    return {"fp.act": fp, "fp.w": fp, "bp.err": bp, "bp.w": bp, "wg.act": wg, "wg.err": wg}


CONFIG_MODES = {
    "FB24": static_modes(FB24, FB24, FB24),
    "FB16": static_modes(FB16, FB16, FB16),
    "FB12": static_modes(FB12, FB12, FB12),
    "FB12LG16": static_modes(FB12, FB16, FB12),
    "FB12LG24": static_modes(FB12, FB24, FB12),
}


def layer_modes(config: str, n_layers: int, cfg: TrainConfig) -> list[dict]:
    """Per layer: operand -> mode for a static configuration (FP32 layers: every operand None)."""
    fp32 = {op: None for op in OPERANDS}
    if config == "FP32":
        return [fp32] * n_layers
    return [fp32 if l in cfg.fp32_layers else dict(CONFIG_MODES[config]) for l in range(n_layers)]


class DynamicPrecision:
    """Per layer and per GEMM operand: mean ZSE over a window; < lo: one mode down, > hi: one mode up."""

    def __init__(self, n_layers: int, cfg: TrainConfig):
        self.cfg = cfg
        self.modes = [None if l in cfg.fp32_layers else {op: cfg.dyn_start for op in OPERANDS}
                      for l in range(n_layers)]
        self.history = [self.snapshot()]
        self.last_zse: dict = {}

    def snapshot(self):
        return [None if m is None else dict(m) for m in self.modes]

    def update(self, zse: dict) -> None:
        for (l, op), z in zse.items():
            mode = self.modes[l][op]
            if z < self.cfg.zse_lo and mode < FB12:
                self.modes[l][op] = mode + 1
            elif z > self.cfg.zse_hi and mode > FB24:
                self.modes[l][op] = mode - 1
        self.last_zse = zse
        self.history.append(self.snapshot())
