"""bm_array bench layer: tiles of Block Minifloat block pairs on an R x C array of bm_mac, scored with the
bm_mac bench's model (predict_dot) per output; the shared array layer is tb/mac_array.py."""
from __future__ import annotations

import cocotb
import numpy as np
from pyuvm import uvm_sequence

from bm_mac_env import BLOCK_KINDS, BlockPair, dut_params, predict_dot, random_block
from fbuvm import seeds
from mac_array import ArrayEnv, ArrayLayout, ArrayScoreboard, TileJob, coverage, dims


def layout() -> ArrayLayout:
    k, fx, _ = dut_params()
    bw = k * fx.bits
    return ArrayLayout(a={"a_se": 8, "a_elems": bw, "a_flags": 2}, b={"b_se": 8, "b_elems": bw, "b_flags": 2},
                       shared=("a_fmt", "last"))


class BmArrayScoreboard(ArrayScoreboard):
    def build_phase(self):
        super().build_phase()
        self.layout = layout()

    def predict_mac(self, beats):
        e = predict_dot(beats)
        return e["result"], e["flags"]


class BmArrayEnv(ArrayEnv):
    scoreboard_class = BmArrayScoreboard
    coverage_class = coverage("bm_array")

    def build_phase(self):
        self.layout = layout()
        super().build_phase()


def random_tile(rng, t: int, kinds=tuple(BLOCK_KINDS), a_fmt=None) -> list[list[dict]]:
    """ROWS + COLS sequences of t MAC beats: rows carry A blocks (one format for the tile), columns B blocks."""
    rows, cols = dims()
    k, fx, fg = dut_params()
    fmt = int(rng.integers(0, 2)) if a_fmt is None else a_fmt
    seqs = []
    for i in range(rows + cols):
        seq = []
        for j in range(t):
            f = fg if (i < rows and fmt) else fx
            blk = random_block(rng, f, k, str(rng.choice(kinds)))
            pair = BlockPair(fmt, blk[1], blk[0], blk[2], blk[1], blk[0], blk[2])  # A and B fields alike
            seq.append(pair.beat(j == t - 1))
        seqs.append(seq)
    return seqs


class TileSequence(uvm_sequence):
    """`count` jobs of 1..4 tiles of 1..max_len block pairs each."""

    def __init__(self, name, count=10, max_len=5, kinds=tuple(BLOCK_KINDS)):
        super().__init__(name)
        self.count, self.max_len, self.kinds = count, max_len, kinds

    async def body(self):
        rng = seeds.rng(self.get_name())
        for j in range(self.count):
            tiles = [random_tile(rng, int(rng.integers(1, self.max_len + 1)), self.kinds)
                     for _ in range(int(rng.integers(1, 5)))]
            item = TileJob(f"job{j}", layout(), tiles)
            await self.start_item(item)
            await self.finish_item(item)
