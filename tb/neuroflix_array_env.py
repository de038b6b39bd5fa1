"""neuroflix_array bench layer: tiles of fixed x (fixed | float) groups on an R x C array of neuroflix_mac,
scored with models.neuroflix per output (as the neuroflix_mac bench); the shared array layer is
tb/mac_array.py. A tile has one mode pair and one scale (per-tensor formats and scales)."""
from __future__ import annotations

import numpy as np
from pyuvm import uvm_sequence

from fbuvm import seeds
from mac_array import ArrayEnv, ArrayLayout, ArrayScoreboard, TileJob, coverage, dims
from models import neuroflix as model
from neuroflix_mac_env import KINDS, MODE_PAIRS, ReductionItem, group, reduction, unpack

TILE_KINDS = tuple(k for k in KINDS if k != "mixed")  # a tile's mode is the tensors': fixed per tile


def layout() -> ArrayLayout:
    g = group()
    return ArrayLayout(a={"a": 8 * g}, b={"b": 16 * g}, shared=("wa", "fmt_b", "scale", "last"))


def _signed10(v: int) -> int:
    return v - 1024 if v & 0x200 else v


class NeuroFlixArrayScoreboard(ArrayScoreboard):
    def build_phase(self):
        super().build_phase()
        self.layout = layout()

    def predict_mac(self, beats):
        g = group()
        a = np.array([unpack(b["a"], g, 8) for b in beats], np.int64)
        b = np.array([unpack(x["b"], g, 16) for x in beats], np.int64)
        wa = np.array([x["wa"] for x in beats], np.int64)
        fmt = np.array([x["fmt_b"] for x in beats], np.int64)
        scale = np.array([_signed10(x["scale"]) for x in beats], np.int64)
        bits, flags = model.mac(a, b, wa, fmt, scale)
        return int(bits), int(flags)


class NeuroFlixArrayEnv(ArrayEnv):
    scoreboard_class = NeuroFlixArrayScoreboard
    coverage_class = coverage("neuroflix_array")

    def build_phase(self):
        self.layout = layout()
        super().build_phase()


def random_tile(rng, t: int, wa: int, fmt: int, kinds=TILE_KINDS) -> list[list[dict]]:
    """ROWS + COLS sequences of t MAC beats in one mode pair (rows' A groups, columns' B groups); the
    tile's scale is row 0's."""
    rows, cols = dims()
    g = group()
    return [ReductionItem("r", *reduction(rng, t, g, wa, fmt, str(rng.choice(kinds)))).beats()
            for _ in range(rows + cols)]


class TileSequence(uvm_sequence):
    """`count` jobs of 1..3 tiles of 1..max_len groups each, each tile in a random mode pair."""

    def __init__(self, name, count=10, max_len=4, kinds=TILE_KINDS):
        super().__init__(name)
        self.count, self.max_len, self.kinds = count, max_len, kinds

    async def body(self):
        rng = seeds.rng(self.get_name())
        for j in range(self.count):
            tiles = []
            for _ in range(int(rng.integers(1, 4))):
                wa, fmt = MODE_PAIRS[int(rng.integers(len(MODE_PAIRS)))]
                tiles.append(random_tile(rng, int(rng.integers(1, self.max_len + 1)), wa, fmt, self.kinds))
            item = TileJob(f"job{j}", layout(), tiles)
            await self.start_item(item)
            await self.finish_item(item)
