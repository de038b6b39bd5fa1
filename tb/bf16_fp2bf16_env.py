"""bf16_fp2bf16 bench layer: beats of N binary32 values, the scoreboard from models.bf16_mac.to_bf16,
coverage and env."""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb_coverage.coverage import CoverPoint
from pyuvm import uvm_sequence

from bf16_mac_env import bf16_class
from fbuvm import seeds
from fbuvm.components import CoverageCollector, Scoreboard, StreamEnv, StreamItem, pack_lanes, unpack_lanes
from models import bf16_mac as model


def lanes() -> int:
    return int(cocotb.top.N.value)


class ValuesItem(StreamItem):
    def __init__(self, name, bits):
        super().__init__(name)
        self.bits = bits  # N binary32 patterns

    def beat(self):
        return {"x": pack_lanes(self.bits, 32)}


class Fp2Bf16Scoreboard(Scoreboard):
    def convert(self, bits: np.ndarray) -> np.ndarray:
        return model.to_bf16(bits.view(np.float32))

    def predict(self, port, txn):
        n = lanes()
        bits = np.array(unpack_lanes(txn["x"], 32, n), np.uint32)
        y = self.convert(bits)
        return [{"y": pack_lanes(y, 16), "x": bits, "elems": y}]

    def same(self, expected, actual):
        return expected["y"] == actual["y"]

    def describe(self, expected, actual):
        n = lanes()
        got = unpack_lanes(actual["y"], 16, n)
        return "elements (x, expected, actual): " + ", ".join(
            f"{x:08x} {e:04x} {a:04x}" for x, e, a in zip(expected["x"].tolist(), expected["elems"].tolist(), got))


@CoverPoint("bf16_fp2bf16.out", xf=lambda c: c, bins=["zero", "subnormal", "normal", "inf", "nan"])
def _sample(cls):
    pass


class Fp2Bf16Coverage(CoverageCollector):
    def sample(self, txn):
        for cls in {bf16_class(v) for v in txn["elems"].tolist()}:
            _sample(cls)


class Fp2Bf16Env(StreamEnv):
    inputs = {"in": ["x"]}
    outputs = {"out": ["y"]}
    scoreboard_class = Fp2Bf16Scoreboard
    coverage_class = Fp2Bf16Coverage


KINDS = ("any", "tie", "near_max", "subnormal", "special")


def values(rng, n: int, kind: str) -> np.ndarray:
    """n binary32 patterns of a kind: any pattern, exact ties (low half 0x8000, either bit 16), values
    that round up to Inf or stay at the largest bfloat16, subnormals, NaN / Inf / zeros."""
    sign = rng.integers(0, 2, n).astype(np.uint32) << 31
    if kind == "any":
        return rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32)
    if kind == "tie":
        return sign | (rng.integers(0, 1 << 15, n).astype(np.uint32) << 16) | 0x8000  # bit 16 either way
    if kind == "near_max":
        return sign | (0x7F7F0000 + rng.integers(0x7000, 0x10000, n).astype(np.uint32))
    if kind == "subnormal":
        return sign | rng.integers(0, 1 << 23, n).astype(np.uint32)
    pick = rng.integers(0, 4, n)
    return np.select([pick == 0, pick == 1, pick == 2],
                     [sign | 0x7F800000, sign | 0x7F800000 | rng.integers(1, 1 << 23, n).astype(np.uint32), sign],
                     sign | rng.integers(0, 1 << 31, n).astype(np.uint32)).astype(np.uint32)


class ValuesSequence(uvm_sequence):
    def __init__(self, name, count=200, kinds=KINDS):
        super().__init__(name)
        self.count, self.kinds = count, kinds

    async def body(self):
        rng = seeds.rng(self.get_name())
        for r in range(self.count):
            item = ValuesItem(f"v{r}", values(rng, lanes(), str(rng.choice(self.kinds))))
            await self.start_item(item)
            await self.finish_item(item)
