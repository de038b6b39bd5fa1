"""fp_mac bench layer (the FP8 / FP32 MAC of Block Minifloat's area comparison): reductions of operand
pairs, the scoreboard from models.fp_mac, coverage and env."""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb_coverage.coverage import CoverPoint
from pyuvm import uvm_sequence

from fbuvm import seeds
from fbuvm.components import CoverageCollector, JobTimer, Scoreboard, StreamEnv, StreamItem
from mac_array import f32_class
from models import fp_mac as model


def fmt() -> tuple[int, int]:
    return int(cocotb.top.E.value), int(cocotb.top.M.value)


class ReductionItem(StreamItem):
    def __init__(self, name, a, b):
        super().__init__(name)
        self.a, self.b = a, b

    def beats(self):
        t = len(self.a)
        return [{"a": int(self.a[i]), "b": int(self.b[i]), "last": int(i == t - 1)} for i in range(t)]


class FpMacScoreboard(Scoreboard):
    def reset_model(self):
        self.beats = []

    def pending(self) -> str:
        return f"{len(self.beats)} beats without their last" if self.beats else ""

    def model(self, a, b):
        return model.mac(a, b, *fmt())

    def predict(self, port, txn):
        self.beats.append((txn["a"], txn["b"]))
        if not txn["last"]:
            return []
        a, b = (np.array(v, np.int64) for v in zip(*self.beats))
        self.beats = []
        bits, flags = self.model(a, b)
        return [{"result": bits, "flags": flags, "a": a, "b": b}]

    def same(self, expected, actual):
        return expected["result"] == actual["result"] and expected["flags"] == actual["flags"]

    def describe(self, expected, actual):
        pairs = " ".join(f"{x:x}*{y:x}" for x, y in zip(expected["a"].tolist(), expected["b"].tolist()))
        return (f"reduction {pairs}\n  expected {expected['result']:08x} flags {expected['flags']}\n"
                f"  actual   {actual['result']:08x} flags {actual['flags']}")


@CoverPoint("fp_mac.result", xf=lambda r, f: r, bins=["zero", "subnormal", "normal", "inf", "nan"])
@CoverPoint("fp_mac.flags", xf=lambda r, f: f, bins=[0, 1, 2, 3])
def _sample(result, flags):
    pass


class FpMacCoverage(CoverageCollector):
    def sample(self, txn):
        _sample(f32_class(txn["result"]), txn["flags"])


class FpMacEnv(StreamEnv):
    inputs = {"in": ["a", "b", "last"]}
    outputs = {"out": ["result", "flags"]}
    scoreboard_class = FpMacScoreboard
    coverage_class = FpMacCoverage

    def build_phase(self):
        super().build_phase()
        self.timer = JobTimer(self.clock, self.sources["in"], self.sinks["out"])


KINDS = ("any", "subnormal", "top", "normal")


def operands(rng, t: int, kind: str):
    """t operand pairs of a kind: any bit pattern (every class), subnormal A, exponents near the top
    (products and sums beyond binary32 for FP32), or normals near 1.0."""
    e, m = fmt()
    w = 1 + e + m
    sign = lambda: rng.integers(0, 2, t) << (w - 1)  # noqa: E731
    if kind == "any":
        return rng.integers(0, 1 << w, t), rng.integers(0, 1 << w, t)
    if kind == "subnormal":
        return sign() | rng.integers(0, 1 << m, t), rng.integers(0, 1 << w, t)
    bias = (1 << (e - 1)) - 1
    lo, hi = (max(1, (1 << e) - 4), (1 << e) - 1) if kind == "top" else (max(1, bias - 2), bias + 3)
    f = lambda: sign() | (rng.integers(lo, hi, t) << m) | rng.integers(0, 1 << m, t)  # noqa: E731
    return f(), f()


class ReductionSequence(uvm_sequence):
    def __init__(self, name, count=80, max_len=8, kinds=KINDS):
        super().__init__(name)
        self.count, self.max_len, self.kinds = count, max_len, kinds

    async def body(self):
        rng = seeds.rng(self.get_name())
        for r in range(self.count):
            a, b = operands(rng, int(rng.integers(1, self.max_len + 1)), str(rng.choice(self.kinds)))
            item = ReductionItem(f"r{r}", a, b)
            await self.start_item(item)
            await self.finish_item(item)
