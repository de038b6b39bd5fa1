"""The training run's hyper-parameters (one dataclass, shared by the engine, the network and the policies)."""
from __future__ import annotations

from dataclasses import dataclass

from ..bfp import FB16


@dataclass
class TrainConfig:
    sizes: tuple[int, ...] = (64, 32, 32, 10)
    batch: int = 32
    epochs: int = 30
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 1e-4
    block: int = 16
    rows: int = 4  # the array's shape, for the cycle estimate
    cols: int = 4
    fp32_layers: tuple[int, ...] = ()
    dyn_start: int = FB16
    zse_lo: float = 0.25
    zse_hi: float = 0.60
    dyn_window: int = 0  # steps per ZSE window; 0 = one epoch
