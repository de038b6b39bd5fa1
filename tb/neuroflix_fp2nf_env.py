"""neuroflix_fp2nf bench layer: beats of G binary32 values with a format and a tensor scale, the scoreboard
from models.neuroflix.convert, coverage and env."""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb_coverage.coverage import CoverCross, CoverPoint
from pyuvm import uvm_sequence

from fbuvm import seeds
from fbuvm.components import CoverageCollector, Scoreboard, StreamEnv, StreamItem, pack_lanes, unpack_lanes
from models import neuroflix as model
from neuroflix_mac_env import FORMAT_NAMES, b_class


def group() -> int:
    return int(cocotb.top.G.value)


def _signed10(v: int) -> int:
    return v - 1024 if v & 0x200 else v


class ValuesItem(StreamItem):
    def __init__(self, name, bits, fmt: int, scale: int):
        super().__init__(name)
        self.bits, self.fmt, self.scale = bits, fmt, scale

    def beat(self):
        return {"x": pack_lanes(self.bits, 32), "fmt": self.fmt,
                "scale": self.scale & 0x3FF}


class Fp2NfScoreboard(Scoreboard):
    def convert(self, bits, fmt, scale):
        return model.convert(bits.view(np.float32), fmt, scale)

    def predict(self, port, txn):
        g = group()
        bits = np.array(unpack_lanes(txn["x"], 32, g), np.uint32)
        fmt, scale = txn["fmt"], _signed10(txn["scale"])
        y = self.convert(bits, fmt, scale)
        return [{"y": pack_lanes(y, 16), "x": bits, "elems": y, "fmt": fmt,
                 "scale": scale}]

    def same(self, expected, actual):
        return expected["y"] == actual["y"]

    def describe(self, expected, actual):
        got = unpack_lanes(actual["y"], 16, group())
        return (f"{FORMAT_NAMES[expected['fmt']]} scale {expected['scale']}: elements (x, expected, actual): "
                + ", ".join(f"{x:08x} {e:04x} {a:04x}" for x, e, a in
                            zip(expected["x"].tolist(), expected["elems"].tolist(), got) if e != a))


@CoverPoint("neuroflix_fp2nf.fmt", xf=lambda f, c: f, bins=[0, 1, 2, 3])
@CoverPoint("neuroflix_fp2nf.out", xf=lambda f, c: c,
            bins=["zero", "fixed", "fixed_max", "subnormal", "normal", "inf", "nan"])
@CoverCross("neuroflix_fp2nf.fmt_x_out", items=["neuroflix_fp2nf.fmt", "neuroflix_fp2nf.out"],
            ign_bins=[(f, c) for f in (0, 1) for c in ("subnormal", "normal", "inf", "nan")]
            + [(f, c) for f in (2, 3) for c in ("fixed", "fixed_max")])
def _sample(fmt, cls):
    pass


class Fp2NfCoverage(CoverageCollector):
    def sample(self, txn):
        for cls in {b_class(int(v), txn["fmt"]) for v in txn["elems"]}:
            _sample(txn["fmt"], cls)


class Fp2NfEnv(StreamEnv):
    inputs = {"in": ["x", "fmt", "scale"]}
    outputs = {"out": ["y"]}
    scoreboard_class = Fp2NfScoreboard
    coverage_class = Fp2NfCoverage


def tensor_beat(rng, g: int, fmt: int, kind: str) -> tuple[np.ndarray, int]:
    """G binary32 patterns and a scale: 'tensor' (Gaussian at a random magnitude, the quantizer's own scale
    for it), 'special' (NaN, Inf, zeros, subnormals mixed in), 'any' (random patterns, random scale: huge
    and tiny results, saturation, overflow to Inf, underflow to zero), 'tie' (values exactly half-way on
    the target grid)."""
    x = (rng.standard_normal(g) * 2.0 ** int(rng.integers(-40, 40))).astype(np.float32)
    if kind == "special":
        pick = rng.integers(0, 6, g)
        x = np.where(pick == 0, np.float32(np.nan), x)
        x = np.where(pick == 1, np.float32(np.inf) * np.sign(rng.standard_normal(g)).astype(np.float32), x)
        x = np.where(pick == 2, np.float32(0.0) * np.sign(rng.standard_normal(g)).astype(np.float32), x)
        x = np.where(pick == 3, (rng.integers(1, 1 << 23, g).astype(np.uint32)).view(np.float32), x)
    if kind == "any":
        bits = rng.integers(0, 1 << 32, g, dtype=np.uint64).astype(np.uint32)
        return bits, int(rng.integers(-512, 512))
    q, scale = model.quantize_fixed(x, fmt) if fmt < 2 else model.quantize_float(x, fmt)
    if kind == "tie":  # k + 1/2 ulps of the target grid at the tensor's scale
        ulp = 0 if fmt < 2 else (-14 - (10 if fmt == 3 else 2))
        k = rng.integers(0, 6, g)
        x = ((k + 0.5) * 2.0 ** (scale + ulp) * np.where(rng.random(g) < 0.5, -1, 1)).astype(np.float32)
    return x.view(np.uint32), scale


class ValuesSequence(uvm_sequence):
    def __init__(self, name, count=150, kinds=("tensor", "special", "any", "tie")):
        super().__init__(name)
        self.count, self.kinds = count, kinds

    async def body(self):
        rng = seeds.rng(self.get_name())
        g = group()
        for r in range(self.count):
            fmt = int(rng.integers(0, 4))
            bits, scale = tensor_beat(rng, g, fmt, str(rng.choice(self.kinds)))
            item = ValuesItem(f"v{r}", bits, fmt, scale)
            await self.start_item(item)
            await self.finish_item(item)
