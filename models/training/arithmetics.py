"""The registry of training arithmetics: name -> factory. `scripts/train.py --arith NAME` trains with it.

A training arithmetic is an object with this interface (the one every design's model exposes):

    name: str
    configure(n_layers, n_steps) -> None                  before training (n_steps: the whole run's steps)
    gemm(a, b, pass_, layer, step, seed) -> np.ndarray    C = A @ B as the design computes it, float32 M x N;
        a: M x Kdim, b: Kdim x N float32, reduction along Kdim; pass_ "fp" (H x W), "bp" (dZ x W^T),
        "wg" (H^T x dZ); layer 0-based; step: training step (0-based); seed: 16-bit, for stochastic rounding
    cycles(m, kdim, n, pass_, layer) -> int               the GEMM's cycles on the design's array, now

and, optionally, `end_step(step)` (called after every training step's weight update), `for_eval()` (the
arithmetic the evaluation forward passes use; default: the same object) and `finish() -> dict` (extra results
of the run: "flags", and FlexBlock's ZSE / mode fields for the report).

A factory is called as factory(policy, rounding, cfg) with the policy (a row of the report, e.g. FlexBlock's
configuration "FB12LG16"), the rounding name (or "-" for an arithmetic that takes none) and the TrainConfig.
Register another design with e.g.

    register("FAST", lambda policy, rounding, cfg: FastArithmetic())
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .config import TrainConfig
from .flexblock import FlexBlockArithmetic
from .precision import ALL_CONFIGS
from ..fast import FastArithmetic


@dataclass(frozen=True)
class Entry:
    factory: Callable[[str, str, TrainConfig], object]
    policies: tuple[str, ...] = ("-",)  # the report's rows for this arithmetic; "-": one row, its name
    roundings: bool = False             # takes the run's --roundings (one column each), else one value per row
    unrounded: tuple[str, ...] = ()     # policies that take no rounding even so (FlexBlock's FP32)


REGISTRY: dict[str, Entry] = {}


def register(name: str, factory: Callable[[str, str, TrainConfig], object], policies=("-",),
             roundings: bool = False, unrounded=()) -> None:
    REGISTRY[name] = Entry(factory, tuple(policies), roundings, tuple(unrounded))


def takes_rounding(name: str, policy: str) -> bool:
    entry = REGISTRY[name]
    return entry.roundings and policy not in entry.unrounded


def names() -> list[str]:
    return list(REGISTRY)


def create(name: str, policy: str, rounding: str, cfg: TrainConfig):
    if name not in REGISTRY:
        raise KeyError(f"unknown training arithmetic {name!r}; registered: {', '.join(REGISTRY)}")
    return REGISTRY[name].factory(policy, rounding, cfg)


def row_label(name: str, policy: str) -> str:
    """The report row of (arithmetic, policy): FlexBlock's rows are its configurations."""
    if name == "flexblock":
        return policy
    return name if policy == "-" else f"{name} {policy}"


register("flexblock", lambda policy, rounding, cfg: FlexBlockArithmetic(policy, "RTZ" if rounding == "-" else rounding,
                                                                        cfg),
         policies=ALL_CONFIGS, roundings=True, unrounded=("FP32",))


# The designs FlexBlock is compared with (docs/spec.md, a section each), imported when created: the
# registry stays cheap to import.
def _bm(policy, rounding, cfg):
    from ..block_minifloat import BMArithmetic
    return BMArithmetic(family=policy, rows=cfg.rows, cols=cfg.cols)


def _bf16(policy, rounding, cfg):
    from ..bf16_mac import BF16Arithmetic
    return BF16Arithmetic(rows=cfg.rows, cols=cfg.cols)


NEUROFLIX_POLICIES = {"FX8/FP16": ("FX8", "FX8", "FP16"), "FX4/E5M2": ("FX4", "FX4", "E5M2")}


def _neuroflix(policy, rounding, cfg):
    from ..neuroflix import NeuroFlixArithmetic
    act, w, grad = NEUROFLIX_POLICIES[policy]
    return NeuroFlixArithmetic(act, w, grad, rows=cfg.rows, cols=cfg.cols)


register("BM", _bm, policies=("BM8", "BM6"))
register("BF16", _bf16)
register("NeuroFlix", _neuroflix, policies=tuple(NEUROFLIX_POLICIES))
register("FAST", lambda policy, rounding, cfg: FastArithmetic(rows=cfg.rows, cols=cfg.cols))
